"""Review fixes of the retrying transports and the client: bounded error bodies, the shared
budget, hints too long to obey, whole bodies when errors are returned, origins, TLS, and
what the transports forward."""

from __future__ import annotations

import asyncio
import gzip
import io
import ssl
import tracemalloc
import zlib
from typing import Any, Final

import httpx
import pytest

from errorbook.client import (
    AsyncClient,
    CircuitBreaker,
    CircuitOpenError,
    Client,
    ProblemError,
    RetryBudget,
    RetryTransport,
    testing,
)

from .test_transport import HOST, Answer, Fail, Harness, http_date, kind, policy, reasons

__all__ = ["kind"]  # the sync/async fixture, shared with test_transport

MiB: Final = 1 << 20


def bomb(size: int) -> bytes:
    """``size`` zero bytes, gzip-compressed without ever holding them."""
    out = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * MiB
    return b"".join(out.compress(block) for _ in range(size // MiB)) + out.flush()


# -- H1: the cap holds before inflating ------------------------------------------------------


class TestBoundedInflation:
    def test_gzip_bomb_stays_within_the_cap(self, kind: str) -> None:
        """512 MiB of zeros in half a MiB of gzip: memory stays near the 1 MiB cap, and the
        cut body is not parsed."""
        compressed = bomb(512 * MiB)
        answer = Answer(500, {"Content-Encoding": "gzip"}, compressed, raw=True)
        harness = Harness(kind, answer, policy=policy(attempts=1))
        tracemalloc.start()
        try:
            error = harness.fails()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert error.parsed is False
        assert len(error.response.content) == MiB
        assert peak < 5 * MiB
        assert harness.responses[0].is_closed

    @pytest.mark.parametrize("coding", ["br", "zstd", "compress", "gzip, gzip"])
    def test_encoding_not_inflatable_here_is_not_read(self, kind: str, coding: str) -> None:
        answer = Answer(503, {"Content-Encoding": coding}, b"\x00" * 64, raw=True)
        harness = Harness(kind, answer, policy=policy(attempts=1))
        error = harness.fails()
        assert error.parsed is False
        assert error.response.content == b""
        assert error.status == 503

    def test_raw_deflate_is_read(self, kind: str) -> None:
        raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = raw.compress(b'{"title": "gone"}') + raw.flush()
        answer = Answer(404, {"Content-Encoding": "deflate"}, body, raw=True)
        error = Harness(kind, answer, policy=policy()).fails()
        assert error.response.content == b'{"title": "gone"}'

    def test_truncated_gzip_is_incomplete(self, kind: str) -> None:
        body = gzip.compress(b'{"title": "x"}')[:-6]
        answer = Answer(404, {"Content-Encoding": "gzip"}, body, raw=True)
        error = Harness(kind, answer, policy=policy()).fails()
        assert error.parsed is False


# -- H2: one budget for the process ------------------------------------------------------------


def test_short_lived_clients_share_the_default_budget() -> None:
    """200 clients, one request each, against an always-503 host: at most 1.2x + reserve."""
    sent = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        sent += 1
        return httpx.Response(503)

    base = "http://h2-shared-budget.test"
    with testing():
        for _ in range(200):
            transport = httpx.MockTransport(handler)
            with Client(base, transport=transport) as client, pytest.raises(ProblemError):
                client.get("/x")
    assert sent <= 200 * 1.2 + 10


# -- M1: a hint past a day stops -------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "86401"},
        {"Retry-After": "172800"},
        {"RateLimit": '"day";r=0;t=90000'},
        "date",
    ],
    ids=["seconds", "two-days", "ratelimit", "http-date"],
)
def test_hint_past_a_day_stops_at_once(kind: str, headers: Any) -> None:
    """The server said no retry before then: retrying after a short backoff is wrong."""
    if headers == "date":
        headers = {"Retry-After": http_date(1_700_000_000 + 2 * 86_400)}
    harness = Harness(kind, *[Answer(429, headers)] * 4, policy=policy(timeout=None))
    error = harness.fails()
    assert reasons(error.attempts) == ["timeout"]
    assert harness.clock.sleeps == []
    assert len(harness.seen) == 1


# -- M2: returned error responses are whole ----------------------------------------------------


