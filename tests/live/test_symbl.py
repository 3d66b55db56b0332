"""The `symbl` profile, live: seed page 002's global and per-operation tables over a socket.

Error bodies are exactly ``{"message": str}``: clients tell errors apart by status and by
the message text, so each check compares the whole body where the text is fixed.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from ._demo import (
    KEY_A,
    KEY_B,
    NONE,
    OCTET,
    Demo,
    allowed,
    chunks,
    head_only,
    json_body,
    pdf,
)

PROFILE = "symbl"
LIMIT = 1024 * 1024  # 1 MB, the page's limit

UNAUTHORIZED = "Token validation failed for provided token."
NOT_FOUND = "Nothing exists at this path."
METHOD = "This operation does not accept the HTTP method used."
BAD_REQUEST = "The request body or parameters are not valid."
TOO_LARGE = f"The body is over the {LIMIT}-byte limit."


def refused(response: httpx.Response, status: int, message: str | None) -> str:
    """``status`` with a body that is exactly ``{"message": ...}``; returns the message."""
    assert response.status_code == status, response.text
    body = json_body(response)
    assert set(body) == {"message"}, body
    assert isinstance(body["message"], str)
    assert body["message"]
    if message is not None:
        assert body["message"] == message
    return str(body["message"])


def post_json(demo: Demo, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    return demo.call("POST", path, content=content, headers=headers, **kwargs)


# -- 200, 201 --------------------------------------------------------------------------------


def test_creating_and_reading_a_tracker_is_201_then_200(demo: Demo) -> None:
    """The successes the tables start from."""
    name = f"pricing-{uuid.uuid4().hex[:6]}"
    created = post_json(demo, "/v1/trackers", {"name": name})
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "name"}
    assert body["name"] == name
    fetched = demo.call("GET", f"/v1/trackers/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == body


# -- Create Trackers: 409 --------------------------------------------------------------------


def test_a_tracker_name_that_exists_is_409_naming_the_tracker(demo: Demo) -> None:
    """409 with a message that names the tracker already holding the name."""
    name = f"Pricing questions {uuid.uuid4().hex[:6]}"
    demo.create_tracker(name)
    response = post_json(demo, "/v1/trackers", {"name": name})
    refused(response, 409, f"A tracker named {name} already exists.")
    # The name is taken for this key only.
    assert demo.create_tracker(name, key=KEY_B)["name"] == name


# -- Create Trackers: 400 --------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b'{"name": ', b"name=x", {"name": 7}, {"title": "x"}, {"name": ""}, ["x"]],
    ids=["cut-json", "not-json", "wrong-type", "wrong-key", "empty", "array"],
)
def test_a_bad_tracker_body_is_400(demo: Demo, body: Any) -> None:
    """Wrong key names, wrong value types, or no JSON at all: 400 Bad Request, whose message
    is the entry's, followed by what to fix when the body parsed."""
    message = refused(post_json(demo, "/v1/trackers", body), 400, None)
    if isinstance(body, bytes):
        assert message == BAD_REQUEST
    else:
        assert message.startswith(BAD_REQUEST + " "), message
        assert len(message) > len(BAD_REQUEST) + 10, message


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": 7}, "name"), ({"title": "x"}, "name")],
    ids=["wrong-type", "wrong-key"],
)
def test_the_400_message_says_which_parameter_to_fix(
    demo: Demo, body: dict[str, Any], field: str
) -> None:
    """The table's resolution is to read the message and fix the request: it names the field."""
    message = refused(post_json(demo, "/v1/trackers", body), 400, None)
    assert field in message, message


# -- Create Trackers: 413 (1 MB) -------------------------------------------------------------


def _tracker_body(size: int) -> bytes:
    """A JSON tracker body of exactly ``size`` bytes."""
    head, tail = b'{"name": "big", "pad": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_a_tracker_body_over_1_mb_is_413(demo: Demo) -> None:
    """The Create Trackers table: a body above 1 MB answers 413 naming the limit."""
    response = post_json(demo, "/v1/trackers", _tracker_body(LIMIT + 1))
    refused(response, 413, TOO_LARGE)


