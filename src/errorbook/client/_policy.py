"""What to retry, how often, and for how long: one immutable, validated policy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, cast

from .._response import is_header_name
from ._breaker import CircuitBreaker
from ._budget import RetryBudget, check_int, check_number, default_budget

__all__ = ["DEFAULT_RETRY_STATUSES", "IDEMPOTENT_METHODS", "RetryPolicy"]

#: Statuses retried when no catalog entry says otherwise: rate limited, and the gateway and
#: origin failures (Cloudflare's 522-524 included) that say nothing about the request.
DEFAULT_RETRY_STATUSES: Final[frozenset[int]] = frozenset({429, 502, 503, 504, 507, 522, 523, 524})

#: Methods RFC 9110 defines as idempotent: sending one twice has the effect of sending it once.
IDEMPOTENT_METHODS: Final[frozenset[str]] = frozenset(
    {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How a retrying transport retries.

    Frozen, so one policy can be shared by many clients and threads; its `budget` and
    `breaker` are the shared, thread-safe state. Every argument is checked here, so a typo
    (``attempts=0``, ``backoff=-1``, a status of ``5003``) fails when the policy is made,
    not on the first outage.

    Args:
        attempts: Total tries, the first included (1 never retries).
        backoff: Base of the exponential backoff: the n-th retry waits a random time up to
            ``backoff * 2 ** (n - 1)`` seconds (full jitter) when the server gave no hint.
        max_backoff: The cap of one backoff wait (a server's hint is not capped).
        timeout: Seconds for all attempts and waits together, from the start of the first;
            a wait that would end past it is not taken. None: no limit.
        statuses: Statuses retried when the body names no catalog entry.
        methods: Methods retried after the request may have reached the server.
        retry_connection_errors: Whether to retry transport errors at all.
        idempotency_keys: Add a fresh ``Idempotency-Key`` to POST and PATCH requests that do
            not carry one, which makes them retryable.
        idempotency_header: The name of that header.
        failed_requests_header: The header that tells the server how many attempts failed
            before this one; None to send nothing.
        budget: The per-host retry budget; by default one budget shared by the whole
            process (every policy without one of its own), so that many clients, however
            short-lived, stay within one ratio; None for no budget.
        breaker: The per-host circuit breaker; None (the default) for none.
        max_error_body: Bytes of an error body read at most; a longer body is not parsed.
    """

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    timeout: float | None = 120.0
    statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    methods: frozenset[str] = IDEMPOTENT_METHODS
    retry_connection_errors: bool = True
    idempotency_keys: bool = False
    idempotency_header: str = "Idempotency-Key"
    failed_requests_header: str | None = "X-Failed-Requests"
    budget: RetryBudget | None = field(default_factory=default_budget)
    breaker: CircuitBreaker | None = None
    max_error_body: int = 1 << 20

    def __post_init__(self) -> None:
        check_int("attempts", self.attempts, 1)
        check_number("backoff", self.backoff)
        check_number("max_backoff", self.max_backoff)
        if self.timeout is not None:
            check_number("timeout", self.timeout)
        check_int("max_error_body", self.max_error_body, 0)
        # Frozen: normalised values are set through object.__setattr__, as dataclasses do.
        object.__setattr__(self, "statuses", _statuses(self.statuses))
        object.__setattr__(self, "methods", _methods(self.methods))
        _check_header("idempotency_header", self.idempotency_header)
        if self.failed_requests_header is not None:
            _check_header("failed_requests_header", self.failed_requests_header)
        if self.budget is not None and not isinstance(self.budget, RetryBudget):
            raise TypeError(f"budget must be a RetryBudget or None, got {self.budget!r}")
        if self.breaker is not None and not isinstance(self.breaker, CircuitBreaker):
            raise TypeError(f"breaker must be a CircuitBreaker or None, got {self.breaker!r}")


def _statuses(values: Iterable[object]) -> frozenset[int]:
    statuses = frozenset(values)
    for status in sorted(statuses, key=repr):
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"statuses must be HTTP statuses from 100 to 599, got {status!r}")
    return cast("frozenset[int]", statuses)


def _methods(values: Iterable[object]) -> frozenset[str]:
    if isinstance(values, str):  # frozenset("GET") would be {"G", "E", "T"}
        raise TypeError(f"methods must be a collection of method names, got {values!r}")
    methods: set[str] = set()
    for method in values:
        if not isinstance(method, str) or not is_header_name(method):
            raise ValueError(f"methods must be HTTP method names, got {method!r}")
        methods.add(method.upper())
    return frozenset(methods)


def _check_header(name: str, value: object) -> None:
    if not isinstance(value, str) or not is_header_name(value):
        raise ValueError(f"{name} must be an HTTP header name, got {value!r}")
