"""The Starlette adapter's shortcut past the app's error middleware.

After `install`, Starlette's ``ServerErrorMiddleware`` and ``ExceptionMiddleware`` only hand
errors on to the layer, so the layer may call the router itself. What a user relies on:
the app behaves the same with or without the shortcut (answers, ``request.app``,
``url_for``, exception handlers), and anything that needs the whole stack (user middleware,
a handler of the user's own, a subclass's stack, websockets, lifespan) still gets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, Router, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from errorbook import ErrorLayer, api_key
from errorbook.adapters.starlette import install

from ._client import fetch

KEY = {"x-api-key": "k"}


class Teapot(Exception):
    """An exception the user's own handler answers."""


async def item(request: Request) -> Response:
    number = request.path_params["id"]
    if number == 0:
        raise RuntimeError("secret at /srv/db")
    if number == 410:
        raise HTTPException(410, detail="Deleted")
    if number == 418:
        raise Teapot()
    return JSONResponse(
        {
            "id": number,
            "who": request.state.principal,
            "same_app": request.app is request.scope["app"],
            "url": str(request.url_for("item", id=number + 1)),
        }
    )


async def create(request: Request) -> JSONResponse:
    return JSONResponse(await request.json(), status_code=201)


async def talk(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


async def raw(scope: Scope, receive: Receive, send: Send) -> None:
    """A mounted ASGI app that fails: only the layer can answer for it."""
    raise RuntimeError("secret at /srv/raw")


def make_app(**kwargs: Any) -> Starlette:
    return Starlette(
        routes=[
            Route("/items/{id:int}", item, methods=["GET"], name="item"),
            Route("/items", create, methods=["POST"]),
            WebSocketRoute("/ws", talk),
            Mount("/raw", raw),
        ],
        **kwargs,
    )


def installed(app: Starlette | None = None, **options: Any) -> ErrorLayer:
    return install(
        app or make_app(),
        auth=api_key(keys={"k": "alice"}),
        public_websockets=True,
        **options,
    )


def shortcut_taken(layer: ErrorLayer) -> bool:
    """After a first request: whether the layer calls past the app's whole stack."""
    return layer._dispatch is not layer.app


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/items/7", {"headers": KEY}),
    ("GET", "/items/0", {"headers": KEY}),
    ("GET", "/items/410", {"headers": KEY}),
    ("GET", "/items/418", {"headers": KEY}),
    ("GET", "/items/x", {"headers": KEY}),
    ("GET", "/nowhere", {"headers": KEY}),
    ("DELETE", "/items/7", {"headers": KEY}),
    ("GET", "/items/7", {}),
    ("POST", "/items", {"headers": KEY, "json": {"name": "a"}}),
    ("POST", "/items", {"headers": {**KEY, "content-type": "application/json"}, "content": b"{"}),
    ("GET", "/raw/anything", {"headers": KEY}),
]


