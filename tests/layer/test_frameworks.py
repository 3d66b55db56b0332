"""The layer in front of real Starlette and FastAPI apps, through httpx's ASGITransport."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from errorbook._layer import ErrorLayer, api_key


async def reraise(request: Request, exc: Exception) -> Response:
    """Hand the error on to the layer (what the Starlette adapter will install)."""
    raise exc


async def item(request: Request) -> JSONResponse:
    if request.path_params["id"] == "boom":
        raise RuntimeError("secret at /srv/db")
    if request.path_params["id"] == "gone":
        raise HTTPException(410, detail="Deleted")
    return JSONResponse({"id": request.path_params["id"], "who": request.state.principal})


async def create(request: Request) -> JSONResponse:
    return JSONResponse(await request.json(), status_code=201)


def starlette_app(*, handlers: bool) -> Starlette:
    routes = [Route("/v1/items/{id}", item), Route("/v1/items", create, methods=["POST"])]
    if not handlers:
        return Starlette(routes=routes)
    return Starlette(routes=routes, exception_handlers={HTTPException: reraise, Exception: reraise})


def fetch(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


KEY = {"x-api-key": "k"}


def test_success_passes_with_principal() -> None:
    """A good request reaches the Starlette route with the principal in request.state."""
    layer = ErrorLayer(starlette_app(handlers=False), auth=api_key(keys={"k": "alice"}))
    response = fetch(layer, "GET", "/v1/items/7", headers=KEY)
    assert response.status_code == 200
    assert response.json() == {"id": "7", "who": "alice"}
    assert len(response.headers["x-request-id"]) == 32


def test_starlette_own_404_left_alone() -> None:
    """Without declared routes, Starlette's own 404 passes through unchanged."""
    layer = ErrorLayer(starlette_app(handlers=False), auth=api_key(keys={"k"}))
    response = fetch(layer, "GET", "/nope", headers=KEY)
    assert response.status_code == 404
    assert response.text == "Not Found"
    assert "x-request-id" in response.headers


def test_invalid_json_from_request_json() -> None:
    """Starlette's request.json() on a broken body becomes invalid_json with a position."""
    layer = ErrorLayer(starlette_app(handlers=True), auth=api_key(keys={"k"}))
    response = fetch(
        layer,
        "POST",
        "/v1/items",
        headers={**KEY, "content-type": "application/json"},
        content=b'{"name": ',
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert response.json()["line"] == 1


def test_handler_errors_reach_the_layer(caplog: pytest.LogCaptureFixture) -> None:
    """With re-raising handlers, Starlette's errors are the layer's to answer."""
    layer = ErrorLayer(starlette_app(handlers=True), auth=api_key(keys={"k"}))
    gone = fetch(layer, "GET", "/v1/items/gone", headers=KEY)
    assert gone.status_code == 410
    assert gone.json()["detail"] == "Deleted"
    with caplog.at_level(logging.ERROR, logger="errorbook.layer"):
        boom = fetch(layer, "GET", "/v1/items/boom", headers=KEY)
    assert boom.status_code == 500
    assert "secret" not in boom.text
    assert boom.json()["request_id"] == boom.headers["x-request-id"]
    assert len(caplog.records) == 1
