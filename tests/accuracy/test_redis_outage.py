"""Redis killed in the middle of a run, then restarted: no 500, the policy answers, limits resume.

Two services share one redis-server, one failing open and one failing closed, each with 4
workers and ``--rate "100/5 minutes"`` (GCRA: burst 100, then one per 3 s). Each credential
first spends its limit, so before the outage its answers are 429s. Under a steady load from
both, Redis is SIGKILLed, left dead for a while, and started again on the same port, empty
(no persistence). Every answer is recorded with when it was sent:

- never a 500 (nor a transport error) at any moment;
- during the outage the fail-open service admits (its handler answers, though the limit was
  spent: the store cannot say no), and the fail-closed one answers 503 with ``Retry-After``
  and the catalog's problem body;
- once Redis is back the limits count again from nothing: 429s return, and the fail-closed
  service admits 100 before they do (its 503s consumed nothing).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import httpx
import pytest

from ._http import Hammer, Outcome, Request, retry_after
from ._procs import RedisProcess, Service, redis_process, serving_pids, start_service

WORKERS: Final = 4
AMOUNT: Final = 100
INTERVAL: Final = 3.0
RATE: Final = "100/5 minutes"
ROUTE: Final = "/v1/teapot"
ADMITTED: Final = 418
OPEN_KEY: Final = "acc-outage-open"
CLOSED_KEY: Final = "acc-outage-closed"
#: The command line's store-failure policy option and its two values.
POLICY_OPTION: Final = "--store-policy"
FAIL_OPEN: Final = "fail_open"
FAIL_CLOSED: Final = "fail_closed"
#: What the layer logs (WARNING) when the store fails, and when it answers again.
OUTAGE_LOG: Final = "state store failed"
RECOVERY_LOG: Final = "state store answers again"
OUTAGE: Final = 2.0
#: Answers sent this soon after the kill may have been decided before it.
SETTLE: Final = 0.3


@dataclass
class Services:
    open: Service
    closed: Service


@pytest.fixture(scope="module", name="redis")
def _redis() -> Iterator[RedisProcess]:
    with redis_process() as server:
        yield server


@pytest.fixture(scope="module", name="services")
def _services(redis: RedisProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    with (
        start_service(
            tmp_path_factory.mktemp("accuracy-outage-open"),
            keys=(OPEN_KEY,),
            store=redis.url,
            rate=[RATE],
            workers=WORKERS,
            extra=[POLICY_OPTION, FAIL_OPEN],
        ) as fail_open,
        start_service(
            tmp_path_factory.mktemp("accuracy-outage-closed"),
            keys=(CLOSED_KEY,),
            store=redis.url,
            rate=[RATE],
            workers=WORKERS,
            extra=[POLICY_OPTION, FAIL_CLOSED],
        ) as fail_closed,
    ):
        yield Services(fail_open, fail_closed)


async def _load(
    hammer: Hammer, request: Request, stop: asyncio.Event, tasks: int, outcomes: list[Outcome]
) -> None:
    """Send ``request`` from ``tasks`` tasks back to back until ``stop`` is set."""

    async def loop(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            outcomes.append(await hammer.send(request, client))
            await asyncio.sleep(0.005)

    await asyncio.gather(*(loop(client) for client in hammer.clients[:tasks]))


def _check_unavailable(outcome: Outcome) -> None:
    """Fail-closed: 503 with Retry-After and the catalog's problem body."""
    assert outcome.status == 503, outcome.describe()
    retry_after(outcome)
    media = outcome.headers.get("content-type", "").split(";")[0]
    assert media == "application/problem+json", outcome.describe()
    body = json.loads(outcome.body)
    assert body.get("status") == 503, body
    # The layer answers a store outage with the catalog's maintenance entry.
    assert str(body.get("type")).endswith("maintenance"), body
    assert body.get("title"), body


