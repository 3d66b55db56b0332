"""The success path's shortcuts give the answers of the slow paths they stand in for.

Each shortcut (the API-key table of whole header values, the memory store's admit-only GCRA,
the Content-Type and Accept caches, the inline route lookup) is checked here against the
general code it skips, on arbitrary input.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errorbook import ErrorLayer
from errorbook._layer import api_key, bearer
from errorbook._layer._auth import HeaderAuth
from errorbook._layer._media import (
    CACHE_SIZE,
    CACHED_LENGTH,
    MediaSet,
    accepted,
    accepts_any,
    media_type,
    readable,
)
from errorbook._state import Limit, MemoryStore
from tests.layer._driver import ok_app, run
from tests.layer._limited import ALICE, BOB, KEYS, ratelimit
from tests.state.conftest import FakeClock

#: Keys and header values with the edge cases of `HeaderAuth.check`: surrounding spaces,
#: empty keys, a scheme in other cases.
_keys = st.text(alphabet=" \tab-1", max_size=6)
_values = st.one_of(
    st.none(),
    st.binary(max_size=12),
    st.builds(
        lambda prefix, key: prefix.encode() + key.encode(),
        st.sampled_from(["", "Bearer ", "bearer ", "BEARER  ", "Basic "]),
        _keys,
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    keys=st.dictionaries(_keys, st.one_of(st.none(), st.text(max_size=3)), max_size=5),
    raw=_values,
    scheme=st.booleans(),
)
def test_exact_table_agrees_with_check(
    keys: dict[str, str | None], raw: bytes | None, scheme: bool
) -> None:
    """A hit in the table of whole header values is what `check` answers for that value."""
    auth = bearer(keys=keys) if scheme else api_key(keys=keys)
    found = auth.exact.get(raw)
    if found is not None:
        assert found == auth.check(raw)
    assert None not in auth.exact


@pytest.mark.parametrize(
    ("make", "raw"),
    [
        (lambda: api_key(keys={"key-1": "alice"}), b"key-1"),
        (lambda: bearer(keys={"tok": "alice"}), b"Bearer tok"),
    ],
    ids=["api-key", "bearer"],
)
def test_canonical_values_hit_the_table(make: Any, raw: bytes) -> None:
    """A key sent the way clients send it is one lookup, with the principal `check` gives."""
    auth = make()
    assert auth.exact[raw] == "alice" == auth.check(raw)
    # Anything else (padded, other case) is not in the table: `check` alone decides it.
    assert raw + b" " not in auth.exact
    assert raw.swapcase() not in auth.exact


_limits = st.builds(
    lambda amount, period, burst: Limit(amount, period, burst=min(burst, amount * 4)),
    amount=st.integers(1, 20),
    period=st.sampled_from([0.5, 1, 7, 60]),
    burst=st.integers(1, 20),
)


@settings(max_examples=200, deadline=None)
@given(
    limit=_limits,
    plan=st.lists(
        st.tuples(st.floats(0, 3, allow_nan=False), st.integers(0, 4)), min_size=1, max_size=60
    ),
)
def test_admit_agrees_with_decide(limit: Limit, plan: list[tuple[float, int]]) -> None:
    """The admitting function admits exactly when `decide` does, with the same numbers
    and the same state left behind; on a refusal it changes nothing and `decide` gives
    the refusal."""
    fast_clock, slow_clock = FakeClock(), FakeClock()
    fast, slow = MemoryStore(clock=fast_clock), MemoryStore(clock=slow_clock)

    async def run() -> None:
        for gap, cost in plan:
            fast_clock.advance(gap)
            slow_clock.advance(gap)
            cost = min(cost, limit.burst)
            expected = await slow.decide("r|p:k", [limit], cost=cost)
            interval = limit.interval_us
            name = "r|p:k\x1f" + limit.key
            admit = fast._admitter(interval, limit.burst * interval, cost * interval)
            admitted = admit(name)
            if expected.allowed:
                (state,) = expected.states
                # ``t`` comes rounded up, as the RateLimit header shows the reset.
                assert admitted == (state.remaining, math.ceil(state.reset))
            else:
                assert admitted is None
                assert await fast.decide("r|p:k", [limit], cost=cost) == expected
            assert list(fast._entries.items()) == list(slow._entries.items())

    asyncio.run(run())


class _General(MemoryStore):
    """A memory store the layer treats like any other store (no admit-only shortcut)."""


Answers = list[tuple[int, tuple[str | None, str | None]]]


def _drive(store: MemoryStore, clock: FakeClock, rate_key: str) -> tuple[Answers, int]:
    """Statuses and RateLimit headers of a fixed run, and how often the general path ran."""
    layer = ErrorLayer(
        ok_app,
        auth=api_key(keys=KEYS),
        store=store,
        limits=["3/second"],
        rate_key=rate_key,  # type: ignore[arg-type]
    )
    guards = layer._guards
    assert guards is not None
    general = guards.rate
    awaited: list[int] = []

    async def counted(*args: Any) -> bool:
        awaited.append(1)
        return await general(*args)

    guards.rate = counted  # type: ignore[method-assign,assignment]
    answers = []
    for gap, who in [(0, ALICE), (0.1, ALICE), (0, BOB), (0.2, ALICE), (0, ALICE)] * 3:
        clock.advance(gap)
        result = run(layer, headers=who)
        answers.append((result.status, ratelimit(result)))
    return answers, len(awaited)


@pytest.mark.parametrize("rate_key", ["principal", "ip"], ids=["principal", "ip"])
def test_shortcut_headers_equal_the_general_path(rate_key: str) -> None:
    """Requests admitted without awaiting carry the RateLimit headers the general path
    gives at the same times, and the 429s come at the same requests."""
    fast_clock, slow_clock = FakeClock(), FakeClock()
    fast, fast_awaited = _drive(MemoryStore(clock=fast_clock), fast_clock, rate_key)
    slow, slow_awaited = _drive(_General(clock=slow_clock), slow_clock, rate_key)
    assert fast == slow
    refused = [status for status, _ in fast].count(429)
    assert refused
    # The shortcut admits on its own; the general path sees only the refusals.
    assert (fast_awaited, slow_awaited) == (refused, len(slow))


@settings(max_examples=200, deadline=None)
@given(
    types=st.lists(
        st.sampled_from(["application/json", "image/*", "text/plain", "*/*"]),
        min_size=1,
        max_size=3,
    ),
    header=st.binary(max_size=40),
)
def test_media_caches_agree_with_parsing(types: list[str], header: bytes) -> None:
    """A cached Accept or Content-Type answer is the parsed one, asked once or twice."""
    media = MediaSet(types)
    for _ in range(2):
        assert accepted(media, header) == accepts_any(header.decode("latin-1"), media)
        assert media.accept_cache[header] == accepts_any(header.decode("latin-1"), media)
        assert readable(media, header) == (media_type(header) in media)
        assert media.type_cache[header] == (media_type(header) in media)


def test_media_caches_stay_bounded() -> None:
    """A flood of distinct header values never grows a cache past its bound."""
    media = MediaSet(["application/json"])
    for n in range(CACHE_SIZE * 3):
        value = b"application/x-%d" % n
        accepted(media, value)
        readable(media, value)
        assert len(media.accept_cache) <= CACHE_SIZE
        assert len(media.type_cache) <= CACHE_SIZE


def test_long_values_are_answered_but_not_cached() -> None:
    """A value longer than any real media type is parsed each time and never kept, so the
    caches' bound holds in bytes as well as in entries."""
    media = MediaSet(["application/json"])
    long_value = b"application/json; x=" + b"y" * CACHED_LENGTH
    assert accepted(media, long_value) is True
    assert readable(media, long_value) is True
    assert long_value not in media.accept_cache
    assert long_value not in media.type_cache


