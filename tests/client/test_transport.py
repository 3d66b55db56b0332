"""RetryTransport and AsyncRetryTransport, driven by scripted MockTransport answers.

Every test runs on both transports (``kind``) through a real ``httpx.Client`` or
``httpx.AsyncClient``. Time is a `FakeClock`: its ``sleep`` records the wait and moves the
clock, so waits are asserted to the exact value without a test ever sleeping, and the jitter
source is fixed at 0.5.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Final

import httpx
import pytest

from errorbook import Catalog
from errorbook.client import (
    AsyncRetryTransport,
    Attempt,
    CircuitBreaker,
    CircuitOpenError,
    ProblemError,
    RetryBudget,
    RetryPolicy,
    RetryTransport,
)

from ._clock import WALL, FakeClock

KINDS: Final = ["sync", "async"]
URL: Final = "https://api.test/v1/things"
#: The key budgets and breakers keep per origin: scheme, host and port.
HOST: Final = "https://api.test:443"
DRAW: Final = 0.5

#: A catalog with a 503 the API says never to retry, and a 500 it says to back off on.
SMALL: Final = Catalog.from_dict(
    {
        "name": "small",
        "format": "problem+json",
        "errors": {
            "overloaded": {
                "status": 503,
                "code": "overloaded",
                "message": "Overloaded.",
                "retry": "never",
            },
            "busy": {"status": 500, "code": "busy", "message": "Busy.", "retry": "backoff"},
            "not_found": {"status": 404, "code": "not_found", "message": "No such thing."},
        },
    }
)


# -- the harness ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A scripted response."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Hand the body over as an unread stream (it is then decoded only when read).
    raw: bool = False


@dataclass(frozen=True)
class Fail:
    """A scripted transport error."""

    error: type[BaseException]
    message: str = "scripted failure"


@dataclass(frozen=True)
class Seen:
    method: str
    headers: httpx.Headers
    body: bytes


OK: Final = Answer(200, {"Content-Type": "application/json"}, b'{"ok": true}')


class Harness:
    """Sends requests through a retrying transport over a scripted MockTransport."""

    def __init__(self, kind: str, *steps: Answer | Fail, **options: Any) -> None:
        self.kind = kind
        self.steps = list(steps)
        self.seen: list[Seen] = []
        self.responses: list[httpx.Response] = []
        self.clock = FakeClock()
        self.options = {"clock": self.clock, "random": lambda: DRAW, **options}

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(Seen(request.method, request.headers.copy(), request.content))
        step = self.steps.pop(0) if self.steps else Answer(599, body=b"off script")
        if isinstance(step, Fail):
            if issubclass(step.error, httpx.TransportError):
                raise step.error(step.message, request=request)
            raise step.error(step.message)
        if step.raw:
            stream = httpx.ByteStream(step.body)
            response = httpx.Response(step.status, headers=step.headers, stream=stream)
        else:
            response = httpx.Response(step.status, headers=step.headers, content=step.body)
        self.responses.append(response)
        return response

    def transport(self) -> RetryTransport | AsyncRetryTransport:
        mock = httpx.MockTransport(self.handler)
        if self.kind == "sync":
            return RetryTransport(mock, **self.options)
        return AsyncRetryTransport(mock, **self.options)

    def send(self, method: str = "GET", url: str = URL, **kwargs: Any) -> httpx.Response:
        transport = self.transport()
        if isinstance(transport, RetryTransport):
            with httpx.Client(transport=transport) as client:
                return client.request(method, url, **kwargs)

        async def run() -> httpx.Response:
            async with httpx.AsyncClient(transport=transport) as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(run())

    def fails(
        self, error: type[BaseException] = ProblemError, method: str = "GET", **kwargs: Any
    ) -> Any:
        with pytest.raises(error) as caught:
            self.send(method, **kwargs)
        return caught.value

    @property
    def failed_requests(self) -> list[str | None]:
        return [seen.headers.get("x-failed-requests") for seen in self.seen]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def policy(**kwargs: Any) -> RetryPolicy:
    """A policy without a budget unless one is asked for: budgets get tests of their own."""
    return RetryPolicy(**{"budget": None, **kwargs})


def reasons(attempts: tuple[Attempt, ...]) -> list[str]:
    return [attempt.reason for attempt in attempts]


def http_date(timestamp: float) -> str:
    return format_datetime(datetime.fromtimestamp(timestamp, UTC), usegmt=True)


def problem_json(catalog: Catalog, key: str, **kwargs: Any) -> Answer:
    problem = catalog.problem(key, **kwargs)
    headers = {"Content-Type": catalog.format.media_type, **problem.headers}
    return Answer(problem.status, headers, catalog.format.render(problem))


# -- success ---------------------------------------------------------------------------------


class TestSuccess:
    def test_first_success_is_returned_untouched(self, kind: str) -> None:
        """No retries, no sleeps, no header added, nothing recorded on the response."""
        harness = Harness(kind, OK, policy=policy())
        response = harness.send()
        assert response.status_code == 200
        assert response.json() == {"ok": True}
        assert "errorbook.attempts" not in response.extensions
        assert harness.clock.sleeps == []
        assert harness.failed_requests == [None]
        assert "idempotency-key" not in harness.seen[0].headers

    def test_same_response_object_and_stream_left_unread(self) -> None:
        """At the transport level the wrapped transport's response comes back as is, its
        stream unread: a streaming download is not buffered by the retry layer."""
        chunks = iter([b"a", b"b"])
        answer = httpx.Response(200, content=chunks)
        transport = RetryTransport(httpx.MockTransport(lambda request: answer))
        got = transport.handle_request(httpx.Request("GET", URL))
        assert got is answer
        assert not got.is_stream_consumed

    @pytest.mark.parametrize("status", [204, 301, 304])
    def test_redirects_and_not_modified_are_not_errors(self, kind: str, status: int) -> None:
        harness = Harness(kind, Answer(status, {"Location": "/elsewhere"}), policy=policy())
        assert harness.send().status_code == status
        assert len(harness.seen) == 1


# -- the reasons for going on ----------------------------------------------------------------


class TestWaits:
    def test_retry_after_seconds(self, kind: str) -> None:
        harness = Harness(kind, Answer(503, {"Retry-After": "2"}), OK, policy=policy())
        response = harness.send()
        assert response.status_code == 200
        assert harness.clock.sleeps == [2.0]
        assert harness.failed_requests == [None, "1"]
        attempts = response.extensions["errorbook.attempts"]
        assert reasons(attempts) == ["retry-after", "success"]
        assert [a.wait for a in attempts] == [2.0, 0.0]
        assert [a.status for a in attempts] == [503, 200]
        assert [a.elapsed for a in attempts] == [0.0, 2.0]

    def test_fractional_retry_after(self, kind: str) -> None:
        harness = Harness(kind, Answer(429, {"Retry-After": "0.75"}), OK, policy=policy())
        harness.send()
        assert harness.clock.sleeps == [0.75]

    def test_retry_after_date_measured_against_the_date_header(self, kind: str) -> None:
        """The server's clock is two hours behind the client's: the date is read against
        the response's Date, so the wait is the 5 s the server meant."""
        server_now = WALL - 7200
        headers = {"Retry-After": http_date(server_now + 5), "Date": http_date(server_now)}
        harness = Harness(kind, Answer(503, headers), OK, policy=policy())
        harness.send()
        assert harness.clock.sleeps == [5.0]

    def test_retry_after_date_without_date_header_uses_the_wall_clock(self, kind: str) -> None:
        harness = Harness(kind, Answer(503, {"Retry-After": http_date(WALL + 9)}), OK)
        harness.options["policy"] = policy()
        harness.send()
        assert harness.clock.sleeps == [9.0]

    @pytest.mark.parametrize("value", ["soon", "-3", "nan", "1e9", "Wed, 99 Foo 2015", ""])
    def test_garbage_retry_after_falls_back_to_backoff(self, kind: str, value: str) -> None:
        harness = Harness(kind, Answer(503, {"Retry-After": value}), OK, policy=policy())
        response = harness.send()
        assert harness.clock.sleeps == [DRAW * 0.5]
        assert reasons(response.extensions["errorbook.attempts"]) == ["backoff", "success"]

    def test_ratelimit_reset(self, kind: str) -> None:
        answer = Answer(
            429, {"RateLimit": '"default";r=0;t=7', "RateLimit-Policy": '"default";q=9;w=60'}
        )
        harness = Harness(kind, answer, OK, policy=policy())
        response = harness.send()
        assert harness.clock.sleeps == [7.0]
        assert reasons(response.extensions["errorbook.attempts"])[0] == "ratelimit-reset"

    def test_body_retry_after(self, kind: str) -> None:
        """Discord says how long to wait in the 429's body."""
        discord = Catalog.load("discord")
        limited = problem_json(discord, "rate_limited", retry_after=2.5)
        harness = Harness(kind, limited, OK, policy=policy(), catalog=discord)
        response = harness.send()
        assert harness.clock.sleeps == [2.5]
        attempts = response.extensions["errorbook.attempts"]
        assert reasons(attempts) == ["body-retry-after", "success"]
        assert attempts[0].code == 429

    def test_largest_hint_wins(self, kind: str) -> None:
        discord = Catalog.load("discord")
        limited = problem_json(discord, "rate_limited", retry_after=2.5)
        limited = Answer(429, {**limited.headers, "Retry-After": "4"}, limited.body)
        harness = Harness(kind, limited, OK, policy=policy(), catalog=discord)
        harness.send()
        assert harness.clock.sleeps == [4.0]

    def test_full_jitter_backoff_grows_and_caps(self, kind: str) -> None:
        """n-th retry waits random() * min(max_backoff, backoff * 2**(n-1))."""
        harness = Harness(
            kind,
            *[Answer(502)] * 4,
            OK,
            policy=policy(attempts=5, backoff=1.0, max_backoff=3.0),
        )
        response = harness.send()
        assert harness.clock.sleeps == [0.5, 1.0, 1.5, 1.5]
        assert harness.failed_requests == [None, "1", "2", "3", "4"]
        attempts = response.extensions["errorbook.attempts"]
        assert reasons(attempts) == ["backoff"] * 4 + ["success"]
        assert [a.elapsed for a in attempts] == [0.0, 0.5, 1.5, 3.0, 4.5]

    def test_failed_responses_are_closed_before_the_retry(self, kind: str) -> None:
        """Streamed bodies cut at the cap: read to the end, httpx would close them itself,
        and ``Response(content=...)`` is closed from the start; these only the transport's
        close() can close."""
        long = Answer(503, body=b"x" * 100, raw=True)
        harness = Harness(kind, long, long, OK, policy=policy(max_error_body=10))
        assert harness.send().status_code == 200
        assert len(harness.responses) == 3
        assert all(response.is_closed for response in harness.responses[:2])

    def test_catalog_backoff_entry_retries_a_status_outside_the_defaults(self, kind: str) -> None:
        """500 is not a default retry status, but the catalog's ``busy`` entry backs off."""
        harness = Harness(kind, problem_json(SMALL, "busy"), OK, policy=policy(), catalog=SMALL)
        response = harness.send()
        assert response.status_code == 200
        assert reasons(response.extensions["errorbook.attempts"]) == ["backoff", "success"]


