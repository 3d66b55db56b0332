"""The `wetransfer` profile, live: every situation of seed page 003 over a real socket.

Every error body of this API is a JSON object whose only member is ``message``, so each
check compares the whole body.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from ._demo import KEY_A, KEY_B, NONE, Demo, allowed, json_body, poll, retry_after

PROFILE = "wetransfer"

MISSING_TOKEN = "Missing Authentication Token"
FORBIDDEN = "Forbidden"
UNSUPPORTED_MEDIA = "Unsupported Media Type"
UNSUPPORTED_METHOD = "Unsupported HTTP method"
BAD_REQUEST = "The request could not be processed as sent."
NOT_FOUND = "The requested resource was not found."
NOT_ACCEPTABLE = "Only JSON responses are available."
GONE = "This transfer is no longer available."
TEAPOT = "I'm a teapot."
MAINTENANCE = "The API is down for scheduled maintenance."


def refused(response: httpx.Response, status: int, message: str) -> None:
    """The response is ``status`` with exactly ``{"message": message}`` as JSON."""
    assert response.status_code == status, response.text
    assert json_body(response) == {"message": message}


def a_transfer_body() -> dict[str, Any]:
    return {"name": f"t-{uuid.uuid4().hex[:6]}", "files": [{"name": "a.bin", "size": 4}]}


# -- Missing Authentication Token: the path does not exist ----------------------------------


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("GET", "/v1/nowhere", KEY_A),
        ("POST", "/v1/nowhere", KEY_A),
        ("GET", "/v1/nowhere", NONE),
        ("GET", "/transfers", KEY_A),  # the version prefix left out
        ("DELETE", "/v1/transfers/abc/files/def/parts/1/extra", KEY_A),
        ("GET", "/", NONE),
    ],
)
def test_an_unknown_path_answers_missing_authentication_token(
    demo: Demo, method: str, path: str, key: str | None
) -> None:
    """Whatever the verb and credential, a path with no endpoint gets the gateway's 403."""
    refused(demo.call(method, path, key=key), 403, MISSING_TOKEN)


# -- Forbidden: no key, or a key sent the wrong way -----------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-KEY": "not-a-key"},
        {"X-API-KEY": KEY_A.upper()},
        {"Authorization": f"Bearer {KEY_A}"},  # the key in the wrong header
        {"X-API-KEY": f"Bearer {KEY_A}"},  # the key with a scheme it does not take
    ],
    ids=["absent", "unknown", "wrong-case", "authorization-header", "with-scheme"],
)
@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v1/teapot"), ("POST", "/v1/transfers")], ids=["get", "post"]
)
def test_a_missing_or_wrong_api_key_is_forbidden(
    demo: Demo, headers: dict[str, str], method: str, path: str
) -> None:
    """Only the exact key in X-API-KEY gets in; everything else answers 403 Forbidden."""
    body = json.dumps(a_transfer_body()).encode() if method == "POST" else None
    sent = {**headers, "Content-Type": "application/json"}
    refused(demo.call(method, path, key=NONE, headers=sent, content=body), 403, FORBIDDEN)


def test_the_right_key_gets_in(demo: Demo) -> None:
    """The control for the 403 cases: the same requests with the key succeed."""
    assert demo.call("GET", "/v1/teapot").status_code == 418
    created = demo.call("POST", "/v1/transfers", json=a_transfer_body())
    assert created.status_code == 201, created.text


