"""The memory store's own promises: bounded, swept, and forgiving when it forgets."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errorbook._state import Limit, MemoryStore, Started, StoredResponse
from tests.state.conftest import FakeClock

pytestmark = pytest.mark.anyio


async def test_flood_of_distinct_keys_stays_bounded() -> None:
    """100,000 distinct keys through a store of 10,000 never hold more than 10,000 entries."""
    store = MemoryStore(max_keys=10_000, clock=FakeClock())
    limit = Limit.parse("10/hour")
    peak = 0
    for i in range(100_000):
        await store.decide(f"client-{i}", [limit])
        if i % 1000 == 0:
            peak = max(peak, len(store))
    assert max(peak, len(store)) <= 10_000


async def test_active_client_survives_a_flood() -> None:
    """A client active throughout a flood keeps its state: eviction takes the idle first."""
    store = MemoryStore(max_keys=1_000, clock=FakeClock())
    limit = Limit.parse("1000/hour")
    for i in range(20_000):
        await store.decide(f"flood-{i}", [limit])
        if i % 100 == 0:
            await store.decide("regular", [limit])
    peek = await store.decide("regular", [limit], cost=0)
    assert peek.states[0].remaining == 1000 - 200


async def test_several_limits_at_once_stay_within_the_bound() -> None:
    """A decision writes one entry per limit; putting one may evict another the same
    decision read, which is then written back: the map still never passes its bound."""
    store = MemoryStore(max_keys=2, clock=FakeClock())
    second, hour = Limit.parse("5/second"), Limit.parse("50/hour")
    await store.decide("k", [second, hour])
    await store.decide("x", [hour])  # full: k's per-second entry goes, k's hourly stays first
    # k's per-second entry is new, and putting it evicts k's hourly one, read just before.
    decision = await store.decide("k", [second, hour])
    assert decision.allowed
    assert len(store) == 2
    assert [s.remaining for s in decision.states] == [4, 48]


async def test_eviction_only_forgives() -> None:
    """A refused key that is evicted starts afresh (admitted), never the reverse."""
    store = MemoryStore(max_keys=1, clock=FakeClock())
    limit = Limit.parse("1/hour")
    assert (await store.decide("a", [limit])).allowed
    assert not (await store.decide("a", [limit])).allowed
    await store.decide("b", [limit])  # the store is full: "a" goes
    assert (await store.decide("a", [limit])).allowed
    lease = await store.acquire("c", 1, ttl=60)  # evicts "a" again; "c" is held
    assert lease is not None
    await store.decide("d", [limit])  # evicts the lease set: its slot is forgiven
    assert await store.acquire("c", 1, ttl=60) is not None
    await store.release(lease)  # releasing a forgotten lease is harmless


async def test_expired_keys_are_swept_by_writes() -> None:
    """Keys whose window has passed are reclaimed by the incremental sweep, no timer."""
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    short = Limit.parse("5/second")
    for i in range(10_000):
        await store.decide(f"c{i}", [short])
    assert len(store) == 10_000
    clock.advance(1.01)
    for _ in range(5_000):
        await store.decide("steady", [Limit.parse("1000000/hour")])
    assert len(store) == 1


async def test_long_lived_entries_do_not_block_the_sweep() -> None:
    """A key with a day-long window ahead of expired ones is rotated, not a wall."""
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    await store.decide("daily", [Limit.parse("5/day")])
    for i in range(1_000):
        await store.decide(f"c{i}", [Limit.parse("5/second")])
    clock.advance(2)
    for _ in range(1_000):
        await store.decide("daily", [Limit.parse("1000/second")])
    assert len(store) == 2  # "daily" under its two limits


async def test_sweep_everything_now() -> None:
    """``sweep()`` drops every expired rate entry, lease set and record at once."""
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    for i in range(100):
        await store.decide(f"c{i}", [Limit.parse("5/second")])
    await store.acquire("lease", 1, ttl=1)
    started = await store.begin("idem", "fp", lock_ttl=1)
    assert isinstance(started, Started)
    assert await store.complete("idem", started.token, StoredResponse(200, (), b""), retention=1)
    clock.advance(1.5)
    assert await store.sweep() == 102
    assert len(store) == 0


async def test_expired_records_are_swept_by_new_ones() -> None:
    """Completed records past their retention are dropped as new idempotent requests start."""
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    for i in range(100):
        started = await store.begin(f"old-{i}", "fp", lock_ttl=5)
        assert isinstance(started, Started)
        await store.complete(f"old-{i}", started.token, StoredResponse(200, (), b""), retention=60)
    clock.advance(61)
    for i in range(50):
        await store.begin(f"new-{i}", "fp", lock_ttl=5)
    assert len(store._records) == 50


async def test_records_have_their_own_bound() -> None:
    """Idempotency records are capped apart from rate keys, so a rate-key flood keeps them."""
    store = MemoryStore(max_keys=10, max_records=3, clock=FakeClock())
    for i in range(5):
        await store.begin(f"idem-{i}", "fp", lock_ttl=60)
    for i in range(100):
        await store.decide(f"flood-{i}", [Limit.parse("1/hour")])
    assert len(store._records) == 3
    assert list(store._records) == ["idem-2", "idem-3", "idem-4"]
    assert len(store._entries) == 10


async def test_leases_released_to_empty_leave_no_entry() -> None:
    """Releasing the last lease of a key removes the key."""
    store = MemoryStore(clock=FakeClock())
    lease = await store.acquire("k", 2, ttl=60)
    assert lease is not None
    await store.release(lease)
    assert len(store) == 0


async def test_no_await_between_read_and_write() -> None:
    """Interleaved tasks on one loop cannot double-spend: decisions are atomic."""
    store = MemoryStore()
    limit = Limit.parse("100/hour", algorithm="fixed_window")

    async def client() -> int:
        admitted = 0
        for _ in range(50):
            admitted += (await store.decide("shared", [limit])).allowed
            await asyncio.sleep(0)
        return admitted

    assert sum(await asyncio.gather(*(client() for _ in range(10)))) == 100


def test_options_are_validated() -> None:
    """Bounds must be positive integers."""
    with pytest.raises(ValueError, match="max_keys must be an integer of at least 1"):
        MemoryStore(max_keys=0)
    with pytest.raises(ValueError, match="max_records must be an integer of at least 1"):
        MemoryStore(max_records=True)
    assert repr(MemoryStore(max_keys=5)) == "<MemoryStore 0/5 keys>"


@settings(max_examples=200, deadline=None)
@given(
    amount=st.integers(1, 20),
    burst=st.integers(1, 20),
    plan=st.lists(st.tuples(st.floats(0, 3), st.integers(0, 3)), min_size=1, max_size=60),
)
def test_gcra_fast_path_matches_the_general_one(
    amount: int, burst: int, plan: list[tuple[float, int]]
) -> None:
    """One GCRA limit takes an inlined path; it answers exactly as the general path does."""
    limit = Limit(amount, 2, burst=burst)
    never = Limit(10**9, 1, name="never")  # a second limit forces the general path
    clock = FakeClock()
    fast, general = MemoryStore(clock=clock), MemoryStore(clock=clock)

    async def run() -> None:
        for gap, cost in plan:
            clock.advance(gap)
            cost = min(cost, burst)
            one = await fast.decide("k", [limit], cost=cost)
            both = await general.decide("k", [limit, never], cost=cost)
            assert one.allowed == both.allowed
            assert one.states[0] == both.states[0]

    asyncio.run(run())
