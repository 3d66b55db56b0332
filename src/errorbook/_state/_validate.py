"""Argument checks shared by every store, so both backends refuse bad input alike."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._limit import Limit

__all__ = ["check_decide", "check_integer", "check_key", "check_seconds"]


def check_key(key: object) -> None:
    """Keys are non-empty strings: on Redis an empty hash tag would scatter one decision's
    keys over several cluster slots."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"a store key is a non-empty string, got {key!r}")


def check_integer(name: str, value: object, minimum: int) -> int:
    """An int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}")
    return value


def check_decide(key: object, limits: Sequence[object], cost: object) -> int:
    """A decision needs a key, at least one Limit, and a cost every limit could admit.

    Returns the cost, typed.
    """
    check_key(key)
    cost = check_integer("cost", cost, 0)
    if not limits:
        raise ValueError("a decision needs at least one Limit")
    for limit in limits:
        if not isinstance(limit, Limit):
            raise TypeError(f"expected Limit objects (Limit.parse('100/minute')), got {limit!r}")
        if cost > limit.capacity:
            raise ValueError(
                f"cost {cost} exceeds the capacity {limit.capacity} of limit {limit.name!r}: "
                "such a request could never be admitted"
            )
    return cost


def check_seconds(name: str, value: object) -> int:
    """A positive, finite duration in seconds, returned in whole microseconds (at least 1)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return max(round(value * 1_000_000), 1)
