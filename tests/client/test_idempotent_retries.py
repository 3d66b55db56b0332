"""Retried POSTs against the reference service: an Idempotency-Key makes them exactly-once.

The reference service (``errorbook demo``, one worker, memory store, a SQLite file) runs for
real; the client reaches it through `Switchboard`, a small HTTP/1.1 proxy that reads each
request and either forwards it straight to the service or sends it through the accuracy
suite's `DroppingProxy`, which lets the request reach the service and cuts the connection
the moment the response starts: the handler has run and committed, the client sees only a
broken connection. Which requests are cut is scripted per ``Idempotency-Key`` (the first 0,
1 or 2 attempts of a create), so a share of the creates lose one or two responses.

`errorbook.Client` with ``RetryPolicy(idempotency_keys=True)`` adds a key to each POST and
retries it; every create must end in a 201 (replayed when its first response was lost), and
the database must hold exactly one row for each. Without keys, the client must not retry a
POST at all: the caller gets the connection error, while a GET through the same proxy is
retried. Everything runs under `errorbook.client.testing()`: no test sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import pytest

import errorbook
from errorbook.client import Attempt, CircuitOpenError, RetryPolicy, testing
from tests.accuracy._http import DroppingProxy
from tests.accuracy._procs import Service, start_service

OWNER: Final = "client-idem-keys"
OWNER_NO_KEY: Final = "client-idem-none"
OWNER_OWN_KEY: Final = "client-idem-own"
OWNER_ASYNC: Final = "client-idem-async"
KEYS: Final = (OWNER, OWNER_NO_KEY, OWNER_OWN_KEY, OWNER_ASYNC)
#: How many of a create's first attempts are cut, by the order its key first appears.
SCHEDULE: Final = (1, 0, 2, 1, 0, 1)
CREATES: Final = 24  # 12 trackers and 12 transfers, taking turns


@pytest.fixture(scope="module", name="service")
def _service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory: Path = tmp_path_factory.mktemp("client-idempotency")
    with start_service(directory, keys=KEYS, store="memory://", workers=1) as service:
        yield service


# -- the proxy ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One request the switchboard passed on (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    dropped: bool


#: Decides, for each request, whether its response is cut after commit.
Plan = Callable[[str, str, dict[str, str]], bool]


def by_key(schedule: tuple[int, ...] = SCHEDULE) -> Plan:
    """Cut the first ``schedule[i]`` attempts of the i-th idempotency key seen; pass the rest
    (and every request without a key)."""
    left: dict[str, int] = {}

    def plan(method: str, path: str, headers: dict[str, str]) -> bool:
        key = headers.get("idempotency-key")
        if key is None:
            return False
        if key not in left:
            left[key] = schedule[len(left) % len(schedule)]
        if left[key] > 0:
            left[key] -= 1
            return True
        return False

    return plan


def always(method: str, path: str, headers: dict[str, str]) -> bool:
    return True


class Switchboard:
    """An HTTP/1.1 proxy on 127.0.0.1 that cuts the responses ``plan`` picks, after commit.

    Runs its own event loop in a thread (the client under test is synchronous). Requests
    must carry a Content-Length body or none; responses are relayed whole (Content-Length,
    chunked, or up to the close).
    """

    def __init__(self, upstream: int, plan: Plan) -> None:
        self.upstream = upstream
        self.plan = plan
        self.seen: list[Seen] = []
        self.dropping: DroppingProxy | None = None
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._stack = contextlib.AsyncExitStack()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> Switchboard:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    @property
    def dropped(self) -> int:
        """Responses the DroppingProxy cut after their first byte (the handler had answered)."""
        assert self.dropping is not None
        return self.dropping.dropped

    async def _start(self) -> None:
        self.dropping = await self._stack.enter_async_context(DroppingProxy(self.upstream))
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        await self._stack.aclose()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while await self._one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Pass one request on; False when the client connection is to be closed."""
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, headers = _parse_head(head)
        assert "transfer-encoding" not in headers, f"chunked request: {request_line}"
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        method, path, _ = request_line.split(" ", 2)
        drop = self.plan(method, path, headers)
        self.seen.append(Seen(method, path, headers, drop))
        assert self.dropping is not None
        port = self.dropping.port if drop else self.upstream
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            up_writer.write(head + body)
            await up_writer.drain()
            if drop:
                # The DroppingProxy cuts its side as the response starts: nothing comes back.
                with contextlib.suppress(ConnectionError):
                    leaked = await up_reader.read(65536)
                    assert not leaked, f"the dropping proxy let bytes through: {leaked[:100]!r}"
                return False
            response, keep = await _read_response(up_reader)
        finally:
            up_writer.transport.abort()
        writer.write(response)
        await writer.drain()
        return keep


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def _read_response(reader: asyncio.StreamReader) -> tuple[bytes, bool]:
    """One whole response, raw, and whether the connection can carry another."""
    head = await reader.readuntil(b"\r\n\r\n")
    _, headers = _parse_head(head)
    if "content-length" in headers:
        return head + await reader.readexactly(int(headers["content-length"])), True
    if headers.get("transfer-encoding", "").lower() == "chunked":
        raw = b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            raw += size_line + await reader.readexactly(size + 2)
            if size == 0:
                return head + raw, True
    return head + await reader.read(), False


