"""A flaky upstream on a real port: the client rides out every kind of failure, politely.

`Scripted` is a small threaded HTTP/1.1 server on 127.0.0.1 that answers each request with
the next step of a script, records every request's headers, and can close a connection
without answering. The script the issue names:

1. 503 with ``Retry-After: 1``;
2. a dropped connection (the request is read, the socket closed, no response);
3. 429 with the draft ``RateLimit`` header, reset in 7 s (``"default";r=0;t=7``);
4. 502 with an HTML page, as a proxy in front of an API sends;
5. 200.

The transport runs with an injected fake clock (its ``sleep`` records the wait and moves time
forward) and an injected ``random`` (0.75), so no test sleeps and every wait is exact: a
server hint is taken as said; without one (after the dropped connection and the 502) the
full-jitter backoff is ``0.75 * min(max_backoff, backoff * 2 ** (n - 1))`` for the n-th retry.
Each scenario runs on `httpx.Client` with `RetryTransport` and on `httpx.AsyncClient` with
`AsyncRetryTransport`; `errorbook.Client` and `AsyncClient` run the sequence once more on the
system clock under `testing()`, which records the waits without taking them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import httpx
import pytest

import errorbook
from errorbook.client import (
    AsyncRetryTransport,
    Attempt,
    ProblemError,
    RetryPolicy,
    RetryTransport,
    testing,
)

from ._clock import FakeClock

#: The injected jitter draw and the backoff settings the waits below are computed from.
DRAW: Final = 0.75
BACKOFF: Final = 0.4
MAX_BACKOFF: Final = 30.0


def jitter(n: int) -> float:
    """The spec's full-jitter wait for the n-th retry, with ``random()`` returning DRAW."""
    return DRAW * min(MAX_BACKOFF, BACKOFF * 2.0 ** (n - 1))


# -- the fake clock --------------------------------------------------------------------------


# -- the scripted server ---------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One scripted response."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


#: The step that reads the request and closes the connection without a response.
DROP: Final = "drop"

Step = Answer | str


@dataclass(frozen=True)
class Seen:
    """One request as the server received it (header names lower-cased)."""

    method: str
    path: str
    headers: Mapping[str, str]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: Scripted


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle on, the body would wait for
    # the client's delayed ACK (40 ms a response).
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self.server.owner.serve(self)

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Scripted:
    """A real server on 127.0.0.1 answering its requests with ``steps``, one each, in order.

    A request past the end of the script gets a 500 (and is recorded), so a client that
    sends too many requests shows up in `seen`.
    """

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        with self._lock:
            index = len(self.seen)
            self.seen.append(
                Seen(
                    handler.command,
                    handler.path,
                    {name.lower(): value for name, value in handler.headers.items()},
                )
            )
        step = self.steps[index] if index < len(self.steps) else Answer(500, body=b"off script")
        if step == DROP:
            handler.close_connection = True  # the socket closes with nothing written
            return
        assert isinstance(step, Answer)
        handler.send_response(step.status)
        for name, value in step.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(step.body)))
        handler.end_headers()
        handler.wfile.write(step.body)
        handler.wfile.flush()


@pytest.fixture(name="scripted")
def _scripted() -> Iterator[Callable[[Sequence[Step]], Scripted]]:
    """Start scripted servers on free loopback ports; stop them all after the test."""
    servers: list[Scripted] = []

    def start(steps: Sequence[Step]) -> Scripted:
        server = Scripted(steps)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


# -- the script ------------------------------------------------------------------------------

TEXT: Final = {"Content-Type": "text/plain; charset=utf-8"}
#: A proxy's error page, longer than a snippet, with newlines and indentation to collapse.
HTML: Final = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
    + b"<!-- a padding to make the error page longer than any snippet -->\r\n" * 4
    + b"</body>\r\n</html>\r\n"
)

UNAVAILABLE: Final = Answer(503, {**TEXT, "Retry-After": "1"}, b"Service Unavailable")
RATE_LIMITED: Final = Answer(
    429,
    {**TEXT, "RateLimit": '"default";r=0;t=7', "RateLimit-Policy": '"default";q=100;w=60'},
    b"slow down",
)
BAD_GATEWAY: Final = Answer(502, {"Content-Type": "text/html"}, HTML)
OK: Final = Answer(200, {"Content-Type": "application/json"}, b'{"ok": true}')

#: The issue's sequence, and the waits it must produce: the 503's Retry-After, the backoff
#: of the 2nd retry (the dropped connection gives no hint), the RateLimit reset, and the
#: backoff of the 4th retry (an HTML page gives no hint).
FLAKY: Final = (UNAVAILABLE, DROP, RATE_LIMITED, BAD_GATEWAY, OK)
WAITS: Final = (1.0, jitter(2), 7.0, jitter(4))
REASONS: Final = ("retry-after", "backoff", "ratelimit-reset", "backoff")


