"""The body limit over a real socket: uvicorn on 127.0.0.1, a chunked body without a length."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from errorbook._layer import ErrorLayer

LIMIT = 1000
CHUNK = 256


class Counting:
    """Outermost ASGI app: counts the body bytes the server hands to the layer."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.received = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            message = await receive()
            self.received += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


async def reader(scope: Any, receive: Any, send: Any) -> None:
    """Reads the whole body, then answers 200: the layer must stop it first."""
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"read it all"})


@pytest.fixture(name="server")
def _server() -> Iterator[tuple[int, Counting]]:
    """A uvicorn server on a free port, running the layer in a thread."""
    app = Counting(ErrorLayer(reader, max_body=LIMIT))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield port, app
    server.should_exit = True
    thread.join(10)


def exchange(port: int, head: bytes, chunks: list[bytes]) -> bytes:
    """Send a request (stopping quietly if the server hangs up), return the response."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(head)
        for chunk in chunks:
            try:
                conn.sendall(chunk)
            except OSError:
                break
            time.sleep(0.002)
        response = b""
        try:
            while data := conn.recv(65536):
                response += data
                if b"\r\n\r\n" in response and response.endswith(b"}"):
                    break
        except OSError:
            pass
    return response


def test_chunked_body_cut_at_limit(server: tuple[int, Counting]) -> None:
    """A chunked body without Content-Length is refused 413 after the limit plus one chunk."""
    port, counting = server
    head = (
        b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (CHUNK, b"x" * CHUNK)
    response = exchange(port, head, [chunk] * 40 + [b"0\r\n\r\n"])
    assert response.startswith(b"HTTP/1.1 413 ")
    assert b"payload_too_large" in response
    assert counting.received <= LIMIT + CHUNK


def test_honest_length_refused_before_reading(server: tuple[int, Counting]) -> None:
    """An honest Content-Length over the limit is refused before any body byte is read."""
    port, counting = server
    head = (
        b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (LIMIT * 10)
    )
    response = exchange(port, head, [b"x" * CHUNK] * 40)
    assert response.startswith(b"HTTP/1.1 413 ")
    assert counting.received == 0
