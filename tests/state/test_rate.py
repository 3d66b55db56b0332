"""Rate-limit decisions, on both backends: GCRA, windows, several limits, weighted cost."""

from __future__ import annotations

import asyncio

import pytest

from errorbook._state import Limit, ratelimit_headers
from tests.state.conftest import Harness

pytestmark = pytest.mark.anyio

#: Redis keeps its own clock running between calls; a few ms of slack covers that.
TOL = 0.05


async def test_gcra_burst_then_smooth(harness: Harness) -> None:
    """GCRA admits the burst at once, then exactly one request per interval."""
    limit = Limit.parse("10/second", burst=3)
    store = harness.store
    results = [await store.decide("k", [limit]) for _ in range(4)]
    assert [d.allowed for d in results] == [True, True, True, False]
    assert [d.states[0].remaining for d in results] == [2, 1, 0, 0]
    refused = results[3]
    assert refused.retry_after == pytest.approx(0.1, abs=TOL)
    harness.advance(0.1)
    assert (await store.decide("k", [limit])).allowed
    assert not (await store.decide("k", [limit])).allowed
    harness.advance(0.2)
    assert [(await store.decide("k", [limit])).allowed for _ in range(3)] == [True, True, False]


async def test_gcra_default_burst_is_the_amount(harness: Harness) -> None:
    """Without a burst, a fresh client may spend its whole quota at once, then waits."""
    limit = Limit.parse("5/minute")
    decisions = [await harness.store.decide("k", [limit]) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    state = decisions[4].states[0]
    assert state.remaining == 0
    assert state.reset == pytest.approx(60, abs=TOL)
    assert decisions[5].retry_after == pytest.approx(12, abs=TOL)


async def test_retry_after_when_honoured_succeeds(harness: Harness) -> None:
    """Waiting exactly the advertised retry_after is enough, for every algorithm."""
    for algorithm in ("gcra", "fixed_window", "sliding_window"):
        limit = Limit.parse("3/10 seconds", algorithm=algorithm)
        key = f"honour-{algorithm}"
        while (decision := await harness.store.decide(key, [limit])).allowed:
            pass
        assert decision.retry_after > 0
        harness.advance(decision.retry_after + 0.001)
        assert (await harness.store.decide(key, [limit])).allowed, algorithm


async def test_refusals_consume_nothing(harness: Harness) -> None:
    """Hammering a refused key does not push its recovery further away."""
    limit = Limit.parse("2/second")
    for _ in range(2):
        await harness.store.decide("k", [limit])
    first = await harness.store.decide("k", [limit])
    for _ in range(20):
        await harness.store.decide("k", [limit])
    last = await harness.store.decide("k", [limit])
    assert not last.allowed
    assert last.retry_after <= first.retry_after


async def test_fixed_window(harness: Harness) -> None:
    """A fixed window admits the amount, refuses until it closes, then opens afresh."""
    limit = Limit.parse("3/minute", algorithm="fixed_window")
    store = harness.store
    decisions = [await store.decide("k", [limit]) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.states[0].remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[0].states[0].reset == pytest.approx(60, abs=TOL)
    harness.advance(30)
    refused = await store.decide("k", [limit])
    assert refused.retry_after == pytest.approx(30, abs=TOL)
    assert refused.states[0].reset == pytest.approx(30, abs=TOL)
    harness.advance(30)
    fresh = await store.decide("k", [limit])
    assert fresh.allowed
    assert fresh.states[0].remaining == 2
    assert fresh.states[0].reset == pytest.approx(60, abs=TOL)


async def test_sliding_window_weights_the_previous_window(harness: Harness) -> None:
    """The previous window counts in proportion to its overlap with the sliding window."""
    limit = Limit.parse("10/10 seconds", algorithm="sliding_window")
    store = harness.store
    # Line up with a window boundary (windows are aligned to multiples of the period).
    peek = await store.decide("k", [limit], cost=0)
    assert peek.allowed
    assert peek.states[0].remaining == 10
    for _ in range(10):
        assert (await store.decide("k", [limit])).allowed
    assert not (await store.decide("k", [limit])).allowed
    refused = await store.decide("k", [limit])
    # Until this window closes the count is 10: refused until then, and into the next one
    # for as long as the weighted count stays at or above 10 - 1.
    harness.advance(refused.retry_after + 0.001)
    after = await store.decide("k", [limit])
    assert after.allowed
    assert after.states[0].remaining == 0


async def test_sliding_window_arithmetic(harness: Harness) -> None:
    """Halfway into a window, a previous count of 10 weighs 5: five more fit, not six."""
    limit = Limit.parse("10/1000 seconds", algorithm="sliding_window")
    store = harness.store
    # Find where we are inside the current window from the reset of a peek: a fresh key
    # reports reset 0, so count one and read it back.
    first = await store.decide("k", [limit], cost=10)
    left = first.states[0].reset - 1000  # seconds left in this window
    harness.advance(left + 500)  # halfway into the next window
    admitted = 0
    while (await store.decide("k", [limit])).allowed:
        admitted += 1
    assert admitted == 5


async def test_all_or_nothing(harness: Harness) -> None:
    """A request refused by one limit consumes none of the others."""
    second = Limit.parse("100/second", name="second")
    day = Limit.parse("2/day", name="day")
    store = harness.store
    assert (await store.decide("k", [second, day])).allowed
    assert (await store.decide("k", [second, day])).allowed
    refused = await store.decide("k", [second, day])
    assert not refused.allowed
    assert [s.allowed for s in refused.states] == [True, False]
    assert refused.states[0].remaining == 98  # unconsumed: as it stood
    for _ in range(5):
        await store.decide("k", [second, day])
    peek = await store.decide("k", [second], cost=0)
    assert peek.states[0].remaining >= 98
    assert refused.retry_after == pytest.approx(86400 / 2, abs=TOL)


async def test_all_or_nothing_mixed_algorithms(harness: Harness) -> None:
    """All-or-nothing holds across algorithms: a full window consumes no GCRA or sliding cost."""
    limits = [
        Limit.parse("100/minute"),
        Limit.parse("100/minute", algorithm="sliding_window"),
        Limit.parse("1/minute", algorithm="fixed_window"),
    ]
    assert (await harness.store.decide("k", limits)).allowed
    for _ in range(10):
        assert not (await harness.store.decide("k", limits)).allowed
    peek = await harness.store.decide("k", limits[:2], cost=0)
    assert [s.remaining for s in peek.states] == [99, 99]


async def test_weighted_cost(harness: Harness) -> None:
    """A request of cost 5 spends five units; one that does not fit spends none."""
    store = harness.store
    for algorithm in ("gcra", "fixed_window", "sliding_window"):
        limit = Limit.parse("10/hour", algorithm=algorithm)
        key = f"cost-{algorithm}"
        assert (await store.decide(key, [limit], cost=5)).states[0].remaining == 5
        assert (await store.decide(key, [limit], cost=4)).states[0].remaining == 1
        refused = await store.decide(key, [limit], cost=2)
        assert not refused.allowed
        assert refused.cost == 2
        assert refused.states[0].remaining == 1
        assert (await store.decide(key, [limit], cost=1)).states[0].remaining == 0


async def test_cost_beyond_capacity_is_an_error(harness: Harness) -> None:
    """A cost no limit could ever admit is a configuration error, said before any I/O."""
    with pytest.raises(ValueError, match="cost 4 exceeds the capacity 3 of limit '10/second'"):
        await harness.store.decide("k", [Limit.parse("10/second", burst=3)], cost=4)
    with pytest.raises(ValueError, match="cost must be an integer of at least 0"):
        await harness.store.decide("k", [Limit.parse("10/second")], cost=-1)
    with pytest.raises(ValueError, match="at least one Limit"):
        await harness.store.decide("k", [])
    with pytest.raises(ValueError, match="non-empty string"):
        await harness.store.decide("", [Limit.parse("10/second")])
    with pytest.raises(TypeError, match="expected Limit objects"):
        await harness.store.decide("k", ["10/second"])  # type: ignore[list-item]


async def test_keys_are_independent(harness: Harness) -> None:
    """Two keys under the same limit never share a count."""
    limit = Limit.parse("1/hour")
    assert (await harness.store.decide("a", [limit])).allowed
    assert (await harness.store.decide("b", [limit])).allowed
    assert not (await harness.store.decide("a", [limit])).allowed


async def test_concurrent_decisions_are_atomic(harness: Harness) -> None:
    """200 concurrent requests against a limit of 50: exactly 50 admitted, none lost."""
    for algorithm in ("gcra", "fixed_window", "sliding_window"):
        limit = Limit.parse("50/hour", algorithm=algorithm)
        decisions = await asyncio.gather(
            *(harness.store.decide(f"race-{algorithm}", [limit]) for _ in range(200))
        )
        assert sum(d.allowed for d in decisions) == 50, algorithm


async def test_headers_come_from_the_decision(harness: Harness) -> None:
    """RateLimit and RateLimit-Policy are rendered from one decision's numbers."""
    limits = [Limit.parse("10/second", name="burst"), Limit.parse("1000/day", name="daily")]
    decision = await harness.store.decide("k", limits, cost=2)
    headers = dict(ratelimit_headers(decision))
    assert headers[b"ratelimit-policy"] == b'"burst";q=10;w=1, "daily";q=1000;w=86400'
    assert headers[b"ratelimit"] == b'"burst";r=8;t=1, "daily";r=998;t=173'