def policy(attempts: int = 5) -> RetryPolicy:
    return RetryPolicy(
        attempts=attempts, backoff=BACKOFF, max_backoff=MAX_BACKOFF, timeout=120.0, budget=None
    )


def fetch(kind: str, url: str, clock: FakeClock, retry: RetryPolicy) -> httpx.Response:
    """``GET url`` through the sync or the async retrying transport (``kind``)."""
    if kind == "sync":
        transport = RetryTransport(httpx.HTTPTransport(), policy=retry, clock=clock, random=draw)
        with httpx.Client(transport=transport, timeout=10.0) as client:
            return client.get(url)

    async def run() -> httpx.Response:
        transport = AsyncRetryTransport(
            httpx.AsyncHTTPTransport(), policy=retry, clock=clock, random=draw
        )
        async with httpx.AsyncClient(transport=transport, timeout=10.0) as client:
            return await client.get(url)

    return asyncio.run(run())


def draw() -> float:
    return DRAW


def failed_requests(server: Scripted) -> list[str | None]:
    """The ``X-Failed-Requests`` header of every request the server saw, in order."""
    return [seen.headers.get("x-failed-requests") for seen in server.seen]


def attempts_of(response: httpx.Response) -> tuple[Attempt, ...]:
    """The attempts recorded for a successful response."""
    found = response.extensions.get("errorbook.attempts")
    assert found is not None, f"no attempts on the response: {sorted(response.extensions)}"
    return tuple(found)


def check_attempts(
    attempts: Sequence[Attempt],
    url: str,
    statuses: Sequence[int | None],
    reasons: Sequence[str],
    waits: Sequence[float],
    errors: Sequence[str | None],
) -> None:
    """Every attempt's number, method, URL, status, reason, wait, error and elapsed time."""
    assert [a.number for a in attempts] == list(range(1, len(statuses) + 1)), attempts
    assert [a.status for a in attempts] == list(statuses), attempts
    assert [a.reason for a in attempts] == list(reasons), attempts
    assert [a.wait for a in attempts] == pytest.approx(list(waits)), attempts
    assert {a.method for a in attempts} == {"GET"}
    assert {a.url for a in attempts} == {url}
    assert all(a.code is None for a in attempts), attempts  # no body parsed as a problem
    for attempt, error in zip(attempts, errors, strict=True):
        if error is None:
            assert attempt.error is None, attempt
        else:
            assert attempt.error is not None, attempt
            assert attempt.error.startswith(error), attempt
    # Time moves only when the transport sleeps: attempt n ends after the waits before it.
    ends = [sum(waits[:i]) for i in range(len(waits))]
    assert [a.elapsed for a in attempts] == pytest.approx(ends), attempts


