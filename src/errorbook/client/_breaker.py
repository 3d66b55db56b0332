"""The circuit breaker: stop sending to a host that keeps failing, then probe it once.

Retries and budgets still send requests to a host that is down; a breaker stops sending
altogether. After ``failures`` consecutive failures the host's circuit opens and requests
fail at once, without touching the network, for ``cool_down`` seconds. Then exactly one
trial request is let through: its success closes the circuit, its failure opens it for
another cool-down.

The breaker reads no clock itself: the transport passes ``now`` from its own `Clock`, so a
test's fake clock drives the cool-down too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal, NamedTuple

from ._budget import check_int, check_number

__all__ = ["Admission", "CircuitBreaker"]

State = Literal["closed", "open", "half-open"]


class Admission(NamedTuple):
    """The breaker's answer to "may this request go?".

    Attributes:
        allowed: Whether to send it.
        trial: Whether it is the one trial request of a half-open circuit; its outcome must
            be reported with ``trial=True`` (or `CircuitBreaker.abandon` when it has none).
        retry_in: When refused, seconds until a trial may go.
    """

    allowed: bool
    trial: bool
    retry_in: float


# Built once: admitting a request to a healthy host allocates nothing.
_GO = Admission(allowed=True, trial=False, retry_in=0.0)
_TRIAL = Admission(allowed=True, trial=True, retry_in=0.0)


@dataclass(slots=True)
class _Host:
    failures: int = 0
    opened_at: float | None = None  # None: closed
    trial: bool = False  # a trial request is out


class CircuitBreaker:
    """Per-host circuits: closed, open after ``failures`` consecutive failures, half-open
    after ``cool_down`` seconds.

    A failure is a transport error (no response) or a 5xx response; any other response,
    4xx included, shows the host is up and answering, and resets the count. Outcomes of
    requests sent before the circuit opened do not move an open circuit: only the trial
    decides.

    Only hosts with recent failures are stored, at most ``max_hosts`` of them; past that the
    least recently used is forgotten, which closes its circuit. Thread-safe.

    Args:
        failures: Consecutive failures that open a circuit.
        cool_down: Seconds a circuit stays open before the trial request.
        max_hosts: How many failing hosts are remembered.
    """

    __slots__ = ("_hosts", "_lock", "cool_down", "failures", "max_hosts")

    def __init__(
        self, failures: int = 5, cool_down: float = 30.0, *, max_hosts: int = 1024
    ) -> None:
        check_int("failures", failures, 1)
        check_number("cool_down", cool_down)
        check_int("max_hosts", max_hosts, 1)
        self.failures = failures
        self.cool_down = float(cool_down)
        self.max_hosts = max_hosts
        self._hosts: OrderedDict[str, _Host] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, host: str, now: float) -> Admission:
        """Whether a request to ``host`` may be sent now; a half-open circuit admits exactly
        one request as its trial, and refuses the others while it is out."""
        with self._lock:
            state = self._hosts.get(host)
            if state is None or state.opened_at is None:
                return _GO
            waited = now - state.opened_at
            if waited < self.cool_down:
                return Admission(allowed=False, trial=False, retry_in=self.cool_down - waited)
            if state.trial:
                # The next chance comes when the trial ends: at once if it succeeds, a
                # whole cool-down later if it fails; the latter is the honest promise.
                return Admission(allowed=False, trial=False, retry_in=self.cool_down)
            state.trial = True
            return _TRIAL

    def retry_in(self, host: str, now: float) -> float:
        """Seconds until `admit` could let a request to ``host`` through (0.0 when it would
        now); unlike `admit` it takes no trial slot, so a transport may ask before waiting."""
        with self._lock:
            state = self._hosts.get(host)
            if state is None or state.opened_at is None:
                return 0.0
            if state.trial:
                return self.cool_down
            return max(self.cool_down - (now - state.opened_at), 0.0)

    def state(self, host: str, now: float) -> State:
        """``closed``, ``open`` (failing fast) or ``half-open`` (a trial may go or is out)."""
        with self._lock:
            state = self._hosts.get(host)
            if state is None or state.opened_at is None:
                return "closed"
            return "open" if now - state.opened_at < self.cool_down else "half-open"

    def success(self, host: str, *, trial: bool = False) -> None:
        """A request to ``host`` got a response that is not a 5xx."""
        with self._lock:
            state = self._hosts.get(host)
            if state is not None and (trial or state.opened_at is None):
                del self._hosts[host]

    def failure(self, host: str, now: float, *, trial: bool = False) -> None:
        """A request to ``host`` failed: a transport error or a 5xx."""
        with self._lock:
            state = self._hosts.get(host)
            if state is None:
                state = self._hosts[host] = _Host()
                while len(self._hosts) > self.max_hosts:
                    self._hosts.popitem(last=False)
            else:
                self._hosts.move_to_end(host)
            if trial:
                state.trial = False
                state.opened_at = now
            elif state.opened_at is None:
                state.failures += 1
                if state.failures >= self.failures:
                    state.opened_at = now

    def abandon(self, host: str) -> None:
        """The trial request to ``host`` ended without an outcome (it was cancelled, or the
        caller interrupted it): free the slot so the next request becomes the trial."""
        with self._lock:
            state = self._hosts.get(host)
            if state is not None:
                state.trial = False

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(failures={self.failures!r}, cool_down={self.cool_down!r}, "
            f"max_hosts={self.max_hosts!r})"
        )
