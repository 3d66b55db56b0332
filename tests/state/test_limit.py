"""Limit specs: what parses, to what, and the precise errors for what does not."""

from __future__ import annotations

import pytest

from errorbook._state import Limit


@pytest.mark.parametrize(
    ("spec", "amount", "period", "name"),
    [
        ("100/minute", 100, 60, "100/minute"),
        ("10/second", 10, 1, "10/second"),
        ("5000/day", 5000, 86400, "5000/day"),
        ("100/5 minutes", 100, 300, "100/5minutes"),
        ("100/5minutes", 100, 300, "100/5minutes"),
        ("7 per hour", 7, 3600, "7/hour"),
        ("3/s", 3, 1, "3/second"),
        ("3/2 hrs", 3, 7200, "3/2hours"),
        ("1/1.5 sec", 1, 1.5, "1/1.5s"),
        (" 20 / Minute ", 20, 60, "20/minute"),
        ("2/90 seconds", 2, 90, "2/90seconds"),
    ],
    ids=lambda v: str(v),
)
def test_parse(spec: str, amount: int, period: float, name: str) -> None:
    """Amount, period in seconds and the canonical name come out of every accepted form."""
    limit = Limit.parse(spec)
    assert (limit.amount, limit.period, limit.name) == (amount, period, name)
    assert limit.algorithm == "gcra"
    assert limit.burst == amount


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("100/fortnight", "invalid limit '100/fortnight': unknown unit 'fortnight'; expected"),
        ("100", "invalid limit '100': expected AMOUNT/[COUNT ]UNIT"),
        ("/minute", "expected AMOUNT/"),
        ("0/minute", "the amount must be at least 1"),
        ("10/0 seconds", "the period must be above 0"),
        ("-1/minute", "expected AMOUNT/"),
        ("ten/minute", "expected AMOUNT/"),
        ("10/minute extra", "expected AMOUNT/"),
        ("10/ms", "unknown unit 'ms'"),
    ],
    ids=lambda v: str(v),
)
def test_parse_errors(spec: str, message: str) -> None:
    """A bad spec raises ValueError quoting it and saying what was expected."""
    with pytest.raises(ValueError, match=f"^invalid limit {spec!r}: ") as info:
        Limit.parse(spec)
    assert message in str(info.value)


def test_parse_rejects_non_strings() -> None:
    """A spec that is not a string is a TypeError, not a confusing regex failure."""
    with pytest.raises(TypeError, match="'100/minute'"):
        Limit.parse(100)  # type: ignore[arg-type]


def test_options() -> None:
    """Burst, algorithm and name pass through parse; burst shows in the key."""
    limit = Limit.parse("100/minute", burst=10, algorithm="sliding_window", name="per-key")
    assert (limit.burst, limit.algorithm, limit.name) == (10, "sliding_window", "per-key")
    assert limit.capacity == 100  # window algorithms ignore burst
    assert Limit.parse("100/minute", burst=10).capacity == 10
    assert Limit.parse("100/minute").key != Limit.parse("100/minute", burst=10).key
    assert Limit.parse("100/minute").key != Limit.parse("100/minute", algorithm="fixed_window").key


def test_interval_rounds_up() -> None:
    """The emission interval is whole microseconds rounded up: never a hair too generous."""
    limit = Limit.parse("7/minute")
    assert limit.interval_us == 8_571_429
    assert limit.interval_us * 7 >= limit.period_us
    assert limit.interval == pytest.approx(60 / 7, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount": 0, "period": 1}, "amount must be an integer of at least 1"),
        ({"amount": True, "period": 1}, "amount must be an integer"),
        ({"amount": 1.5, "period": 1}, "amount must be an integer"),
        ({"amount": 1, "period": 0}, "period must be at least 0.001 seconds"),
        ({"amount": 1, "period": float("inf")}, "period must be at least"),
        ({"amount": 1, "period": "60"}, "period must be at least"),
        ({"amount": 1, "period": 1, "burst": -1}, "burst must be an integer of at least 1"),
        ({"amount": 1, "period": 1, "algorithm": "leaky"}, "algorithm must be one of gcra"),
        ({"amount": 1, "period": 1, "name": 'a"b'}, "limit name must be printable ASCII"),
        ({"amount": 1, "period": 1, "name": "é"}, "limit name must be printable ASCII"),
    ],
    ids=lambda v: str(v),
)
def test_construction_errors(kwargs: dict[str, object], message: str) -> None:
    """Limits built directly (from configuration) are validated as strictly as parsed ones."""
    with pytest.raises(ValueError, match=message):
        Limit(**kwargs)  # type: ignore[arg-type]


def test_limits_are_values() -> None:
    """Equal specs make equal, hashable limits."""
    assert Limit.parse("100/minute") == Limit.parse("100 per minute")
    assert len({Limit.parse("100/minute"), Limit(100, 60)}) == 1
