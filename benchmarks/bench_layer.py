"""What ErrorLayer costs per request, in front of a Starlette app, called in process.

The layer sits in front of every request, so its success path must be nearly free and its
refusals must cost no more than the framework's own 404. Each case drives the ASGI app
directly (no sockets, no HTTP parsing), so the numbers are the application stack alone:

- a bare Starlette JSON route, the floor;
- the same route behind the least a middleware can be, for reference: one that only passes
  the call through, one that also wraps ``send`` (as any middleware that must know whether a
  response started does), and one that only adds a request id to the response; together
  they show what part of the layer's cost any pure-ASGI middleware pays;
- the same app under ErrorLayer with the request id, API-key auth, declared routes,
  ``Accept`` negotiation and a body limit all on, twice: installed by the Starlette
  adapter (``install``, as the README says to), which lets the layer call the router past
  Starlette's own error middleware, now only handing errors on to it; and wrapped by hand
  (``ErrorLayer(app)``), the whole Starlette stack kept under the layer;
- FastAPI's default stack on the same route, the alternative users know;
- a 404: Starlette's own, FastAPI's, and the layer's (declared routes: the app never runs);
- the layer's 401, another refusal that never reaches the app;
- a rate-limited route (one GCRA limit per API key, memory store) under the layer
  (installed, and wrapped by hand), and its 429, beside the same under slowapi on
  FastAPI (its in-memory storage), the library users reach for today.

Every case serves the same request (a GET with five headers, as a browser or SDK sends) on
one event loop. The cases take turns, round after round, so a noisy neighbour slows them all
alike; each case's time is the best round (the least disturbed) and the median is shown
beside it. Ratios are of best times.

Run: ``.venv/bin/python benchmarks/bench_layer.py`` (about 25 seconds).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine
from random import getrandbits
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from errorbook._layer import ErrorLayer, Message, api_key
from errorbook._state import MemoryStore
from errorbook.adapters.starlette import install

#: Rounds in which every case runs once; the best and the median round are reported.
ROUNDS = 11
#: Seconds one case's batch should last in a round.
TARGET = 0.06

App = Callable[[dict[str, Any], Any, Any], Coroutine[Any, Any, None]]
Send = Callable[[Message], Awaitable[None]]

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


#: The layer's options in every layered case: API-key auth, declared routes, a body limit
#: (the request id and ``Accept`` negotiation are always on).
LAYER_OPTIONS: dict[str, Any] = {
    "routes": [("GET", "/v1/items/{id}"), ("POST", "/v1/items")],
    "auth": api_key(keys={"key-1": "alice"}),
    "max_body": 1 << 20,
}


def layered_app(by_hand: bool = False, **options: Any) -> ErrorLayer:
    """The Starlette app under the layer: installed by the adapter, or wrapped by hand."""
    if by_hand:
        return ErrorLayer(starlette_app(), **LAYER_OPTIONS, **options)
    return install(starlette_app(), **LAYER_OPTIONS, **options)


#: A limit no benchmark run reaches (the 200 cases), and one spent at once (the 429s).
ROOMY = "1000000000/second"
SPENT = "1/day"


def limited_app(limit: str, by_hand: bool = False) -> ErrorLayer:
    """The layered app with one rate limit per API key on every route (memory store)."""
    return layered_app(by_hand, store=MemoryStore(), limits=[limit])


def slowapi_app(limit: str) -> App | None:
    """FastAPI with slowapi's limiter on the route, keyed by the client address."""
    try:
        from fastapi import FastAPI
        from slowapi import Limiter, _rate_limit_exceeded_handler
        from slowapi.errors import RateLimitExceeded
        from slowapi.util import get_remote_address
    except ImportError:  # pragma: no cover - both are in the test extra
        return None
    limiter = Limiter(key_func=get_remote_address, headers_enabled=False)
    app = FastAPI()
    app.state.limiter = limiter
    app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]

    @app.get("/v1/items/{id}")
    @limiter.limit(limit)
    async def slow_item(request: Request, id: str) -> dict[str, str]:
        return {"id": id, "name": "tracker"}

    return app


