"""The FastAPI adapter: errors, validation and the OpenAPI document all follow the catalog."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException, Request, WebSocket
from openapi_spec_validator import validate
from pydantic import BaseModel, ConfigDict

from errorbook import ErrorLayer, OpenAPIError, bearer
from errorbook._layer._exceptions import MAX_FIELD_ERRORS
from errorbook.adapters import InstallError
from errorbook.adapters.fastapi import install

from ._client import assert_refs_resolve, fetch

TOKEN = {"authorization": "Bearer t"}


class Tracker(BaseModel):
    name: str
    size: int


def build() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/trackers", status_code=201)
    async def create_tracker(tracker: Tracker, request: Request) -> dict[str, Any]:
        return {**tracker.model_dump(), "who": request.state.principal}

    @app.get("/v1/trackers/{tracker_id}")
    async def get_tracker(tracker_id: int) -> dict[str, Any]:
        if tracker_id == 0:
            raise RuntimeError("secret at /srv/db")
        if tracker_id == 410:
            raise HTTPException(410, detail="Deleted")
        return {"id": tracker_id}

    return app


def layer_for(app: FastAPI, **options: Any) -> ErrorLayer:
    return install(app, auth=bearer(keys={"t": "alice"}), **options)


def test_success_with_principal() -> None:
    """A valid body reaches the handler with the principal in request.state."""
    response = fetch(layer_for(build()), "POST", "/v1/trackers", headers=TOKEN, json={
        "name": "a",
        "size": 1,
    })  # fmt: skip
    assert response.status_code == 201
    assert response.json() == {"name": "a", "size": 1, "who": "alice"}


def test_validation_error_with_pointers() -> None:
    """A body that fails validation is validation_failed with a pointer per field."""
    response = fetch(
        layer_for(build()), "POST", "/v1/trackers", headers=TOKEN, json={"size": "big"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert sorted(e["pointer"] for e in body["errors"]) == ["/name", "/size"]
    assert body["request_id"] == response.headers["x-request-id"]


def test_invalid_json_with_position() -> None:
    """A body that is not JSON is invalid_json with line and column, not a 422."""
    response = fetch(
        layer_for(build()),
        "POST",
        "/v1/trackers",
        headers={**TOKEN, "content-type": "application/json"},
        content=b'{\n  "name": ',
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_json"
    assert (body["line"], body["column"]) == (2, 11)


def test_unknown_path_and_method_before_auth() -> None:
    """404 and 405 come from the layer, before the token is asked for."""
    layer = layer_for(build())
    assert fetch(layer, "GET", "/v1/nothing").json()["code"] == "unknown_route"
    wrong = fetch(layer, "DELETE", "/v1/trackers")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "OPTIONS, POST"
    assert fetch(layer, "GET", "/v1/trackers/1").status_code == 401


def test_http_exception_and_path_converter_errors() -> None:
    """HTTPException(410) and a path value that fails validation are the catalog's."""
    layer = layer_for(build())
    gone = fetch(layer, "GET", "/v1/trackers/410", headers=TOKEN)
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
    bad = fetch(layer, "GET", "/v1/trackers/abc", headers=TOKEN)
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_failed"


def test_unexpected_error(caplog: pytest.LogCaptureFixture) -> None:
    """RuntimeError is a 500 without its text, with the request id, logged once."""
    with caplog.at_level(logging.ERROR):
        response = fetch(layer_for(build()), "GET", "/v1/trackers/0", headers=TOKEN)
    assert response.status_code == 500
    assert "secret" not in response.text
    assert "/srv/db" not in response.text
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert len([r for r in caplog.records if r.exc_info]) == 1


def test_openapi_lists_the_catalog_errors() -> None:
    """app.openapi() has every operation's errors in place of FastAPI's 422 shape."""
    app = build()
    layer_for(app, max_body=1024)
    document = app.openapi()
    validate(document)
    assert_refs_resolve(document)
    post = document["paths"]["/v1/trackers"]["post"]["responses"]
    assert {"201", "400", "401", "413", "415", "422", "500", "503"} <= set(post)
    assert post["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/ProblemDetails"
    }
    assert post["401"]["headers"]["WWW-Authenticate"]["schema"]["example"] == "Bearer"
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert "Tracker" in schemas


def test_openapi_served_by_the_app() -> None:
    """/openapi.json, served through the layer, is the completed document."""
    app = build()
    layer = install(app, public=["/openapi.json"], auth=bearer(keys={"t"}))
    served = fetch(layer, "GET", "/openapi.json")
    assert served.status_code == 200
    assert served.json() == app.openapi()


def test_openapi_named_errors_in_catalog_format() -> None:
    """Named entries appear under their operation, in the catalog's own body shape."""
    app = build()
    install(app, catalog="tape", errors={"GET /v1/trackers/{id}": ["not_found"]})
    document = app.openapi()
    get = document["paths"]["/v1/trackers/{tracker_id}"]["get"]["responses"]
    example = get["404"]["content"]["application/json"]["examples"]["not_found"]["value"]
    assert example["error_code"] == "not_found"
    validate(document)


def test_bad_errors_option() -> None:
    """An entry the catalog does not have is refused at install, by name."""
    with pytest.raises(OpenAPIError, match="no entry 'tracker_exsts'"):
        install(build(), errors={"POST /v1/trackers": ["tracker_exsts"]})


def test_install_refuses_a_built_app() -> None:
    """An app that has served a request cannot take new exception handlers."""
    app = build()
    fetch(app, "GET", "/openapi.json")
    with pytest.raises(InstallError):
        install(app)


def test_debug_mode_sends_no_traceback() -> None:
    """FastAPI(debug=True) does not send Starlette's traceback page through the layer."""
    app = FastAPI(debug=True)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret at /srv/db password=hunter2")

    layer = install(app, catalog="rfc9457")
    for accept in ("*/*", "application/json"):
        response = fetch(layer, "GET", "/boom", headers={"accept": accept})
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "internal"
        assert "hunter2" not in response.text
        assert "Traceback" not in response.text


def test_websocket_routes_need_an_explicit_opt_in() -> None:
    """With auth, a FastAPI websocket route makes install refuse until the caller opts in."""
    app = build()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.close()

    with pytest.raises(InstallError, match="public_websockets=True"):
        layer_for(app)
    layer = layer_for(app, public_websockets=True)
    assert fetch(layer, "GET", "/v1/trackers/1").status_code == 401


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


def test_validation_errors_capped() -> None:
    """5,000 forbidden members give 100 field errors and one saying more were left out."""
    app = FastAPI()

    @app.post("/v1/strict")
    async def strict(body: Strict) -> dict[str, Any]:
        return {}

    body = {"name": "a", **{f"x{n}": 0 for n in range(5000)}}
    response = fetch(layer_for(app), "POST", "/v1/strict", headers=TOKEN, json=body)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert len(errors) == MAX_FIELD_ERRORS + 1
    assert errors[0]["pointer"] == "/x0"
    assert errors[-1]["pointer"] == ""
    assert errors[-1]["code"] == "more_errors"
    assert len(response.content) < 30_000