class TestWholeBody:
    def test_long_body_returned_whole(self, kind: str) -> None:
        body = b'{"log": "' + b"x" * (2 * MiB) + b'"}'
        answer = Answer(500, {"Content-Type": "application/json"}, body, raw=True)
        harness = Harness(kind, answer, policy=policy(attempts=1), raise_errors=False)
        response = harness.send()
        assert response.content == body
        assert response.json()["log"] == "x" * (2 * MiB)
        assert reasons(response.extensions["errorbook.attempts"]) == ["not-retryable"]
        assert harness.responses[0].is_closed

    def test_already_read_body_returned_whole(self, kind: str) -> None:
        body = b"y" * (3 * MiB)
        harness = Harness(kind, Answer(500, {}, body), policy=policy(attempts=1))
        harness.options["raise_errors"] = False
        assert harness.send().content == body

    def test_gzip_body_returned_with_its_encoding(self, kind: str) -> None:
        """A body cut while inflating is handed back raw, its headers unchanged: httpx
        inflates it when the caller reads it."""
        plain = b"z" * (3 * MiB)
        headers = {"Content-Encoding": "gzip"}
        harness = Harness(kind, Answer(503, headers, gzip.compress(plain), raw=True))
        harness.options.update(policy=policy(attempts=1), raise_errors=False)
        response = harness.send()
        assert response.headers["content-encoding"] == "gzip"
        assert response.content == plain

    def test_cut_body_of_a_retried_response_is_closed(self, kind: str) -> None:
        big = Answer(503, {}, b"x" * 64, raw=True)
        harness = Harness(kind, big, Answer(503, {}, b"last"), raise_errors=False)
        harness.options["policy"] = policy(attempts=2, max_error_body=16)
        response = harness.send()
        assert response.content == b"last"
        assert harness.responses[0].is_closed

    def test_cut_body_is_marked_when_it_cannot_be_whole(self, kind: str) -> None:
        """The circuit opens during the wait, after the cut body was freed: the response
        returned holds the cut body, and says so."""
        breaker = CircuitBreaker(failures=10, cool_down=100)
        harness = Harness(kind, Answer(503, {}, b"x" * 64, raw=True), raise_errors=False)
        harness.options["policy"] = policy(max_error_body=16, breaker=breaker)
        harness.clock.on_sleep = lambda: trip(breaker, harness.clock.now)
        response = harness.send()
        assert reasons(response.extensions["errorbook.attempts"]) == ["circuit-open"]
        assert response.content == b"x" * 16
        assert response.extensions["errorbook.truncated"] is True
        assert harness.responses[0].is_closed


def trip(breaker: CircuitBreaker, now: float) -> None:
    for _ in range(breaker.failures):
        breaker.failure(HOST, now)


# -- M3, L4: transports ---------------------------------------------------------------------


def test_client_adopts_a_retry_transport() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-failed-requests"))
        raise httpx.ConnectError("refused", request=request)

    inner = RetryTransport(httpx.MockTransport(handler), policy=policy(attempts=3))
    with testing(), Client("http://api.test", transport=inner) as client:
        assert client._transport is inner
        assert client.policy is inner.policy
        with pytest.raises(httpx.ConnectError) as caught:
            client.get("/x")
    assert seen == [None, "1", "2"]
    assert len(caught.value.__notes__) == 1


def test_transports_forward_enter_and_exit() -> None:
    class Entered(httpx.MockTransport):
        log: list[str]

        def __enter__(self) -> Entered:
            self.log.append("enter")
            return self

        def __exit__(self, *args: object) -> None:
            self.log.append("exit")

        async def __aenter__(self) -> Entered:
            self.log.append("aenter")
            return self

        async def __aexit__(self, *args: object) -> None:
            self.log.append("aexit")

    inner = Entered(lambda request: httpx.Response(200))
    inner.log = []
    with Client("http://a.test", transport=inner) as client:
        client.get("/")
    assert inner.log == ["enter", "exit"]

    async def main() -> None:
        async with AsyncClient("http://a.test", transport=inner) as client:
            await client.get("/")

    inner.log = []
    asyncio.run(main())
    assert inner.log == ["aenter", "aexit"]


# -- L1, L6: the key ----------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key"])
def test_key_not_sent_across_origins(header: str) -> None:
    got: dict[str, httpx.Headers] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        got[str(request.url.host)] = request.headers
        if request.url.host == "api.test":
            return httpx.Response(302, headers={"Location": "https://attacker.test/steal"})
        return httpx.Response(200)

    transport = httpx.MockTransport(handler)
    with Client(
        "https://api.test",
        api_key="sk_SECRET",
        api_key_header=header,
        transport=transport,
        follow_redirects=True,
    ) as client:
        client.get("/x")
        client.get("https://elsewhere.test/")
    assert "sk_SECRET" in got["api.test"][header]
    assert header not in got["attacker.test"]
    assert header not in got["elsewhere.test"]


def test_key_not_sent_to_another_origin_async() -> None:
    got: list[httpx.Headers] = []

    async def run() -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            got.append(request.headers)
            return httpx.Response(200)

        transport = httpx.MockTransport(handler)
        async with AsyncClient("https://api.test", api_key="k", transport=transport) as c:
            await c.get("/")
            await c.get("http://api.test/")  # another scheme: another origin

    asyncio.run(run())
    assert got[0]["authorization"] == "Bearer k"
    assert "authorization" not in got[1]


