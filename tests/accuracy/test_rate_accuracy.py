"""Rate-limit accuracy across processes: 4 workers, one Redis, 100 requests per window.

The service runs ``--rate "100/5 minutes"`` with GCRA, the default: burst 100 and then one
request per emission interval of 3 s. A burst of 200 requests that ends well inside one
interval must therefore admit exactly 100, whichever worker decides each request: one
more is an over-admission (two workers read the same state), one fewer is a lost update.
The ``RateLimit`` headers of the 100 admitted responses must count down 99, 98, ..., 0,
each value exactly once: the decisions were serialised, not merely summed right.

Which worker answered is observed from outside (the service does not say): each
connection's server-side socket is found in ``/proc`` and its owning process named.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from ._http import Hammer, Outcome, Request, ratelimit_remaining, retry_after
from ._procs import RedisProcess, Service, redis_process, serving_pids, start_service

AMOUNT: Final = 100
PERIOD: Final = 300.0
INTERVAL: Final = PERIOD / AMOUNT  # GCRA's emission interval: 3 s
RATE: Final = "100/5 minutes"
#: Requests per burst: twice the limit, so refusals are certain and plenty.
BURST: Final = 2 * AMOUNT
WORKERS: Final = 4
#: One credential per burst, so every burst starts from a fresh key.
BURST_KEYS: Final = tuple(f"acc-rate-burst-{i}" for i in range(3))
RETRY_KEYS: Final = tuple(f"acc-rate-retry-{i}" for i in range(4))
ADMITTED: Final = 418  # GET /v1/teapot: the handler's answer, so "admitted" is unambiguous
ROUTE: Final = "/v1/teapot"


@pytest.fixture(scope="module", name="redis")
def _redis() -> Iterator[RedisProcess]:
    with redis_process() as server:
        yield server


@pytest.fixture(scope="module", name="service")
def _service(redis: RedisProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory: Path = tmp_path_factory.mktemp("accuracy-rate")
    with start_service(
        directory,
        keys=BURST_KEYS + RETRY_KEYS,
        store=redis.url,
        rate=[RATE],
        workers=WORKERS,
    ) as service:
        yield service


def _teapots(service: Service, key: str, count: int) -> list[Request]:
    return [Request("GET", ROUTE, service.auth(key))] * count


def _check_refusal(outcome: Outcome, service: Service) -> None:
    """A refusal is the catalog's rate_limited problem with Retry-After and both headers."""
    assert outcome.status == 429, outcome.describe()
    seconds = retry_after(outcome)
    assert 1 <= seconds <= math.ceil(INTERVAL), (
        f"GCRA refuses for at most one emission interval ({INTERVAL}s): {outcome.describe()}"
    )
    media = outcome.headers.get("content-type", "").split(";")[0]
    assert media == "application/problem+json", outcome.describe()
    body = json.loads(outcome.body)
    assert body["status"] == 429, body
    assert str(body.get("type", "")).endswith("rate_limited"), body
    policy = outcome.headers.get("ratelimit-policy", "")
    assert f"q={AMOUNT}" in policy, outcome.describe()
    assert f"w={int(PERIOD)}" in policy, outcome.describe()
    assert ratelimit_remaining(outcome) == [0], outcome.describe()


