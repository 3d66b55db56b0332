"""Concurrency limits across processes: trackers one at a time, at most N running jobs.

``POST /v1/trackers`` takes one call at a time per credential. The handler is fast, so two
calls seldom overlap by chance; to see "in flight" from outside, the test holds calls open
itself: it sends a request's head and all of its body but the last byte (the handler waits
for the body while holding the slot). Twelve such calls sent at once over separate
connections, spread over the 4 workers, must leave exactly one waiting and eleven refused
with 429 ``concurrency_limited``; when the one finishes, or its client goes away, the slot
is free again for the next round.

``--max-jobs 2``: of 24 concurrent ``POST /v1/jobs`` exactly 2 start, the database holds
exactly 2 running jobs, and once they are done the next burst again starts exactly 2.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from ._http import Hammer, Outcome, Request, SlowRequest, retry_after
from ._procs import RedisProcess, Service, redis_process, serving_pids, start_service

WORKERS: Final = 4
MAX_JOBS: Final = 2
JOB_SECONDS: Final = 1.5
#: A generous rate, so the rate limit never answers for the concurrency limit here.
RATE: Final = "100000/minute"
TRACKER_KEY: Final = "acc-conc-trackers"
FAST_KEY: Final = "acc-conc-fast"
JOBS_KEY: Final = "acc-conc-jobs"
#: Calls held open at once per round.
CONTENDERS: Final = 12


@pytest.fixture(scope="module", name="redis")
def _redis() -> Iterator[RedisProcess]:
    with redis_process() as server:
        yield server


@pytest.fixture(scope="module", name="service")
def _service(redis: RedisProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory: Path = tmp_path_factory.mktemp("accuracy-concurrency")
    with start_service(
        directory,
        keys=(TRACKER_KEY, FAST_KEY, JOBS_KEY),
        store=redis.url,
        rate=[RATE],
        workers=WORKERS,
        extra=["--max-jobs", str(MAX_JOBS)],
    ) as service:
        yield service


def _rows(service: Service, table: str, owner: str) -> list[sqlite3.Row]:
    with sqlite3.connect(f"file:{service.db}?mode=ro", uri=True, timeout=10) as db:
        db.row_factory = sqlite3.Row
        return db.execute(f"SELECT * FROM {table} WHERE owner = ?", (owner,)).fetchall()


def _check_concurrency_refusal(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 429, (status, headers, body)
    assert "retry-after" in headers, headers
    assert headers["retry-after"].isdigit(), headers
    problem = json.loads(body)
    assert str(problem.get("type", "")).endswith("concurrency_limited"), problem


async def _spread_connections(service: Service, count: int) -> list[tuple[SlowRequest, int]]:
    """``count`` open connections, as evenly over the worker processes as connecting allows.

    Connections are opened one at a time and kept while their worker holds fewer than its
    share; a burst of connects would all be accepted by whichever worker woke first.
    """
    share = -(-count // WORKERS)
    kept: list[tuple[SlowRequest, int]] = []
    held: Counter[int] = Counter()
    for _ in range(20 * count):
        if len(kept) == count:
            break
        call = await SlowRequest.connect(service.port)
        deadline = time.monotonic() + 2
        owner = None
        while owner is None and time.monotonic() < deadline:
            owner = serving_pids(service, {call.client_port}).get(call.client_port)
            if owner is None:
                await asyncio.sleep(0.005)
        if owner is not None and held[owner] < share:
            kept.append((call, owner))
            held[owner] += 1
        else:
            await call.close()
    assert len(held) >= 2, f"every connection went to one worker: {held}\n{service.logs()}"
    return kept


async def _hold_round(service: Service, *, abort: bool) -> tuple[int, Counter[int]]:
    """Start CONTENDERS held calls at once over connections spread across the workers;
    return how many are still waiting (in flight) and how many calls each worker got."""
    spread = await _spread_connections(service, CONTENDERS)
    calls = [call for call, _ in spread]
    await asyncio.gather(
        *(
            call.begin(
                "POST",
                "/v1/trackers",
                {**service.auth(TRACKER_KEY), "Content-Type": "application/json"},
                json.dumps({"name": f"held-{uuid.uuid4().hex[:12]}"}).encode(),
            )
            for call in calls
        )
    )
    # Refusals come at once; wait for all but one of them, then a little longer, so a
    # second admitted call would show as a second one still waiting.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answered = await asyncio.gather(*(call.answer(0.05) for call in calls))
        if sum(answered) >= CONTENDERS - 1:
            break
    await asyncio.sleep(0.3)
    answered = await asyncio.gather(*(call.answer(0.05) for call in calls))
    waiting = [call for call, done in zip(calls, answered, strict=True) if not done]
    for call in calls:
        if call.status:
            body = await asyncio.wait_for(call.reader.read(), 5)
            headers = {
                line.partition(":")[0].strip().lower(): line.partition(":")[2].strip()
                for line in call.head.split("\r\n")[1:]
                if line
            }
            _check_concurrency_refusal(call.status, headers, body)
    if len(waiting) == 1:
        holder = waiting[0]
        if abort:
            await holder.abort()
        else:
            status = await holder.finish()
            assert status == 201, f"the call that held the slot finished with {holder.head!r}"
    for call in calls:
        await call.close()
    return len(waiting), Counter(owner for _, owner in spread)


def test_trackers_never_two_in_flight_across_workers(service: Service) -> None:
    """Rounds of 12 held tracker calls: exactly one in flight each time, eleven 429s;
    the slot is released when the call completes and when its client disconnects."""

    async def run() -> list[int]:
        counts = []
        for round_ in range(5):
            waiting, workers = await _hold_round(service, abort=round_ in (1, 3))
            counts.append(waiting)
            print(f"round {round_}: {waiting} in flight; calls per worker pid {dict(workers)}")
        return counts

    counts = asyncio.run(run())
    assert counts == [1] * 5, (
        f"calls in flight at once per round: {counts}, expected exactly 1 every round "
        "(0 after a disconnect round: the slot was not released; 2+: two in flight; "
        f"{CONTENDERS}: nothing answered before the body arrived)\n{service.logs()}"
    )
    created = _rows(service, "trackers", TRACKER_KEY)
    assert len(created) == 3, f"3 rounds completed a call, the database holds {len(created)}"


def test_trackers_hammered_create_only_what_they_answer(service: Service) -> None:
    """32 concurrent tracker calls, three times: each answer is 201 or a concurrency 429,
    and the database holds exactly the trackers answered 201."""

    async def run() -> list[Outcome]:
        outcomes: list[Outcome] = []
        async with Hammer(service.base_url, connections=32) as hammer:
            await hammer.open(lambda p: serving_pids(service, p), workers=WORKERS)
            for _ in range(3):
                requests = [
                    Request(
                        "POST",
                        "/v1/trackers",
                        service.auth(FAST_KEY),
                        {"name": f"fast-{uuid.uuid4().hex[:12]}"},
                    )
                    for _ in range(32)
                ]
                outcomes += await hammer.fire(requests)
        return outcomes

    outcomes = asyncio.run(run())
    statuses = Counter(o.status for o in outcomes)
    assert set(statuses) <= {201, 429}, [
        o.describe() for o in outcomes if o.status not in (201, 429)
    ]
    assert statuses[201] >= 3, statuses
    for outcome in outcomes:
        if outcome.status == 429:
            _check_concurrency_refusal(429, dict(outcome.headers), outcome.body)
    created = {row["id"] for row in _rows(service, "trackers", FAST_KEY)}
    answered = {json.loads(o.body)["id"] for o in outcomes if o.status == 201}
    assert created == answered, f"created {len(created)}, answered 201 for {len(answered)}"
    print(f"trackers hammered: {dict(statuses)}")


def test_at_most_max_jobs_running_across_workers(service: Service) -> None:
    """24 concurrent job starts admit exactly --max-jobs; the refusals' Retry-After, once
    the running jobs are done, is honoured by a burst that again admits exactly that many."""

    def burst_requests() -> list[Request]:
        return [Request("POST", "/v1/jobs", service.auth(JOBS_KEY), {"seconds": JOB_SECONDS})] * 24

    async def run() -> tuple[list[Outcome], list[Outcome]]:
        async with Hammer(service.base_url, connections=24) as hammer:
            await hammer.open(lambda p: serving_pids(service, p), workers=WORKERS)
            first = await hammer.fire(burst_requests())
            running = len(
                [row for row in _rows(service, "jobs", JOBS_KEY) if row["seconds"] == JOB_SECONDS]
            )
            assert running == MAX_JOBS, f"{running} jobs in the database after the first burst"
            refusals = [o for o in first if o.status == 429]
            assert refusals, [o.describe() for o in first]
            wait = max(retry_after(o) for o in refusals)
            assert wait <= JOB_SECONDS + 1, (
                f"Retry-After {wait}s, but the running jobs end within {JOB_SECONDS}s"
            )
            last = max(o.received for o in refusals)
            await asyncio.sleep(max(0.0, last + wait - time.monotonic()))
            second = await hammer.fire(burst_requests())
        return first, second

    first, second = asyncio.run(run())
    for name, burst in (("first", first), ("second", second)):
        statuses = Counter(o.status for o in burst)
        assert set(statuses) <= {202, 429}, [
            o.describe() for o in burst if o.status not in (202, 429)
        ]
        assert statuses[202] == MAX_JOBS, (
            f"{name} burst: {dict(statuses)}, expected {MAX_JOBS} x 202"
        )
        for outcome in burst:
            if outcome.status == 429:
                _check_concurrency_refusal(429, dict(outcome.headers), outcome.body)
        print(f"jobs, {name} burst of 24: {dict(statuses)}")
    assert len(_rows(service, "jobs", JOBS_KEY)) == 2 * MAX_JOBS
