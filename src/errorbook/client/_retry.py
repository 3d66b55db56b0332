"""Every retry decision, in one place, for the sync and the async transport alike.

The logic is sans-IO (as h11 and httpcore are built): `Retrier.plan` is a generator that
never touches the network or the clock's sleep. It yields what it needs done and is sent
back what happened:

- an ``httpx.Request``: send it; send back the ``httpx.Response`` or the
  ``httpx.TransportError`` it raised;
- an ``httpx.Response`` (a 4xx or 5xx): read its body (at most ``max_error_body`` bytes,
  decoded) and close it; send back a `Body`. When the transport returns error responses
  (``raise_errors=False``) and the body was cut, the `Body` also holds the response with
  its whole body, still open;
- a `Discard`: close that response (a whole body that will not be returned);
- a ``float``: sleep that many seconds; send back None.

When it is done the generator returns the response for the caller (``StopIteration.value``)
or raises the error the caller must see. A transport closes the generator when it leaves
early (a cancellation, a KeyboardInterrupt), which gives back a circuit breaker's trial
slot. The two transports only run that loop, with ``handle_request`` or ``await
handle_async_request``, so there is one implementation of the rules to test, and the sync
and async clients cannot drift apart.

Cost on the way that matters most, a first attempt that succeeds: one generator, one clock
reading, a lock-free look at the budget (and the breaker's lock when there is a breaker);
no parsing, no copying, nothing recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final, cast

import httpx

from .._problem import Problem
from .._validate_entry import RETRYABLE_4XX
from ._body import Body, Discard
from ._breaker import Admission, CircuitBreaker
from ._errors import Attempt
from ._hints import MAX_HINT, server_hint
from ._parse import error_for, problem_from
from ._requests import (
    circuit_open,
    copy_request,
    error_text,
    hopeless,
    origin,
    rebuilt,
    replayable,
    summary,
    url_text,
)
from ._testing import active as waits_skipped

if TYPE_CHECKING:
    from .._catalog import Catalog
    from ._clock import Clock
    from ._policy import RetryPolicy

__all__ = ["ATTEMPTS_EXTENSION", "IDEMPOTENCY_KEY_EXTENSION", "Plan", "Retrier", "Step"]

#: What the generator asks for, and the generator itself.
Step = httpx.Request | httpx.Response | Discard | float
Plan = Generator[Step, object, httpx.Response]

#: Where a response that needed more than one attempt (or failed) lists them.
ATTEMPTS_EXTENSION: Final = "errorbook.attempts"
#: Where the response says which ``Idempotency-Key`` the policy added to its request.
IDEMPOTENCY_KEY_EXTENSION: Final = "errorbook.idempotency_key"
#: Set (True) on a returned error response whose body holds only its first
#: ``max_error_body`` bytes; an error response is otherwise returned whole.
TRUNCATED_EXTENSION: Final = "errorbook.truncated"

#: The request never left the client: safe to send again whatever the method.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: Methods that get an Idempotency-Key when the policy asks for keys.
_KEYED_METHODS: Final = frozenset({"POST", "PATCH"})


class Retrier:
    """A transport's retry rules: its catalog, policy, clock and random source."""

    __slots__ = ("catalog", "clock", "policy", "raise_errors", "random")

    def __init__(
        self,
        catalog: Catalog,
        policy: RetryPolicy,
        clock: Clock,
        random: Callable[[], float],
        raise_errors: bool,
    ) -> None:
        self.catalog = catalog
        self.policy = policy
        self.clock = clock
        self.random = random
        self.raise_errors = raise_errors

    def plan(self, request: httpx.Request) -> Plan:
        """The steps of sending ``request`` until it succeeds or must stop (module doc)."""
        policy = self.policy
        breaker = policy.breaker
        host = origin(request.url)
        start = self.clock.monotonic()
        admission = None
        if breaker is not None:
            admission = breaker.admit(host, start)
            if not admission.allowed:  # nothing sent: no deposit either
                raise circuit_open(request, host, admission.retry_in)
        if policy.budget is not None:
            policy.budget.deposit(host)
        again = replayable(request.stream)  # before a send reads it
        first = self._first_request(request)
        if admission is not None and admission.trial:
            result = yield from _send(first, host, admission, breaker)
        else:  # no trial slot to give back: spare the success path a sub-generator
            result = yield first
        if isinstance(result, httpx.Response) and result.status_code < 400:
            if breaker is not None and admission is not None:
                breaker.success(host, trial=admission.trial)
            if first is not request:  # the policy added a key: say which
                result.extensions[IDEMPOTENCY_KEY_EXTENSION] = first.headers[
                    policy.idempotency_header
                ]
            return result
        run = _Run(self, first, host, start, again)
        return (yield from run.steps(result, admission))

    def _first_request(self, request: httpx.Request) -> httpx.Request:
        policy = self.policy
        if (
            policy.idempotency_keys
            and request.method in _KEYED_METHODS
            and policy.idempotency_header not in request.headers
        ):
            # A copy: the caller may send the same Request again, and it must then get a
            # key of its own, not this one.
            return copy_request(request, policy.idempotency_header, str(uuid.uuid4()))
        return request