def answer(response: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    """What a client sees, but the request id, which differs per request."""
    headers = {
        name: value
        for name, value in response.headers.items()
        if name not in ("x-request-id", "content-length")
    }
    return (
        response.status_code,
        headers,
        response.content.replace(response.headers["x-request-id"].encode(), b"<rid>"),
    )


@pytest.mark.parametrize(("method", "url", "kwargs"), REQUESTS)
def test_the_shortcut_answers_as_the_whole_stack_does(
    method: str, url: str, kwargs: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="errorbook.layer")
    short = installed()
    fetch(short, "GET", "/items/7", headers=KEY)
    assert shortcut_taken(short)
    whole = installed()
    whole._dispatch = whole.app  # the way every request went before the shortcut

    caplog.clear()
    through_shortcut = fetch(short, method, url, **kwargs)
    shortcut_logs = logged(caplog, through_shortcut)
    caplog.clear()
    through_stack = fetch(whole, method, url, **kwargs)
    stack_logs = logged(caplog, through_stack)

    assert answer(through_shortcut) == answer(through_stack)
    assert b"secret" not in through_shortcut.content
    assert shortcut_logs == stack_logs


def logged(
    caplog: pytest.LogCaptureFixture, response: httpx.Response
) -> list[tuple[str, str, str]]:
    """The log records of one request: level, message (request id masked) and exception."""
    rid = response.headers["x-request-id"]
    return [
        (
            record.levelname,
            record.getMessage().replace(rid, "<rid>"),
            repr(record.exc_info[1]) if record.exc_info else "",
        )
        for record in caplog.records
    ]


def test_a_route_sees_its_app_its_router_and_its_principal() -> None:
    layer = installed()
    response = fetch(layer, "GET", "/items/7", headers=KEY)
    assert response.status_code == 200
    assert response.json() == {
        "id": 7,
        "who": "alice",
        "same_app": True,
        "url": "http://test/items/8",
    }
    assert shortcut_taken(layer)


def test_errors_past_the_shortcut_are_the_catalogs_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="errorbook.layer")
    layer = installed()
    failed = fetch(layer, "GET", "/items/0", headers=KEY)
    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.json()["request_id"] == failed.headers["x-request-id"]
    assert b"secret" not in failed.content
    assert b"/srv" not in failed.content
    tracebacks = [record for record in caplog.records if record.exc_info]
    assert len(tracebacks) == 1
    assert "secret at /srv/db" in str(tracebacks[0].exc_info[1])  # type: ignore[index]

    gone = fetch(layer, "GET", "/items/410", headers=KEY)
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"

    mounted = fetch(layer, "GET", "/raw/x", headers=KEY)
    assert mounted.status_code == 500
    assert b"secret" not in mounted.content
    assert shortcut_taken(layer)


def test_user_middleware_keeps_the_whole_stack() -> None:
    seen: list[str] = []

    class Note:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(scope["path"])
            await self.app(scope, receive, send)

    layer = installed(make_app(middleware=[Middleware(Note)]))
    assert fetch(layer, "GET", "/items/7", headers=KEY).status_code == 200
    assert seen == ["/items/7"]
    assert not shortcut_taken(layer)


def test_middleware_added_after_install_still_runs() -> None:
    seen: list[str] = []

    class Note:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(scope["path"])
            await self.app(scope, receive, send)

    app = make_app()
    layer = installed(app)
    app.add_middleware(Note)
    assert fetch(layer, "GET", "/items/7", headers=KEY).status_code == 200
    assert seen == ["/items/7"]
    assert not shortcut_taken(layer)


def test_the_first_request_fixes_the_stack_as_starlette_does() -> None:
    app = make_app()
    layer = installed(app)
    fetch(layer, "GET", "/items/7", headers=KEY)
    with pytest.raises(RuntimeError, match="Cannot add middleware"):
        app.add_middleware(Middleware)  # type: ignore[arg-type]