# -- the reasons for stopping ----------------------------------------------------------------


class TestStops:
    def test_not_retryable_status_raises_at_once(self, kind: str) -> None:
        """A 404 is raised as the catalog's typed error after one attempt, its body still
        readable on the error's response."""
        harness = Harness(kind, problem_json(SMALL, "not_found"), policy=policy(), catalog=SMALL)
        error = harness.fails(SMALL.exception("not_found"))
        assert error.status == 404
        assert error.code == "not_found"
        assert json.loads(error.response.text)["code"] == "not_found"
        assert error.request.url == URL
        assert reasons(error.attempts) == ["not-retryable"]
        assert len(harness.seen) == 1
        assert harness.clock.sleeps == []

    def test_catalog_never_beats_the_default_statuses(self, kind: str) -> None:
        """503 is retried by default, but this catalog's 503 entry says ``retry: never``."""
        harness = Harness(kind, problem_json(SMALL, "overloaded"), OK, catalog=SMALL)
        harness.options["policy"] = policy()
        error = harness.fails(SMALL.exception("overloaded"))
        assert error.key == "overloaded"
        assert reasons(error.attempts) == ["not-retryable"]
        assert len(harness.seen) == 1

    def test_attempts_exhausted(self, kind: str) -> None:
        harness = Harness(kind, *[Answer(503, body=b"down")] * 4, policy=policy(attempts=4))
        error = harness.fails()
        assert error.status == 503
        assert error.parsed is False
        assert error.response.text == "down"
        assert reasons(error.attempts) == ["backoff"] * 3 + ["attempts-exhausted"]
        assert [a.number for a in error.attempts] == [1, 2, 3, 4]
        assert error.attempts[-1].wait == 0.0
        assert harness.failed_requests == [None, "1", "2", "3"]
        assert error.request.headers["X-Failed-Requests"] == "3"
        assert len(harness.clock.sleeps) == 3

    def test_a_single_attempt_never_retries(self, kind: str) -> None:
        harness = Harness(kind, Answer(503), policy=policy(attempts=1))
        error = harness.fails()
        assert reasons(error.attempts) == ["attempts-exhausted"]

    def test_post_is_not_retried_without_a_key(self, kind: str) -> None:
        harness = Harness(kind, Answer(503), OK, policy=policy())
        error = harness.fails(method="POST", json={"a": 1})
        assert reasons(error.attempts) == ["method-not-idempotent"]
        assert len(harness.seen) == 1

    def test_post_read_error_is_not_retried(self, kind: str) -> None:
        """The request may have reached the server: a POST is not sent again, and the
        caller gets the transport error itself, attempts and note attached."""
        harness = Harness(kind, Fail(httpx.ReadError), OK, policy=policy())
        error = harness.fails(httpx.ReadError, method="POST", json={"a": 1})
        assert reasons(error.attempts) == ["method-not-idempotent"]
        assert error.attempts[0].error == "ReadError: scripted failure"
        assert error.attempts[0].status is None
        assert len(harness.seen) == 1

    @pytest.mark.parametrize(
        "failure", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout]
    )
    def test_post_is_retried_when_it_never_left(self, kind: str, failure: type[Exception]) -> None:
        harness = Harness(kind, Fail(failure), Answer(201), policy=policy())
        response = harness.send("POST", json={"a": 1})
        assert response.status_code == 201
        assert [seen.body for seen in harness.seen] == [b'{"a":1}'] * 2
        assert reasons(response.extensions["errorbook.attempts"]) == ["backoff", "success"]

    def test_streaming_body_is_not_replayed(self, kind: str) -> None:
        """A PUT (idempotent) whose body is a generator cannot be sent twice."""

        def body() -> Iterator[bytes]:
            yield b"chunk"

        harness = Harness(kind, Answer(503), OK, policy=policy())
        if kind == "async":

            async def abody() -> Any:
                yield b"chunk"

            error = harness.fails(method="PUT", content=abody())
        else:
            error = harness.fails(method="PUT", content=body())
        assert reasons(error.attempts) == ["body-not-replayable"]
        assert len(harness.seen) == 1

    def test_streaming_body_not_replayed_after_a_connect_error(self, kind: str) -> None:
        harness = Harness(kind, Fail(httpx.ConnectError), OK, policy=policy())
        if kind == "async":

            async def abody() -> Any:
                yield b"chunk"

            error = harness.fails(httpx.ConnectError, method="PUT", content=abody())
        else:
            error = harness.fails(httpx.ConnectError, method="PUT", content=iter([b"chunk"]))
        assert reasons(error.attempts) == ["body-not-replayable"]

    def test_bytes_body_is_replayed(self, kind: str) -> None:
        harness = Harness(kind, Answer(503), OK, policy=policy())
        harness.send("PUT", content=b"payload")
        assert [seen.body for seen in harness.seen] == [b"payload", b"payload"]

    def test_hint_longer_than_the_time_left_stops_now(self, kind: str) -> None:
        harness = Harness(kind, Answer(503, {"Retry-After": "61"}), OK, policy=policy(timeout=60.0))
        error = harness.fails()
        assert reasons(error.attempts) == ["timeout"]
        assert harness.clock.sleeps == []
        assert len(harness.seen) == 1

    def test_timeout_counts_from_the_first_attempt(self, kind: str) -> None:
        """Waits of 2 s each with a 5 s budget: two are taken (4 s), the third would end
        at 6 s and is not."""
        harness = Harness(
            kind, *[Answer(503, {"Retry-After": "2"})] * 4, policy=policy(attempts=9, timeout=5.0)
        )
        error = harness.fails()
        assert harness.clock.sleeps == [2.0, 2.0]
        assert reasons(error.attempts) == ["retry-after", "retry-after", "timeout"]
        assert error.attempts[-1].elapsed == 4.0

    def test_connection_errors_exhausted_raise_the_last_one(self, kind: str) -> None:
        harness = Harness(kind, *[Fail(httpx.ConnectError)] * 3, policy=policy(attempts=3))
        error = harness.fails(httpx.ConnectError)
        assert reasons(error.attempts) == ["backoff", "backoff", "attempts-exhausted"]
        assert [a.error for a in error.attempts] == ["ConnectError: scripted failure"] * 3
        note = "\n".join(error.__notes__)
        assert note.count("ConnectError") == 3
        assert "attempts-exhausted" in note
        assert len(error.__notes__) == 1

    def test_connection_errors_not_retried_when_turned_off(self, kind: str) -> None:
        harness = Harness(kind, Fail(httpx.ConnectError), OK)
        harness.options["policy"] = policy(retry_connection_errors=False)
        error = harness.fails(httpx.ConnectError)
        assert reasons(error.attempts) == ["not-retryable"]

    def test_hopeless_transport_errors_are_not_retried(self, kind: str) -> None:
        harness = Harness(kind, Fail(httpx.UnsupportedProtocol), OK, policy=policy())
        error = harness.fails(httpx.UnsupportedProtocol)
        assert reasons(error.attempts) == ["not-retryable"]

    def test_keyboard_interrupt_is_never_swallowed(self, kind: str) -> None:
        harness = Harness(kind, Fail(KeyboardInterrupt), OK, policy=policy())
        harness.fails(KeyboardInterrupt)
        assert len(harness.seen) == 1


