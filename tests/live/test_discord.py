"""The `discord` profile, live: seed page 001's status table and JSON codes over a socket.

Error bodies are ``{"message": str, "code": int}``; a rejected form adds an ``errors`` tree
that mirrors the body with ``_errors`` lists at the rejected fields, and a wait hint adds
``retry_after``. Success statuses the table lists (200, 201, 202, 204, 304) are checked too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
import pytest

from ._demo import (
    KEY_A,
    KEY_B,
    NONE,
    OCTET,
    UNSUPPORTED_FILES,
    Demo,
    allowed,
    chunks,
    json_body,
    poll,
    retry_after,
)

PROFILE = "discord"
LIMIT = 5 * 1024 * 1024  # the service's default body limit (neither rebuild nor symbl)


def refused(
    response: httpx.Response,
    status: int,
    code: int | None,
    message: str | None,
    *,
    extra: Iterable[str] = (),
    optional: Iterable[str] = (),
) -> dict[str, Any]:
    """``status`` with a Discord error body: ``message``, integer ``code``, and ``extra``."""
    assert response.status_code == status, response.text
    body = json_body(response)
    required = {"message", "code", *extra}
    assert required <= set(body) <= required | set(optional), body
    assert isinstance(body["code"], int)
    assert not isinstance(body["code"], bool)
    assert isinstance(body["message"], str)
    assert body["message"]
    if code is not None:
        assert body["code"] == code, body
    if message is not None:
        assert body["message"] == message, body
    return body


def post_json(demo: Demo, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    return demo.call("POST", path, content=content, headers=headers, **kwargs)


# -- 200, 201, 304 ---------------------------------------------------------------------------


def test_created_is_201_and_a_repeated_get_with_its_etag_is_304(demo: Demo) -> None:
    """201 with Location and ETag; 200 at the Location; 304 without a body for the tag."""
    created = post_json(demo, "/v1/transfers", {"name": "t", "files": [{"name": "a", "size": 1}]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "uploading"
    assert created.headers.get("etag")
    location = created.headers["location"]
    assert location.endswith(f"/v1/transfers/{body['id']}")
    fetched = demo.call("GET", location)
    assert fetched.status_code == 200
    etag = fetched.headers["etag"]
    assert not etag.startswith("W/")
    again = demo.call("GET", location, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = demo.call("GET", location, headers={"If-None-Match": '"not-the-tag"'})
    assert other.status_code == 200


# -- 202 with retry_after --------------------------------------------------------------------


def test_a_running_job_answers_202_with_retry_after_until_it_is_done(demo: Demo) -> None:
    """Accepted but not ready: 202 with ``retry_after`` in the body and Retry-After."""
    response = post_json(demo, "/v1/jobs", {"seconds": 0.5})
    assert response.status_code == 202, response.text
    job = response.json()
    assert set(job) == {"id", "state", "retry_after"}
    assert job["state"] == "running"
    assert isinstance(job["retry_after"], int | float)
    assert job["retry_after"] >= 0
    retry_after(response)

    running = demo.call("GET", f"/v1/jobs/{job['id']}")
    assert running.status_code == 202, running.text
    assert "retry_after" in running.json()
    retry_after(running)

    done = poll(lambda: demo.call("GET", f"/v1/jobs/{job['id']}"), lambda r: r.status_code != 202)
    assert done.status_code == 200, done.text
    finished = done.json()
    assert set(finished) == {"id", "state", "result"}
    assert finished["id"] == job["id"]
    assert finished["state"] == "done"


# -- 204 -------------------------------------------------------------------------------------


def test_options_on_a_known_path_is_204_with_allow(demo: Demo) -> None:
    """The table's 204: success without a body, here the methods a path takes."""
    response = demo.call("OPTIONS", "/v1/trackers", key=NONE)
    assert response.status_code == 204
    assert response.content == b""
    assert "POST" in allowed(response)


# -- 400: 50109 invalid JSON, 50035 invalid form body ----------------------------------------


@pytest.mark.parametrize(
    "content", [b'{"name": ', b"{'name': 'x'}", b'{"name": "x"} {}'], ids=["cut", "quotes", "two"]
)
def test_invalid_json_is_50109(demo: Demo, content: bytes) -> None:
    """A body that is not JSON: 400 with code 50109 and no field tree."""
    response = post_json(demo, "/v1/trackers", content)
    refused(
        response,
        400,
        50109,
        "The request body contains invalid JSON.",
        optional=("line", "column"),
    )