@pytest.mark.parametrize("key", [" ", "   ", "\u00a0"])
def test_blank_key_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="api_key"):
        Client("https://api.test", api_key=key)


# -- L2, L3: origins and TLS -----------------------------------------------------------------------


def test_breaker_keeps_http_and_https_apart(kind: str) -> None:
    breaker = CircuitBreaker(failures=2, cool_down=30)
    harness = Harness(kind, Answer(503), Answer(503), Answer(200), policy=policy(attempts=1))
    harness.options["policy"] = policy(attempts=1, breaker=breaker)
    for _ in range(2):
        harness.fails(url="http://api.test/legacy")
    with pytest.raises(CircuitOpenError):
        harness.send(url="http://api.test/legacy")
    assert harness.send(url="https://api.test/v1").status_code == 200
    assert breaker.state("http://api.test:80", 0.0) == "open"
    assert breaker.state(HOST, 0.0) == "closed"


class CertRefused(httpx.ConnectError):
    """What httpx raises when the server's certificate is refused: a ConnectError caused by
    an SSLCertVerificationError."""

    def __init__(self, message: str, *, request: httpx.Request) -> None:
        super().__init__(message, request=request)
        self.__cause__ = ssl.SSLCertVerificationError(1, "certificate verify failed")


def test_certificate_failure_is_not_retried_nor_counted(kind: str) -> None:
    breaker = CircuitBreaker(failures=1)
    harness = Harness(kind, Fail(CertRefused), Answer(200), policy=policy(breaker=breaker))
    error = harness.fails(httpx.ConnectError)
    assert reasons(error.attempts) == ["not-retryable"]
    assert len(harness.seen) == 1
    assert breaker.state(HOST, 0.0) == "closed"


# -- L7: multipart ----------------------------------------------------------------------------


def test_multipart_of_bytes_is_replayed(kind: str) -> None:
    harness = Harness(kind, Answer(503), Answer(200), policy=policy())
    response = harness.send("PUT", files={"f": ("a.txt", b"hello")})
    assert response.status_code == 200
    assert harness.seen[0].body == harness.seen[1].body
    assert b"hello" in harness.seen[1].body


def test_multipart_of_a_file_object_is_not_replayed(kind: str) -> None:
    harness = Harness(kind, Answer(503), Answer(200), policy=policy())
    error = harness.fails(method="PUT", files={"f": ("a.txt", io.BytesIO(b"hello"))})
    assert reasons(error.attempts) == ["body-not-replayable"]


# -- L8, L9 -----------------------------------------------------------------------------------


def test_idempotency_key_is_reported(kind: str) -> None:
    harness = Harness(kind, Answer(503), Answer(201), policy=policy(idempotency_keys=True))
    response = harness.send("POST", content=b"x")
    key = harness.seen[0].headers["idempotency-key"]
    assert response.extensions["errorbook.idempotency_key"] == key
    harness = Harness(kind, Answer(201), policy=policy(idempotency_keys=True))
    response = harness.send("POST", content=b"x")
    assert (
        response.extensions["errorbook.idempotency_key"]
        == harness.seen[0].headers["idempotency-key"]
    )
    harness = Harness(kind, Answer(400), policy=policy(idempotency_keys=True))
    error = harness.fails(method="POST", content=b"x")
    assert (
        error.response.request.headers["idempotency-key"]
        == harness.seen[0].headers["idempotency-key"]
    )


def test_refused_first_attempt_earns_no_deposit(kind: str) -> None:
    budget = RetryBudget(ratio=0.5, minimum=5)
    breaker = CircuitBreaker(failures=1, cool_down=30)
    breaker.failure(HOST, 0.0)
    budget.withdraw(HOST)  # 4 left: a deposit would show
    harness = Harness(kind, policy=policy(budget=budget, breaker=breaker))
    harness.fails(CircuitOpenError)
    assert budget.balance(HOST) == 4.0


def test_token_not_spent_when_the_breaker_refuses_after_the_wait(kind: str) -> None:
    budget = RetryBudget(ratio=0.0, minimum=5)
    breaker = CircuitBreaker(failures=10, cool_down=30)
    harness = Harness(kind, Answer(503), Answer(503), policy=policy(budget=budget))
    harness.options["policy"] = policy(budget=budget, breaker=breaker)
    harness.clock.on_sleep = lambda: trip(breaker, harness.clock.now)
    error = harness.fails()
    assert reasons(error.attempts) == ["circuit-open"]
    assert budget.balance(HOST) == 5.0
