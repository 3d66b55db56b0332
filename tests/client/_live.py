"""The client against the reference service on a real port: what the profile modules share.

Each ``test_live_<profile>.py`` module runs ``errorbook demo --profile <profile>`` (through
`tests.live._demo.start_demo`, the same launcher the raw-httpx live tests use) and provokes
every situation the profile's seed page documents, but through `errorbook.Client`. The
checks here say what "the right typed exception" means, once for all profiles:

- the exception's class is exactly ``catalog.exception(key)``, named by the spec's CamelCase
  rule and reachable as ``catalog.errors.<Name>``; it is a `ProblemError` and so an
  `httpx.HTTPStatusError` carrying the response;
- key, wire code (with its type: Discord's codes are ints), status, message, field errors
  (pointer -> code), request id (the ``X-Request-Id`` the request carried and the response
  echoed), ``parsed`` and ``str()``;
- the attempts recorded on it: one for what the catalog says not to retry (or a method
  that must not be retried), as many as the policy allows for what it says to retry, with
  the server's wait hints.

Helpers that provoke the situations needing more than one request (a tracker call still in
progress, an expired transfer, a finalising transfer, a spent rate limit) live here too.
"""

from __future__ import annotations

import json
import re
import select
import socket
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import httpx
import pytest

import errorbook
from errorbook import Catalog
from errorbook.client import Attempt, ProblemError, RetryPolicy

from ..live._demo import KEY_A, Demo, poll, start_demo

__all__ = [
    "HINTS",
    "IDEMPOTENT",
    "LIMITED",
    "RATE",
    "camel",
    "check",
    "check_retried",
    "check_unidentified",
    "client_for",
    "credential",
    "expired_transfer",
    "finalizing_transfer",
    "names_fields",
    "retries",
    "retry_after",
    "serve",
    "spend_rate_limit",
    "tracker_call_in_progress",
]

#: Requests a limited demo lets each credential make per hour. The limited service is
#: started with ``--rate 10/hour``: once spent, nothing comes back for six minutes, so a
#: client that retries without sleeping (``testing()``) meets the same 429 every time.
RATE: Final = 10
#: Command line arguments for the limited demo: the rate above and one running job.
LIMITED: Final = ("--rate", f"{RATE}/hour", "--max-jobs", "1")
#: The methods the default policy retries.
IDEMPOTENT: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
#: Attempt reasons that mean "waited for what the server said".
HINTS: Final = frozenset({"retry-after", "ratelimit-reset", "body-retry-after"})
#: Formats whose bodies carry no machine code: the entry is found by status and message.
CODELESS: Final = frozenset({"symbl", "wetransfer"})


def serve(profile: str, tmp_path_factory: pytest.TempPathFactory, *args: str) -> Iterator[Demo]:
    """The body of a module-scoped fixture: ``errorbook demo`` under ``profile``."""
    directory = tmp_path_factory.mktemp(f"client-{profile}")
    with start_demo(profile, directory, extra_args=args) as demo:
        yield demo


# -- clients -----------------------------------------------------------------------------


def credential(demo: Demo, key: str) -> tuple[str, str]:
    """``(api_key, api_key_header)`` for `errorbook.Client`, as the profile takes them.

    wetransfer takes the raw key in ``X-API-KEY``; rebuild a JWT as a bearer token (the
    one the service printed for ``key``); the others the key as a bearer token.
    """
    if demo.profile == "rebuild":
        header, value = demo.credential(key)
        assert value.startswith("Bearer "), value
        return value.removeprefix("Bearer "), header
    if demo.profile == "wetransfer":
        return key, "X-API-KEY"
    return key, "Authorization"


def _fresh_request_id(request: httpx.Request) -> None:
    request.headers.setdefault("X-Request-Id", f"client-{uuid.uuid4().hex}")


