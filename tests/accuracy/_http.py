"""Clients for the accuracy tests: a concurrent hammer, a raw slow request, a fault proxy.

- `Hammer` keeps many keep-alive connections open to the service (so the kernel spreads them
  over its worker processes) and fires a batch of requests through them from many asyncio
  tasks at once, recording for each response its status, headers, body, timing and the
  client port of the connection that carried it (to find out which worker answered).
- `SlowRequest` sends a request head and all but the last byte of its body over a raw
  socket, and holds it there: a handler that reads its body stays in flight as long as the
  test wants, which is how the concurrency tests see "in flight" from the outside.
- `DroppingProxy` forwards connections to the service and, as soon as the first byte of a
  response comes back (the handler has run and committed), cuts both sides: the client
  never sees the answer, exactly the failure an idempotency key exists for.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx

__all__ = [
    "DroppingProxy",
    "Hammer",
    "Outcome",
    "Request",
    "SlowRequest",
    "ratelimit_remaining",
    "retry_after",
]

_MEMBER: Final = re.compile(r'"[^"]*"\s*;\s*r=(\d+)')


@dataclass(frozen=True)
class Request:
    """One request to send: method, path, headers and an optional JSON body."""

    method: str
    path: str
    headers: Mapping[str, str]
    json: Any = None


@dataclass(frozen=True)
class Outcome:
    """What came back for one request (status 0: a transport error, described in ``error``)."""

    request: Request
    status: int
    headers: httpx.Headers
    body: bytes
    sent: float
    received: float
    client_port: int
    error: str = ""

    def describe(self) -> str:
        return (
            f"{self.request.method} {self.request.path} -> {self.status} "
            f"{dict(self.headers)} {self.body[:300]!r} {self.error}"
        )


def retry_after(outcome: Outcome) -> int:
    """``Retry-After`` as delay-seconds; fails naming the response if absent or malformed."""
    value = outcome.headers.get("retry-after")
    assert value is not None, f"no Retry-After: {outcome.describe()}"
    assert value.isdigit(), f"Retry-After is not delay-seconds: {outcome.describe()}"
    return int(value)


def ratelimit_remaining(outcome: Outcome) -> list[int]:
    """The ``r`` of every member of the ``RateLimit`` header (the draft's structured field)."""
    value = outcome.headers.get("ratelimit")
    assert value is not None, f"no RateLimit header: {outcome.describe()}"
    found = [int(r) for r in _MEMBER.findall(value)]
    assert found, f"RateLimit has no r= member: {value!r}"
    return found


class Hammer:
    """Many keep-alive connections to one service, each driven by its own asyncio task.

    One ``httpx.AsyncClient`` per connection, so the test decides which connections exist:
    `open` can keep opening connections until the service's worker processes each hold
    their share (a burst of connects would all land on whichever worker wakes first).
    """

    def __init__(self, base_url: str, *, connections: int = 32, timeout: float = 20.0) -> None:
        self.base_url = base_url
        self.connections = connections
        self.timeout = timeout
        self.clients: list[httpx.AsyncClient] = []
        #: The worker pid holding each kept connection (None: not observed).
        self.owners: list[int | None] = []

    async def __aenter__(self) -> Hammer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(client.aclose() for client in self.clients))

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            timeout=self.timeout,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    async def open(
        self, owner_of: Callable[[set[int]], dict[int, int]] | None = None, *, workers: int = 1
    ) -> Counter[int | None]:
        """Open the connections (a ``GET /health`` each) before the timed part.

        With ``owner_of`` (client ports to worker pids), connections are opened a few at a
        time and kept only while their worker holds fewer than its share
        (``connections / workers``), for at most 20 times as many tries. Returns how many
        kept connections each worker holds.
        """
        share = -(-self.connections // workers)
        held: Counter[int | None] = Counter()
        tries = 0
        while len(self.clients) < self.connections:
            wave = [self._client() for _ in range(min(4, self.connections - len(self.clients)))]
            answers = await asyncio.gather(*(client.get("/health") for client in wave))
            ports = [_client_port(answer) for answer in answers]
            for answer in answers:
                assert answer.status_code == 200, f"/health answered {answer.status_code}"
            owners = owner_of(set(ports)) if owner_of is not None else {}
            tries += len(wave)
            for client, port in zip(wave, ports, strict=True):
                pid = owners.get(port)
                if owner_of is None or held[pid] < share or tries > 20 * self.connections:
                    self.clients.append(client)
                    self.owners.append(pid)
                    held[pid] += 1
                else:
                    await client.aclose()
            await asyncio.sleep(0.005)
        return held

    async def send(self, request: Request, client: httpx.AsyncClient | None = None) -> Outcome:
        client = client or self.clients[0]
        sent = time.monotonic()
        try:
            response = await client.request(
                request.method, request.path, headers=dict(request.headers), json=request.json
            )
        except httpx.TransportError as exc:
            return Outcome(request, 0, httpx.Headers(), b"", sent, time.monotonic(), 0, repr(exc))
        return Outcome(
            request,
            response.status_code,
            response.headers,
            response.content,
            sent,
            time.monotonic(),
            _client_port(response),
        )

    async def fire(self, requests: Sequence[Request]) -> list[Outcome]:
        """Send every request over all connections at once, as fast as they go; in order."""
        if not self.clients:
            await self.open()
        results: list[Outcome | None] = [None] * len(requests)
        cursor = iter(range(len(requests)))

        async def drive(client: httpx.AsyncClient) -> None:
            for index in cursor:
                results[index] = await self.send(requests[index], client)

        await asyncio.gather(*(drive(client) for client in self.clients))
        return [r for r in results if r is not None]


def _client_port(response: httpx.Response) -> int:
    stream = response.extensions.get("network_stream")
    address = stream.get_extra_info("client_addr") if stream is not None else None
    return int(address[1]) if address else 0


@dataclass
class SlowRequest:
    """A request held in flight: the head and all but one byte of the body are sent.

    ``answer(timeout)`` waits for the response head; ``finish()`` sends the last byte and
    reads the response; ``abort()`` drops the connection (a client that went away).
    """

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    body: bytes = b""
    status: int = 0
    head: str = ""

    @classmethod
    async def connect(cls, port: int) -> SlowRequest:
        """Open the connection only; `begin` sends the request later."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    @property
    def client_port(self) -> int:
        return int(self.writer.get_extra_info("sockname")[1])

    async def begin(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> None:
        """Send the head and all of ``body`` but its last byte."""
        self.body = body
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body[:-1])
        await self.writer.drain()

    @classmethod
    async def start(
        cls, port: int, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> SlowRequest:
        call = await cls.connect(port)
        await call.begin(method, path, headers, body)
        return call

    async def answer(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the response head; True (status set) if it came."""
        if self.status:
            return True
        try:
            raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        except TimeoutError:
            return False
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise AssertionError(f"the connection closed without a response: {exc!r}") from None
        self.head = raw.decode("latin-1")
        self.status = int(self.head.split(" ", 2)[1])
        return True

    async def finish(self, timeout: float = 10.0) -> int:
        """Send the last byte and return the response's status."""
        self.writer.write(self.body[-1:])
        await self.writer.drain()
        assert await self.answer(timeout), f"no response within {timeout}s of the last byte"
        return self.status

    def header(self, name: str) -> str | None:
        for line in self.head.split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None

    async def abort(self) -> None:
        self.writer.transport.abort()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


class DroppingProxy:
    """A TCP proxy to ``127.0.0.1:upstream`` that cuts every connection at the response.

    The request goes through whole; the moment the first response byte arrives from the
    service, both connections are aborted and the byte is thrown away. ``dropped`` counts
    the responses the client never saw.
    """

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.dropped = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> DroppingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            client_w.transport.abort()
            self._tasks.discard(task)
            return

        async def forward() -> None:
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                while data := await client_r.read(65536):
                    server_w.write(data)
                    await server_w.drain()

        pump = asyncio.create_task(forward())
        try:
            first = await server_r.read(1)
            if first:
                self.dropped += 1
        except ConnectionError:
            pass
        finally:
            pump.cancel()
            client_w.transport.abort()
            server_w.transport.abort()
            await asyncio.gather(pump, return_exceptions=True)
            self._tasks.discard(task)
