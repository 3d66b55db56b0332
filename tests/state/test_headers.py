"""RateLimit and RateLimit-Policy fields from decisions (IETF ratelimit-headers draft)."""

from __future__ import annotations

from errorbook._state import Decision, Limit, LimitState, ratelimit_headers


def _state(limit: Limit, allowed: bool, remaining: int, reset: float, retry: float) -> LimitState:
    return LimitState(limit, allowed, remaining, reset, retry)


def test_allowed() -> None:
    """An admitted request reports each limit's remaining units and reset, rounded up."""
    minute = Limit.parse("100/minute", name="burst")
    decision = Decision(True, 1, (_state(minute, True, 42, 16.2, 0),))
    assert ratelimit_headers(decision) == [
        (b"ratelimit-policy", b'"burst";q=100;w=60'),
        (b"ratelimit", b'"burst";r=42;t=17'),
    ]


def test_refused_reports_the_wait() -> None:
    """A refusing limit's t is the time until it admits the request again."""
    second = Limit.parse("10/second")
    day = Limit.parse("1000/day", name="daily")
    decision = Decision(
        False, 1, (_state(second, False, 0, 1.0, 0.31), _state(day, True, 500, 86000, 0))
    )
    assert dict(ratelimit_headers(decision)) == {
        b"ratelimit-policy": b'"10/second";q=10;w=1, "daily";q=1000;w=86400',
        b"ratelimit": b'"10/second";r=0;t=1, "daily";r=500;t=86000',
    }
    assert decision.retry_after == 0.31
    assert decision.tightest is not None
    assert decision.tightest.limit is second


def test_several_decisions_and_none() -> None:
    """Decisions for several keys list every limit; no decisions, no headers."""
    limit = Limit(3, 1.5)
    decision = Decision(True, 1, (_state(limit, True, 2, 0.5, 0),))
    headers = dict(ratelimit_headers([decision, decision]))
    assert headers[b"ratelimit-policy"] == b'"3/1.5s";q=3;w=2, "3/1.5s";q=3;w=2'
    assert ratelimit_headers([]) == []
    assert Decision(True, 0, ()).tightest is None
    assert Decision(True, 0, ()).retry_after == 0