@dataclass(slots=True)
class _Run:
    """The state of one request past its first failure."""

    retrier: Retrier
    first: httpx.Request
    host: str
    start: float
    replayable: bool
    current: httpx.Request = field(init=False)  # the attempt's request, headers and all
    attempts: list[Attempt] = field(default_factory=list)
    skipped: float = 0.0  # waits not slept under testing(), counted as time that passed

    def __post_init__(self) -> None:
        self.current = self.first

    def steps(self, result: object, admission: Admission | None) -> Plan:
        retrier = self.retrier
        policy = retrier.policy
        breaker = policy.breaker
        number = 1
        while True:
            outcome = yield from self._outcome(result, admission, number)
            if isinstance(outcome, httpx.Response):
                return outcome
            reason, wait = self._decide(outcome, number)
            self._record(outcome, number, wait, reason)
            if reason not in _GOING_ON:
                return self._finish(outcome)
            if outcome.whole is not None:  # not the answer after all: free the connection
                yield Discard(outcome.whole)
                outcome = replace(outcome, whole=None)
            if wait > 0:
                if waits_skipped():
                    self.skipped += wait
                else:
                    yield wait
            if breaker is not None:
                admission = breaker.admit(self.host, retrier.clock.monotonic())
                if not admission.allowed:
                    self.attempts[-1] = replace(self.attempts[-1], reason="circuit-open")
                    return self._finish(outcome)
            # The token is spent only now that the retry goes: not on a wait the breaker
            # then cut short.
            if policy.budget is not None and not policy.budget.withdraw(self.host):
                if breaker is not None and admission is not None and admission.trial:
                    breaker.abandon(self.host)
                self.attempts[-1] = replace(self.attempts[-1], reason="retry-budget")
                return self._finish(outcome)
            number += 1
            self.current = self._retry_request(number)
            result = yield from _send(self.current, self.host, admission, breaker)

    def _outcome(
        self, result: object, admission: Admission | None, number: int
    ) -> Generator[Step, object, _Outcome | httpx.Response]:
        """What an attempt came to; a response when it needs no decision (a success, or an
        error the caller wants as is and that no rule could retry)."""
        retrier = self.retrier
        breaker = retrier.policy.breaker
        trial = admission is not None and admission.trial
        if isinstance(result, httpx.TransportError):
            mendable = not hopeless(result)
            if breaker is not None:
                if mendable:
                    breaker.failure(self.host, retrier.clock.monotonic(), trial=trial)
                elif trial:
                    breaker.abandon(self.host)
            return _Outcome(error=result, retryable=mendable)
        assert isinstance(result, httpx.Response)
        status = result.status_code
        if breaker is not None:
            if status >= 500:
                breaker.failure(self.host, retrier.clock.monotonic(), trial=trial)
            else:
                breaker.success(self.host, trial=trial)
        if status < 400 or not (retrier.raise_errors or _may_retry(status, retrier.policy)):
            self._record(_Outcome(response=result), number, 0.0, _ended(status))
            result.extensions[ATTEMPTS_EXTENSION] = tuple(self.attempts)
            self._stamp_key(result)
            return result
        read = cast("Body", (yield result))
        problem = problem_from(
            retrier.catalog,
            status=status,
            headers=result.headers,
            body=read.data,
            complete=read.complete,
        )
        if read.whole is not None:
            read.whole.request = self.current
        return _Outcome(
            response=rebuilt(result, read.data, self.current),
            problem=problem,
            retryable=self._retryable(problem, status),
            whole=read.whole,
            cut=not read.complete,
        )

    def _retryable(self, problem: Problem, status: int) -> bool:
        catalog = self.retrier.catalog
        if problem.key is not None and problem.key in catalog:
            return catalog[problem.key].retry != "never"
        return status in self.retrier.policy.statuses

    def _decide(self, outcome: _Outcome, number: int) -> tuple[str, float]:
        """Why the transport goes on or stops after attempt ``number``, and the wait."""
        retrier = self.retrier
        policy = retrier.policy
        if not outcome.retryable or (
            outcome.error is not None and not policy.retry_connection_errors
        ):
            return "not-retryable", 0.0
        sent = not isinstance(outcome.error, _NOT_SENT)
        if (
            sent
            and self.first.method not in policy.methods
            and policy.idempotency_header not in self.first.headers
        ):
            return "method-not-idempotent", 0.0
        if not self.replayable:
            return "body-not-replayable", 0.0
        if number >= policy.attempts:
            return "attempts-exhausted", 0.0
        reason, wait = self._wait(outcome, number)
        if wait > MAX_HINT:
            # The server asked for a wait longer than any we take (a day): retrying
            # sooner would be refused, so stop as if the time were up.
            return "timeout", 0.0
        now = retrier.clock.monotonic()
        if policy.timeout is not None and now - self.start + self.skipped + wait > policy.timeout:
            return "timeout", 0.0
        if policy.breaker is not None and policy.breaker.retry_in(self.host, now) > wait:
            return "circuit-open", 0.0  # the circuit would still be open after the wait
        if policy.budget is not None and policy.budget.balance(self.host) < 1.0 - 1e-9:
            return "retry-budget", 0.0  # looked at now, spent after the wait
        return reason, wait

    def _wait(self, outcome: _Outcome, number: int) -> tuple[str, float]:
        """The server's hint when it gave one, else full jitter for the ``number``-th retry."""
        response = outcome.response
        if response is not None:
            body_retry = outcome.problem.retry_after if outcome.problem is not None else None
            hint = server_hint(response.headers, body_retry, now=self.retrier.clock.time())
            if hint is not None:
                return hint.reason, hint.seconds
        policy = self.retrier.policy
        ceiling = min(policy.max_backoff, policy.backoff * 2.0 ** min(number - 1, 64))
        return "backoff", self.retrier.random() * ceiling

    def _record(self, outcome: _Outcome, number: int, wait: float, reason: str) -> None:
        response, error, problem = outcome.response, outcome.error, outcome.problem
        self.attempts.append(
            Attempt(
                number=number,
                method=self.first.method,
                url=url_text(self.first.url),
                status=response.status_code if response is not None else None,
                code=problem.code if problem is not None else None,
                error=error_text(error) if error is not None else None,
                wait=wait,
                reason=reason,
                elapsed=self.retrier.clock.monotonic() - self.start + self.skipped,
            )
        )

    def _finish(self, outcome: _Outcome) -> httpx.Response:
        """The caller's answer once the transport stops: the error, or the response."""
        attempts = tuple(self.attempts)
        if outcome.error is not None:
            error = outcome.error
            setattr(error, "attempts", attempts)  # noqa: B010 - not an attribute httpx declares
            error.add_note(summary(attempts))
            raise error
        response, problem = outcome.response, outcome.problem
        assert response is not None
        assert problem is not None
        self._stamp_key(response)
        if self.retrier.raise_errors:
            raise error_for(self.retrier.catalog, problem, response, attempts)
        if outcome.whole is not None:  # the body was cut: the caller gets all of it
            outcome.whole.extensions.update(response.extensions)
            response = outcome.whole
        elif outcome.cut:
            response.extensions[TRUNCATED_EXTENSION] = True
        response.extensions[ATTEMPTS_EXTENSION] = attempts
        return response

    def _stamp_key(self, response: httpx.Response) -> None:
        """Say on the caller's response which ``Idempotency-Key`` the requests carried."""
        policy = self.retrier.policy
        if policy.idempotency_keys and policy.idempotency_header in self.first.headers:
            key = self.first.headers[policy.idempotency_header]
            response.extensions[IDEMPOTENCY_KEY_EXTENSION] = key

    def _retry_request(self, number: int) -> httpx.Request:
        name = self.retrier.policy.failed_requests_header
        if name is None:
            return self.first
        return copy_request(self.first, name, str(number - 1))