# -- budget and breaker ----------------------------------------------------------------------


class TestBudget:
    def test_empty_budget_stops_retries(self, kind: str) -> None:
        """One token: the first retry spends it, the second is refused."""
        budget = RetryBudget(ratio=0.0, minimum=1)
        harness = Harness(kind, *[Answer(503)] * 3, policy=policy(budget=budget))
        error = harness.fails()
        assert reasons(error.attempts) == ["backoff", "retry-budget"]
        assert len(harness.seen) == 2
        assert budget.balance(HOST) == 0.0

    def test_first_attempts_refill_it(self, kind: str) -> None:
        budget = RetryBudget(ratio=0.5, minimum=1)
        budget.withdraw(HOST)
        harness = Harness(kind, OK, OK, Answer(503), OK, policy=policy(budget=budget))
        harness.send()
        harness.send()  # two first attempts: one token
        response = harness.send()
        assert response.status_code == 200
        assert reasons(response.extensions["errorbook.attempts"]) == ["backoff", "success"]

    def test_stops_nothing_else_does_not_spend(self, kind: str) -> None:
        """A retry refused for another reason (here: the method) costs no token."""
        budget = RetryBudget(ratio=0.0, minimum=1)
        harness = Harness(kind, Answer(503), policy=policy(budget=budget))
        harness.fails(method="POST")
        assert budget.balance(HOST) == 1.0