def test_an_invalid_field_is_50035_with_an_errors_tree(demo: Demo) -> None:
    """One bad field: 400 / 50035, and ``errors`` holds an ``_errors`` list at its place."""
    response = post_json(demo, "/v1/transfers", {"name": "t", "files": [{"name": "a", "size": -1}]})
    body = refused(response, 400, 50035, "Invalid Form Body", extra=("errors",))
    assert set(body["errors"]) == {"files"}
    assert set(body["errors"]["files"]) == {"0"}
    assert set(body["errors"]["files"]["0"]) == {"size"}
    leaf = body["errors"]["files"]["0"]["size"]
    assert set(leaf) == {"_errors"}
    assert len(leaf["_errors"]) == 1
    assert set(leaf["_errors"][0]) == {"code", "message"}
    assert all(isinstance(v, str) and v for v in leaf["_errors"][0].values())


def test_every_invalid_field_gets_its_own_branch_of_the_tree(demo: Demo) -> None:
    """Two bad fields at different depths: each has an ``_errors`` list, nothing else does."""
    response = post_json(
        demo,
        "/v1/transfers",
        {"name": "", "files": [{"name": "a", "size": 1}, {"name": "b", "size": -5}]},
    )
    body = refused(response, 400, 50035, "Invalid Form Body", extra=("errors",))
    tree = body["errors"]
    assert set(tree) == {"name", "files"}
    assert set(tree["name"]) == {"_errors"}
    assert tree["name"]["_errors"]
    assert set(tree["files"]) == {"1"}
    assert set(tree["files"]["1"]) == {"size"}
    assert tree["files"]["1"]["size"]["_errors"]


# -- 401: 50014 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "invalid"),
    [
        ({}, False),
        ({"Authorization": "Bearer not-a-token"}, True),
        ({"Authorization": f"Bearer {KEY_A}x"}, True),
    ],
    ids=["absent", "unknown", "altered"],
)
def test_a_missing_or_invalid_token_is_50014_with_a_challenge(
    demo: Demo, headers: dict[str, str], invalid: bool
) -> None:
    """401 ``{"message": "Invalid authentication token", "code": 50014}`` + WWW-Authenticate."""
    response = demo.call("GET", "/v1/teapot", key=NONE, headers=headers)
    refused(response, 401, 50014, "Invalid authentication token")
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer")
    assert ('error="invalid_token"' in challenge) is invalid


# -- 404 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/nowhere"), ("POST", "/api/v9/x")])
def test_an_unknown_location_is_404(demo: Demo, method: str, path: str) -> None:
    """Nothing at the location: 404 with the profile's code for it."""
    refused(demo.call(method, path), 404, 404, "404: Not Found")


@pytest.mark.parametrize("kind", ["transfers", "trackers", "jobs"])
def test_an_unknown_or_foreign_resource_is_404(demo: Demo, kind: str) -> None:
    """An id nobody has, or one another key owns, both answer 404 the same way."""
    if kind == "transfers":
        own = demo.create_transfer()["id"]
    elif kind == "trackers":
        own = demo.create_tracker()["id"]
    else:
        own = demo.create_job(0.1)["id"]
    foreign = demo.call("GET", f"/v1/{kind}/{own}", key=KEY_B)
    unknown = demo.call("GET", f"/v1/{kind}/{uuid.uuid4().hex}")
    first = refused(foreign, 404, None, None)
    assert first == refused(unknown, 404, None, None)
    assert first == {"message": "404: Not Found", "code": 404}


# -- 405 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "methods"),
    [
        ("GET", "/v1/trackers", {"POST"}),
        ("DELETE", "/v1/transfers/abc", {"GET"}),
        ("PATCH", "/v1/jobs/abc", {"GET"}),
        ("GET", "/v1/rebuild", {"POST"}),
    ],
)
def test_a_method_the_location_does_not_take_is_405_with_allow(
    demo: Demo, method: str, path: str, methods: set[str]
) -> None:
    """405 with the profile's code, and Allow naming the methods that work."""
    response = demo.call(method, path, key=NONE)
    refused(response, 405, 405, "405: Method Not Allowed")
    allow = allowed(response)
    assert methods <= allow
    assert method not in allow


# -- 409 -------------------------------------------------------------------------------------


def test_a_duplicate_tracker_name_is_409(demo: Demo) -> None:
    """The target's state (a tracker of that name) blocks the change: 409."""
    name = f"dup-{uuid.uuid4().hex[:6]}"
    demo.create_tracker(name)
    response = post_json(demo, "/v1/trackers", {"name": name})
    refused(response, 409, 409, "409: Conflict")


# -- 410 -------------------------------------------------------------------------------------


def test_an_expired_transfer_is_410(demo: Demo) -> None:
    """A transfer past its expiry is gone for good, on every route."""
    transfer = demo.create_transfer(sizes=(2,), expires_in=0.3)
    tid, fid = transfer["id"], transfer["files"][0]["id"]
    gone = poll(lambda: demo.call("GET", f"/v1/transfers/{tid}"), lambda r: r.status_code != 200)
    refused(gone, 410, 410, "410: Gone")
    refused(demo.put_part(tid, fid, 1, b"ab"), 410, 410, "410: Gone")
    refused(demo.call("POST", f"/v1/transfers/{tid}/files/{fid}/complete"), 410, 410, "410: Gone")
    refused(demo.call("POST", f"/v1/transfers/{tid}/finalize"), 410, 410, "410: Gone")


