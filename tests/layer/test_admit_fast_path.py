"""The memory store's admit-only shortcut (`RateRule.admit`) with what it precomputes.

The layer takes from its `RateRule` the store entry's name (cached per principal, else
from `StateGuards.entry_name`) and the ``RateLimit`` format, and the rule's admitting
function, bound to the store (`MemoryStore._admitter`) with the GCRA numbers, answers the
reset already in whole seconds, rounded up in integers. Each of those is checked here against
what the general path (`StateGuards.rate` over `MemoryStore.decide`) computes: the same
statuses, header bytes and stored entries, in the same order.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import UserDict
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from errorbook import ErrorLayer
from errorbook._layer import api_key
from errorbook._layer._limits import StateGuards
from errorbook._layer._rules import _MAX_NAMES, EXACT_RESET_US, RateRule
from errorbook._state import Limit, MemoryStore
from tests.layer._driver import call, ok_app, run, scope_for
from tests.layer._limited import ALICE, BOB, KEY, KEYS, ratelimit
from tests.state.conftest import FakeClock

_US = 1_000_000


class _General(MemoryStore):
    """A memory store the layer treats like any other store (no admit-only shortcut)."""


def _layer(
    store: MemoryStore,
    limit: Limit,
    *,
    cost: int = 1,
    rate_key: str = "principal",
    keys: dict[str, str] = KEYS,
) -> ErrorLayer:
    return ErrorLayer(
        ok_app,
        routes=[("GET", "/")],
        auth=api_key(keys=keys),
        store=store,
        limits=[limit],
        cost=cost,
        rate_key=rate_key,  # type: ignore[arg-type]
    )


def _parts(layer: ErrorLayer) -> tuple[StateGuards, RateRule]:
    guards = layer._guards
    router = layer._router
    assert guards is not None
    assert router is not None
    policy = router.policy("/", "GET")
    assert policy is not None
    assert policy.state is not None
    rate = policy.state.rate
    assert rate is not None
    return guards, rate


Answers = list[tuple[int, tuple[str | None, str | None]]]


def _drive(
    store: MemoryStore,
    clock: FakeClock,
    limit: Limit,
    cost: int,
    rate_key: str,
    plan: list[tuple[float, bool]],
) -> tuple[Answers, int]:
    """Statuses and RateLimit headers of ``plan`` (gaps, and whether Bob asks rather than
    Alice), and how often the general path ran."""
    layer = _layer(store, limit, cost=cost, rate_key=rate_key)
    guards, _ = _parts(layer)
    general = guards.rate
    awaited: list[int] = []

    async def counted(*args: Any) -> bool:
        awaited.append(1)
        return await general(*args)

    guards.rate = counted  # type: ignore[method-assign,assignment]
    answers = []
    for gap, bob in plan:
        clock.advance(gap)
        result = run(layer, headers=BOB if bob else ALICE)
        answers.append((result.status, ratelimit(result)))
    return answers, len(awaited)


_limits = st.builds(
    lambda amount, period, burst, name: Limit(
        amount, period, burst=min(burst, amount * 4), name=name
    ),
    amount=st.integers(1, 12),
    period=st.sampled_from([0.25, 1, 1.5, 7, 60, 3600]),
    burst=st.integers(0, 12),
    # "%" must come out of the header's format as itself.
    name=st.sampled_from(["", "100%", "a%d%s"]),
)


@settings(max_examples=60, deadline=None)
@given(
    limit=_limits,
    cost=st.integers(0, 4),
    rate_key=st.sampled_from(["principal", "ip"]),
    plan=st.lists(
        st.tuples(st.floats(0, 2, allow_nan=False), st.booleans()), min_size=1, max_size=25
    ),
)
def test_shortcut_answers_and_state_equal_the_general_path(
    limit: Limit, cost: int, rate_key: str, plan: list[tuple[float, bool]]
) -> None:
    """Whatever the limit, cost and timing, the shortcut gives the general path's
    statuses and header bytes, and leaves the same entries in the same order."""
    cost = min(cost, limit.capacity)
    fast_clock, slow_clock = FakeClock(), FakeClock()
    fast_store, slow_store = MemoryStore(clock=fast_clock), _General(clock=slow_clock)
    fast, fast_awaited = _drive(fast_store, fast_clock, limit, cost, rate_key, plan)
    slow, _ = _drive(slow_store, slow_clock, limit, cost, rate_key, plan)
    assert fast == slow
    assert list(fast_store._entries.items()) == list(slow_store._entries.items())
    # Only refusals went to the general path.
    assert fast_awaited == [status for status, _ in fast].count(429)


@settings(max_examples=500, deadline=None)
@given(reset=st.one_of(st.integers(0, 10 * _US), st.integers(0, EXACT_RESET_US - 1)))
@example(reset=0)
@example(reset=1)
@example(reset=_US - 1)
@example(reset=_US)
@example(reset=_US + 1)
@example(reset=EXACT_RESET_US - _US)
@example(reset=EXACT_RESET_US - _US + 1)
@example(reset=EXACT_RESET_US - 1)
def test_whole_seconds_in_integers_equal_the_float_ceiling(reset: int) -> None:
    """Below the bound, the admitting function's ``t`` (integers) is the general path's
    ``ceil`` of the reset in float seconds, so the headers cannot differ by a second."""
    assert (reset + _US - 1) // _US == math.ceil(reset / _US)


@settings(max_examples=200, deadline=None)
@given(
    amount=st.integers(100, 1000),
    period=st.sampled_from([0.001, 0.002, 0.003]),
    burst=st.integers(1, 20),
    plan=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 4)), min_size=1, max_size=60),
)
def test_admit_agrees_with_decide_to_the_microsecond(
    amount: int, period: float, burst: int, plan: list[tuple[int, int]]
) -> None:
    """With intervals of a few µs and gaps counted in µs, every remainder of the reset
    by the interval comes up, so the shortcut's ``remaining`` and ``t`` (computed from
    the reset rather than from clock readings) meet `decide`'s at each rounding edge."""
    limit = Limit(amount, period, burst=burst)
    interval = limit.interval_us
    tau = limit.burst * interval
    name = "r|p:k\x1f" + limit.key
    fast_clock, slow_clock = FakeClock(), FakeClock()
    fast, slow = MemoryStore(clock=fast_clock), MemoryStore(clock=slow_clock)
    for gap, cost in plan:
        fast_clock.advance(gap / _US)
        slow_clock.advance(gap / _US)
        cost = min(cost, limit.burst)
        expected = asyncio.run(slow.decide("r|p:k", [limit], cost=cost))
        admitted = fast._admitter(interval, tau, cost * interval)(name)
        if expected.allowed:
            (state,) = expected.states
            assert admitted == (state.remaining, math.ceil(state.reset))
        else:
            assert admitted is None
            assert asyncio.run(fast.decide("r|p:k", [limit], cost=cost)) == expected
        assert list(fast._entries.items()) == list(slow._entries.items())


