"""GCRA's guarantee, for any requests at any times: never more than burst + rate * elapsed."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from errorbook._state import Limit, MemoryStore
from tests._redis import RedisServer
from tests.state.conftest import FakeClock, redis_harness

limits = st.builds(
    lambda amount, period, burst: Limit(amount, period, burst=min(burst, amount * 4)),
    amount=st.integers(1, 50),
    period=st.sampled_from([0.5, 1, 7, 60, 3600]),
    burst=st.integers(1, 50),
)
#: Gaps between requests (seconds) and each request's cost.
requests = st.lists(
    st.tuples(st.floats(0, 5, allow_nan=False), st.integers(1, 4)), min_size=1, max_size=120
)


def _bound(limit: Limit, elapsed: float) -> float:
    return limit.burst + limit.amount * elapsed / limit.period


@settings(max_examples=300, deadline=None)
@given(limit=limits, plan=requests)
def test_gcra_never_admits_more_than_burst_plus_rate_memory(
    limit: Limit, plan: list[tuple[float, int]]
) -> None:
    """On the memory store, with exact fake time: every window of the run obeys the bound."""
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    admitted: list[tuple[float, int]] = []

    async def run() -> None:
        for gap, cost in plan:
            clock.advance(gap)
            cost = min(cost, limit.burst)
            if (await store.decide("k", [limit], cost=cost)).allowed:
                admitted.append((clock.now, cost))

    asyncio.run(run())
    # Every window [t_i, t_j] between two admitted requests, not just the whole run.
    for i, (start, _) in enumerate(admitted):
        total = 0
        for end, cost in admitted[i:]:
            total += cost
            assert total <= _bound(limit, end - start) + 1e-9


@settings(max_examples=25, deadline=None)
@given(limit=limits, plan=requests)
def test_gcra_never_admits_more_than_burst_plus_rate_redis(
    redis: RedisServer, limit: Limit, plan: list[tuple[float, int]]
) -> None:
    """On Redis, with the server's clock plus test offsets: the whole run obeys the bound.

    The server's clock keeps running between calls, so the elapsed time used for the bound
    is the offsets added plus the real time the run took: an upper bound of server time.
    """
    import time

    harness = redis_harness(redis)
    total = 0

    async def run() -> float:
        nonlocal total
        started = time.monotonic()
        moved = 0.0
        try:
            for gap, cost in plan:
                harness.advance(gap)
                moved += gap
                cost = min(cost, limit.burst)
                if (await harness.store.decide("k", [limit], cost=cost)).allowed:
                    total += cost
        finally:
            await harness.store.aclose()
        return moved + (time.monotonic() - started)

    elapsed = asyncio.run(run())
    assert total <= _bound(limit, elapsed) + 1e-9
