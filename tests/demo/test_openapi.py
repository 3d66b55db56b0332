"""The OpenAPI document at /openapi.json: the hand-written success half, the catalog's errors."""

from __future__ import annotations

from typing import Any

import pytest

from errorbook._demo._app import ROUTES

from ._service import ANONYMOUS, Service, body_of, start


def document(profile: str) -> dict[str, Any]:
    service = start(profile)
    try:
        response = service.call("GET", "/openapi.json", key=ANONYMOUS)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        return body_of(response)
    finally:
        service.store.close()


def examples(operation: dict[str, Any], status: str) -> set[str]:
    """The entry keys an operation's error response shows as examples."""
    content = operation["responses"][status]["content"]
    return {key for media in content.values() for key in media.get("examples", {})}


def test_every_route_is_an_operation(service: Service) -> None:
    """Each declared route is in the document, with a success response unless it never succeeds."""
    doc = body_of(service.call("GET", "/openapi.json", key=ANONYMOUS))
    assert doc["openapi"] == "3.1.0"
    found = {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert found == {(method, path) for method, path, _ in ROUTES}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            statuses = set(operation["responses"])
            assert statuses, (method, path)
            if path != "/v1/teapot":
                assert statuses & {"200", "201", "202"}, (method, path)


@pytest.mark.parametrize(
    ("profile", "operation", "status", "keys"),
    [
        ("rfc9457", ("/v1/teapot", "get"), "418", {"teapot"}),
        ("rfc9457", ("/v1/trackers", "post"), "409", {"name_taken"}),
        ("wetransfer", ("/v1/transfers/{transfer_id}", "get"), "410", {"gone"}),
        ("tape", ("/v1/trackers/{tracker_id}", "get"), "404", {"not_found"}),
        ("symbl", ("/v1/trackers/{tracker_id}", "get"), "404", {"not_found", "tracker_not_found"}),
        ("rebuild", ("/v1/rebuild", "post"), "422", {"unsupported_file_type", "file_damaged"}),
        ("rebuild", ("/v1/rebuild", "post"), "413", {"payload_too_large"}),
    ],
    ids=["teapot", "name-taken", "gone", "tape-404", "symbl-404", "rebuild-422", "rebuild-413"],
)
def test_operations_list_their_errors(
    profile: str, operation: tuple[str, str], status: str, keys: set[str]
) -> None:
    """The service's situations appear under each operation that can meet them."""
    path, method = operation
    found = document(profile)["paths"][path][method]
    assert keys <= examples(found, status)


def test_size_mismatch_is_listed_for_complete() -> None:
    """The complete operation documents the size mismatch in the profile's words."""
    doc = document("wetransfer")
    operation = doc["paths"]["/v1/transfers/{transfer_id}/files/{file_id}/complete"]["post"]
    example = operation["responses"]["400"]["content"]["application/json"]["examples"]
    assert example["size_mismatch"]["value"] == {"message": "Expected 1200 to be 3243214"}


@pytest.mark.parametrize(
    ("profile", "scheme"),
    [
        ("rfc9457", {"type": "http", "scheme": "bearer"}),
        ("wetransfer", {"type": "apiKey", "in": "header", "name": "X-API-KEY"}),
        ("rebuild", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}),
    ],
)
def test_the_credential_is_described(profile: str, scheme: dict[str, str]) -> None:
    """The security scheme matches how the profile takes its credential; public routes skip it."""
    doc = document(profile)
    found = doc["components"]["securitySchemes"]["credential"]
    assert {key: found[key] for key in scheme} == scheme
    assert doc["security"] == [{"credential": []}]
    health = doc["paths"]["/health"]["get"]
    assert health["security"] == []
    unauthenticated = "403" if profile in ("wetransfer", "rebuild") else "401"
    assert unauthenticated not in health["responses"]
    assert unauthenticated in doc["paths"]["/v1/trackers"]["post"]["responses"]