@pytest.fixture(name="switchboard")
def _switchboard(service: Service) -> Iterator[Callable[[Plan], Switchboard]]:
    """Start switchboards in front of the service; stop them after the test."""
    with contextlib.ExitStack() as stack:

        def start(plan: Plan) -> Switchboard:
            return stack.enter_context(Switchboard(service.port, plan))

        yield start


# -- helpers -----------------------------------------------------------------------------


def replayed(response: httpx.Response) -> bool:
    return str(response.headers.get("idempotent-replayed", "")).lower() == "true"


def body_for(kind: str) -> dict[str, Any]:
    name = f"{kind}-{uuid.uuid4().hex[:12]}"
    if kind == "trackers":
        return {"name": name}
    return {"name": name, "files": [{"name": "a.bin", "size": 10}]}


def rows(service: Service, table: str, owner: str) -> list[tuple[str, str]]:
    """(id, name) of every row of ``table`` that belongs to ``owner``."""
    with contextlib.closing(
        sqlite3.connect(f"file:{service.db}?mode=ro", uri=True, timeout=10)
    ) as db:
        found = db.execute(f"SELECT id, name FROM {table} WHERE owner = ?", (owner,)).fetchall()
    return [(str(row[0]), str(row[1])) for row in found]


def keys_policy(**kwargs: Any) -> RetryPolicy:
    """Keys on, enough attempts for two lost responses plus an in-flight answer or two, and
    no budget (these tests are about safety, not load)."""
    return RetryPolicy(idempotency_keys=True, attempts=10, budget=None, **kwargs)


@dataclass
class Created:
    kind: str
    body: dict[str, Any]
    response: httpx.Response
    seen: list[Seen] = field(default_factory=list)


def check_created(service: Service, owner: str, created: list[Created]) -> None:
    """Each create: a 201 (replayed iff a response was lost), one key on all its attempts,
    X-Failed-Requests counting them; the database: exactly one row per create."""
    keys: set[str] = set()
    for item in created:
        response = item.response
        assert response.status_code == 201, (response.status_code, response.text)
        assert response.json()["name"] == item.body["name"], response.text
        sent = {seen.headers.get("idempotency-key") for seen in item.seen}
        assert len(sent) == 1, f"one create sent several keys: {sent}"
        key = sent.pop()
        assert key, "the client sent no Idempotency-Key"
        assert key not in keys, f"two creates shared the key {key}"
        keys.add(key)
        assert [(seen.method, seen.path) for seen in item.seen] == [
            ("POST", f"/v1/{item.kind}")
        ] * len(item.seen)
        counts = [seen.headers.get("x-failed-requests") for seen in item.seen]
        assert counts == [None, *(str(n) for n in range(1, len(item.seen)))], counts
        lost = sum(seen.dropped for seen in item.seen)
        assert replayed(response) == (lost > 0), (lost, dict(response.headers))
    for kind in ("trackers", "transfers"):
        stored = rows(service, kind, owner)
        mine = [item for item in created if item.kind == kind]
        assert sorted(row_id for row_id, _ in stored) == sorted(
            item.response.json()["id"] for item in mine
        ), f"{kind}: the database holds {stored}"
        for item in mine:
            named = [row for row in stored if row[1] == item.body["name"]]
            assert len(named) == 1, f"{kind} {item.body['name']}: {len(named)} rows"


# -- the tests ---------------------------------------------------------------------------


def test_retried_creates_with_keys_create_each_resource_once(
    service: Service, switchboard: Callable[[Plan], Switchboard]
) -> None:
    """24 creates whose first one or two responses are often cut after commit: each ends
    in one 201 (the stored one replayed when a response was lost) and one database row."""
    proxy = switchboard(by_key())
    created: list[Created] = []
    with (
        testing(),
        errorbook.Client(
            proxy.url, catalog="rfc9457", api_key=OWNER, policy=keys_policy(), timeout=20
        ) as client,
    ):
        for i in range(CREATES):
            kind = ("trackers", "transfers")[i % 2]
            body = body_for(kind)
            before = len(proxy.seen)
            response = client.post(f"/v1/{kind}", json=body)
            created.append(Created(kind, body, response, proxy.seen[before:]))

    planned = sum(SCHEDULE[i % len(SCHEDULE)] for i in range(CREATES))
    assert proxy.dropped == planned == sum(seen.dropped for seen in proxy.seen)
    assert sum(1 for item in created if any(s.dropped for s in item.seen)) >= CREATES // 2
    check_created(service, OWNER, created)
    print(
        f"{CREATES} creates, {proxy.dropped} responses cut after commit, "
        f"{len(proxy.seen)} requests sent, 0 duplicates"
    )


