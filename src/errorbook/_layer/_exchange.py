"""The send and receive the app gets from the layer: request id echo, body limit, one answer."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from ._types import Message, Receive, Send

if TYPE_CHECKING:
    from ._layer import ErrorLayer

__all__ = ["Exchange"]


class Exchange:
    """One request's traffic between the app and the server, once the guards have passed.

    ``send`` adds the request id to the app's response and notes that a response started;
    ``limited_receive`` counts body bytes against the limit and cuts the stream past it.
    """

    __slots__ = (
        "answered",
        "extra",
        "headers",
        "layer",
        "limit",
        "method",
        "receive_",
        "rid",
        "send_",
        "started",
        "total",
    )

    def __init__(
        self,
        layer: ErrorLayer,
        receive: Receive,
        send: Send,
        rid: bytes,
        headers: dict[bytes, bytes],
        method: str,
        limit: int | None,
    ) -> None:
        self.layer = layer
        self.receive_ = receive
        self.send_ = send
        self.rid = rid
        self.headers = headers
        self.method = method
        self.limit = limit
        #: Body bytes read so far; -1 once the stream is cut off.
        self.total = 0
        #: A response is on its way: the layer must not send another.
        self.started = False
        #: The layer answered in the app's place (413 mid-stream).
        self.answered = False
        #: Headers the layer adds to the response (a limited route's ``RateLimit``).
        self.extra: list[tuple[bytes, bytes]] | tuple[()] = ()

    def send(self, message: Message) -> Awaitable[None]:
        """Pass a message on, adding the request id to the response's headers."""
        # A plain method handing back the server's awaitable: one coroutine fewer per
        # message than an ``async def`` wrapper, on every response.
        if self.started:
            if self.answered:
                return _nothing()  # the layer has answered; the app's late messages go nowhere
            return self.send_(message)
        if message["type"] == "http.response.start":
            self.started = True
            raw = message.get("headers") or ()
            key = self.layer._rid_key
            for name, _ in raw:
                if name == key:
                    if self.extra:
                        message["headers"] = [*raw, *self.extra]
                    break
            else:
                # A new list: the app may reuse its own (a module-level Response).
                message["headers"] = [*raw, (key, self.rid), *self.extra]
        return self.send_(message)

    async def receive(self) -> Message:
        """The next message, cut off once the body passes the limit, whatever
        Content-Length said (only used when there is a limit)."""
        if self.total < 0:
            return {"type": "http.disconnect"}
        message = await self.receive_()
        if message["type"] == "http.request":
            self.total += len(message.get("body", b""))
            limit = self.limit
            if limit is not None and self.total > limit:
                # Stop reading, answer 413 if the app has not answered yet, and tell the
                # app the client is gone so it stops too.
                self.total = -1
                await self._too_large(limit)
                return {"type": "http.disconnect"}
        return message

    async def _too_large(self, limit: int) -> None:
        layer = self.layer
        if self.started:
            layer.logger.warning(
                "request %s: body over %d bytes after the response started",
                self.rid.decode(),
                limit,
            )
            return
        self.started = self.answered = True
        given = (("limit", limit),)
        await layer._refuse(
            self.send_, "payload_too_large", self.rid, self.headers, self.method, given=given
        )


async def _nothing() -> None:
    pass