class TestBreaker:
    def test_open_on_the_first_attempt_fails_fast(self, kind: str) -> None:
        breaker = CircuitBreaker(failures=2, cool_down=30.0)
        breaker.failure(HOST, 0.0)
        breaker.failure(HOST, 0.0)
        harness = Harness(kind, OK, policy=policy(breaker=breaker))
        error = harness.fails(CircuitOpenError)
        assert error.host == HOST
        assert error.retry_in == 30.0
        assert reasons(error.attempts) == ["circuit-open"]
        assert error.attempts[0].status is None
        assert error.attempts[0].error.startswith(
            "CircuitOpenError: circuit open for https://api.test:443"
        )
        assert harness.seen == []

    def test_tripping_during_retries_stops_with_the_last_real_error(self, kind: str) -> None:
        """Two 503s open the circuit; rather than wait for nothing, the transport raises the
        second 503 with reason circuit-open."""
        breaker = CircuitBreaker(failures=2, cool_down=30.0)
        harness = Harness(kind, *[Answer(503)] * 3, policy=policy(breaker=breaker))
        error = harness.fails()
        assert error.status == 503
        assert reasons(error.attempts) == ["backoff", "circuit-open"]
        assert len(harness.seen) == 2
        assert breaker.state(HOST, 0.0) == "open"

    def test_opened_by_others_while_waiting(self, kind: str) -> None:
        """Other requests open the circuit during the wait: the retry is not sent, the last
        attempt keeps its wait and says circuit-open."""
        breaker = CircuitBreaker(failures=3, cool_down=30.0)
        harness = Harness(
            kind, Answer(503, {"Retry-After": "1"}), OK, policy=policy(breaker=breaker)
        )

        def others_fail() -> None:
            for _ in range(3):
                breaker.failure(HOST, 1.0)

        harness.clock.on_sleep = others_fail
        error = harness.fails()
        assert reasons(error.attempts) == ["circuit-open"]
        assert error.attempts[0].wait == 1.0
        assert len(harness.seen) == 1

    def test_half_open_trial_success_closes(self, kind: str) -> None:
        breaker = CircuitBreaker(failures=1, cool_down=30.0)
        breaker.failure(HOST, -30.0)
        harness = Harness(kind, OK, policy=policy(breaker=breaker))
        assert harness.send().status_code == 200
        assert breaker.state(HOST, 0.0) == "closed"

    def test_half_open_trial_failure_reopens(self, kind: str) -> None:
        breaker = CircuitBreaker(failures=1, cool_down=30.0)
        breaker.failure(HOST, -30.0)
        harness = Harness(kind, Answer(502), OK, policy=policy(breaker=breaker))
        error = harness.fails()
        assert reasons(error.attempts) == ["circuit-open"]
        assert breaker.state(HOST, 0.0) == "open"
        assert breaker.retry_in(HOST, 0.0) == 30.0
        assert len(harness.seen) == 1

    def test_4xx_counts_as_the_host_answering(self, kind: str) -> None:
        breaker = CircuitBreaker(failures=1, cool_down=30.0)
        breaker.failure(HOST, -30.0)
        harness = Harness(kind, Answer(404), policy=policy(breaker=breaker))
        harness.fails()
        assert breaker.state(HOST, 0.0) == "closed"

    def test_interrupted_trial_gives_its_slot_back(self, kind: str) -> None:
        breaker = CircuitBreaker(failures=1, cool_down=30.0)
        breaker.failure(HOST, -30.0)
        harness = Harness(kind, Fail(KeyboardInterrupt), policy=policy(breaker=breaker))
        harness.fails(KeyboardInterrupt)
        assert breaker.state(HOST, 0.0) == "half-open"
        assert breaker.admit(HOST, 0.0).trial