def test_a_handler_of_the_users_own_keeps_the_whole_stack() -> None:
    async def teapot(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("short and stout", status_code=418)

    app = make_app()
    app.add_exception_handler(Teapot, teapot)
    layer = installed(app)
    response = fetch(layer, "GET", "/items/418", headers=KEY)
    assert response.status_code == 418
    assert response.text == "short and stout"
    assert response.headers["x-request-id"]
    assert not shortcut_taken(layer)


def test_a_status_handler_of_the_users_own_keeps_the_whole_stack() -> None:
    async def gone(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("long gone", status_code=410)

    app = make_app(exception_handlers={410: gone})
    layer = installed(app)
    response = fetch(layer, "GET", "/items/410", headers=KEY)
    assert (response.status_code, response.text) == (410, "long gone")
    assert not shortcut_taken(layer)


def test_a_body_size_limit_of_starlettes_keeps_the_whole_stack() -> None:
    app = make_app()
    if not hasattr(app, "max_body_size"):
        pytest.skip("this Starlette has no max_body_size")  # older Starlette: nothing to keep
    app.max_body_size = 4
    layer = installed(app)
    fetch(layer, "GET", "/items/7", headers=KEY)
    assert not shortcut_taken(layer)


def test_fastapi_keeps_its_own_stack() -> None:
    fastapi = pytest.importorskip("fastapi")
    from errorbook.adapters.fastapi import install as install_fastapi

    app = fastapi.FastAPI()

    @app.get("/items/{id}")
    async def get_item(id: int) -> dict[str, int]:
        return {"id": id}

    layer = install_fastapi(app)
    assert fetch(layer, "GET", "/items/3").json() == {"id": 3}
    assert not shortcut_taken(layer)


async def conversation(
    app: ASGIApp, scope: Scope, incoming: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """What ``app`` sends while it receives ``incoming``, message by message."""
    pending = list(incoming)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def test_websockets_and_lifespan_go_through_the_whole_stack() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("started")
        yield
        events.append("stopped")

    layer = installed(make_app(lifespan=lifespan))

    async def session() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        started = await conversation(
            layer,
            {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
            [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
        )
        socket = await conversation(
            layer,
            {
                "type": "websocket",
                "asgi": {"version": "3.0"},
                "path": "/ws",
                "raw_path": b"/ws",
                "root_path": "",
                "query_string": b"",
                "headers": [(b"host", b"test")],
                "scheme": "ws",
                "server": ("test", 80),
                "subprotocols": [],
            },
            [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}],
        )
        return started, socket

    lifespan_sent, socket_sent = asyncio.run(session())
    assert [message["type"] for message in lifespan_sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert events == ["started", "stopped"]
    assert [message["type"] for message in socket_sent] == [
        "websocket.accept",
        "websocket.send",
        "websocket.close",
    ]
    assert socket_sent[1]["text"] == "hello"
    # The lifespan built the stack; the first HTTP request still takes the shortcut.
    assert fetch(layer, "GET", "/items/7", headers=KEY).json()["who"] == "alice"
    assert shortcut_taken(layer)


def test_a_subclass_with_its_own_call_keeps_the_whole_stack() -> None:
    class Tagged(Starlette):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            scope.setdefault("state", {})["tag"] = "subclass"
            await super().__call__(scope, receive, send)

    async def tag(request: Request) -> JSONResponse:
        return JSONResponse({"tag": request.state.tag})

    layer = installed(Tagged(routes=[Route("/tag", tag)]))
    assert fetch(layer, "GET", "/tag", headers=KEY).json() == {"tag": "subclass"}
    assert not shortcut_taken(layer)


def test_a_subclass_with_its_own_stack_keeps_it() -> None:
    seen: list[str] = []

    class Stacked(Starlette):
        def build_middleware_stack(self) -> ASGIApp:
            inner = super().build_middleware_stack()

            async def noting(scope: Scope, receive: Receive, send: Send) -> None:
                seen.append(scope["type"])
                await inner(scope, receive, send)

            return noting

    layer = installed(Stacked(routes=[Route("/items/{id:int}", item, name="item")]))
    assert fetch(layer, "GET", "/items/7", headers=KEY).status_code == 200
    assert seen == ["http"]
    assert not shortcut_taken(layer)


def test_a_stack_built_by_the_instances_own_method_keeps_it() -> None:
    seen: list[str] = []
    app = make_app()
    stock = app.build_middleware_stack

    def build() -> ASGIApp:
        inner = stock()

        async def noting(scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(scope["type"])
            await inner(scope, receive, send)

        return noting

    app.build_middleware_stack = build  # type: ignore[method-assign]
    layer = installed(app)
    assert fetch(layer, "GET", "/items/7", headers=KEY).status_code == 200
    assert seen == ["http"]
    assert not shortcut_taken(layer)


@pytest.mark.parametrize(
    ("owner", "name"),
    [(Starlette, "__call__"), (ExceptionMiddleware, "__call__")],
    ids=["Starlette.__call__", "ExceptionMiddleware.__call__"],
)
def test_a_patched_call_keeps_the_whole_stack(
    owner: type, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Error trackers (Sentry's Starlette integration) patch these at class level, with
    ``functools.wraps``: the patch must still run."""
    calls: list[str] = []
    original = getattr(owner, name)

    @functools.wraps(original)
    async def patched(self: Any, scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(owner, name, patched)
    layer = installed()
    assert fetch(layer, "GET", "/items/7", headers=KEY).status_code == 200
    assert calls == ["/items/7"]
    assert not shortcut_taken(layer)


def test_the_routers_own_middleware_runs_past_the_shortcut() -> None:
    """The shortcut awaits the router's ``middleware_stack`` as `Router.__call__` does,
    so middleware around the router itself still runs."""
    seen: list[str] = []
    app = make_app()
    stock = app.router.middleware_stack

    async def noting(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["path"])
        await stock(scope, receive, send)

    app.router.middleware_stack = noting
    layer = installed(app)
    assert fetch(layer, "GET", "/items/7", headers=KEY).json()["who"] == "alice"
    assert seen == ["/items/7"]
    assert shortcut_taken(layer)

    # Read on every request, as `Router.__call__` reads it: a stack set later runs too.
    async def later(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append("later")
        await noting(scope, receive, send)

    app.router.middleware_stack = later
    assert fetch(layer, "GET", "/items/8", headers=KEY).status_code == 200
    assert seen == ["/items/7", "later", "/items/8"]


def test_a_router_with_its_own_call_is_called(monkeypatch: pytest.MonkeyPatch) -> None:
    """A router of a subclass's, or `Router.__call__` patched, is called as it is."""
    calls: list[str] = []

    class Counted(Router):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            calls.append("subclass")
            await super().__call__(scope, receive, send)

    app = make_app()
    app.router = Counted(routes=app.routes)
    layer = installed(app)
    assert fetch(layer, "GET", "/items/7", headers=KEY).status_code == 200
    assert calls == ["subclass"]
    assert shortcut_taken(layer)

    original = Router.__call__

    @functools.wraps(original)
    async def patched(self: Any, scope: Scope, receive: Receive, send: Send) -> None:
        calls.append("patched")
        await original(self, scope, receive, send)

    monkeypatch.setattr(Router, "__call__", patched)
    layer = installed()
    assert fetch(layer, "GET", "/items/7", headers=KEY).status_code == 200
    assert calls == ["subclass", "patched"]
    assert shortcut_taken(layer)


def fetch_answered(layer: ErrorLayer, url: str) -> httpx.Response:
    """A GET whose answer ServerErrorMiddleware sends before re-raising to the server (as
    it does with debug on or a handler of the user's): the response, not the error."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=layer, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(url, headers=KEY)

    return asyncio.run(go())


def test_debug_switched_on_after_install_keeps_the_whole_stack() -> None:
    app = make_app()
    layer = installed(app)
    app.debug = True  # the user's choice after install's warning: Starlette's page answers
    response = fetch_answered(layer, "/items/0")
    assert response.status_code == 500
    assert "RuntimeError" in response.text
    assert not shortcut_taken(layer)


def test_an_error_handler_set_after_install_keeps_the_whole_stack() -> None:
    async def oops(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("our own 500", status_code=500)

    app = make_app()
    layer = installed(app)
    app.add_exception_handler(Exception, oops)  # replaces install's re-raising handler
    response = fetch_answered(layer, "/items/0")
    assert (response.status_code, response.text) == (500, "our own 500")
    assert not shortcut_taken(layer)


def test_an_http_exception_after_the_response_started_ends_the_same_for_the_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past a started response the layer can only close: whatever the exception became
    on its way (ExceptionMiddleware turns it into a RuntimeError), the client gets the
    same bytes, and the log has the failure."""

    class Half:
        """A raw ASGI endpoint: no request_response wrapper around it."""

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"part", "more_body": True})
            raise HTTPException(409, detail="too late")

    def run(layer: ErrorLayer) -> list[dict[str, Any]]:
        request: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/half",
            "raw_path": b"/half",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"test"), (b"x-api-key", b"k"), (b"x-request-id", b"r1")],
            "server": ("test", 80),
        }
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        # Re-raised for the server to close the connection: HTTPException through the
        # shortcut, RuntimeError through ExceptionMiddleware (the one difference).
        with pytest.raises((HTTPException, RuntimeError)):
            asyncio.run(layer(request, receive, send))  # type: ignore[arg-type]
        return sent

    caplog.set_level(logging.ERROR, logger="errorbook.layer")
    short = installed(Starlette(routes=[Route("/half", Half())]))
    run(short)  # the first request decides the way
    assert shortcut_taken(short)
    whole = installed(Starlette(routes=[Route("/half", Half())]))
    whole._dispatch = whole.app
    caplog.clear()
    assert run(short) == run(whole)
    assert [record.levelname for record in caplog.records] == ["ERROR", "ERROR"]
