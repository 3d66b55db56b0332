"""What a rate-limit check answers: one atomic decision over one or more limits.

Everything the layer puts in ``Retry-After``, ``RateLimit`` and ``RateLimit-Policy`` comes
from here, computed in the same atomic step that admitted or refused the request, so the
headers can never disagree with the decision (and never cost a second round trip).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from ._limit import Limit

__all__ = ["Decision", "LimitState", "ratelimit_headers"]


class LimitState(NamedTuple):
    """One limit's part of a decision.

    A NamedTuple, like ``limits``' ``WindowStats``: immutable, and the cheapest immutable
    object to build, which matters when one is built per request.

    Attributes:
        limit: the limit checked.
        allowed: whether this limit alone would admit the cost.
        remaining: units left; after this request when the decision admitted it, as they
            stand when it was refused (a refused request consumes nothing).
        reset: seconds until the limit's quota is whole again.
        retry_after: 0 when this limit admits the cost, otherwise seconds until it would.
    """

    limit: Limit
    allowed: bool
    remaining: int
    reset: float
    retry_after: float


class Decision(NamedTuple):
    """Whether a request of some cost is admitted under all its limits at once.

    All-or-nothing: ``allowed`` only if every limit admits the cost, and then every limit
    consumed it; if any limit refused, none consumed anything.
    """

    allowed: bool
    cost: int
    states: tuple[LimitState, ...]

    @property
    def retry_after(self) -> float:
        """Seconds until every limit admits the same request again; 0 when allowed.

        The largest of the refusing limits' waits: waiting never makes another limit
        stricter, so the request fits all of them after the longest wait.
        """
        return max((s.retry_after for s in self.states), default=0.0)

    @property
    def tightest(self) -> LimitState | None:
        """The state clients should watch: a refusing limit, else the fewest remaining."""
        if not self.states:
            return None
        return min(self.states, key=lambda s: (s.allowed, s.remaining, -s.reset))


def ratelimit_headers(
    decisions: Decision | Sequence[Decision],
) -> list[tuple[bytes, bytes]]:
    """``RateLimit-Policy`` and ``RateLimit`` (IETF ratelimit-headers draft) for decisions.

    One list member per limit: ``RateLimit-Policy: "100/minute";q=100;w=60`` and
    ``RateLimit: "100/minute";r=42;t=17``. ``t`` is rounded up, so a client waiting ``t``
    seconds never arrives early; a refused limit reports ``r=0`` and its retry time.
    """
    if isinstance(decisions, Decision):
        decisions = (decisions,)
    policies: list[str] = []
    current: list[str] = []
    for decision in decisions:
        for state in decision.states:
            limit = state.limit
            window = limit.period
            w = int(window) if float(window).is_integer() else math.ceil(window)
            policies.append(f'"{limit.name}";q={limit.amount};w={w}')
            t = state.retry_after if not state.allowed else state.reset
            current.append(f'"{limit.name}";r={max(state.remaining, 0)};t={math.ceil(t)}')
    if not policies:
        return []
    return [
        (b"ratelimit-policy", ", ".join(policies).encode("ascii")),
        (b"ratelimit", ", ".join(current).encode("ascii")),
    ]