# -- headers ---------------------------------------------------------------------------------


class TestHeaders:
    def test_idempotency_key_added_and_kept_on_every_retry(self, kind: str) -> None:
        harness = Harness(
            kind,
            Answer(503),
            Fail(httpx.ReadError),
            Answer(201),
            policy=policy(idempotency_keys=True),
        )
        response = harness.send("POST", json={"a": 1})
        assert response.status_code == 201
        keys = [seen.headers["idempotency-key"] for seen in harness.seen]
        assert len(keys) == 3
        assert len(set(keys)) == 1
        assert uuid.UUID(keys[0]).version == 4
        assert harness.failed_requests == [None, "1", "2"]

    def test_patch_gets_a_key_get_and_put_do_not(self, kind: str) -> None:
        harness = Harness(kind, OK, OK, OK, policy=policy(idempotency_keys=True))
        for method in ("PATCH", "GET", "PUT"):
            harness.send(method, content=b"x" if method != "GET" else None)
        assert ["idempotency-key" in seen.headers for seen in harness.seen] == [True, False, False]

    def test_callers_key_is_kept_and_makes_a_post_retryable(self, kind: str) -> None:
        """Even with keys turned off, a POST carrying a key is safe to send again."""
        harness = Harness(kind, Answer(503), OK, policy=policy())
        harness.send("POST", json={}, headers={"Idempotency-Key": "mine"})
        assert [seen.headers["idempotency-key"] for seen in harness.seen] == ["mine", "mine"]

    def test_callers_request_is_not_changed(self) -> None:
        """The caller's Request gets neither the key nor X-Failed-Requests, so sending it
        again starts afresh with a new key."""
        harness = Harness("sync", Answer(503), OK, OK, policy=policy(idempotency_keys=True))
        transport = harness.transport()
        assert isinstance(transport, RetryTransport)
        with httpx.Client(transport=transport) as client:
            request = client.build_request("POST", URL, json={"a": 1})
            client.send(request)
            assert "idempotency-key" not in request.headers
            assert "x-failed-requests" not in request.headers
            client.send(request)
        keys = [seen.headers["idempotency-key"] for seen in harness.seen]
        assert keys[0] == keys[1] != keys[2]
        assert harness.failed_requests == [None, "1", None]

    def test_failed_requests_header_renamed_or_off(self, kind: str) -> None:
        harness = Harness(kind, Answer(503), OK, policy=policy(failed_requests_header="X-Retry"))
        harness.send()
        assert [seen.headers.get("x-retry") for seen in harness.seen] == [None, "1"]
        harness = Harness(kind, Answer(503), OK, policy=policy(failed_requests_header=None))
        harness.send()
        assert harness.failed_requests == [None, None]