def test_admit_evicts_and_sweeps_as_decide_does() -> None:
    """A flood of keys through a small store, time passing so that entries expire: the
    admitting function leaves the entries `decide` leaves, in the same order, never more
    than ``max_keys`` (its in-place updates, evictions and sweeps are `decide`'s)."""
    limit = Limit(3, 1)
    interval = limit.interval_us
    fast_clock, slow_clock = FakeClock(), FakeClock()
    fast = MemoryStore(max_keys=40, clock=fast_clock)
    slow = MemoryStore(max_keys=40, clock=slow_clock)
    admit = fast._admitter(interval, limit.burst * interval, interval)
    rng = random.Random(7)
    sizes: list[int] = []

    async def flood() -> None:
        for _ in range(3000):
            key = f"k{rng.randrange(120)}"
            gap = rng.choice([0.0, 0.0, 0.0, 0.01, 0.2])
            fast_clock.advance(gap)
            slow_clock.advance(gap)
            expected = await slow.decide(key, [limit])
            admitted = admit(f"{key}\x1f{limit.key}")
            assert (admitted is not None) == expected.allowed
            if admitted is None:
                # The layer's general path then decides the refusal.
                assert await fast.decide(key, [limit]) == expected
            assert list(fast._entries.items()) == list(slow._entries.items())
            sizes.append(len(fast._entries))

    asyncio.run(flood())
    assert max(sizes) == 40  # full at times: live entries were evicted
    assert fast_clock.now - 1_000 > 60  # entries expired, and were swept or evicted


