"""What ErrorLayer costs per request, in front of a Starlette app, called in process.

The layer sits in front of every request, so its success path must be nearly free and its
refusals must cost no more than the framework's own 404. Each case drives the ASGI app
directly (no sockets, no HTTP parsing), so the numbers are the application stack alone:

- a bare Starlette JSON route, the floor;
- the same route behind a middleware that only adds a request id, for reference: what any
  middleware that wraps ``send`` costs;
- the same app under ErrorLayer with the request id, API-key auth, declared routes,
  ``Accept`` negotiation and a body limit all on;
- FastAPI's default stack on the same route, the alternative users know;
- a 404: Starlette's own, FastAPI's, and the layer's (declared routes: the app never runs);
- the layer's 401, another refusal that never reaches the app.

Run: ``.venv/bin/python benchmarks/bench_layer.py`` (about 15 seconds).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from random import getrandbits
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from errorbook._layer import ErrorLayer, Message, api_key

REPEATS = 5
#: Seconds each timed repeat should last; enough to swamp timer noise, short enough to keep
#: the whole run near fifteen seconds.
TARGET = 0.25

App = Callable[[dict[str, Any], Any, Any], Coroutine[Any, Any, None]]

HEADERS = [
    (b"host", b"api.example.com"),
    (b"user-agent", b"bench/1.0"),
    (b"accept", b"application/json"),
    (b"accept-encoding", b"gzip, deflate"),
    (b"x-api-key", b"key-1"),
]


async def item(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"], "name": "tracker"})


def starlette_app() -> Starlette:
    return Starlette(routes=[Route("/v1/items/{id}", item)])


def layered_app() -> ErrorLayer:
    return ErrorLayer(
        starlette_app(),
        routes=[("GET", "/v1/items/{id}"), ("POST", "/v1/items")],
        auth=api_key(keys={"key-1": "alice"}),
        max_body=1 << 20,
    )


def echo_only_app() -> App:
    """The least any request-id middleware does: make an id, add it to the response.

    A reference, not a contender: it shows what wrapping ``send`` costs by itself.
    """
    app = starlette_app()

    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        echo = (b"x-request-id", getrandbits(128).to_bytes(16, "big").hex().encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), echo]
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware


def fastapi_app() -> App | None:
    try:
        from fastapi import FastAPI
    except ImportError:  # pragma: no cover - fastapi is in the test extra
        return None
    app = FastAPI()

    @app.get("/v1/items/{id}")
    async def fastapi_item(id: str) -> dict[str, str]:
        return {"id": id, "name": "tracker"}

    return app


def scope(path: str, headers: list[tuple[bytes, bytes]] = HEADERS) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("api.example.com", 80),
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def make_case(app: App, request: dict[str, Any], status: int) -> Callable[[int], Any]:
    """A coroutine function running ``number`` requests; checks the status it gets once."""
    seen: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen.append(message["status"])

    async def check() -> None:
        await app(dict(request), receive, send)
        if seen != [status]:
            raise AssertionError(f"expected {status}, got {seen}")

    asyncio.run(check())

    async def quiet(message: dict[str, Any]) -> None:
        pass

    async def batch(number: int) -> None:
        for _ in range(number):
            # A fresh scope per request, as a server makes; the layer writes to it.
            await app(dict(request), receive, quiet)

    return batch


def best_rate(loop: asyncio.AbstractEventLoop, batch: Callable[[int], Any]) -> float:
    """Requests per second in the best of REPEATS runs (the least disturbed by the machine)."""
    started = time.perf_counter()
    loop.run_until_complete(batch(200))
    sample = max((time.perf_counter() - started) / 200, 1e-9)
    number = max(1, int(TARGET / sample))
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        loop.run_until_complete(batch(number))
        best = min(best, time.perf_counter() - started)
    return number / best


def main() -> None:
    starlette, layered, fastapi = starlette_app(), layered_app(), fastapi_app()
    found, missing = scope("/v1/items/42"), scope("/v1/nope")
    cases: list[tuple[str, App | None, dict[str, Any], int]] = [
        ("starlette: 200 JSON route", starlette, found, 200),
        ("request-id echo only + starlette: 200", echo_only_app(), found, 200),
        ("errorlayer + starlette: 200", layered, found, 200),
        ("fastapi: 200 JSON route", fastapi, found, 200),
        ("starlette: its own 404", starlette, missing, 404),
        ("errorlayer: 404 (declared routes)", layered, missing, 404),
        ("fastapi: its own 404", fastapi, missing, 404),
        ("errorlayer: 401 (no API key)", layered, scope("/v1/items/42", HEADERS[:-1]), 401),
    ]
    loop = asyncio.new_event_loop()
    rates: dict[str, float] = {}
    try:
        for name, app, request, status in cases:
            if app is None:
                print(f"{name}: skipped (fastapi is not installed)")
                continue
            rates[name] = best_rate(loop, make_case(app, request, status))
    finally:
        loop.close()

    floor = rates["starlette: 200 JSON route"]
    print(f"{'case':<40} {'requests/s':>12} {'µs/request':>11} {'x starlette':>12}")
    for name, rate in rates.items():
        print(f"{name:<40} {rate:>12,.0f} {1e6 / rate:>11.2f} {floor / rate:>12.2f}")
    overhead = 1e6 / rates["errorlayer + starlette: 200"] - 1e6 / floor
    print(
        f"\nsuccess path: the layer adds {overhead:.2f} µs per request "
        f"({overhead * floor / 1e4:.0f}% of the bare route)"
    )
    own, ours = rates["starlette: its own 404"], rates["errorlayer: 404 (declared routes)"]
    print(f"404: the layer's costs {own / ours:.2f}x Starlette's own")


if __name__ == "__main__":
    main()