def client_for(
    demo: Demo,
    key: str | None = KEY_A,
    *,
    api_key: str | None = None,
    api_key_header: str | None = None,
    catalog: Catalog | str | None = None,
    policy: RetryPolicy | None = None,
    **kwargs: Any,
) -> errorbook.Client:
    """An `errorbook.Client` for the service, authenticated as ``key`` (None: no credential).

    ``api_key`` sends that value instead (a wrong key, a forged token), in the profile's
    header unless ``api_key_header`` names another. ``catalog`` defaults to the profile's
    name. Every request gets a fresh ``X-Request-Id``, so `check` can match the error's
    request id to the one sent.
    """
    header = "X-API-KEY" if demo.profile == "wetransfer" else "Authorization"
    if api_key is None and key is not None:
        api_key, header = credential(demo, key)
    if api_key_header is not None:
        header = api_key_header
    return errorbook.Client(
        demo.base_url,
        catalog=demo.profile if catalog is None else catalog,
        api_key=api_key,
        api_key_header=header,
        policy=policy,
        event_hooks={"request": [_fresh_request_id]},
        timeout=20.0,
        **kwargs,
    )


def retries(attempts: int, **kwargs: Any) -> RetryPolicy:
    """A policy of ``attempts`` tries with no total-time limit and no retry budget, so the
    count of attempts depends only on the catalog and the method."""
    return RetryPolicy(attempts=attempts, timeout=None, budget=None, **kwargs)


# -- checks ------------------------------------------------------------------------------


def camel(key: str) -> str:
    """The class name the spec gives an entry: CamelCase words, ``Error`` added unless
    the name already ends with it (``invalid_json`` -> ``InvalidJsonError``,
    ``conflict_error`` -> ``ConflictError``, ``errorbook.rate_limited`` ->
    ``ErrorbookRateLimitedError``)."""
    words = [word for word in re.split(r"[^0-9A-Za-z]+", key) if word]
    name = "".join(word[:1].upper() + word[1:] for word in words)
    return name if name.endswith("Error") else name + "Error"


def _stop_reasons(retry: str, method: str) -> set[str]:
    """Why a transport stops after one attempt at an entry whose ``retry`` is given."""
    if retry == "never":
        if method in IDEMPOTENT:
            return {"not-retryable"}
        # Both explain a POST that is not retried; the spec does not rank them.
        return {"not-retryable", "method-not-idempotent"}
    if method in IDEMPOTENT:
        return {"attempts-exhausted", "timeout"}
    return {"method-not-idempotent"}


def _common(err: ProblemError, status: int, message: str | None) -> str:
    """What holds for any ProblemError from the service; returns the request id."""
    assert isinstance(err, ProblemError)
    assert isinstance(err, httpx.HTTPStatusError)
    assert err.status == status, err
    assert err.response.status_code == status
    assert isinstance(err.message, str)
    assert err.message.strip(), err
    if message is not None:
        assert err.message == message, err
    sent: str | None = err.request.headers.get("x-request-id")
    assert sent, "the client dropped the X-Request-Id the request carried"
    assert err.response.headers.get("x-request-id") == sent
    assert err.request_id == sent, (err.request_id, sent)
    assert err.parsed is True, err
    assert err.snippet == ""
    return sent


