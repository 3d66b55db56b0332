"""A tiny in-process ASGI driver: one request in, every message the app sent out.

httpx's ASGITransport would hide what the tests need to see: how often the server's
``receive`` was called, and every ``http.response.*`` message, including a second start.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from errorbook._layer import ASGIApp, Message, Receive, Scope, Send

HeaderInput = Iterable[tuple[str | bytes, str | bytes]]


@dataclass
class Result:
    """What the app sent back, and how it read the request."""

    messages: list[Message] = field(default_factory=list)
    receive_calls: int = 0
    error: BaseException | None = None

    @property
    def starts(self) -> list[Message]:
        return [m for m in self.messages if m["type"] == "http.response.start"]

    @property
    def status(self) -> int:
        (start,) = self.starts
        return int(start["status"])

    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        return [(bytes(n), bytes(v)) for n, v in self.starts[0]["headers"]]

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (lowercase), or None."""
        found = None
        for key, value in self.raw_headers:
            if key == name.encode("latin-1"):
                found = value.decode("latin-1")
        return found

    def header_values(self, name: str) -> list[str]:
        return [v.decode("latin-1") for k, v in self.raw_headers if k == name.encode("latin-1")]

    @property
    def body(self) -> bytes:
        return b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )

    def json(self) -> Any:
        return json.loads(self.body)


def _bytes(value: str | bytes) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else value


def scope_for(
    method: str = "GET",
    path: str = "/",
    headers: HeaderInput = (),
    *,
    scope_type: str = "http",
) -> dict[str, Any]:
    """An HTTP scope as a server builds it (header names as given: servers lowercase them)."""
    return {
        "type": scope_type,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": b"",
        "root_path": "",
        "headers": [(_bytes(n), _bytes(v)) for n, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def call(
    app: ASGIApp,
    method: str = "GET",
    path: str = "/",
    headers: HeaderInput = (),
    *,
    body: bytes = b"",
    chunks: Sequence[bytes] | None = None,
    scope: dict[str, Any] | None = None,
    raise_errors: bool = True,
) -> Result:
    """Run one request through ``app``; the body comes as ``chunks`` (or one chunk)."""
    result = Result()
    pending = list(chunks if chunks is not None else [body])

    async def receive() -> Message:
        result.receive_calls += 1
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        result.messages.append(dict(message))

    try:
        await app(scope or scope_for(method, path, headers), receive, send)
    except Exception as exc:
        if raise_errors:
            raise
        result.error = exc
    return result


def run(app: ASGIApp, method: str = "GET", path: str = "/", **kwargs: Any) -> Result:
    """`call` on a fresh event loop."""
    return asyncio.run(call(app, method, path, **kwargs))


async def ok_app(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that answers 200 ``{"ok": true}`` with an ``x-app`` marker header."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"x-app", b"1")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"ok":true}'})


def raising(exc: BaseException) -> ASGIApp:
    """An app that raises ``exc`` before answering."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return app