# -- error bodies and raise_errors ------------------------------------------------------------


class TestErrorBodies:
    def test_raise_errors_false_returns_the_final_response(self, kind: str) -> None:
        harness = Harness(
            kind, Answer(503, body=b"first"), Answer(503, body=b"last"), policy=policy(attempts=2)
        )
        harness.options["raise_errors"] = False
        response = harness.send()
        assert response.status_code == 503
        assert response.text == "last"
        assert reasons(response.extensions["errorbook.attempts"]) == [
            "backoff",
            "attempts-exhausted",
        ]

    def test_raise_errors_false_leaves_a_hopeless_error_unread(self) -> None:
        """A 404 no rule could retry is returned as the wrapped transport gave it."""
        answer = httpx.Response(404, content=iter([b"gone"]))
        transport = RetryTransport(
            httpx.MockTransport(lambda request: answer), raise_errors=False, policy=policy()
        )
        got = transport.handle_request(httpx.Request("GET", URL))
        assert got is answer
        assert not got.is_stream_consumed

    def test_body_past_the_cap_is_cut_and_not_parsed(self, kind: str) -> None:
        body = json.dumps({"code": "busy", "detail": "x" * 100}).encode()
        harness = Harness(kind, Answer(500, {"Content-Type": "application/problem+json"}, body))
        harness.options.update(policy=policy(max_error_body=16), catalog=SMALL)
        error = harness.fails()
        assert error.parsed is False
        assert error.response.content == body[:16]
        assert reasons(error.attempts) == ["not-retryable"]

    def test_compressed_error_body_is_readable_on_the_error(self, kind: str) -> None:
        body = json.dumps({"code": "not_found", "status": 404, "detail": "No such thing."})
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/problem+json"}
        harness = Harness(kind, Answer(404, headers, gzip.compress(body.encode())))
        harness.options.update(policy=policy(), catalog=SMALL)
        error = harness.fails(SMALL.exception("not_found"))
        assert error.response.json()["code"] == "not_found"
        assert "content-encoding" not in error.response.headers
        assert error.response.headers["content-length"] == str(len(body))

    def test_broken_error_body_keeps_the_status(self, kind: str) -> None:
        """A gzip header over garbage: the status still decides, the body is unparsed."""
        headers = {"Content-Encoding": "gzip"}
        broken = Answer(503, headers, b"not gzip", raw=True)
        harness = Harness(kind, broken, broken, policy=policy(attempts=2))
        error = harness.fails()
        assert error.status == 503
        assert error.parsed is False
        assert reasons(error.attempts) == ["backoff", "attempts-exhausted"]
        assert all(response.is_closed for response in harness.responses)


