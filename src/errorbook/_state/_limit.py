"""A rate limit as data: how many units per how long, with which algorithm and burst.

``Limit.parse("100/minute")`` reads the spec operators write in configuration and on the
command line (``--rate 100/minute``). A Limit is a frozen value: stores derive their key
suffix from it, so two routes sharing one Limit share nothing but its description, while
changing a limit's numbers starts its counters afresh (forgiving, never over-refusing).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Final, Literal, TypeGuard, get_args

__all__ = ["ALGORITHMS", "Algorithm", "Limit"]

#: The rate-limit algorithms every store implements.
#:
#: - ``gcra``: the generic cell rate algorithm (a token bucket kept as one timestamp, the
#:   theoretical arrival time): smooth, admits ``burst`` at once, then one per
#:   ``period / amount``. The default: no window edges for clients to game, one number
#:   per key.
#: - ``fixed_window``: at most ``amount`` per window; a key's window starts at its first hit,
#:   so clients do not all reset on the same second.
#: - ``sliding_window``: the two-window weighted approximation (the previous epoch-aligned
#:   window's count weighted by how much of it still overlaps the sliding window). Exact
#:   sliding logs cost memory per request; this costs two counters per key and errs by at
#:   most the unevenness of requests inside the previous window.
Algorithm = Literal["gcra", "fixed_window", "sliding_window"]
ALGORITHMS: Final[tuple[Algorithm, ...]] = get_args(Algorithm)

_UNITS: Final[dict[str, int]] = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_SPEC = re.compile(
    r"\s*(?P<amount>[0-9]+)\s*(?:/|\s+per\s+)\s*"
    r"(?P<count>[0-9]+(?:\.[0-9]+)?)?\s*(?P<unit>[a-z]+)\s*",
    re.IGNORECASE,
)
_EXPECTED = (
    "expected AMOUNT/[COUNT ]UNIT with UNIT one of second, minute, hour or day "
    "(e.g. 100/minute, 100/5 minutes)"
)


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``amount`` units of cost per ``period`` seconds.

    Args:
        amount: the quota per period (the ``q`` of ``RateLimit-Policy``), at least 1.
        period: the window in seconds (the ``w`` of ``RateLimit-Policy``), above 0.
        burst: for GCRA, how much cost may arrive at once from idle; defaults to
            ``amount``, so a fresh client may spend its whole quota at once and then one
            unit per ``period / amount``. Window algorithms ignore it.
        algorithm: one of :data:`ALGORITHMS`.
        name: the policy name clients see in ``RateLimit`` headers; defaults to the spec
            (``"100/minute"``).
    """

    amount: int
    period: float
    burst: int = 0
    algorithm: Algorithm = "gcra"
    name: str = ""
    #: The per-limit part of store keys: algorithm and numbers, so a changed limit starts
    #: afresh instead of reading counters kept under other rules.
    key: str = field(init=False, repr=False, compare=False)
    #: The period in whole microseconds, the unit every store computes in (exact integers,
    #: the same in Python and in Redis' Lua, whose numbers are doubles).
    period_us: int = field(init=False, repr=False, compare=False)
    #: Microseconds per unit at the sustained rate, rounded up: rounding can only make the
    #: limit a hair stricter, never let more through than ``amount`` per ``period``.
    interval_us: int = field(init=False, repr=False, compare=False)
    #: The largest cost one request can ever be admitted with (GCRA's burst, else amount).
    capacity: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Checked at runtime too: limits often come from configuration, not typed code.
        amount: object = self.amount
        period: object = self.period
        burst: object = self.amount if self.burst == 0 else self.burst
        if not _is_int(amount) or amount < 1:
            raise ValueError(f"limit amount must be an integer of at least 1, got {amount!r}")
        if (
            not isinstance(period, int | float)
            or isinstance(period, bool)
            or not math.isfinite(period)
            or period < 0.001
        ):
            raise ValueError(f"limit period must be at least 0.001 seconds, got {period!r}")
        if not _is_int(burst) or burst < 1:
            raise ValueError(f"limit burst must be an integer of at least 1, got {burst!r}")
        if self.algorithm not in ALGORITHMS:
            raise ValueError(
                f"limit algorithm must be one of {', '.join(ALGORITHMS)}, got {self.algorithm!r}"
            )
        name = self.name or _describe(self.amount, self.period)
        if not name.isprintable() or '"' in name or "\\" in name or not name.isascii():
            raise ValueError(
                f"limit name must be printable ASCII without quotes or backslashes "
                f"(it goes into a header), got {name!r}"
            )
        object.__setattr__(self, "burst", burst)
        object.__setattr__(self, "name", name)
        period_us = round(self.period * 1_000_000)
        object.__setattr__(self, "period_us", period_us)
        object.__setattr__(self, "interval_us", -(-period_us // self.amount))
        object.__setattr__(self, "capacity", burst if self.algorithm == "gcra" else self.amount)
        object.__setattr__(self, "key", f"{self.algorithm[0]}{self.amount}/{period_us}b{burst}")

    @classmethod
    def parse(
        cls,
        spec: str,
        *,
        burst: int | None = None,
        algorithm: Algorithm = "gcra",
        name: str | None = None,
    ) -> Limit:
        """Read ``"100/minute"``, ``"10/second"``, ``"5000/day"``, ``"100/5 minutes"``.

        Units may be plural or short (``s``, ``sec``, ``min``, ``h``, ``hr``, ``d``), and
        ``per`` may stand for the slash (``"100 per minute"``).

        Raises:
            ValueError: naming the spec and what was expected.
        """
        if not isinstance(spec, str):
            raise TypeError(f"a limit spec is a string like '100/minute', got {spec!r}")
        match = _SPEC.fullmatch(spec)
        if match is None:
            raise ValueError(f"invalid limit {spec!r}: {_EXPECTED}")
        unit = match["unit"].lower()
        seconds = _UNITS.get(unit.removesuffix("s") if unit not in _UNITS else unit)
        if seconds is None:
            raise ValueError(f"invalid limit {spec!r}: unknown unit {match['unit']!r}; {_EXPECTED}")
        count = float(match["count"]) if match["count"] else 1.0
        if count <= 0:
            raise ValueError(f"invalid limit {spec!r}: the period must be above 0; {_EXPECTED}")
        amount = int(match["amount"])
        if amount < 1:
            raise ValueError(f"invalid limit {spec!r}: the amount must be at least 1")
        period = count * seconds
        return cls(
            amount,
            int(period) if period.is_integer() else period,
            burst or 0,
            algorithm,
            name or _describe(amount, period),
        )

    @property
    def interval(self) -> float:
        """Seconds between two units at the sustained rate (GCRA's emission interval)."""
        return self.interval_us / 1_000_000


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _describe(amount: int, period: float) -> str:
    """The canonical spec for the numbers: ``100/minute``, ``100/5minutes``, ``3/1.5s``."""
    for unit, seconds in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count = period / seconds
        if count >= 1 and count.is_integer():
            return f"{amount}/{unit}" if count == 1 else f"{amount}/{int(count)}{unit}s"
    return f"{amount}/{period:g}s"
