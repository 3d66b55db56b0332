"""Requests to an ASGI app in process, and a check that an OpenAPI document hangs together."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx


def fetch(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request through httpx's ASGITransport."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def refs(value: Any) -> Iterator[str]:
    """Every $ref in a document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            else:
                yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def assert_refs_resolve(document: dict[str, Any]) -> None:
    """Every local $ref points at something."""
    for ref in refs(document):
        target: Any = document
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict), ref
            assert part in target, ref
            target = target[part]