def test_admit_returns_the_header_numbers() -> None:
    """The admitting function answers the RateLimit numbers `decide` reports, ``t``
    rounded up."""
    clock = FakeClock()
    fast, slow = MemoryStore(clock=clock), MemoryStore(clock=clock)
    limit = Limit(3, 2.5)
    interval = limit.interval_us
    name = "r|p:k\x1f" + limit.key
    admit = fast._admitter(interval, limit.burst * interval, interval)
    allowed = []
    for gap in (0, 0.1, 0.0, 0.1, 1.3, 0.0):
        clock.advance(gap)
        decision = asyncio.run(slow.decide("r|p:k", [limit]))
        admitted = admit(name)
        allowed.append(decision.allowed)
        if not decision.allowed:
            assert admitted is None
            continue
        (state,) = decision.states
        assert admitted == (state.remaining, math.ceil(state.reset))
        assert isinstance(admitted[1], int)
    assert allowed == [True, True, True, False, True, False]


@pytest.mark.parametrize(("period", "t"), [(0.999999, 1), (1, 1), (1.000001, 2), (2, 2)], ids=str)
def test_t_rounds_up_at_the_second(period: float, t: int) -> None:
    """A reset a µs past a whole second is the next second, as ``ceil`` of the float."""
    limit = Limit(1, period)
    interval = limit.interval_us
    store = MemoryStore(clock=FakeClock())
    assert store._admitter(interval, interval, interval)("k\x1f" + limit.key) == (0, t)
    (state,) = asyncio.run(MemoryStore(clock=FakeClock()).decide("k", [limit])).states
    assert math.ceil(state.reset) == t


def test_limits_past_the_bound_take_the_general_path() -> None:
    """A limit whose reset may reach 2**33 seconds is decided by `rate` (float seconds, as
    always); one just under the bound keeps the shortcut."""
    under = Limit(1, 2**33 - 1, name="long")
    past = Limit(1, 2**33, name="long")
    assert _parts(_layer(MemoryStore(), under))[1].tail is not None
    assert _parts(_layer(MemoryStore(), past))[1].tail is None

    fast_clock, slow_clock = FakeClock(), FakeClock()
    plan = [(0.0, False), (5.0, False), (0.0, True)]
    fast, fast_awaited = _drive(
        MemoryStore(clock=fast_clock), fast_clock, past, 1, "principal", plan
    )
    slow, _ = _drive(_General(clock=slow_clock), slow_clock, past, 1, "principal", plan)
    assert fast == slow
    assert fast_awaited == len(plan)
    assert fast[0] == (200, ('"long";q=1;w=8589934592', '"long";r=0;t=8589934592'))


def _admitted(guards: StateGuards, rate: RateRule, scope: dict[str, Any]) -> bytes | None:
    """What the layer's shortcut does for a request whose principal is not cached: the
    ``RateLimit`` value when the store admits it at once, None when it goes to `rate`."""
    assert rate.admit is not None
    name = guards.entry_name(rate, scope, {})
    if name is None:
        return None
    admitted = rate.admit(name)
    return None if admitted is None else rate.current % admitted


def test_entry_names_are_cached_per_principal_and_bounded() -> None:
    """The cached name is the one the general path builds (``rate.key + who + "\\x1f" +
    limit.key``); the cache never holds more than its bound, and callers past it are
    still counted under their own entries."""
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    limit = Limit(5, 60)
    layer = _layer(store, limit)
    guards, rate = _parts(layer)
    callers = _MAX_NAMES + 50
    for n in range(callers):
        scope: dict[str, Any] = {"state": {"principal": f"user-{n}"}}
        assert _admitted(guards, rate, scope) is not None
        who = guards.who("principal", scope, {})
        assert rate.names[f"user-{n}"] == f"{rate.key}{who}\x1f{limit.key}"
        assert len(rate.names) <= _MAX_NAMES
    # Again, past the cache: each caller's second request, on its own entry.
    for n in (0, callers - 1):
        scope = {"state": {"principal": f"user-{n}"}}
        assert _admitted(guards, rate, scope) == b'"5/minute";r=3;t=24'
    assert len(store._entries) == callers


