"""The retry budget: a per-host token bucket that keeps retries a fraction of the traffic.

Attempt limits bound what one request costs; they do nothing against a storm. When a host
fails every request, a thousand callers each retrying three times quadruple the load on a
server that is already down. A budget (Finagle's ``RetryBudget``, gRPC's retry throttling)
ties retries to real traffic instead: each first attempt earns a fraction of a retry, each
retry spends a whole one, so however long the storm lasts the extra load stays near that
fraction.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

__all__ = ["RetryBudget", "check_int", "check_number", "default_budget"]

#: Floating-point slack: five deposits of 0.2 must buy a retry even when they sum to
#: 0.9999999999999999.
_EPSILON = 1e-9


class RetryBudget:
    """Per-host token bucket: each first attempt deposits ``ratio`` tokens, each retry spends
    one, and a retry is refused when less than one token is left.

    The balance starts at ``minimum`` and never exceeds it. ``minimum`` is the burst a host
    gets however little traffic it has seen (a quiet host's first failures can still be
    retried); once it is spent, a host gets one retry per ``1 / ratio`` first attempts, so a
    storm of failures adds at most ``minimum + ratio * requests`` retries.

    Hosts whose bucket is full are not stored at all, so the memory is spent only on hosts
    that failed recently, and at most ``max_hosts`` of them are kept: past that the least
    recently used one is forgotten (its bucket full again). A flood of distinct hosts can
    therefore never grow the budget without limit.

    Thread-safe: one budget may serve every client and thread of a process, and by default
    one does: every `RetryPolicy` made without a ``budget`` uses the same process-wide
    budget (`default_budget`), so a storm stays within the ratio however many short-lived
    clients it goes through. Pass ``budget=RetryBudget(...)`` for one of your own.

    Args:
        ratio: Tokens deposited per first attempt (0.2: one retry per five requests).
        minimum: The starting balance and its cap; at least 1.
        max_hosts: How many hosts with a spent bucket are remembered.
    """

    __slots__ = ("_hosts", "_lock", "max_hosts", "minimum", "ratio")

    def __init__(self, ratio: float = 0.2, minimum: float = 10.0, *, max_hosts: int = 1024) -> None:
        check_number("ratio", ratio)
        # A bucket capped below one token could never pay for a retry; attempts=1 is the
        # way to turn retries off.
        check_number("minimum", minimum, 1.0)
        check_int("max_hosts", max_hosts, 1)
        self.ratio = float(ratio)
        self.minimum = float(minimum)
        self.max_hosts = max_hosts
        # host -> balance, for hosts below `minimum`, least recently used first.
        self._hosts: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def deposit(self, host: str) -> None:
        """Credit ``host`` for a first attempt."""
        if host not in self._hosts:
            # Full already: nothing to add (the usual case, so it takes no lock). A race
            # with a withdrawal can lose this one deposit, which errs on the side of fewer
            # retries.
            return
        with self._lock:
            balance = self._hosts.get(host)
            if balance is None:  # full already
                return
            balance += self.ratio
            if balance >= self.minimum - _EPSILON:
                del self._hosts[host]
            else:
                self._hosts[host] = balance
                self._hosts.move_to_end(host)

    def withdraw(self, host: str) -> bool:
        """Spend one token on a retry to ``host``; False (nothing spent) when none is left."""
        with self._lock:
            balance = self._hosts.get(host, self.minimum)
            if balance < 1.0 - _EPSILON:  # only stored hosts can be this low
                self._hosts.move_to_end(host)
                return False
            self._remember(host, max(balance - 1.0, 0.0))
            return True

    def balance(self, host: str) -> float:
        """The tokens ``host`` has left (``minimum`` for a host never seen or forgotten)."""
        with self._lock:
            return self._hosts.get(host, self.minimum)

    def __len__(self) -> int:
        """How many hosts are remembered (those with a spent bucket)."""
        return len(self._hosts)

    def __repr__(self) -> str:
        return (
            f"RetryBudget(ratio={self.ratio!r}, minimum={self.minimum!r}, "
            f"max_hosts={self.max_hosts!r})"
        )

    def _remember(self, host: str, balance: float) -> None:
        # Called with the lock held.
        self._hosts[host] = balance
        self._hosts.move_to_end(host)
        while len(self._hosts) > self.max_hosts:
            self._hosts.popitem(last=False)


# The argument checks of every retry setting live here, the lowest module of the package
# (the breaker and the policy import them), so each kind of mistake reads the same.


def check_int(name: str, value: object, low: int) -> None:
    """Refuse anything but an int (bools included) below ``low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def check_number(name: str, value: object, low: float = 0.0) -> None:
    """Refuse anything but a finite int or float below ``low`` (NaN and bools included)."""
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= low
    )
    if not ok:
        raise ValueError(f"{name} must be a finite number >= {low:g}, got {value!r}")


#: The budget of every policy that names none; per host and thread-safe, so one will do.
_DEFAULT = RetryBudget()


def default_budget() -> RetryBudget:
    """The process-wide budget of every `RetryPolicy` made without a ``budget``."""
    return _DEFAULT
