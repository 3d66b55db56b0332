"""The memory store under a flood of distinct client keys: bounded, and forgetting on time.

The full measurement (1,000,000 distinct keys, bytes per key, the bound under the default
``max_keys``) is ``benchmarks/bench_state.py``'s ``memory_per_key``: about 285 bytes per
held key, so the default bound of 100,000 keys holds a flood of a million in about 36 MB.
These tests keep the same shape small enough to run in every test run: 200,000 distinct
keys through a store of ``max_keys=10,000``, traced with tracemalloc, and a fake clock to
watch entries expire without sleeping.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from typing import Final

import pytest

from errorbook._state import ALGORITHMS, Algorithm, Limit, MemoryStore

FLOOD: Final = 200_000
MAX_KEYS: Final = 10_000
#: Bytes per held key we accept: the benchmark measures about 285 on CPython 3.11; the
#: margin is for other interpreters' object sizes, not for growth with the flood.
BYTES_PER_KEY: Final = 600


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _key(i: int) -> str:
    # Shaped like the benchmark's: a client address and a credential, about 20 characters.
    return f"203.0.{i >> 16}.{i & 0xFFFF}:client-{i}"


def test_a_flood_of_distinct_keys_stays_under_the_bound() -> None:
    """200,000 distinct keys into max_keys=10,000: at most 10,000 entries, memory at most
    BYTES_PER_KEY per entry, and the second 100,000 keys add nothing to it."""
    store = MemoryStore(max_keys=MAX_KEYS, clock=Clock())
    limits = [Limit.parse("100/day")]  # nothing expires while the flood goes in

    async def fill(start: int, stop: int) -> int:
        most = 0
        for i in range(start, stop):
            decision = await store.decide(_key(i), limits)
            assert decision.allowed
            if not i & 0xFFF:
                most = max(most, len(store))
        return max(most, len(store))

    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        most = asyncio.run(fill(0, FLOOD // 2))
        half, _ = tracemalloc.get_traced_memory()
        most = max(most, asyncio.run(fill(FLOOD // 2, FLOOD)))
        full, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert most <= MAX_KEYS, f"{most} entries held at one point"
    assert len(store) == MAX_KEYS, len(store)
    held = full - base
    assert held <= MAX_KEYS * BYTES_PER_KEY, (
        f"{held:,} bytes for {MAX_KEYS:,} keys: {held / MAX_KEYS:.0f} per key, "
        f"above the {BYTES_PER_KEY} accepted"
    )
    # Flat, not merely small: the second half of the flood found the store full.
    assert full - half <= 0.05 * held, (
        f"the store grew by {full - half:,} bytes while 100,000 more keys went in"
    )
    assert peak - base <= 1.5 * MAX_KEYS * BYTES_PER_KEY, f"peak {peak - base:,} bytes"
    print(
        f"{FLOOD:,} keys into max_keys={MAX_KEYS:,}: {len(store):,} held, "
        f"{held:,} bytes ({held / MAX_KEYS:.0f} per key), peak {peak - base:,}"
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=ALGORITHMS)
def test_expired_keys_are_gone_after_their_window(algorithm: Algorithm) -> None:
    """Keys spent to their limit keep refusing until their window ends, and after it the
    incremental sweep of ordinary writes has removed every one of them (no sweep() call)."""
    clock = Clock()
    store = MemoryStore(max_keys=MAX_KEYS, clock=clock)
    limit = Limit.parse("3/minute", algorithm=algorithm)
    keys = [_key(i) for i in range(2_000)]

    async def run() -> None:
        for key in keys:
            for _ in range(3):
                assert (await store.decide(key, [limit])).allowed
        assert len(store) == len(keys)
        # Within the window every key is still remembered: a fourth hit is refused.
        clock.now += 1.0
        refused = [not (await store.decide(key, [limit])).allowed for key in keys[:50]]
        assert all(refused), f"{algorithm}: keys forgotten inside their window"
        # Past every algorithm's horizon (sliding windows look one period back).
        clock.now += 2 * limit.period + 1
        live = [Limit.parse("100000/minute", algorithm=algorithm)]
        for _ in range(len(keys)):  # writes on one other key drive the incremental sweep
            await store.decide("one-live-client", live)
        assert len(store) == 1, (
            f"{algorithm}: {len(store) - 1} of {len(keys)} expired keys still held after "
            f"{len(keys)} writes"
        )
        # And a forgotten key starts afresh.
        assert (await store.decide(keys[0], [limit])).states[0].remaining == 2

    asyncio.run(run())


def test_sweep_drops_everything_expired_at_once() -> None:
    """``sweep()`` removes every expired entry in one call and reports how many."""
    clock = Clock()
    store = MemoryStore(max_keys=MAX_KEYS, clock=clock)
    limits = [Limit.parse("10/second")]

    async def run() -> tuple[int, int]:
        for i in range(5_000):
            await store.decide(_key(i), limits)
        clock.now += 2.0
        return await store.sweep(), len(store)

    swept, left = asyncio.run(run())
    assert (swept, left) == (5_000, 0)
