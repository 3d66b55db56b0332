"""Concurrency leases on both backends: at most N in flight, released, expiring."""

from __future__ import annotations

import asyncio

import pytest

from errorbook._state import Lease
from tests.state.conftest import Harness

pytestmark = pytest.mark.anyio


async def test_at_most_n(harness: Harness) -> None:
    """N leases are granted, the next is refused, and each lease is distinct."""
    store = harness.store
    leases = [await store.acquire("jobs", 3, ttl=60) for _ in range(3)]
    assert all(lease is not None for lease in leases)
    assert [lease.in_flight for lease in leases if lease] == [1, 2, 3]
    assert len({lease.token for lease in leases if lease}) == 3
    assert await store.acquire("jobs", 3, ttl=60) is None
    assert await store.acquire("other", 3, ttl=60) is not None


async def test_release_frees_a_slot_once(harness: Harness) -> None:
    """Releasing frees one slot; releasing the same lease again frees nothing more."""
    store = harness.store
    first = await store.acquire("k", 1, ttl=60)
    assert first is not None
    assert await store.acquire("k", 1, ttl=60) is None
    await store.release(first)
    second = await store.acquire("k", 1, ttl=60)
    assert second is not None
    await store.release(first)  # stale: must not free the slot `second` holds
    assert await store.acquire("k", 1, ttl=60) is None
    await store.release(second)
    await store.release(second)
    await store.release(Lease("never-held", "token", 1))


async def test_release_on_error(harness: Harness) -> None:
    """A handler that fails still gives its slot back when released in ``finally``."""
    store = harness.store

    async def handler() -> None:
        lease = await store.acquire("k", 1, ttl=60)
        assert lease is not None
        try:
            raise RuntimeError("handler failed")
        finally:
            await store.release(lease)

    with pytest.raises(RuntimeError, match="handler failed"):
        await handler()
    assert await store.acquire("k", 1, ttl=60) is not None


async def test_release_on_cancellation(harness: Harness) -> None:
    """A cancelled handler's ``finally`` releases its slot too."""
    store = harness.store
    entered = asyncio.Event()

    async def handler() -> None:
        lease = await store.acquire("k", 1, ttl=60)
        assert lease is not None
        try:
            entered.set()
            await asyncio.sleep(60)
        finally:
            await store.release(lease)

    task = asyncio.create_task(handler())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.acquire("k", 1, ttl=60) is not None


async def test_lease_expires(harness: Harness) -> None:
    """A lease never released (its worker died) comes back after its TTL."""
    store = harness.store
    assert await store.acquire("k", 2, ttl=5) is not None
    assert await store.acquire("k", 2, ttl=30) is not None
    assert await store.acquire("k", 2, ttl=5) is None
    harness.advance(5.01)
    fresh = await store.acquire("k", 2, ttl=5)
    assert fresh is not None
    assert fresh.in_flight == 2
    assert await store.acquire("k", 2, ttl=5) is None


async def test_renew(harness: Harness) -> None:
    """A long handler renews its lease; an expired lease cannot be renewed."""
    store = harness.store
    lease = await store.acquire("k", 1, ttl=5)
    assert lease is not None
    harness.advance(4)
    assert await store.renew(lease, ttl=5)
    harness.advance(4)
    assert await store.acquire("k", 1, ttl=5) is None  # renewed: still held
    harness.advance(1.5)
    assert not await store.renew(lease, ttl=5)
    assert await store.acquire("k", 1, ttl=5) is not None


async def test_concurrent_acquires(harness: Harness) -> None:
    """100 concurrent acquires for 4 slots: exactly 4 succeed (never two in flight for N=1)."""
    results = await asyncio.gather(*(harness.store.acquire("k", 4, ttl=60) for _ in range(100)))
    assert sum(lease is not None for lease in results) == 4
    one = await asyncio.gather(*(harness.store.acquire("one", 1, ttl=60) for _ in range(50)))
    assert sum(lease is not None for lease in one) == 1


async def test_bad_arguments(harness: Harness) -> None:
    """Limits and TTLs are checked before any I/O."""
    with pytest.raises(ValueError, match="concurrency limit must be an integer of at least 1"):
        await harness.store.acquire("k", 0, ttl=1)
    with pytest.raises(ValueError, match="ttl must be a positive number of seconds"):
        await harness.store.acquire("k", 1, ttl=0)
    with pytest.raises(ValueError, match="non-empty string"):
        await harness.store.acquire("", 1, ttl=1)
