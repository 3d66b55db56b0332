"""The `tape` profile, live: every row of seed page 004's table over a real socket.

Every error body is exactly ``{"status", "error_code", "error_message"}`` with ``status``
repeating the HTTP status, and ``error_code`` the string clients branch on.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from ._demo import KEY_A, KEY_B, NONE, Demo, allowed, json_body

PROFILE = "tape"

MESSAGES = {
    "invalid_json": "The body of the request is not well-formed JSON.",
    "invalid_request_url": "No API operation lives at this URL.",
    "invalid_request": "The API does not support this kind of request.",
    "validation_error": "The request parameters do not match the expected schema.",
    "unauthorized": "The bearer token is missing or not valid.",
    "not_found": "No such resource is visible to this token.",
    "conflict_error": "The operation collided with a concurrent change and was not applied.",
}


def refused(
    response: httpx.Response, status: int, code: str, *, exact_message: bool = True
) -> dict[str, Any]:
    """The response is ``status`` with Tape's three members and wire code ``code``."""
    assert response.status_code == status, response.text
    body = json_body(response)
    assert set(body) == {"status", "error_code", "error_message"}
    assert body["status"] == status
    assert body["error_code"] == code
    assert isinstance(body["error_message"], str)
    assert body["error_message"]
    if exact_message:
        assert body["error_message"] == MESSAGES[code]
    return body


def post_json(demo: Demo, path: str, content: bytes, **kwargs: Any) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    return demo.call("POST", path, content=content, headers=headers, **kwargs)


# -- 400 invalid_json ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/v1/trackers", b'{"name": '),
        ("/v1/trackers", b"{name: 'x'}"),
        ("/v1/trackers", b'{"name": "x"}}'),
        ("/v1/transfers", b'{"name": "t", "files": [{"name": "a", "size": 1}'),
        ("/v1/jobs", b"not json at all"),
    ],
    ids=["truncated", "unquoted", "extra-brace", "transfer", "job"],
)
def test_a_body_that_is_not_json_is_invalid_json(demo: Demo, path: str, content: bytes) -> None:
    """A body that does not decode as JSON answers 400 ``invalid_json``."""
    refused(post_json(demo, path, content), 400, "invalid_json")


# -- 400 invalid_request_url -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("GET", "/v1/nowhere", KEY_A),
        ("POST", "/v1/nowhere", KEY_A),
        ("GET", "/v1/nowhere", NONE),
        ("GET", "/trackers", KEY_A),
        ("GET", "/v1/trackers/abc/extra", KEY_A),
        ("GET", "/", NONE),
    ],
)
def test_an_unknown_url_is_invalid_request_url(
    demo: Demo, method: str, path: str, key: str | None
) -> None:
    """A URL that names no operation answers 400 ``invalid_request_url``, key or not."""
    refused(demo.call(method, path, key=key), 400, "invalid_request_url")