@pytest.mark.parametrize("kind", ["content-length", "chunked"])
def test_a_rebuild_body_over_1_mb_is_413(demo: Demo, kind: str) -> None:
    """Over 1 MB with an honest Content-Length, and streamed without one: both 413."""
    if kind == "chunked":
        content: Any = chunks(LIMIT + 1)
    else:
        content = b"\0" * (LIMIT + 1)
    response = demo.call("POST", "/v1/rebuild", content=content, headers=OCTET)
    refused(response, 413, TOO_LARGE)


def test_a_rebuild_body_over_1_mb_is_refused_before_it_is_read(demo: Demo) -> None:
    """With an honest Content-Length the 413 comes without the body ever being sent."""
    head = (
        "POST /v1/rebuild HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {KEY_A}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {LIMIT + 1}\r\nX-Request-Id: live-head-only\r\n\r\n"
    ).encode()
    answer = head_only(demo.base_url, head)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {"message": TOO_LARGE}


def test_a_rebuild_body_of_exactly_1_mb_is_accepted(demo: Demo) -> None:
    """The limit itself is allowed: only bodies above it are refused."""
    response = demo.call("POST", "/v1/rebuild", content=pdf(LIMIT), headers=OCTET)
    assert response.status_code == 200, response.text[:200]
    assert response.content.startswith(b"%PDF-")


# -- Get Tracker: 404 ------------------------------------------------------------------------


def test_an_unknown_tracker_id_is_404_naming_the_id(demo: Demo) -> None:
    """The Get Tracker table's 404: no tracker with that id."""
    tracker_id = uuid.uuid4().hex
    response = demo.call("GET", f"/v1/trackers/{tracker_id}")
    refused(response, 404, f"No tracker has the id {tracker_id}.")


def test_another_keys_tracker_is_404_like_an_unknown_one(demo: Demo) -> None:
    """Another account's tracker does not exist for this key."""
    tracker = demo.create_tracker(key=KEY_A)
    response = demo.call("GET", f"/v1/trackers/{tracker['id']}", key=KEY_B)
    refused(response, 404, f"No tracker has the id {tracker['id']}.")


# -- global table: 401, 404, 405 -------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer expired-or-made-up"}, {"Authorization": KEY_A}],
    ids=["absent", "unknown", "no-scheme"],
)
def test_a_token_that_fails_validation_is_401(demo: Demo, headers: dict[str, str]) -> None:
    """401 with the page's exact message, and a Bearer challenge."""
    response = demo.call("POST", "/v1/trackers", key=NONE, headers=headers, json={"name": "x"})
    refused(response, 401, UNAUTHORIZED)
    assert response.headers.get("www-authenticate", "").startswith("Bearer")


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [("GET", "/v1/nowhere", KEY_A), ("POST", "/v1/async/text", KEY_A), ("GET", "/v2", NONE)],
)
def test_an_unknown_path_is_404(demo: Demo, method: str, path: str, key: str | None) -> None:
    """The global 404: nothing at that path."""
    refused(demo.call(method, path, key=key), 404, NOT_FOUND)


@pytest.mark.parametrize(
    ("method", "path", "methods"),
    [
        ("GET", "/v1/trackers", {"POST"}),
        ("PUT", "/v1/trackers/abc", {"GET"}),
        ("DELETE", "/v1/jobs", {"POST"}),
    ],
)
def test_an_invalid_method_is_405(demo: Demo, method: str, path: str, methods: set[str]) -> None:
    """The global 405, with Allow naming the methods the operation takes."""
    response = demo.call(method, path)
    refused(response, 405, METHOD)
    allow = allowed(response)
    assert methods <= allow
    assert method not in allow


# -- Async Text API: the job that the concurrency limit counts -------------------------------


def test_a_job_is_accepted_with_a_retry_hint(demo: Demo) -> None:
    """POST /v1/jobs answers 202 with ``retry_after``; it is the operation the 429 guards."""
    response = post_json(demo, "/v1/jobs", {"seconds": 0.1})
    assert response.status_code == 202, response.text
    assert response.json()["state"] == "running"
    assert response.headers["retry-after"].isdigit()
