"""Guard 8: ``Idempotency-Key`` (the IETF draft, with Stripe's semantics).

On a route that honours keys, a request with a key has its body read whole (guard 6 has
already bounded it), is fingerprinted (method, path with query, body) and registered with
the store under the caller's principal and the key, so two tenants' keys never meet:

- first time: the app runs, and what it answers is recorded as it goes out and stored for
  the retention period *before* its last byte is sent (so a client that saw the whole
  response and retries finds it stored), then replayed to every repeat, byte for byte,
  with ``Idempotent-Replayed: true``;
- a repeat while the first still runs: 409 ``idempotency_in_flight``;
- a repeat with another payload: 422 ``idempotency_mismatch``;
- no key where one is required: 400 ``idempotency_key_missing``; a malformed key: 400
  ``validation_failed``.

What is stored: the app's status, headers and body, for 2xx, 3xx and 4xx answers, except
those that say "not now" (408, 409, 423, 425, 429): those, every 5xx, an app that failed
or was cancelled, and any response over `MAX_STORED_BODY` are abandoned instead, so a retry
with the same key runs again. A 4xx means the request changed nothing, so re-running it is
always safe; storing the deterministic ones (a 422 for a bad body) spares the app the work,
while a transient one must not stick to the key for a day. The request id and rate-limit
headers are not stored: a replay carries its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

from .._errors import StoreError
from .._state import StoredResponse
from ._types import Message, Receive, Send

if TYPE_CHECKING:
    from .._state import Store

__all__ = [
    "MAX_STORED_BODY",
    "REPLAYED",
    "Recorder",
    "parse_key",
    "read_body",
    "replay_messages",
    "replaying",
]

#: The largest response body kept for replay; larger responses are abandoned (logged).
MAX_STORED_BODY: Final = 1024 * 1024
#: The header that marks a replayed response.
REPLAYED: Final = (b"idempotent-replayed", b"true")
#: Statuses that mean "not now": a retry may well succeed, so they are never kept.
TRANSIENT: Final = frozenset({408, 409, 423, 425, 429})
#: Headers a replay gets fresh rather than from the record.
_NOT_STORED: Final = frozenset(
    {
        b"ratelimit",
        b"ratelimit-policy",
        b"x-ratelimit-limit",
        b"x-ratelimit-remaining",
        b"x-ratelimit-reset",
        REPLAYED[0],
    }
)
_MAX_KEY: Final = 255


def parse_key(raw: bytes) -> str | None:
    """The key, or None when malformed: 1 to 255 visible ASCII characters.

    The draft sends the key as a structured-field string (``"8e03978e-..."``); a bare
    token is taken as well, since most clients send one.
    """
    if len(raw) >= 2 and raw[:1] == b'"' and raw[-1:] == b'"':
        raw = raw[1:-1]
    if not 0 < len(raw) <= _MAX_KEY or any(byte < 0x21 or byte > 0x7E for byte in raw):
        return None
    return raw.decode("ascii")


async def read_body(receive: Receive, cut_off: Callable[[], bool]) -> bytes | None:
    """The whole request body, or None when the client left or the body was cut off
    (``cut_off()``: the layer has answered 413)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if cut_off():
            return None
        kind = message["type"]
        if kind == "http.disconnect":
            return None
        if kind == "http.request":
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the app the buffered body first, then the server's messages
    (so a disconnect still reaches it)."""
    pending = True

    async def receive_again() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


def replay_messages(
    stored: StoredResponse, extra: list[tuple[bytes, bytes]], *, head: bool
) -> tuple[Message, Message]:
    """The stored response as two ASGI messages, with this request's own ``extra`` headers."""
    headers = [*stored.headers, REPLAYED, *extra]
    start: Message = {"type": "http.response.start", "status": stored.status, "headers": headers}
    return start, {"type": "http.response.body", "body": b"" if head else stored.body}


class Recorder:
    """Sits between the app's responses and the server: records, then completes or abandons.

    ``on_error(exc)`` is told about store failures (the layer's outage log); the response
    goes out regardless, since the client must get what the app did.
    """

    __slots__ = (
        "chunks",
        "done",
        "headers",
        "keep",
        "key",
        "on_error",
        "request_id_header",
        "retention",
        "send_",
        "size",
        "status",
        "store",
        "token",
        "warn",
    )

    def __init__(
        self,
        store: Store,
        key: str,
        token: str,
        send: Send,
        *,
        retention: float,
        request_id_header: bytes,
        on_error: Callable[[StoreError], None],
        warn: Callable[[str], None],
    ) -> None:
        self.store = store
        self.key = key
        self.token = token
        self.send_ = send
        self.retention = retention
        self.request_id_header = request_id_header
        self.on_error = on_error
        self.warn = warn
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.size = 0
        self.keep = False
        #: The record is completed or abandoned; nothing is left to clean up.
        self.done = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = status = int(message["status"])
            self.keep = status < 500 and status not in TRANSIENT
            skip = self.request_id_header
            self.headers = [
                (bytes(name), bytes(value))
                for name, value in message.get("headers") or ()
                if name != skip and bytes(name).lower() not in _NOT_STORED
            ]
        elif kind == "http.response.body":
            if self.keep:
                chunk = bytes(message.get("body", b""))
                self.size += len(chunk)
                if self.size > MAX_STORED_BODY:
                    self.keep = False
                    self.chunks.clear()
                    self.warn(f"response over {MAX_STORED_BODY} bytes; not kept for replay")
                else:
                    self.chunks.append(chunk)
            if not message.get("more_body", False) and not self.done:
                await self.finish()
        else:
            self.keep = False  # a message kind a replay could not reproduce
        await self.send_(message)

    async def finish(self) -> None:
        """Store the response if it is kept, else give the key up; once."""
        self.done = True
        try:
            if self.keep:
                response = StoredResponse(self.status, tuple(self.headers), b"".join(self.chunks))
                stored = await self.store.complete(
                    self.key, self.token, response, retention=self.retention
                )
                if not stored:
                    self.warn("the idempotency lock expired before the response; not kept")
            else:
                await self.store.abandon(self.key, self.token)
        except StoreError as exc:
            self.on_error(exc)

    def abandon(self) -> Awaitable[None] | None:
        """Give the key up if the response never finished (the app failed or was cancelled)."""
        if self.done:
            return None
        self.done = True
        return self.store.abandon(self.key, self.token)