# -- 413 -------------------------------------------------------------------------------------

TOO_LARGE = f"Request entity too large. Keep it under {LIMIT} bytes."


def test_a_body_over_the_limit_is_413_with_content_length(demo: Demo) -> None:
    """An honest Content-Length above the limit: 413 with code 40005 naming the limit."""
    response = demo.call("POST", "/v1/rebuild", content=b"\0" * (LIMIT + 1), headers=OCTET)
    refused(response, 413, 40005, TOO_LARGE)


def test_a_chunked_body_over_the_limit_is_413(demo: Demo) -> None:
    """No Content-Length: the limit holds on the stream."""
    response = demo.call("POST", "/v1/rebuild", content=chunks(LIMIT + 1), headers=OCTET)
    refused(response, 413, 40005, TOO_LARGE)


def test_an_upload_part_over_the_limit_is_413(demo: Demo) -> None:
    """A part above 5 MiB is refused the same way."""
    transfer = demo.create_transfer(sizes=(LIMIT + 1,))
    response = demo.put_part(transfer["id"], transfer["files"][0]["id"], 1, b"\0" * (LIMIT + 1))
    refused(response, 413, 40005, TOO_LARGE)


# -- 415 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "text/plain"])
def test_a_body_of_the_wrong_content_type_is_415(demo: Demo, content_type: str | None) -> None:
    """A JSON body sent as something else: 415 with the profile's code."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = demo.call("POST", "/v1/trackers", content=b'{"name": "x"}', headers=headers)
    refused(response, 415, 415, "415: Unsupported Media Type")


def test_asking_for_a_content_type_it_cannot_serve_is_415(demo: Demo) -> None:
    """The table's 415 is about the requested type: an Accept the API cannot meet."""
    tracker = demo.create_tracker()
    response = demo.call(
        "GET", f"/v1/trackers/{tracker['id']}", headers={"Accept": "application/xml"}
    )
    refused(response, 415, 415, "415: Unsupported Media Type")


# -- 422 -------------------------------------------------------------------------------------


def test_well_formed_but_unprocessable_content_is_422(demo: Demo) -> None:
    """A file the rebuild route cannot handle parses as a request but is refused with 422."""
    response = demo.call("POST", "/v1/rebuild", content=UNSUPPORTED_FILES["gif"], headers=OCTET)
    refused(response, 422, None, None)


# -- 423 -------------------------------------------------------------------------------------


def test_a_finalizing_transfer_is_locked(demo: Demo) -> None:
    """While a transfer finalizes, writes to it answer 423; afterwards it is ready."""
    transfer = demo.create_transfer(sizes=(2,))
    tid, fid = transfer["id"], transfer["files"][0]["id"]
    assert demo.put_part(tid, fid, 1, b"ab").status_code == 200
    assert demo.call("POST", f"/v1/transfers/{tid}/files/{fid}/complete").status_code == 200

    started = post_json(demo, f"/v1/transfers/{tid}/finalize", {"seconds": 1.5})
    assert started.status_code == 202, started.text
    body = started.json()
    assert set(body) == {"id", "state", "retry_after"}
    assert body["state"] == "finalizing"
    retry_after(started)

    optional = ("retry_after",)
    locked = demo.put_part(tid, fid, 1, b"ab")
    refused(locked, 423, 423, "423: Locked", optional=optional)
    refused(
        demo.call("POST", f"/v1/transfers/{tid}/files/{fid}/complete"),
        423,
        423,
        "423: Locked",
        optional=optional,
    )
    refused(
        demo.call("POST", f"/v1/transfers/{tid}/finalize"),
        423,
        423,
        "423: Locked",
        optional=optional,
    )
    assert demo.call("GET", f"/v1/transfers/{tid}").status_code == 200

    ready = poll(
        lambda: demo.call("GET", f"/v1/transfers/{tid}"),
        lambda r: r.json().get("state") != "finalizing",
    )
    assert ready.json()["state"] == "ready"


# -- 503 -------------------------------------------------------------------------------------


def test_maintenance_is_503_with_a_wait_hint(demo: Demo) -> None:
    """The service is unavailable: 503 / 503, Retry-After and ``retry_after`` agree."""
    with demo.maintenance():
        for path, key in [("/v1/teapot", KEY_A), ("/v1/nowhere", KEY_A), ("/health", NONE)]:
            response = demo.call("GET", path, key=key)
            body = refused(response, 503, 503, "503: Service Unavailable", extra=("retry_after",))
            assert retry_after(response) == 30
            assert body["retry_after"] == 30
    assert demo.call("GET", "/health", key=NONE).status_code == 200
