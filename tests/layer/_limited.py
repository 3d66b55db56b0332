"""Helpers for the guard 7 and 8 tests: apps that count, wait, fail and echo."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from errorbook._layer import Message, Receive, Scope, Send
from errorbook._state import Store

KEY = "x-api-key"
ALICE = [(KEY, "key-a")]
BOB = [(KEY, "key-b")]
KEYS = {"key-a": "alice", "key-b": "bob"}


def ratelimit(result: Any) -> tuple[str | None, str | None]:
    """The ``RateLimit-Policy`` and ``RateLimit`` headers of a result."""
    return result.header("ratelimit-policy"), result.header("ratelimit")


@dataclass
class Counting:
    """An app that counts its calls, answers 201 with a fresh body each time, and can be
    made to wait on an event, fail, or answer a given status."""

    calls: int = 0
    gate: asyncio.Event | None = None
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    status: int = 201
    fail: BaseException | None = None
    bodies: list[bytes] = field(default_factory=list)
    size: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise OSError("client went away")
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        payload = b'{"n":%d}' % self.calls + b" " * self.size
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-call", b"%d" % self.calls),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class BrokenStore:
    """A store whose every call fails, as an unreachable Redis does, until ``healed``."""

    def __init__(self, healthy: Store) -> None:
        self.healthy = healthy
        self.broken = True
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.healthy, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            from errorbook import StoreError

            self.calls += 1
            if self.broken:
                raise StoreError("store redis://nowhere could not answer: ConnectionError")
            return await target(*args, **kwargs)

        return call


def message_types(messages: list[Message]) -> list[str]:
    return [m["type"] for m in messages]
