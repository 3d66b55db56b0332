"""``errorbook.client.testing()``: waits computed and recorded, never slept; nestable and
shared by every thread of the process."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from errorbook.client import AsyncRetryTransport, RetryPolicy, RetryTransport, _testing, testing

URL = "https://api.test/x"


class NoSleep:
    """A clock that fails the test if the transport sleeps; its time never moves."""

    def monotonic(self) -> float:
        return 0.0

    def time(self) -> float:
        return 1_700_000_000.0

    def sleep(self, seconds: float) -> None:
        raise AssertionError(f"slept {seconds}s under testing()")

    async def asleep(self, seconds: float) -> None:
        raise AssertionError(f"slept {seconds}s under testing()")


def script(*statuses: int) -> httpx.MockTransport:
    answers = list(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(answers.pop(0), headers={"Retry-After": "30"})

    return httpx.MockTransport(handler)


POLICY = RetryPolicy(attempts=3, budget=None, timeout=None)


def test_sync_waits_are_recorded_not_slept() -> None:
    transport = RetryTransport(script(503, 503, 200), policy=POLICY, clock=NoSleep())
    with testing(), httpx.Client(transport=transport) as client:
        response = client.get(URL)
    attempts = response.extensions["errorbook.attempts"]
    assert [a.wait for a in attempts] == [30.0, 30.0, 0.0]
    assert [a.reason for a in attempts] == ["retry-after", "retry-after", "success"]
    # The skipped waits count as time that passed, as they would have in production.
    assert [a.elapsed for a in attempts] == [0.0, 30.0, 60.0]


def test_async_waits_are_recorded_not_slept() -> None:
    async def main() -> httpx.Response:
        transport = AsyncRetryTransport(script(503, 200), policy=POLICY, clock=NoSleep())
        async with httpx.AsyncClient(transport=transport) as client:
            return await client.get(URL)

    with testing():
        response = asyncio.run(main())
    assert [a.wait for a in response.extensions["errorbook.attempts"]] == [30.0, 0.0]


def test_skipped_waits_still_count_against_the_timeout() -> None:
    """With a 45 s timeout, the second 30 s wait would end at 60 s: not taken, even though
    no time passed on the clock; a test sees the decision production would make."""
    policy = RetryPolicy(attempts=3, budget=None, timeout=45.0)
    transport = RetryTransport(script(503, 503, 200), policy=policy, clock=NoSleep())
    with (
        testing(),
        httpx.Client(transport=transport) as client,
        pytest.raises(httpx.HTTPStatusError) as caught,
    ):
        client.get(URL)
    assert [a.reason for a in caught.value.attempts] == ["retry-after", "timeout"]  # type: ignore[attr-defined]


def test_without_the_switch_the_clock_sleeps() -> None:
    transport = RetryTransport(script(503, 200), policy=POLICY, clock=NoSleep())
    with httpx.Client(transport=transport) as client, pytest.raises(AssertionError, match="slept"):
        client.get(URL)


def test_nested_blocks() -> None:
    assert not _testing.active()
    with testing():
        with testing():
            assert _testing.active()
        assert _testing.active()  # the outer block is still open
    assert not _testing.active()


def test_an_exception_inside_closes_the_block() -> None:
    with pytest.raises(RuntimeError), testing():
        raise RuntimeError("boom")
    assert not _testing.active()


def test_shared_across_threads() -> None:
    """One thread's block is seen by another (the transport may run anywhere), and many
    threads opening and closing blocks at once leave the switch off."""
    seen: list[bool] = []
    with testing():
        thread = threading.Thread(target=lambda: seen.append(_testing.active()))
        thread.start()
        thread.join()
    assert seen == [True]

    start = threading.Barrier(8)

    def churn() -> None:
        start.wait()
        for _ in range(500):
            with testing():
                pass

    threads = [threading.Thread(target=churn) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not _testing.active()


def test_pytest_does_not_collect_it() -> None:
    """Its name starts with "test"; imported into a test module it must not run as one."""
    assert testing.__test__ is False  # type: ignore[attr-defined]