def pass_through_app() -> App:
    """A middleware that does nothing at all: the cost of one more ASGI call."""
    app = starlette_app()

    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await app(scope, receive, send)

    return middleware


def send_wrapping_app() -> App:
    """A middleware that only wraps ``send`` to note that the response started.

    The least a middleware that may answer in the app's place must do (Starlette's
    ``ServerErrorMiddleware`` does this); it changes nothing.
    """
    app = starlette_app()

    async def middleware(scope: dict[str, Any], receive: Any, send: Send) -> None:
        started = False

        def wrapped(message: Message) -> Awaitable[None]:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            return send(message)

        await app(scope, receive, wrapped)
        assert started

    return middleware


def echo_only_app() -> App:
    """The least any request-id middleware does: make an id, add it to the response."""
    app = starlette_app()

    async def middleware(scope: dict[str, Any], receive: Any, send: Send) -> None:
        echo = (b"x-request-id", getrandbits(128).to_bytes(16, "big").hex().encode())

        def wrapped(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), echo]
            return send(message)

        await app(scope, receive, wrapped)

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


def spent(app: App | None, request: dict[str, Any]) -> App | None:
    """``app`` after one request, which spends a ``1/day`` limit: every later one is a 429."""
    if app is None:
        return None

    async def first() -> None:
        async def ignore(message: Message) -> None:
            pass

        await app(dict(request), receive, ignore)

    asyncio.run(first())
    return app


def make_case(
    loop: asyncio.AbstractEventLoop, app: App, request: dict[str, Any], status: int
) -> Callable[[int], Any]:
    """A coroutine function running ``number`` requests; checks the answer it gets once."""
    seen: list[Message] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen.append(message)

    loop.run_until_complete(app(dict(request), receive, send))
    statuses = [message["status"] for message in seen]
    if statuses != [status]:
        raise AssertionError(f"expected {status}, got {statuses}")

    async def quiet(message: dict[str, Any]) -> None:
        pass

    async def batch(number: int) -> None:
        for _ in range(number):
            # A fresh scope per request, as a server makes; the layer writes to it.
            await app(dict(request), receive, quiet)

    return batch


def calibrate(loop: asyncio.AbstractEventLoop, batch: Callable[[int], Any]) -> int:
    """How many requests make one TARGET-long batch."""
    loop.run_until_complete(batch(500))  # warm caches (the layer's Accept cache, imports)
    started = time.perf_counter()
    loop.run_until_complete(batch(500))
    sample = max((time.perf_counter() - started) / 500, 1e-9)
    return max(1, int(TARGET / sample))


def measure(
    loop: asyncio.AbstractEventLoop, batches: dict[str, Callable[[int], Any]]
) -> dict[str, list[float]]:
    """Seconds per request for each case in every round, the cases taking turns."""
    numbers = {name: calibrate(loop, batch) for name, batch in batches.items()}
    times: dict[str, list[float]] = {name: [] for name in batches}
    for _ in range(ROUNDS):
        for name, batch in batches.items():
            number = numbers[name]
            gc.collect()  # start each batch with the same heap, not the last case's garbage
            started = time.perf_counter()
            loop.run_until_complete(batch(number))
            times[name].append((time.perf_counter() - started) / number)
    return times


STARLETTE = "starlette: 200 JSON route"
PASS_THROUGH = "  + pass-through middleware"
SEND_WRAP = "  + middleware wrapping send"
ECHO = "  + request-id echo middleware"
LAYER = "errorlayer + starlette: 200"
BY_HAND = "  wrapped by hand: 200"
STARLETTE_404 = "starlette: its own 404"
LAYER_404 = "errorlayer: 404 (declared routes)"
LAYER_401 = "errorlayer: 401 (no API key)"
LIMITED = "errorlayer + starlette: 200, limited"
LIMITED_BY_HAND = "  wrapped by hand: 200, limited"
LIMITED_429 = "errorlayer: 429 (memory store)"
SLOWAPI = "slowapi + fastapi: 200, limited"
SLOWAPI_429 = "slowapi + fastapi: 429"