@dataclass(frozen=True, slots=True)
class _Outcome:
    """A failed attempt: its response (rebuilt with the body read) or its transport error."""

    response: httpx.Response | None = None
    error: httpx.TransportError | None = None
    problem: Problem | None = None
    retryable: bool = False
    whole: httpx.Response | None = None  # the same response, body whole, still open
    cut: bool = False  # the body read is not all of it


#: The reasons after which the transport sends another attempt.
_GOING_ON: Final = frozenset({"retry-after", "ratelimit-reset", "body-retry-after", "backoff"})


def _send(
    request: httpx.Request, host: str, admission: Admission | None, breaker: CircuitBreaker | None
) -> Generator[Step, object, object]:
    """Yield ``request`` for sending; if the run is abandoned while it is out (the caller
    cancelled, or pressed Ctrl-C), give the breaker's trial slot back."""
    try:
        return (yield request)
    except GeneratorExit:
        if breaker is not None and admission is not None and admission.trial:
            breaker.abandon(host)
        raise


def _may_retry(status: int, policy: RetryPolicy) -> bool:
    """Whether any rule could retry ``status``: the policy's statuses, and what a catalog
    entry may declare retryable (the 4xx the validator allows, and 5xx)."""
    return status in policy.statuses or status in RETRYABLE_4XX or status >= 500


def _ended(status: int) -> str:
    return "success" if status < 400 else "not-retryable"