def test_principals_the_shortcut_leaves_to_the_general_path() -> None:
    """A principal `who` would hash (too long) or that is no plain str gets no entry
    name, so it goes to `rate`, which counts it as `who` says; no principal at all is
    counted by address, under `who`'s name too."""
    layer = _layer(MemoryStore(clock=FakeClock()), Limit(5, 60))
    guards, rate = _parts(layer)

    class Name(str):
        pass

    for principal in ("x" * 199, Name("alice"), 42):
        assert guards.entry_name(rate, {"state": {"principal": principal}}, {}) is None
    assert rate.names == {}
    address: dict[str, Any] = {"client": ("192.0.2.7", 4000)}
    for scope in (address, {**address, "state": {"principal": None}}):
        who = guards.who("principal", scope, {})
        assert who == "ip:192.0.2.7"
        assert guards.entry_name(rate, scope, {}) == f"{rate.key}{who}{rate.tail}"
    assert rate.names == {}
    # The longest principal counted as itself is taken.
    assert _admitted(guards, rate, {"state": {"principal": "x" * 198}}) is not None
    assert list(rate.names) == ["x" * 198]


def test_key_functions_leave_the_shortcut_to_the_general_path() -> None:
    """A key function's key is never guessed: `rate` asks it."""
    store = MemoryStore(clock=FakeClock())
    layer = ErrorLayer(
        ok_app, routes=[("GET", "/")], store=store, limits=["5/minute"], rate_key=lambda r: "k"
    )
    guards, rate = _parts(layer)
    assert rate.admit is not None
    assert guards.entry_name(rate, {"state": {"principal": "alice"}}, {}) is None


def test_many_callers_through_the_layer() -> None:
    """Callers admitted without awaiting each get their own count."""
    keys = {f"key-{n}": f"user-{n}" for n in range(3)}
    store = MemoryStore(clock=FakeClock())
    layer = _layer(store, Limit(2, 60), keys=keys)
    statuses = [run(layer, headers=[(KEY, f"key-{n % 3}")]).status for n in range(9)]
    assert statuses == [200] * 6 + [429] * 3


def test_the_shortcut_is_off_for_a_decide_bound_to_another_store() -> None:
    """A plain MemoryStore is decided in without awaiting; one whose `decide` was replaced
    on the instance, even by another store's, is not (its decide must see every request)."""
    assert _parts(_layer(MemoryStore(), Limit(5, 60)))[1].admit is not None
    other = MemoryStore()
    borrowed = MemoryStore()
    borrowed.decide = other.decide  # type: ignore[method-assign]
    assert _parts(_layer(borrowed, Limit(5, 60)))[1].admit is None


def _rules_by_route(layer: ErrorLayer) -> dict[str, RateRule]:
    router = layer._router
    assert router is not None
    rules = {}
    for path in ("/", "/own", "/two"):
        policy = router.policy(path, "GET")
        assert policy is not None
        assert policy.state is not None
        assert policy.state.rate is not None
        rules[path] = policy.state.rate
    return rules


def _routed(store: MemoryStore, **options: Any) -> ErrorLayer:
    return ErrorLayer(
        ok_app,
        routes=[("GET", "/"), ("GET", "/own"), ("GET", "/two")],
        auth=api_key(keys=KEYS),
        store=store,
        limits=["5/minute"],
        route_options={"/own": {"rate": ["2/second"]}, "/two": {"rate": ["2/second", "9/day"]}},
        **options,
    )


def test_every_rule_of_one_limit_is_bound_to_the_layers_store() -> None:
    """The layer's own limits and a route's own limit are each bound, once, to the layer's
    store; a rule of two limits is not (it goes to `decide`, all-or-nothing)."""
    store = MemoryStore(clock=FakeClock())
    rules = _rules_by_route(_routed(store))
    assert rules["/"].admit is not None
    assert rules["/own"].admit is not None
    assert rules["/two"].admit is None
    # Each rule counts in this store, under the general path's names.
    admitted = rules["/own"].admit("r/own|p:alice\x1f" + rules["/own"].limits[0].key)
    assert admitted == (1, 1)
    assert list(store._entries) == ["r/own|p:alice\x1f" + rules["/own"].limits[0].key]


