"""A retry storm: 1000 requests to a server that fails them all, and what the budget saves.

`Outage` is a threaded HTTP/1.1 server on 127.0.0.1 that answers 503 to everything while it
is down and 200 once it is up again, and counts every request it receives, so the load is
measured where it lands, not where the client thinks it sent it. With attempts=4 and no
budget, 1000 failing requests become 4000; a `RetryBudget(ratio=0.1, minimum=10)` shared
through the policy keeps them to at most ``1000 * 1.1 + 10``. Once the server is back, the
successes refill the budget and a failing request is retried in full again.

No test sleeps: waits are computed and skipped under `testing()` (sync), or taken on a fake
clock (async).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import httpx
import pytest

from errorbook.client import (
    AsyncRetryTransport,
    ProblemError,
    RetryBudget,
    RetryPolicy,
    RetryTransport,
    testing,
)

from ._clock import FakeClock

REQUESTS: Final = 1000
ATTEMPTS: Final = 4
RATIO: Final = 0.1
MINIMUM: Final = 10.0
#: The most the server may see during the storm with the budget on.
CAP: Final = REQUESTS * (1 + RATIO) + MINIMUM


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: Outage


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle on, the body would wait for
    # the client's delayed ACK (40 ms a response).
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        status, body = self.server.owner.answer()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Outage:
    """A server on a free loopback port: 503 to everything while ``down``; counts requests."""

    def __init__(self) -> None:
        self.down = True
        self.count = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def answer(self) -> tuple[int, bytes]:
        with self._lock:
            self.count += 1
            down = self.down
        return (503, b"down for now") if down else (200, b"fine")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@pytest.fixture(name="outage")
def _outage() -> Iterator[Outage]:
    server = Outage()
    try:
        yield server
    finally:
        server.close()


def storm(client: httpx.Client, count: int) -> list[ProblemError]:
    """Send ``count`` GETs that all fail; return the error each one raised."""
    errors: list[ProblemError] = []
    for i in range(count):
        try:
            response = client.get(f"/v1/items/{i}")
        except ProblemError as exc:
            errors.append(exc)
        else:
            raise AssertionError(f"request {i} succeeded during the outage: {response}")
    return errors


def reasons(errors: list[ProblemError]) -> dict[str, int]:
    """How many requests ended for each reason (the last attempt's)."""
    found: dict[str, int] = {}
    for error in errors:
        reason = error.attempts[-1].reason
        found[reason] = found.get(reason, 0) + 1
    return found


def test_budget_caps_the_storm_and_refills(outage: Outage) -> None:
    """1000 failing requests with attempts=4 and a 10% budget: the server sees more than
    1000 (retries happened) and at most 1000 * 1.1 + 10; later in the storm retries run at
    the ratio; after the server recovers, successes refill the budget and a failing request
    gets all its retries again."""
    budget = RetryBudget(ratio=RATIO, minimum=MINIMUM)
    policy = RetryPolicy(attempts=ATTEMPTS, budget=budget)
    transport = RetryTransport(httpx.HTTPTransport(), policy=policy)
    with testing(), httpx.Client(transport=transport, base_url=outage.url, timeout=10) as client:
        first = storm(client, REQUESTS // 2)
        halfway = outage.count
        second = storm(client, REQUESTS - REQUESTS // 2)
        during = outage.count

        errors = first + second
        assert {error.status for error in errors} == {503}
        assert all(error.parsed is False for error in errors)
        # What the client recorded is what the server saw.
        assert sum(len(error.attempts) for error in errors) == during
        assert REQUESTS < during <= CAP, f"the server saw {during} requests (cap {CAP})"
        # Past the opening reserve, retries are paid for by the ratio alone.
        later_retries = during - halfway - len(second)
        assert 0 < later_retries <= len(second) * RATIO + 1, later_retries
        ended = reasons(errors)
        assert ended.get("retry-budget", 0) > 0, ended
        assert set(ended) <= {"retry-budget", "attempts-exhausted"}, ended
        full = [e for e in errors if e.attempts[-1].reason == "attempts-exhausted"]
        assert all(len(error.attempts) == ATTEMPTS for error in full)

        # The server recovers: every request succeeds at once, no retry sent.
        outage.down = False
        for i in range(200):
            response = client.get(f"/v1/items/ok-{i}")
            assert response.status_code == 200
            assert response.text == "fine"
        assert outage.count == during + 200

        # 200 first attempts deposited 20 tokens (capped at the minimum): a new failure
        # is retried in full again.
        outage.down = True
        again = storm(client, 3)
        assert outage.count == during + 200 + 3 * ATTEMPTS
        assert [len(error.attempts) for error in again] == [ATTEMPTS] * 3
        assert reasons(again) == {"attempts-exhausted": 3}
    print(
        f"budget: {REQUESTS} failing requests -> {during} requests on the server "
        f"(cap {CAP:.0f}; {ended})"
    )


def test_without_a_budget_every_request_is_sent_four_times(outage: Outage) -> None:
    """The same storm with no budget: the server sees exactly 4000 requests, the load the
    budget prevents."""
    policy = RetryPolicy(attempts=ATTEMPTS, budget=None)
    transport = RetryTransport(httpx.HTTPTransport(), policy=policy)
    with testing(), httpx.Client(transport=transport, base_url=outage.url, timeout=10) as client:
        errors = storm(client, REQUESTS)
    assert outage.count == REQUESTS * ATTEMPTS
    assert reasons(errors) == {"attempts-exhausted": REQUESTS}
    assert outage.count > CAP * 3


def test_concurrent_storm_on_the_async_transport_is_capped(outage: Outage) -> None:
    """1000 failing requests from 50 concurrent tasks through one AsyncRetryTransport (a fake
    clock, so no sleeping): the shared budget still caps the server's load at the ratio."""
    clock = FakeClock()
    budget = RetryBudget(ratio=RATIO, minimum=MINIMUM)
    policy = RetryPolicy(attempts=ATTEMPTS, budget=budget)

    async def run() -> list[BaseException | httpx.Response]:
        transport = AsyncRetryTransport(httpx.AsyncHTTPTransport(), policy=policy, clock=clock)
        async with httpx.AsyncClient(
            transport=transport,
            base_url=outage.url,
            timeout=30,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
        ) as client:
            queue = iter(range(REQUESTS))
            results: list[BaseException | httpx.Response] = []

            async def worker() -> None:
                for i in queue:
                    try:
                        results.append(await client.get(f"/v1/items/{i}"))
                    except ProblemError as exc:
                        results.append(exc)

            await asyncio.gather(*(worker() for _ in range(50)))
            return results

    results = asyncio.run(run())
    errors = [r for r in results if isinstance(r, ProblemError)]
    assert len(errors) == len(results) == REQUESTS
    assert sum(len(error.attempts) for error in errors) == outage.count
    assert REQUESTS < outage.count <= CAP, f"the server saw {outage.count} (cap {CAP})"
    assert reasons(errors).get("retry-budget", 0) > 0
    assert len(clock.sleeps) == outage.count - REQUESTS  # one wait before every retry