# -- cancellation ----------------------------------------------------------------------------


def test_cancellation_during_a_wait_propagates() -> None:
    """Cancelling the task while it waits between attempts raises CancelledError out of
    the client, and no further attempt is sent."""
    seen: list[httpx.Request] = []

    class Parked(FakeClock):
        async def asleep(self, seconds: float) -> None:
            sleeping.set()
            await asyncio.Event().wait()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, headers={"Retry-After": "5"})

    async def main() -> None:
        transport = AsyncRetryTransport(
            httpx.MockTransport(handler), clock=Parked(), policy=policy()
        )
        async with httpx.AsyncClient(transport=transport) as client:
            task = asyncio.create_task(client.get(URL))
            await sleeping.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    sleeping = asyncio.Event()
    asyncio.run(main())
    assert len(seen) == 1


def test_url_secrets_are_not_recorded(kind: str) -> None:
    """User info is dropped and query values are masked, in attempts and in the note."""
    harness = Harness(kind, Answer(404), policy=policy())
    url = "https://bob:hunter2@api.test/v1/things?api_key=sk_QUERY&flag"
    error = harness.fails(url=url)
    assert error.attempts[0].url == "https://api.test/v1/things?api_key=***&flag=***"
    note = "\n".join(getattr(error, "__notes__", []))
    assert not re.search("hunter2|bob|sk_QUERY", note + error.attempts[0].url)