def check(
    err: BaseException,
    catalog: Catalog,
    key: str,
    code: str | int,
    status: int,
    *,
    message: str | None = None,
    fields: Mapping[str, str] | None = None,
    attempts: int = 1,
    reasons: set[str] | None = None,
) -> ProblemError:
    """``err`` is the typed error of entry ``key``, as the service answered it.

    Args:
        err: What ``pytest.raises`` caught.
        catalog: The catalog the test expects the class from (loaded apart from the
            client's, so class identity across loads is checked on the way).
        key: The entry.
        code: The code as the profile has it, type included (``50014``, ``"too_many_requets"``).
        status: The HTTP status.
        message: The exact message, where the profile fixes it.
        fields: Field errors as pointer -> field code (None: there must be none).
        attempts: How many attempts the error must record (and the last request's
            ``X-Failed-Requests`` must count all but one).
        reasons: The allowed reasons of the last attempt; by default what the catalog's
            ``retry`` and the method imply when ``attempts`` is 1, "attempts-exhausted"
            otherwise.
    """
    cls = catalog.exception(key)
    assert type(err) is cls, f"raised {type(err).__module__}.{type(err).__qualname__}: {err}"
    assert isinstance(err, ProblemError)
    assert issubclass(cls, ProblemError)
    name = camel(key)
    assert cls.__qualname__ == name
    assert cls.__name__ == name
    assert cls.__module__ == "errorbook.client"
    assert getattr(catalog.errors, name) is cls
    assert cls.spec is not None
    assert cls.spec.key == key
    assert cls.spec.status == status
    assert err.key == key, err
    assert err.code == code, (err.code, code)
    assert type(err.code) is type(code), (type(err.code), type(code))
    sent = _common(err, status, message)
    assert str(err) == f"{status} {code}: {err.message} [request id {sent}]"
    assert {f.pointer: f.code for f in err.fields} == dict(fields or {}), err.fields
    for field in err.fields:
        assert field.message.strip(), field

    recorded = err.attempts
    assert isinstance(recorded, tuple)
    assert len(recorded) == attempts, recorded
    method = err.request.method
    for number, attempt in enumerate(recorded, start=1):
        assert isinstance(attempt, Attempt)
        assert attempt.number == number
        assert attempt.method == method
        assert attempt.url == str(err.request.url)
        assert attempt.status == status, attempt
        assert attempt.error is None
        assert attempt.elapsed >= 0.0
        if catalog.format.name in CODELESS:
            assert attempt.code in (None, code), attempt
        else:
            assert attempt.code == code, attempt
    assert [a.elapsed for a in recorded] == sorted(a.elapsed for a in recorded)
    # The request the error holds is the last one sent: attempt n says n - 1 failed before.
    failed = err.request.headers.get("x-failed-requests")
    assert failed == (None if attempts == 1 else str(attempts - 1)), failed
    last = recorded[-1]
    assert last.wait == 0.0, last
    if reasons is None and attempts > 1:
        reasons = {"attempts-exhausted"}
    elif reasons is None:
        reasons = _stop_reasons(cls.spec.retry, method)
    assert last.reason in reasons, (last.reason, reasons)
    return err


def check_retried(err: ProblemError, *, wait: float | None, tolerance: float = 2.0) -> None:
    """Every attempt but the last waited for the server's hint before the next one.

    ``wait`` is the hint the final response gives (its Retry-After); the earlier ones may
    differ from it by the seconds that passed (``tolerance``).
    """
    assert len(err.attempts) > 1
    for attempt in err.attempts[:-1]:
        assert attempt.reason in HINTS, attempt
        assert attempt.wait > 0.0, attempt
        if wait is not None:
            assert abs(attempt.wait - wait) <= tolerance, (attempt.wait, wait)


def check_unidentified(
    err: BaseException, status: int, code: str | int | None, message: str
) -> ProblemError:
    """A body in the catalog's format whose entry the catalog does not have: the base
    `ProblemError`, parsed, without a key, with the wire code where the format has one."""
    assert type(err) is ProblemError, f"raised {type(err).__qualname__}: {err}"
    assert type(err).spec is None
    sent = _common(err, status, message)
    assert err.key is None
    assert err.code == code
    assert type(err.code) is type(code)
    # The spec leaves out a code that is None: "418: ..." rather than "418 None: ...".
    shown = f"{status}: " if code is None else f"{status} {code}: "
    assert str(err) == f"{shown}{message} [request id {sent}]"
    assert len(err.attempts) == 1
    assert err.attempts[0].reason in _stop_reasons("never", err.request.method), err.attempts
    return err


def names_fields(err: ProblemError, prefix: str, pointers: set[str]) -> None:
    """For formats without a member for field errors: the message is the entry's, followed
    by each field's pointer, so a person still learns what to fix."""
    assert not err.fields
    assert err.message.startswith(prefix + " "), err.message
    for pointer in pointers:
        assert f"{pointer}:" in err.message, (pointer, err.message)


# -- situations that take more than one request ------------------------------------------


