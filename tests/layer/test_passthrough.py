"""Scopes other than HTTP pass through the layer untouched."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from errorbook._layer import ErrorLayer, Message, Receive, Scope, Send, api_key


@pytest.mark.parametrize("scope_type", ["websocket", "lifespan"], ids=["websocket", "lifespan"])
def test_non_http_scopes_pass(scope_type: str) -> None:
    """Websocket and lifespan scopes reach the app with the server's own receive and send."""
    seen: list[tuple[Any, Any, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    async def receive() -> Message:
        return {"type": f"{scope_type}.connect"}

    async def send(message: Message) -> None:
        raise AssertionError("the layer must not answer")

    layer = ErrorLayer(app, routes=[("GET", "/")], auth=api_key(keys={"k"}), maintenance=True)
    scope = {"type": scope_type, "path": "/nope", "headers": []}
    asyncio.run(layer(scope, receive, send))
    assert seen == [(scope, receive, send)]
    assert "state" not in scope