def main() -> None:
    starlette, layered, fastapi = starlette_app(), layered_app(), fastapi_app()
    found, missing = scope("/v1/items/42"), scope("/v1/nope")
    cases: list[tuple[str, App | None, dict[str, Any], int]] = [
        (STARLETTE, starlette, found, 200),
        (PASS_THROUGH, pass_through_app(), found, 200),
        (SEND_WRAP, send_wrapping_app(), found, 200),
        (ECHO, echo_only_app(), found, 200),
        (LAYER, layered, found, 200),
        (BY_HAND, layered_app(by_hand=True), found, 200),
        ("fastapi: 200 JSON route", fastapi, found, 200),
        (STARLETTE_404, starlette, missing, 404),
        (LAYER_404, layered, missing, 404),
        ("fastapi: its own 404", fastapi, missing, 404),
        (LAYER_401, layered, scope("/v1/items/42", HEADERS[:-1]), 401),
        (LIMITED, limited_app(ROOMY), found, 200),
        (LIMITED_BY_HAND, limited_app(ROOMY, by_hand=True), found, 200),
        (LIMITED_429, spent(limited_app(SPENT), found), found, 429),
        (SLOWAPI, slowapi_app(ROOMY), found, 200),
        (SLOWAPI_429, spent(slowapi_app(SPENT), found), found, 429),
    ]
    loop = asyncio.new_event_loop()
    try:
        batches = {}
        for name, app, request, status in cases:
            if app is None:
                print(f"{name}: skipped (fastapi is not installed)")
                continue
            batches[name] = make_case(loop, app, request, status)
        times = measure(loop, batches)
    finally:
        loop.close()

    best = {name: min(runs) * 1e6 for name, runs in times.items()}
    median = {name: statistics.median(runs) * 1e6 for name, runs in times.items()}
    floor = best[STARLETTE]
    print(f"{ROUNDS} rounds; µs per request, best and median round; ratios of best times")
    print(f"{'case':<36} {'best µs':>8} {'median µs':>10} {'x starlette':>12}")
    for name in times:
        print(f"{name:<36} {best[name]:>8.2f} {median[name]:>10.2f} {best[name] / floor:>12.2f}")

    def added(name: str) -> str:
        extra = best[name] - floor
        return f"{extra:.2f} µs ({extra / floor:.1%})"

    print()
    print(f"success path: the layer adds {added(LAYER)} to the bare route (target: 10%)")
    print(f"  wrapped by hand, Starlette's error middleware kept, it adds {added(BY_HAND)}")
    print(f"  floor, a middleware wrapping send adds {added(SEND_WRAP)}")
    print(f"  floor, a request-id echo alone adds {added(ECHO)}")
    own = best[STARLETTE_404]
    print(f"refusals: the layer's 404 costs {best[LAYER_404] / own:.2f}x Starlette's own 404")
    print(f"          the layer's 401 costs {best[LAYER_401] / own:.2f}x Starlette's own 404")
    if LIMITED in best:
        limit_cost = best[LIMITED] - best[LAYER]
        print(
            f"rate limit: one limit adds {limit_cost:.2f} µs to the layered route "
            f"({limit_cost / floor:.1%} of the bare Starlette route; target: 10%)"
        )
        print(f"            the limited route costs {best[LIMITED] / floor:.2f}x bare Starlette")
        print(f"            wrapped by hand: {best[LIMITED_BY_HAND] / floor:.2f}x bare Starlette")
        print(f"            the layer's 429 costs {best[LIMITED_429] / own:.2f}x Starlette's 404")
    if SLOWAPI in best:
        print(f"  slowapi: its limited 200 costs {best[SLOWAPI] / floor:.2f}x bare Starlette")
        print(f"           its 429 costs {best[SLOWAPI_429] / own:.2f}x Starlette's 404")


if __name__ == "__main__":
    main()