def test_connection_error_note_has_no_url_secrets(kind: str) -> None:
    harness = Harness(kind, Fail(httpx.ConnectError), policy=policy(attempts=1))
    error = harness.fails(httpx.ConnectError, url="https://u:pw@api.test/x?token=T0KEN")
    note = "\n".join(error.__notes__)
    assert "https://api.test/x?token=***" in note
    assert not re.search("pw|T0KEN", note)


# -- the policy ------------------------------------------------------------------------------


class TestPolicy:
    def test_defaults(self) -> None:
        default = RetryPolicy()
        assert default.attempts == 4
        assert 503 in default.statuses
        assert 500 not in default.statuses
        assert "POST" not in default.methods
        assert isinstance(default.budget, RetryBudget)
        assert default.budget is RetryPolicy().budget  # one budget for the whole process
        assert RetryPolicy(budget=RetryBudget()).budget is not default.budget
        assert default.breaker is None

    def test_methods_are_upper_cased_and_statuses_frozen(self) -> None:
        custom = RetryPolicy(methods={"get", "Post"}, statuses={500, 503})  # type: ignore[arg-type]
        assert custom.methods == frozenset({"GET", "POST"})
        assert custom.statuses == frozenset({500, 503})

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"attempts": 0}, "attempts must be an integer >= 1, got 0"),
            ({"attempts": 2.0}, "attempts"),
            ({"attempts": True}, "attempts"),
            ({"backoff": -1}, "backoff must be a finite number >= 0, got -1"),
            ({"max_backoff": float("inf")}, "max_backoff"),
            ({"timeout": float("nan")}, "timeout"),
            ({"statuses": {5003}}, "statuses must be HTTP statuses from 100 to 599, got 5003"),
            ({"statuses": {"503"}}, "statuses"),
            ({"methods": {"GE T"}}, "methods"),
            ({"idempotency_header": "Bad Header"}, "idempotency_header"),
            ({"failed_requests_header": ""}, "failed_requests_header"),
            ({"max_error_body": -1}, "max_error_body"),
        ],
    )
    def test_refuses_bad_values(self, kwargs: dict[str, Any], message: str) -> None:
        with pytest.raises(ValueError, match=re.escape(message)):
            RetryPolicy(**kwargs)

    def test_refuses_a_string_of_methods(self) -> None:
        with pytest.raises(TypeError, match="methods"):
            RetryPolicy(methods="GET")  # type: ignore[arg-type]

    def test_frozen(self) -> None:
        with pytest.raises(AttributeError):
            RetryPolicy().attempts = 9  # type: ignore[misc]