def test_redis_killed_and_restarted_under_load(services: Services, redis: RedisProcess) -> None:
    """Under load: no 500 ever; fail-open admits and fail-closed answers 503 while Redis is
    dead; after the restart the limits count from zero and 429s come back."""

    async def run() -> tuple[list[Outcome], list[Outcome], float, float, float]:
        async with (
            Hammer(services.open.base_url, connections=8) as open_hammer,
            Hammer(services.closed.base_url, connections=8) as closed_hammer,
        ):
            await open_hammer.open(lambda p: serving_pids(services.open, p), workers=WORKERS)
            await closed_hammer.open(lambda p: serving_pids(services.closed, p), workers=WORKERS)
            open_request = Request("GET", ROUTE, services.open.auth(OPEN_KEY))
            closed_request = Request("GET", ROUTE, services.closed.auth(CLOSED_KEY))
            # Spend both limits first, so "admitted" during the outage can only be the policy.
            for hammer, request in ((open_hammer, open_request), (closed_hammer, closed_request)):
                spent = Counter(o.status for o in await hammer.fire([request] * (AMOUNT + 20)))
                assert spent == {ADMITTED: AMOUNT, 429: 20}, f"before the outage: {spent}"
            stop = asyncio.Event()
            open_outcomes: list[Outcome] = []
            closed_outcomes: list[Outcome] = []
            loads = asyncio.gather(
                _load(open_hammer, open_request, stop, 4, open_outcomes),
                _load(closed_hammer, closed_request, stop, 4, closed_outcomes),
            )
            await asyncio.sleep(0.5)
            killed = time.monotonic()
            await asyncio.to_thread(redis.kill)
            await asyncio.sleep(OUTAGE)
            # Redis answers from some moment inside start(): "during" ends before it
            # began, "after" starts once it returned.
            restarting = time.monotonic()
            await asyncio.to_thread(redis.start)
            restarted = time.monotonic()
            # Load on until both services refuse again (the fresh limits are spent), or give up.
            deadline = restarted + 20
            while time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                if all(
                    sum(o.status == 429 and o.sent > restarted for o in outcomes) >= 10
                    for outcomes in (open_outcomes, closed_outcomes)
                ):
                    break
            stop.set()
            await loads
        return open_outcomes, closed_outcomes, killed, restarting, restarted

    open_outcomes, closed_outcomes, killed, restarting, restarted = asyncio.run(run())
    for name, outcomes, service in (
        ("fail_open", open_outcomes, services.open),
        ("fail_closed", closed_outcomes, services.closed),
    ):
        statuses = Counter(o.status for o in outcomes)
        allowed = {ADMITTED, 429} | ({503} if name == "fail_closed" else set())
        bad = [o.describe() for o in outcomes if o.status not in allowed]
        assert not bad, f"{name}: {len(bad)} answers outside {allowed}: {bad[:3]}\n{service.logs()}"
        during = [o for o in outcomes if o.sent >= killed + SETTLE and o.received <= restarting]
        assert len(during) >= 10, f"{name}: only {len(during)} answers during the outage"
        if name == "fail_open":
            wrong = [o.describe() for o in during if o.status != ADMITTED]
            assert not wrong, f"fail_open refused during the outage: {wrong[:3]}"
        else:
            for outcome in during:
                _check_unavailable(outcome)
        after = sorted((o for o in outcomes if o.sent >= restarted), key=lambda o: o.sent)
        refused = [o for o in after if o.status == 429]
        assert refused, (
            f"{name}: no 429 in {len(after)} answers after Redis came back: limits did not "
            f"resume ({Counter(o.status for o in after)})\n{service.logs()}"
        )
        if name == "fail_closed":
            # Fail-closed admits nothing while Redis is dead, so every admission since the
            # kill was decided by the restarted, empty Redis: a fresh burst of exactly 100
            # (plus what GCRA refills while the load goes on).
            admitted = [o for o in outcomes if o.sent >= killed and o.status == ADMITTED]
            span = max(o.received for o in outcomes) - restarting
            most = AMOUNT + math.floor(span / INTERVAL)
            assert AMOUNT <= len(admitted) <= most, (
                f"fail_closed admitted {len(admitted)} once Redis was back ({span:.1f}s of "
                f"load: expected {AMOUNT} to {most})"
            )
        # Logged once per outage per worker process, not once per request.
        logged = service.stderr()
        failed, recovered = logged.count(OUTAGE_LOG), logged.count(RECOVERY_LOG)
        assert 1 <= failed <= WORKERS, (
            f"{name}: the outage was logged {failed} times by {WORKERS} workers\n{logged[-3000:]}"
        )
        assert recovered <= failed, f"{name}: {recovered} recoveries logged for {failed} failures"
        latency = max(o.received - o.sent for o in outcomes)
        print(f"{name}: {dict(statuses)}; {len(during)} during the outage; slowest {latency:.2f}s")