KINDS: Final = ["sync", "async"]


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_flaky_sequence_succeeds_after_waiting_as_told(
    kind: str, scripted: Callable[[Sequence[Step]], Scripted]
) -> None:
    """503 Retry-After 1, a drop, 429 RateLimit t=7, a 502 HTML page, then 200: the caller
    gets the 200; the waits are 1 s, the 2nd retry's jitter, 7 s and the 4th's; each retry
    carries X-Failed-Requests counting up from 1."""
    server = scripted(FLAKY)
    clock = FakeClock()
    url = f"{server.url}/v1/things/7"
    response = fetch(kind, url, clock, policy())

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert clock.sleeps == pytest.approx(list(WAITS))
    assert clock.now == pytest.approx(sum(WAITS))
    assert [(seen.method, seen.path) for seen in server.seen] == [("GET", "/v1/things/7")] * 5
    assert failed_requests(server) == [None, "1", "2", "3", "4"]
    check_attempts(
        attempts_of(response),
        url,
        statuses=[503, None, 429, 502, 200],
        reasons=[*REASONS, "success"],
        waits=[*WAITS, 0.0],
        errors=[None, "RemoteProtocolError", None, None, None],
    )


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_never_recovers_with_a_proxy_page_raises_it_unparsed(
    kind: str, scripted: Callable[[Sequence[Step]], Scripted]
) -> None:
    """When the fifth and last attempt also gets the proxy's HTML 502, the caller gets a
    ProblemError for it: status 502, not parsed, a snippet of the page, every attempt on it."""
    server = scripted((UNAVAILABLE, DROP, RATE_LIMITED, BAD_GATEWAY, BAD_GATEWAY))
    clock = FakeClock()
    url = f"{server.url}/v1/things/8"
    with pytest.raises(ProblemError) as caught:
        fetch(kind, url, clock, policy())
    error = caught.value

    assert error.status == 502
    assert error.response.status_code == 502
    assert error.parsed is False
    assert error.key is None
    assert error.code is None
    assert error.message == "Bad Gateway"
    snippet = error.snippet
    assert snippet.startswith("<html>"), snippet
    assert "502 Bad Gateway" in snippet, snippet
    assert 0 < len(snippet) <= 200, len(snippet)
    assert len(HTML) > 200
    assert not any(ord(c) < 32 for c in snippet), repr(snippet)
    assert "  " not in snippet, repr(snippet)  # whitespace collapsed
    assert clock.sleeps == pytest.approx(list(WAITS))
    assert len(server.seen) == 5
    assert failed_requests(server) == [None, "1", "2", "3", "4"]
    check_attempts(
        error.attempts,
        url,
        statuses=[503, None, 429, 502, 502],
        reasons=[*REASONS, "attempts-exhausted"],
        waits=[*WAITS, 0.0],
        errors=[None, "RemoteProtocolError", None, None, None],
    )


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_never_recovers_with_a_drop_raises_the_transport_error(
    kind: str, scripted: Callable[[Sequence[Step]], Scripted]
) -> None:
    """When the last attempt's connection is dropped too, the caller gets that transport
    error itself (not a ProblemError), with every attempt on it and a note listing them."""
    server = scripted((UNAVAILABLE, DROP, RATE_LIMITED, BAD_GATEWAY, DROP))
    clock = FakeClock()
    url = f"{server.url}/v1/things/9"
    with pytest.raises(httpx.TransportError) as caught:
        fetch(kind, url, clock, policy())
    error = caught.value

    assert isinstance(error, httpx.RemoteProtocolError), repr(error)
    attempts: tuple[Attempt, ...] = getattr(error, "attempts", ())
    check_attempts(
        attempts,
        url,
        statuses=[503, None, 429, 502, None],
        reasons=[*REASONS, "attempts-exhausted"],
        waits=[*WAITS, 0.0],
        errors=[None, "RemoteProtocolError", None, None, "RemoteProtocolError"],
    )
    notes = "\n".join(getattr(error, "__notes__", []))
    for status in ("503", "429", "502"):
        assert status in notes, notes
    assert clock.sleeps == pytest.approx(list(WAITS))
    assert len(server.seen) == 5
    assert failed_requests(server) == [None, "1", "2", "3", "4"]


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_attempts_cap_stops_the_sequence_early(
    kind: str, scripted: Callable[[Sequence[Step]], Scripted]
) -> None:
    """With attempts=3 the server sees three requests, the caller the 429 of the third,
    and only the two waits before it are taken."""
    server = scripted(FLAKY)
    clock = FakeClock()
    url = f"{server.url}/v1/things/10"
    with pytest.raises(ProblemError) as caught:
        fetch(kind, url, clock, policy(attempts=3))
    error = caught.value

    assert error.status == 429
    assert error.parsed is False
    assert len(server.seen) == 3
    assert clock.sleeps == pytest.approx(list(WAITS[:2]))
    assert failed_requests(server) == [None, "1", "2"]
    check_attempts(
        error.attempts,
        url,
        statuses=[503, None, 429],
        reasons=[*REASONS[:2], "attempts-exhausted"],
        waits=[*WAITS[:2], 0.0],
        errors=[None, "RemoteProtocolError", None],
    )


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_errorbook_client_under_testing_records_the_waits_without_sleeping(
    kind: str, scripted: Callable[[Sequence[Step]], Scripted]
) -> None:
    """errorbook.Client and AsyncClient (system clock, real jitter) under `testing()`: the
    same sequence succeeds, each attempt records the wait production would take (the hints
    exactly, the backoffs within their caps), and X-Failed-Requests counts up."""
    server = scripted(FLAKY)
    retry = policy()

    def run_sync() -> httpx.Response:
        with errorbook.Client(server.url, policy=retry, timeout=10) as client:
            return client.get("/v1/things/11")

    async def run_async() -> httpx.Response:
        async with errorbook.AsyncClient(server.url, policy=retry, timeout=10) as client:
            return await client.get("/v1/things/11")

    with testing():
        response = run_sync() if kind == "sync" else asyncio.run(run_async())

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    attempts = attempts_of(response)
    assert [a.status for a in attempts] == [503, None, 429, 502, 200]
    assert [a.reason for a in attempts] == [*REASONS, "success"]
    waits = [a.wait for a in attempts]
    assert waits[0] == pytest.approx(1.0)
    assert 0.0 <= waits[1] <= BACKOFF * 2
    assert waits[2] == pytest.approx(7.0)
    assert 0.0 <= waits[3] <= BACKOFF * 8
    assert waits[4] == 0.0
    assert failed_requests(server) == [None, "1", "2", "3", "4"]