# -- 400 invalid_request ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "methods"),
    [
        ("GET", "/v1/trackers", {"POST"}),
        ("DELETE", "/v1/trackers/abc", {"GET"}),
        ("PUT", "/v1/jobs", {"POST"}),
        ("POST", "/v1/teapot", {"GET"}),
    ],
)
def test_a_method_the_url_does_not_take_is_invalid_request(
    demo: Demo, method: str, path: str, methods: set[str]
) -> None:
    """The wrong verb on a real URL answers 400 ``invalid_request``, with Allow to fix it."""
    response = demo.call(method, path)
    refused(response, 400, "invalid_request")
    allow = allowed(response)
    assert methods <= allow
    assert method not in allow


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/xml"])
def test_a_body_of_an_unsupported_media_type_is_invalid_request(
    demo: Demo, content_type: str | None
) -> None:
    """A JSON body without ``Content-Type: application/json`` answers ``invalid_request``."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = demo.call("POST", "/v1/trackers", content=b'{"name": "x"}', headers=headers)
    refused(response, 400, "invalid_request")


def test_an_accept_header_that_rules_out_json_is_invalid_request(demo: Demo) -> None:
    """Asking for a representation the API cannot give answers ``invalid_request``."""
    tracker = demo.create_tracker()
    response = demo.call(
        "GET", f"/v1/trackers/{tracker['id']}", headers={"Accept": "application/xml"}
    )
    refused(response, 400, "invalid_request")


# -- 400 validation_error --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/trackers", {"name": ""}),
        ("/v1/trackers", {"name": 42}),
        ("/v1/trackers", {}),
        ("/v1/trackers", {"name": "x" * 101}),
        ("/v1/transfers", {"name": "t", "files": [{"name": "a", "size": -1}]}),
        ("/v1/transfers", {"name": "t", "files": []}),
        ("/v1/jobs", {"seconds": "soon"}),
    ],
    ids=[
        "empty-name",
        "number-name",
        "no-name",
        "long-name",
        "negative-size",
        "no-files",
        "string-seconds",
    ],
)
def test_parameters_that_break_the_schema_are_validation_error(
    demo: Demo, path: str, body: dict[str, Any]
) -> None:
    """Valid JSON with parameters outside the schema answers 400 ``validation_error``."""
    refused(
        post_json(demo, path, json.dumps(body).encode()),
        400,
        "validation_error",
        exact_message=False,
    )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/trackers", {"name": 42}, "name"),
        ("/v1/transfers", {"name": "t", "files": [{"name": "a", "size": -1}]}, "size"),
        ("/v1/jobs", {"seconds": "soon"}, "seconds"),
    ],
    ids=["tracker-name", "file-size", "job-seconds"],
)
def test_validation_error_message_names_the_parameter(
    demo: Demo, path: str, body: dict[str, Any], field: str
) -> None:
    """The page sends the reader to the message for details: it must say which parameter."""
    response = post_json(demo, path, json.dumps(body).encode())
    found = refused(response, 400, "validation_error", exact_message=False)
    assert field in found["error_message"], found["error_message"]


# -- 401 unauthorized ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Basic {KEY_A}"},
        {"Authorization": KEY_A},
        {"X-API-KEY": KEY_A},
    ],
    ids=["absent", "unknown", "basic-scheme", "no-scheme", "other-header"],
)
def test_a_missing_or_invalid_bearer_token_is_unauthorized(
    demo: Demo, headers: dict[str, str]
) -> None:
    """No valid bearer token: 401 ``unauthorized`` with a Bearer challenge."""
    response = demo.call("GET", "/v1/teapot", key=NONE, headers=headers)
    refused(response, 401, "unauthorized")
    assert response.headers.get("www-authenticate", "").startswith("Bearer")


# -- 404 not_found ---------------------------------------------------------------------------


def _hidden(demo: Demo, kind: str) -> str:
    if kind == "tracker":
        return f"/v1/trackers/{demo.create_tracker(key=KEY_A)['id']}"
    if kind == "transfer":
        return f"/v1/transfers/{demo.create_transfer(key=KEY_A)['id']}"
    return f"/v1/jobs/{demo.create_job(0.1, key=KEY_A)['id']}"


@pytest.mark.parametrize("kind", ["tracker", "transfer", "job"])
def test_a_resource_not_shared_with_the_token_looks_exactly_like_a_missing_one(
    demo: Demo, kind: str
) -> None:
    """404 ``not_found`` for another owner's resource, byte for byte the unknown-id answer."""
    path = _hidden(demo, kind)
    assert demo.call("GET", path, key=KEY_A).status_code in (200, 202)
    theirs = demo.call("GET", path, key=KEY_B)
    missing = demo.call("GET", path.rsplit("/", 1)[0] + f"/{uuid.uuid4().hex}", key=KEY_B)
    refused(theirs, 404, "not_found")
    refused(missing, 404, "not_found")
    assert theirs.content == missing.content
    skip = {"x-request-id", "date"}
    assert {k: v for k, v in theirs.headers.items() if k not in skip} == {
        k: v for k, v in missing.headers.items() if k not in skip
    }


# -- 409 conflict_error ----------------------------------------------------------------------


def test_a_duplicate_tracker_name_is_conflict_error(demo: Demo) -> None:
    """A second tracker with a name the key already uses answers 409 ``conflict_error``."""
    name = f"duplicate-{uuid.uuid4().hex[:6]}"
    first = demo.create_tracker(name)
    assert set(first) == {"id", "name"}
    assert first["name"] == name
    response = demo.call("POST", "/v1/trackers", json={"name": name})
    refused(response, 409, "conflict_error")
    # Names are per key: another key may use it.
    assert demo.create_tracker(name, key=KEY_B)["name"] == name
    assert demo.call("GET", f"/v1/trackers/{first['id']}").json() == first