@contextmanager
def tracker_call_in_progress(demo: Demo, key: str = KEY_A) -> Iterator[None]:
    """For the block, a ``POST /v1/trackers`` of ``key`` is still running.

    Its head and part of its body go out over a raw socket; the service takes the
    one-call-at-a-time slot and waits for the rest, which is sent when the block ends
    (and the call must then succeed).
    """
    body = json.dumps({"name": f"held-{uuid.uuid4().hex[:8]}"}).encode()
    lines = [
        "POST /v1/trackers HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in demo.auth(key).items()),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with _held(demo, head + body[:5], key) as conn:
        yield
        conn.sendall(body[5:])
        answer = _answer(conn)
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]


@contextmanager
def _held(demo: Demo, start: bytes, key: str, timeout: float = 10.0) -> Iterator[socket.socket]:
    """A connection that sent ``start`` and holds the tracker slot of ``key``.

    Whether it holds the slot shows in a second call being refused. That probe is itself a
    tracker call: when it gets there first, the held call is the one refused (it gets an
    answer before its body is complete), and is started again.
    """
    host, port = demo.base_url.removeprefix("http://").split(":")
    deadline = time.monotonic() + timeout
    while True:
        conn = socket.create_connection((host, int(port)), timeout=10.0)
        try:
            conn.sendall(start)
            time.sleep(0.02)  # let the service read the head before the probe goes out
            probe = demo.call("POST", "/v1/trackers", key=key, json={"name": uuid.uuid4().hex})
            if probe.status_code == 429 and not _answered(conn):
                break
            assert probe.status_code in (201, 429), probe.text
        except BaseException:
            conn.close()
            raise
        conn.close()
        assert time.monotonic() < deadline, "the held tracker call never took the slot"
    with conn:
        yield conn


def _answered(conn: socket.socket) -> bool:
    """Whether the service has already answered on ``conn`` (without waiting for it)."""
    ready, _, _ = select.select([conn], [], [], 0.05)
    return bool(ready)


def _answer(conn: socket.socket) -> bytes:
    """One HTTP/1.1 response with a Content-Length, read whole."""
    answer = b""
    while True:
        head, found, body = answer.partition(b"\r\n\r\n")
        if found:
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if length is not None and len(body) >= int(length.group(1)):
                return answer
        data = conn.recv(65536)
        if not data:
            return answer
        answer += data


def expired_transfer(demo: Demo, key: str = KEY_A) -> tuple[str, str]:
    """A transfer (id, file id) of ``key`` whose expiry has passed: it answers 410."""
    transfer = demo.create_transfer(key=key, sizes=(4,), expires_in=0.2)
    tid = transfer["id"]
    gone = poll(
        lambda: demo.call("GET", f"/v1/transfers/{tid}", key=key),
        lambda response: response.status_code != 200,
    )
    assert gone.status_code == 410, gone.text
    return tid, transfer["files"][0]["id"]


def finalizing_transfer(demo: Demo, seconds: float, key: str = KEY_A) -> tuple[str, str]:
    """A transfer (id, file id) of ``key`` finalising for ``seconds``: writes answer 423."""
    transfer = demo.create_transfer(key=key, sizes=(2,))
    tid, fid = transfer["id"], transfer["files"][0]["id"]
    assert demo.put_part(tid, fid, 1, b"ab", key=key).status_code == 200
    done = demo.call("POST", f"/v1/transfers/{tid}/files/{fid}/complete", key=key)
    assert done.status_code == 200, done.text
    started = demo.call("POST", f"/v1/transfers/{tid}/finalize", key=key, json={"seconds": seconds})
    assert started.status_code == 202, started.text
    return tid, fid


def spend_rate_limit(demo: Demo, key: str = KEY_A) -> None:
    """Spend ``key``'s requests on the limited demo until it answers 429."""
    for _ in range(RATE + 2):
        response = demo.call("GET", "/v1/trackers/tk_missing", key=key)
        if response.status_code == 429:
            return
        assert response.status_code == 404, response.text
    raise AssertionError(f"no 429 after {RATE + 2} requests: is the demo started with {LIMITED}?")


def retry_after(response: httpx.Response) -> float:
    """The response's Retry-After in seconds (delay-seconds, as the service sends it)."""
    value = response.headers.get("retry-after")
    assert value is not None
    assert value.isdigit(), value
    return float(value)