def test_one_burst_admits_exactly_the_limit_across_workers(service: Service) -> None:
    """Bursts of 200 through 32 connections spread over 4 workers admit exactly 100 each,
    counting RateLimit remaining down 99..0 once each; every refusal is a full 429."""

    async def run() -> list[tuple[list[Outcome], dict[int, int], float]]:
        bursts = []
        async with Hammer(service.base_url, connections=32) as hammer:
            held = await hammer.open(lambda ports: serving_pids(service, ports), workers=WORKERS)
            assert len([pid for pid in held if pid is not None]) >= 2, (
                f"the connections all went to one worker process ({held}); the test "
                f"needs them spread to say anything about races.\n{service.logs()}"
            )
            print(f"connections per worker pid: {dict(held)}")
            for key in BURST_KEYS:
                started = time.monotonic()
                outcomes = await hammer.fire(_teapots(service, key, BURST))
                span = time.monotonic() - started
                ports = {o.client_port for o in outcomes}
                bursts.append((outcomes, serving_pids(service, ports), span))
        return bursts

    for key, (outcomes, owners, span) in zip(BURST_KEYS, asyncio.run(run()), strict=True):
        statuses = Counter(o.status for o in outcomes)
        unexpected = [o.describe() for o in outcomes if o.status not in (ADMITTED, 429)]
        assert not unexpected, f"{len(unexpected)} answers besides {ADMITTED}/429: {unexpected[:3]}"
        # Exactness holds only if the burst ended before GCRA let one more through.
        assert span < INTERVAL, (
            f"the burst took {span:.2f}s, over the {INTERVAL}s emission interval: this "
            "machine is too slow for an exact count"
        )
        admitted = [o for o in outcomes if o.status == ADMITTED]
        assert len(admitted) == AMOUNT, (
            f"{key}: {len(admitted)} of {BURST} admitted in {span:.2f}s, expected exactly "
            f"{AMOUNT} ({statuses})"
        )
        remaining = sorted(r for o in admitted for r in ratelimit_remaining(o))
        assert remaining == list(range(AMOUNT)), (
            f"{key}: RateLimit r of the admitted responses is not 0..99 once each: "
            f"{Counter(remaining).most_common(5)}"
        )
        for outcome in outcomes:
            if outcome.status == 429:
                _check_refusal(outcome, service)
        deciders = Counter(owners.get(o.client_port) for o in admitted)
        assert len([pid for pid in deciders if pid is not None]) >= 2, (
            f"{key}: the 100 admissions were all decided by one worker: {deciders}"
        )
        print(
            f"{key}: {BURST} requests in {span:.2f}s -> {len(admitted)} admitted, "
            f"{statuses[429]} refused; admissions per worker pid {dict(deciders)}"
        )


def test_the_state_lives_in_the_shared_redis(service: Service, redis: RedisProcess) -> None:
    """The workers' limit state is in the one Redis they share (not four private memories)."""
    keys = redis.cli("--scan").split()
    assert any(key in name for name in keys for key in BURST_KEYS), (
        f"no key of the bursts' credentials in Redis ({keys[:10]}): the workers do not "
        f"keep their limits there\n{service.logs()}"
    )


def test_retry_after_honoured_succeeds_and_admits_only_what_came_back(service: Service) -> None:
    """Four clients each exhaust their limit, sleep their last 429's Retry-After and retry:
    each retry is admitted, and a burst right after it admits nothing more than GCRA
    gave back in the time elapsed."""

    async def client(hammer: Hammer, key: str) -> tuple[float, Outcome, Outcome, list[Outcome]]:
        first = time.monotonic()
        burst = await hammer.fire(_teapots(service, key, AMOUNT + 30))
        refusals = [o for o in burst if o.status == 429]
        assert refusals, f"{key}: no refusal in {AMOUNT + 30} requests"
        last = max(refusals, key=lambda o: o.received)
        _check_refusal(last, service)
        await asyncio.sleep(max(0.0, last.received + retry_after(last) - time.monotonic()))
        retried = await hammer.send(Request("GET", ROUTE, service.auth(key)))
        after = await hammer.fire(_teapots(service, key, 20))
        return first, last, retried, after

    async def run() -> list[tuple[float, Outcome, Outcome, list[Outcome]]]:
        hammers = [Hammer(service.base_url, connections=8) for _ in RETRY_KEYS]
        try:
            for hammer in hammers:
                await hammer.open(lambda ports: serving_pids(service, ports), workers=WORKERS)
            return await asyncio.gather(
                *(client(hammer, key) for hammer, key in zip(hammers, RETRY_KEYS, strict=True))
            )
        finally:
            for hammer in hammers:
                await hammer.__aexit__()

    for key, (first, last, retried, after) in zip(RETRY_KEYS, asyncio.run(run()), strict=True):
        assert retried.status == ADMITTED, (
            f"{key}: slept Retry-After {retry_after(last)}s after {last.describe()}, "
            f"then got {retried.describe()}"
        )
        # Tokens GCRA can have returned since the first request of this key was sent:
        # an upper bound, since the server saw that request later than we sent it.
        elapsed = max(o.received for o in after) - first
        back = int(elapsed // INTERVAL)
        extra = sum(o.status == ADMITTED for o in after)
        assert 1 + extra <= back, (
            f"{key}: {1 + extra} admitted after the limit was spent, but only {back} "
            f"could have come back in {elapsed:.2f}s"
        )
        for outcome in after:
            if outcome.status == 429:
                _check_refusal(outcome, service)