# -- Unsupported Media Type: Content-Type absent or wrong -----------------------------------


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/xml"],
    ids=["absent", "text", "form", "xml"],
)
def test_a_body_without_a_json_content_type_is_415(demo: Demo, content_type: str | None) -> None:
    """A JSON body sent without ``Content-Type: application/json`` is refused with 415."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    body = json.dumps(a_transfer_body()).encode()
    response = demo.call("POST", "/v1/transfers", headers=headers, content=body)
    refused(response, 415, UNSUPPORTED_MEDIA)


# -- Unsupported HTTP method: a known path, the wrong verb ----------------------------------


@pytest.mark.parametrize(
    ("method", "path", "methods"),
    [
        ("GET", "/v1/transfers", {"POST"}),
        ("DELETE", "/v1/transfers/abc", {"GET"}),
        ("POST", "/v1/teapot", {"GET"}),
        ("GET", "/v1/transfers/abc/files/def/complete", {"POST"}),
        ("POST", "/v1/transfers/abc/files/def/parts/1", {"PUT"}),
        ("GET", "/v1/admin/maintenance", {"PUT"}),
    ],
)
@pytest.mark.parametrize("key", [KEY_A, NONE], ids=["with-key", "without-key"])
def test_the_wrong_verb_is_unsupported_http_method(
    demo: Demo, method: str, path: str, methods: set[str], key: str | None
) -> None:
    """405 "Unsupported HTTP method" with an Allow header naming the verbs the path takes."""
    response = demo.call(method, path, key=key)
    refused(response, 405, UNSUPPORTED_METHOD)
    allow = allowed(response)
    assert methods <= allow
    assert method not in allow


# -- Expected X to be Y: completing a file whose size does not match ------------------------


@pytest.mark.parametrize(
    ("declared", "parts"),
    [(10, [b"abcd"]), (3, [b"abc", b"de"]), (6, [])],
    ids=["fewer-bytes", "more-bytes", "nothing-uploaded"],
)
def test_completing_a_file_of_the_wrong_size_says_expected_x_to_be_y(
    demo: Demo, declared: int, parts: list[bytes]
) -> None:
    """The message names the bytes received and the size declared when the file was added."""
    transfer = demo.create_transfer(sizes=(declared,))
    file_id = transfer["files"][0]["id"]
    received = 0
    for n, data in enumerate(parts, start=1):
        part = demo.put_part(transfer["id"], file_id, n, data)
        received += len(data)
        assert part.status_code == 200, part.text
        assert part.json() == {"file_id": file_id, "part": n, "received": received}
    response = demo.call("POST", f"/v1/transfers/{transfer['id']}/files/{file_id}/complete")
    refused(response, 400, f"Expected {received} to be {declared}")


def test_completing_a_file_once_every_byte_is_there_succeeds(demo: Demo) -> None:
    """After the mismatch is fixed (a part re-sent, the rest uploaded) complete answers 200."""
    transfer = demo.create_transfer(sizes=(10,))
    tid, fid = transfer["id"], transfer["files"][0]["id"]
    assert demo.put_part(tid, fid, 1, b"abcdefgh").json()["received"] == 8
    assert demo.put_part(tid, fid, 1, b"abcd").json()["received"] == 4  # replaced, not added
    refused(
        demo.call("POST", f"/v1/transfers/{tid}/files/{fid}/complete"), 400, "Expected 4 to be 10"
    )
    assert demo.put_part(tid, fid, 2, b"efghij").json()["received"] == 10
    done = demo.call("POST", f"/v1/transfers/{tid}/files/{fid}/complete")
    assert done.status_code == 200, done.text
    body = done.json()
    assert {"id": fid, "size": 10, "received": 10, "complete": True}.items() <= body.items()


# -- 400 Bad Request -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b'{"name": "t", "files": [',
        b"{'name': 't'}",
        b'{"name": "t"} trailing',
        json.dumps({"files": [{"name": "a", "size": 1}]}).encode(),  # no name
        json.dumps({"name": "t", "files": []}).encode(),  # no file
        json.dumps({"name": "t", "files": [{"name": "a", "size": -1}]}).encode(),
        json.dumps({"name": "", "files": [{"name": "a", "size": 1}]}).encode(),
        json.dumps({"name": "t", "files": [{"name": "a", "size": 1}], "expires_in": 0}).encode(),
        b"[]",
    ],
    ids=[
        "truncated",
        "single-quotes",
        "trailing-text",
        "no-name",
        "no-files",
        "negative-size",
        "empty-name",
        "zero-expiry",
        "not-an-object",
    ],
)
def test_an_invalid_request_body_is_400(demo: Demo, content: bytes) -> None:
    """Malformed JSON and bodies that break the schema both answer 400 Bad Request; for the
    second, the one-member body's message goes on to say which field to fix."""
    response = demo.call(
        "POST", "/v1/transfers", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"message"}, body
    try:
        json.loads(content)
    except json.JSONDecodeError:
        assert body["message"] == BAD_REQUEST
    else:
        assert body["message"].startswith(BAD_REQUEST + " "), body
        assert len(body["message"]) > len(BAD_REQUEST) + 10, body


# -- 404 Not Found ---------------------------------------------------------------------------


def test_another_keys_transfer_is_not_found_like_an_unknown_one(demo: Demo) -> None:
    """A transfer is only reachable by its owner; to anyone else it does not exist."""
    transfer = demo.create_transfer(sizes=(4,), key=KEY_A)
    tid, fid = transfer["id"], transfer["files"][0]["id"]
    assert demo.call("GET", f"/v1/transfers/{tid}", key=KEY_A).status_code == 200

    unknown = demo.call("GET", f"/v1/transfers/{uuid.uuid4().hex}", key=KEY_B)
    refused(unknown, 404, NOT_FOUND)
    refused(demo.call("GET", f"/v1/transfers/{tid}", key=KEY_B), 404, NOT_FOUND)
    refused(demo.put_part(tid, fid, 1, b"abcd", key=KEY_B), 404, NOT_FOUND)
    refused(
        demo.call("POST", f"/v1/transfers/{tid}/files/{fid}/complete", key=KEY_B), 404, NOT_FOUND
    )
    refused(demo.call("POST", f"/v1/transfers/{tid}/finalize", key=KEY_B), 404, NOT_FOUND)
    # Nothing the other key tried reached the transfer.
    assert demo.call("GET", f"/v1/transfers/{tid}").json()["files"][0]["received"] == 0