@pytest.mark.parametrize(
    ("store", "options"),
    [(_General(), {}), (MemoryStore(), {"legacy_ratelimit_headers": True})],
    ids=["a store subclass", "legacy headers"],
)
def test_no_rule_is_bound_where_decide_must_answer(
    store: MemoryStore, options: dict[str, Any]
) -> None:
    """A store subclass may decide otherwise, and the legacy headers need the decision's
    tightest limit: then no rule admits without `decide`."""
    rules = _rules_by_route(_routed(store, **options))
    assert [rule.admit for rule in rules.values()] == [None, None, None]


def _flood_of_callers(store: MemoryStore, clock: FakeClock, seed: int) -> list[Any]:
    """Callers on two routes with limits of their own (two rules bound to one store),
    others on a route with two limits (the general path's writes, to the same store),
    through a store too small for them: statuses, ``RateLimit`` values and raw header
    order of every answer."""
    keys = {f"k{n}": f"u{n}" for n in range(12)}
    layer = ErrorLayer(
        ok_app,
        routes=[("GET", "/"), ("GET", "/own"), ("GET", "/two")],
        auth=api_key(keys=keys),
        store=store,
        limits=["2/minute"],
        route_options={"/own": {"rate": ["3/minute"]}, "/two": {"rate": ["2/second", "4/hour"]}},
    )
    rng = random.Random(seed)
    answers = []
    for _ in range(800):
        clock.advance(rng.choice([0, 0, 0, 1, 5, 20]))
        path = rng.choice(["/", "/own", "/two"])
        result = run(layer, "GET", path, headers=[(KEY, f"k{rng.randrange(12)}")])
        names = [name for name, _ in result.raw_headers]
        answers.append((result.status, ratelimit(result), names))
    return answers


@pytest.mark.parametrize("seed", [1, 7])
def test_shortcut_rules_and_general_writes_share_one_store_as_decide_does(seed: int) -> None:
    """Two bound rules and the general path writing to one full store: every answer,
    the headers in their order, and the entries left are the general path's (one sweep
    cadence for every writer, one eviction order)."""
    fast_clock, slow_clock = FakeClock(), FakeClock()
    fast_store = MemoryStore(max_keys=15, clock=fast_clock)
    slow_store = _General(max_keys=15, clock=slow_clock)
    fast = _flood_of_callers(fast_store, fast_clock, seed)
    slow = _flood_of_callers(slow_store, slow_clock, seed)
    assert fast == slow
    assert list(fast_store._entries.items()) == list(slow_store._entries.items())
    assert {status for status, _, _ in fast} == {200, 429}


@pytest.mark.parametrize("state", [UserDict, type("StateDict", (dict,), {})], ids=str)
def test_a_state_of_another_mapping_counts_the_principal_on_both_paths(state: type) -> None:
    """Whatever mapping ``scope["state"]`` is, the authenticated principal is counted, by
    the shortcut (its cached name) and by the general path alike."""

    async def three(layer: ErrorLayer) -> list[tuple[int, tuple[str | None, str | None]]]:
        answers = []
        # The first one misses the rule's name cache, the others hit it.
        for made in (state(), None, state()):
            scope = scope_for("GET", "/", ALICE)
            if made is not None:
                scope["state"] = made
            result = await call(layer, scope=scope)
            answers.append((result.status, ratelimit(result)))
        return answers

    fast_store, slow_store = MemoryStore(clock=FakeClock()), _General(clock=FakeClock())
    fast = asyncio.run(three(_layer(fast_store, Limit(5, 60))))
    slow = asyncio.run(three(_layer(slow_store, Limit(5, 60))))
    assert fast == slow
    assert [r for _, (_, r) in fast] == [
        '"5/minute";r=4;t=12',
        '"5/minute";r=3;t=24',
        '"5/minute";r=2;t=36',
    ]
    name = "r|p:alice\x1f" + Limit(5, 60).key
    assert list(fast_store._entries) == list(slow_store._entries) == [name]


@pytest.mark.parametrize("method", ["acquire", "begin", "abandon"])
def test_no_rule_is_bound_to_a_store_with_a_method_replaced(method: str) -> None:
    """A MemoryStore with any method replaced on the instance may fail where MemoryStore
    never does, and the layer must then see an outage end: it decides every request."""
    store = MemoryStore()

    async def replaced(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not called here")

    setattr(store, method, replaced)
    assert _parts(_layer(store, Limit(5, 60)))[1].admit is None
