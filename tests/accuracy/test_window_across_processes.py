"""The fixed window across processes: exactly 100 per window, window after window.

The reference service's ``--rate`` takes GCRA only, so the window algorithm is driven at
the store: 4 OS processes, each with its own Redis connection and 8 concurrent tasks,
hammer one key with a fixed window of 100 per second for about 3.5 seconds. A key's window
opens at its first counted hit, so admissions come in clusters, one per window, separated
by the rest of the window in which everything is refused. Every cluster must hold exactly
100 admissions, whichever process made them.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Final

import pytest

from errorbook._state import Limit, open_store

from ._procs import RedisProcess, redis_process

PROCESSES: Final = 4
TASKS: Final = 8
AMOUNT: Final = 100
WINDOW: Final = 1.0
RUN: Final = 3.5


@pytest.fixture(scope="module", name="redis")
def _redis() -> Iterator[RedisProcess]:
    with redis_process() as server:
        yield server


def warm(_: int) -> int:
    """In a worker process: import the Redis store, and hold the process a moment so that
    each warm-up call lands on a different one."""
    import os

    import errorbook._state._redis  # noqa: F401

    time.sleep(0.3)
    return os.getpid()


def hammer(url: str, key: str, start: float, until: float) -> tuple[int, list[float], int]:
    """In a worker process: decide as fast as possible; (pid, admission times, refusals)."""
    import os

    limit = Limit(AMOUNT, WINDOW, algorithm="fixed_window")

    async def run() -> tuple[list[float], int]:
        store = open_store(url)
        admitted: list[float] = []
        refused = 0

        async def task() -> None:
            nonlocal refused
            while time.monotonic() < until:
                decision = await store.decide(key, [limit])
                if decision.allowed:
                    admitted.append(time.monotonic())
                else:
                    refused += 1

        try:
            await store.decide("warm-up", [limit])  # connect and load the script first
            await asyncio.sleep(max(0.0, start - time.monotonic()))
            await asyncio.gather(*(task() for _ in range(TASKS)))
        finally:
            await store.aclose()
        return admitted, refused

    admitted, refused = asyncio.run(run())
    return os.getpid(), admitted, refused


def test_fixed_window_admits_exactly_the_limit_in_every_window(redis: RedisProcess) -> None:
    """4 processes x 8 tasks on one key: each window's cluster of admissions is exactly 100."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        # Start together, once every process is up and has imported the Redis store.
        pids: set[int] = set()
        deadline = time.monotonic() + 60
        while len(pids) < PROCESSES and time.monotonic() < deadline:
            pids |= set(pool.map(warm, range(PROCESSES), timeout=60))
        assert len(pids) == PROCESSES, f"the warm-up reached {len(pids)} processes"
        start = time.monotonic() + 0.3
        futures = [
            pool.submit(hammer, redis.url, "window-key", start, start + RUN)
            for _ in range(PROCESSES)
        ]
        results = [future.result(timeout=60) for future in futures]
    late = time.monotonic() - (start + RUN)
    assert late < 10, f"the workers finished {late:.1f}s late"
    times = sorted(t for _, admitted, _ in results for t in admitted)
    clusters: list[list[float]] = [[times[0]]] if times else []
    for t in times[1:]:
        if t - clusters[-1][-1] > WINDOW / 2:
            clusters.append([t])
        else:
            clusters[-1].append(t)
    sizes = [len(cluster) for cluster in clusters]
    refused = sum(r for _, _, r in results)
    per_process = {pid: len(admitted) for pid, admitted, _ in results}
    assert len(clusters) >= 3, f"only {len(clusters)} windows in {RUN}s: {sizes}"
    # The last window may be cut short by the end of the run.
    assert all(size == AMOUNT for size in sizes[:-1]), (
        f"admissions per window {sizes}, expected {AMOUNT} in each (per process "
        f"{per_process}, {refused} refused)"
    )
    assert sizes[-1] <= AMOUNT, sizes
    assert sum(1 for n in per_process.values() if n) >= 2, per_process
    print(f"fixed window: admissions per window {sizes}; per process {per_process}")