def test_async_client_retried_creates_create_each_resource_once(
    service: Service, switchboard: Callable[[Plan], Switchboard]
) -> None:
    """The same through errorbook.AsyncClient: every create one 201 and one row."""
    proxy = switchboard(by_key())

    async def run() -> list[Created]:
        created: list[Created] = []
        async with errorbook.AsyncClient(
            proxy.url, catalog="rfc9457", api_key=OWNER_ASYNC, policy=keys_policy(), timeout=20
        ) as client:
            for i in range(8):
                kind = ("transfers", "trackers")[i % 2]
                body = body_for(kind)
                before = len(proxy.seen)
                response = await client.post(f"/v1/{kind}", json=body)
                created.append(Created(kind, body, response, proxy.seen[before:]))
        return created

    with testing():
        created = asyncio.run(run())
    assert proxy.dropped == sum(SCHEDULE[i % len(SCHEDULE)] for i in range(8)) > 0
    check_created(service, OWNER_ASYNC, created)


def test_without_keys_a_post_is_not_retried(
    service: Service, switchboard: Callable[[Plan], Switchboard]
) -> None:
    """Keys off: a POST whose response is cut is not sent again. The caller gets the
    connection error with one attempt on it, and the one resource the service did create
    (the client cannot know) stays the only one."""
    proxy = switchboard(always)
    body = body_for("trackers")
    policy = RetryPolicy(idempotency_keys=False, attempts=4, budget=None)
    with (
        testing(),
        errorbook.Client(
            proxy.url, catalog="rfc9457", api_key=OWNER_NO_KEY, policy=policy, timeout=20
        ) as client,
        pytest.raises(httpx.TransportError) as caught,
    ):
        client.post("/v1/trackers", json=body)

    error = caught.value
    assert not isinstance(error, CircuitOpenError)
    attempts: tuple[Attempt, ...] = getattr(error, "attempts", ())
    assert [(a.number, a.method, a.status, a.reason) for a in attempts] == [
        (1, "POST", None, "method-not-idempotent")
    ], attempts
    assert attempts[0].error is not None
    assert attempts[0].error.startswith(type(error).__name__), attempts[0].error
    assert len(proxy.seen) == 1
    assert "idempotency-key" not in proxy.seen[0].headers
    assert "x-failed-requests" not in proxy.seen[0].headers
    assert proxy.dropped == 1
    stored = rows(service, "trackers", OWNER_NO_KEY)
    assert [name for _, name in stored] == [body["name"]], stored


def test_without_keys_a_get_through_the_same_proxy_is_retried(
    service: Service, switchboard: Callable[[Plan], Switchboard]
) -> None:
    """The control: a GET, which is idempotent, is retried through the same cut connections
    until the attempts run out, and the caller gets the last connection error."""
    proxy = switchboard(always)
    policy = RetryPolicy(idempotency_keys=False, attempts=4, budget=None)
    with (
        testing(),
        errorbook.Client(
            proxy.url, catalog="rfc9457", api_key=OWNER_NO_KEY, policy=policy, timeout=20
        ) as client,
        pytest.raises(httpx.TransportError) as caught,
    ):
        client.get("/v1/trackers/trk_missing")

    attempts: tuple[Attempt, ...] = getattr(caught.value, "attempts", ())
    assert [(a.number, a.method, a.status) for a in attempts] == [
        (n, "GET", None) for n in (1, 2, 3, 4)
    ], attempts
    assert [a.reason for a in attempts] == ["backoff"] * 3 + ["attempts-exhausted"]
    assert len(proxy.seen) == 4
    assert [s.headers.get("x-failed-requests") for s in proxy.seen] == [None, "1", "2", "3"]
    assert proxy.dropped == 4


def test_a_key_the_caller_sends_makes_a_post_retryable(
    service: Service, switchboard: Callable[[Plan], Switchboard]
) -> None:
    """Keys off, but the caller sends its own Idempotency-Key: the POST is retried with that
    key after its response is cut, gets the stored 201 replayed, and creates one row."""
    proxy = switchboard(by_key((1,)))
    key = f"caller-{uuid.uuid4()}"
    body = body_for("transfers")
    policy = RetryPolicy(idempotency_keys=False, attempts=4, budget=None)
    with (
        testing(),
        errorbook.Client(
            proxy.url, catalog="rfc9457", api_key=OWNER_OWN_KEY, policy=policy, timeout=20
        ) as client,
    ):
        response = client.post("/v1/transfers", json=body, headers={"Idempotency-Key": key})

    assert response.status_code == 201, response.text
    assert replayed(response), dict(response.headers)
    # The retry may meet a 409 idempotency_in_flight first (retried too): 2 or more sends.
    sends = len(proxy.seen)
    assert sends >= 2, proxy.seen
    assert [s.headers.get("idempotency-key") for s in proxy.seen] == [key] * sends
    assert [s.dropped for s in proxy.seen] == [True] + [False] * (sends - 1)
    counts = [s.headers.get("x-failed-requests") for s in proxy.seen]
    assert counts == [None, *(str(n) for n in range(1, sends))], counts
    assert proxy.dropped == 1
    stored = rows(service, "transfers", OWNER_OWN_KEY)
    assert stored == [(response.json()["id"], body["name"])], stored
