"""The layer in front of a real FastAPI app: its validation errors, handed on, map by shape."""

from __future__ import annotations

from typing import Any

import pytest

from errorbook._layer import ErrorLayer

from .test_frameworks import fetch, reraise

fastapi = pytest.importorskip("fastapi")
pydantic = pytest.importorskip("pydantic")


class Tracker(pydantic.BaseModel):  # type: ignore[name-defined,misc]
    name: str
    size: int


def build() -> Any:
    app = fastapi.FastAPI()
    # Both: FastAPI's ServerErrorMiddleware would otherwise answer 500 itself and re-raise.
    app.add_exception_handler(fastapi.exceptions.RequestValidationError, reraise)
    app.add_exception_handler(Exception, reraise)

    @app.post("/v1/trackers")  # type: ignore[untyped-decorator]
    async def create_tracker(tracker: Tracker) -> dict[str, Any]:
        return dict(tracker.model_dump())

    return app


def test_validation_error() -> None:
    """FastAPI's RequestValidationError becomes validation_failed with body pointers."""
    layer = ErrorLayer(build())
    response = fetch(layer, "POST", "/v1/trackers", json={"size": "big"})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert sorted(e["pointer"] for e in errors) == ["/name", "/size"]
    assert {e["code"] for e in errors} == {"missing", "int_parsing"}


def test_valid_request_passes() -> None:
    """A valid body reaches the FastAPI handler."""
    response = fetch(ErrorLayer(build()), "POST", "/v1/trackers", json={"name": "a", "size": 1})
    assert response.status_code == 200
    assert response.json() == {"name": "a", "size": 1}