# -- 406 Not Acceptable ----------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["application/xml", "text/html", "text/csv, text/plain"])
def test_asking_for_a_format_other_than_json_is_406(demo: Demo, accept: str) -> None:
    """An Accept header that rules JSON out is refused with 406."""
    transfer = demo.create_transfer()
    response = demo.call("GET", f"/v1/transfers/{transfer['id']}", headers={"Accept": accept})
    refused(response, 406, NOT_ACCEPTABLE)


@pytest.mark.parametrize("accept", ["application/json", "*/*", "application/xml, */*;q=0.1"])
def test_an_accept_header_that_allows_json_is_served(demo: Demo, accept: str) -> None:
    """The control for 406: JSON, or anything, is fine."""
    transfer = demo.create_transfer()
    response = demo.call("GET", f"/v1/transfers/{transfer['id']}", headers={"Accept": accept})
    assert response.status_code == 200, response.text


# -- 410 Gone --------------------------------------------------------------------------------


def test_an_expired_transfer_is_gone_on_every_route(demo: Demo) -> None:
    """Once ``expires_in`` has passed, the transfer and each of its routes answer 410."""
    transfer = demo.create_transfer(sizes=(4,), expires_in=0.3)
    tid, fid = transfer["id"], transfer["files"][0]["id"]
    gone = poll(lambda: demo.call("GET", f"/v1/transfers/{tid}"), lambda r: r.status_code != 200)
    refused(gone, 410, GONE)
    refused(demo.put_part(tid, fid, 1, b"abcd"), 410, GONE)
    refused(demo.call("POST", f"/v1/transfers/{tid}/files/{fid}/complete"), 410, GONE)
    refused(demo.call("POST", f"/v1/transfers/{tid}/finalize"), 410, GONE)


# -- 418 -------------------------------------------------------------------------------------


def test_the_teapot(demo: Demo) -> None:
    """GET /v1/teapot answers 418 with the profile's message."""
    refused(demo.call("GET", "/v1/teapot"), 418, TEAPOT)


# -- 503 Service Unavailable -----------------------------------------------------------------


def test_maintenance_answers_503_with_retry_after(demo: Demo) -> None:
    """While maintenance is on every route answers 503 + Retry-After, and it can be ended."""
    transfer = demo.create_transfer()
    with demo.maintenance():
        for method, path, key in [
            ("GET", "/v1/teapot", KEY_A),
            ("GET", f"/v1/transfers/{transfer['id']}", KEY_A),
            ("POST", "/v1/trackers", KEY_A),
            ("GET", "/v1/nowhere", KEY_A),
            ("GET", "/v1/teapot", NONE),
            ("GET", "/health", NONE),
        ]:
            response = demo.call(method, path, key=key)
            refused(response, 503, MAINTENANCE)
            assert retry_after(response) == 300
        # The glossary stays up, so the answer's documentation is reachable.
        assert demo.call("GET", "/errors", key=NONE).status_code == 200
        # The switch itself is exempt but still needs the key.
        refused(
            demo.call("PUT", "/v1/admin/maintenance", key=NONE, json={"on": False}), 403, FORBIDDEN
        )
    refused(demo.call("GET", "/v1/teapot"), 418, TEAPOT)
    assert demo.call("GET", "/health", key=NONE).json() == {"status": "ok"}


# -- the success paths the situations rely on ------------------------------------------------


def test_a_new_transfer_answers_201_with_location_and_etag(demo: Demo) -> None:
    """201 with the transfer, a Location that serves it and an ETag; 304 for that tag."""
    response = demo.call("POST", "/v1/transfers", json=a_transfer_body())
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "name", "state", "expires_at", "files"}
    assert body["state"] == "uploading"
    assert body["files"][0]["received"] == 0
    assert body["files"][0]["complete"] is False
    assert response.headers.get("etag")
    location = response.headers["location"]
    assert location.endswith(f"/v1/transfers/{body['id']}")

    fetched = demo.call("GET", location)
    assert fetched.status_code == 200
    assert fetched.json()["id"] == body["id"]
    etag = fetched.headers["etag"]
    assert not etag.startswith("W/")
    unchanged = demo.call("GET", location, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