class _Revoking(HeaderAuth):
    """A subclass that refuses one key in `check`, as a revocation list would."""

    def check(self, raw: bytes | None) -> Any:
        return None if raw == b"key-1" else super().check(raw)


def test_a_header_auth_subclass_decides_every_request() -> None:
    """The whole-value table is a shortcut of the built-in `check` only: a subclass's own
    `check` sees every request, so a key it refuses is refused."""
    revoking = _Revoking(header="X-API-Key", keys={"key-1": "alice", "key-2": "bob"})
    layer = ErrorLayer(ok_app, auth=revoking)
    assert run(layer, headers=[("x-api-key", "key-1")]).status == 401
    assert run(layer, headers=[("x-api-key", "key-2")]).status == 200


def test_the_key_table_cannot_be_edited_behind_the_shortcut() -> None:
    """Revoking a key by editing the table would leave it in the shortcut's copy; the table
    is read-only, so the attempt fails loudly instead of silently letting the key in."""
    auth = api_key(keys={"key-1": "alice"})
    assert auth.table is not None
    with pytest.raises(TypeError):
        del auth.table[b"key-1"]  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        auth.exact[b"key-2"] = "mallory"  # type: ignore[index]


def test_a_wrapped_decide_sees_every_request() -> None:
    """A `decide` wrapped on the store instance (metrics, a deny-list) is called for
    admitted requests too: the admit-only shortcut is off for such a store."""
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    general = store.decide
    calls: list[int] = []

    async def audited(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await general(*args, **kwargs)

    store.decide = audited  # type: ignore[method-assign]
    layer = ErrorLayer(ok_app, auth=api_key(keys=KEYS), store=store, limits=["3/second"])
    assert run(layer, headers=ALICE).status == 200
    assert calls == [1]


_ROUTES = [
    ("GET", "/health"),
    ("GET", "/v1/items/{id}"),
    ("GET", "/v1/items/{id}/parts/{n}"),
    ("POST", "/v1/items/special"),
    ("GET", "/{tenant}/status"),
]


@pytest.mark.parametrize(
    "path",
    [
        "/health",
        "/v1/items/42",
        "/v1/items/",
        "/v1/items/special",
        "/v1/items/42/parts/7",
        "/v1/items/42/parts",
        "/acme/status",
        "/acme/other",
        "//status",
        "relative",
        "",
    ],
    ids=lambda path: repr(path),
)
def test_inline_routing_agrees_with_match(path: str) -> None:
    """The layer's inline route lookup answers as `Router.match` says: 404 where it finds
    nothing, 405 where the method is not declared, the app otherwise."""
    layer = ErrorLayer(ok_app, routes=_ROUTES)
    router = layer._router
    assert router is not None
    leaf = router.match(path)
    result = run(layer, path=path)
    if leaf is None:
        assert result.status == 404
    elif "GET" not in leaf.methods:
        assert result.status == 405
    else:
        assert result.status == 200
