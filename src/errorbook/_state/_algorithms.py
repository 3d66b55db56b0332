"""The three rate-limit algorithms as pure functions over integer microseconds.

The memory store calls these; the Redis store runs the same arithmetic in Lua
(``_lua.py``). Both work in whole microseconds so every comparison is exact and both
backends answer identically (Lua numbers are doubles: exact for integers below 2**53,
which microseconds since 1970 stay far under).

Each function takes the stored state (``None`` when absent or expired), the time and the
cost, and returns ``(allowed, state, expires, remaining, reset, retry_after)``: the state
to store if the whole decision admits the request, when that state stops mattering (the
store may forget it then), and the numbers for the headers, all times in microseconds.
"""

from __future__ import annotations

import math
from typing import Any

from ._limit import Limit

__all__ = ["ALGORITHM_FUNCTIONS", "Outcome", "fixed_window", "gcra", "sliding_window"]

#: allowed, new state, expires at, remaining, reset in, retry after (microseconds).
Outcome = tuple[bool, Any, int, int, int, int]


def gcra(state: Any, now: int, limit: Limit, cost: int) -> Outcome:
    """Generic cell rate algorithm: the state is the theoretical arrival time (TAT).

    Each unit of cost pushes the TAT one interval later; a request is admitted when the
    new TAT is at most ``burst`` intervals ahead of now. From idle that admits ``burst``
    units at once, then one per interval: never more than ``burst + elapsed / interval``.
    """
    interval = limit.interval_us
    tau = limit.burst * interval
    tat = state if state is not None and state > now else now
    new = tat + cost * interval
    if new - tau <= now:
        return True, new, new, (tau - (new - now)) // interval, new - now, 0
    return False, tat, tat, (tau - (tat - now)) // interval, tat - now, new - tau - now


def fixed_window(state: Any, now: int, limit: Limit, cost: int) -> Outcome:
    """At most ``amount`` per window; a key's window opens at its first counted hit."""
    period = limit.period_us
    if state is None or now >= state[0] + period:
        start, count = now, 0
    else:
        start, count = state
    end = start + period
    if count + cost <= limit.amount:
        count += cost
        return True, (start, count), end, limit.amount - count, end - now if count else 0, 0
    return False, (start, count), end, limit.amount - count, end - now, end - now


def sliding_window(state: Any, now: int, limit: Limit, cost: int) -> Outcome:
    """The two-window approximation: ``prev * overlap + current`` against ``amount``.

    Windows are aligned to multiples of the period. The previous window's count is
    weighted by the share of it the sliding window still covers, which assumes its
    requests were spread evenly.
    """
    period = limit.period_us
    amount = limit.amount
    window = now // period
    elapsed = now - window * period
    if state is not None and state[0] == window:
        current, previous = state[1], state[2]
    elif state is not None and state[0] == window - 1:
        current, previous = 0, state[1]
    else:
        current = previous = 0
    left = period - elapsed
    estimate = previous * left / period + current
    expires = (window + 2) * period
    if estimate + cost <= amount:
        current += cost
        remaining = math.floor(amount - (estimate + cost))
        reset = left + period if current else (left if previous else 0)
        return True, (window, current, previous), expires, remaining, reset, 0
    remaining = max(math.floor(amount - estimate), 0)
    reset = left + period if current else left
    if current + cost <= amount:
        # Only the previous window's weight is in the way: wait until it has slid off enough.
        wait = left - (amount - current - cost) * period / previous
    else:
        # The current window itself is too full: wait into the next one, where this
        # window's count becomes the weighted one.
        wait = left + max(period - (amount - cost) * period / current, 0)
    return False, (window, current, previous), expires, remaining, reset, math.ceil(wait)


#: One-letter codes (the first letter of the algorithm, also in store keys) to functions.
ALGORITHM_FUNCTIONS = {"g": gcra, "f": fixed_window, "s": sliding_window}
