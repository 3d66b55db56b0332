"""The default `rfc9457` profile, live: problem details for every situation over a socket.

Each error is ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``,
``code`` and ``request_id``; its ``type`` must resolve to the glossary the service serves at
``/errors/{code}``, and ``Content-Language`` must say the language of the text.
"""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

import httpx
import pytest

from ._demo import (
    DAMAGED_FILES,
    KEY_A,
    KEY_B,
    NONE,
    OCTET,
    UNSUPPORTED_FILES,
    Demo,
    allowed,
    chunks,
    poll,
    retry_after,
)

PROFILE = "rfc9457"
LIMIT = 5 * 1024 * 1024
STANDARD = {"type", "title", "status", "detail", "code", "request_id"}


def problem(
    demo: Demo,
    response: httpx.Response,
    status: int,
    code: str | None = None,
    *,
    extra: Iterable[str] = (),
    optional: Iterable[str] = (),
    language: str = "en",
) -> dict[str, Any]:
    """A problem+json answer with ``status``; its ``type`` resolves to its glossary entry.

    ``extra`` members must be present beside the standard ones; ``optional`` extension
    members may be.
    """
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    assert response.headers.get("content-language") == language
    body = json.loads(response.content)
    required = STANDARD | set(extra)
    assert required <= set(body) <= required | set(optional), body
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    assert isinstance(body["code"], str)
    assert body["code"]
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if code is not None:
        assert body["code"] == code, body
    resolves(demo, body)
    return body


def resolves(demo: Demo, body: dict[str, Any]) -> None:
    """``type`` is the glossary page of ``code``, which the service serves."""
    assert body["type"] == f"/errors/{body['code']}"
    url = httpx.URL(demo.base_url).join(body["type"])
    entry = demo.call("GET", str(url), key=NONE, headers={"Accept": "application/json"})
    assert entry.status_code == 200, f"{body['type']} does not resolve: {entry.status_code}"
    data = entry.json()
    assert data["code"] == body["code"]
    assert data["status"] == body["status"]
    assert data["type"] == body["type"]
    page = demo.call("GET", str(url), key=NONE)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")


def post_json(demo: Demo, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return demo.call("POST", path, content=content, headers=headers, **kwargs)


# -- the layer's conditions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [("GET", "/v1/nowhere", KEY_A), ("POST", "/v2/trackers", NONE), ("GET", "/", NONE)],
)
def test_an_unknown_route_is_404(demo: Demo, method: str, path: str, key: str | None) -> None:
    """No resource at the URL: 404 ``unknown_route``, key or not."""
    body = problem(demo, demo.call(method, path, key=key), 404, "unknown_route")
    assert body["detail"] == "No resource lives at this URL."


@pytest.mark.parametrize(
    ("method", "path", "methods"),
    [
        ("DELETE", "/v1/trackers", {"POST"}),
        ("POST", "/v1/transfers/abc", {"GET"}),
        ("PUT", "/v1/teapot", {"GET"}),
        ("POST", "/errors", {"GET"}),
    ],
)
def test_a_method_the_route_does_not_take_is_405_with_allow(
    demo: Demo, method: str, path: str, methods: set[str]
) -> None:
    """405 ``method_not_allowed`` and an Allow header with the methods that work."""
    response = demo.call(method, path, key=NONE)
    problem(demo, response, 405, "method_not_allowed")
    allow = allowed(response)
    assert methods <= allow
    assert method not in allow


@pytest.mark.parametrize(
    ("headers", "invalid"),
    [
        ({}, False),
        ({"Authorization": "Bearer wrong"}, True),
        ({"Authorization": f"Bearer {KEY_A}-revoked"}, True),
    ],
    ids=["absent", "wrong", "altered"],
)
def test_missing_or_wrong_credentials_are_401_with_a_challenge(
    demo: Demo, headers: dict[str, str], invalid: bool
) -> None:
    """401 ``unauthenticated`` with ``WWW-Authenticate: Bearer`` (RFC 6750 on a bad token)."""
    response = demo.call("GET", "/v1/teapot", key=NONE, headers=headers)
    problem(demo, response, 401, "unauthenticated")
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer")
    assert ('error="invalid_token"' in challenge) is invalid


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_of_an_unread_media_type_is_415(demo: Demo, content_type: str | None) -> None:
    """A JSON route given a body that is not declared JSON: 415 ``unsupported_media_type``."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = demo.call("POST", "/v1/trackers", content=b'{"name": "x"}', headers=headers)
    problem(demo, response, 415, "unsupported_media_type")


@pytest.mark.parametrize("accept", ["text/csv", "image/png, text/html", "text/plain;q=1, */*;q=0"])
def test_an_accept_nothing_can_satisfy_is_406(demo: Demo, accept: str) -> None:
    """406 ``not_acceptable``, itself sent as problem+json."""
    tracker = demo.create_tracker()
    response = demo.call("GET", f"/v1/trackers/{tracker['id']}", headers={"Accept": accept})
    problem(demo, response, 406, "not_acceptable")


@pytest.mark.parametrize("kind", ["content-length", "chunked"])
def test_a_body_over_the_limit_is_413_naming_it(demo: Demo, kind: str) -> None:
    """413 ``payload_too_large`` with the limit, whether or not the length was announced."""
    content: Any = chunks(LIMIT + 1) if kind == "chunked" else b"\0" * (LIMIT + 1)
    response = demo.call("POST", "/v1/rebuild", content=content, headers=OCTET)
    body = problem(demo, response, 413, "payload_too_large")
    assert str(LIMIT) in body["detail"]


@pytest.mark.parametrize(
    ("content", "line"), [(b'{"name": ', 1), (b'{"name": "a"\n  "b": 1}', 2)], ids=["cut", "comma"]
)
def test_malformed_json_is_400_with_its_position(demo: Demo, content: bytes, line: int) -> None:
    """400 ``invalid_json`` saying at which line and column parsing stopped."""
    response = post_json(demo, "/v1/trackers", content)
    body = problem(demo, response, 400, "invalid_json", extra=("line", "column"))
    assert body["line"] == line
    assert isinstance(body["column"], int)
    assert body["column"] >= 1


@pytest.mark.parametrize(
    ("path", "payload", "pointers"),
    [
        ("/v1/transfers", {"name": "t", "files": [{"name": "a", "size": -1}]}, {"/files/0/size"}),
        ("/v1/transfers", {"name": "t", "files": []}, {"/files"}),
        ("/v1/trackers", {"name": ""}, {"/name"}),
        ("/v1/jobs", {"seconds": 600}, {"/seconds"}),
    ],
    ids=["negative-size", "no-files", "empty-name", "job-too-long"],
)
def test_invalid_fields_are_422_with_a_pointer_each(
    demo: Demo, path: str, payload: dict[str, Any], pointers: set[str]
) -> None:
    """422 ``validation_failed``, ``errors`` holding a JSON pointer, code and detail per field."""
    body = problem(
        demo, post_json(demo, path, payload), 422, "validation_failed", extra=("errors",)
    )
    assert {error["pointer"] for error in body["errors"]} == pointers
    for error in body["errors"]:
        assert set(error) == {"pointer", "code", "detail"}
        assert error["code"]
        assert error["detail"]


def test_maintenance_is_503_with_retry_after(demo: Demo) -> None:
    """503 ``maintenance`` with Retry-After; the glossary stays reachable, so ``type`` does."""
    with demo.maintenance():
        for path, key in [("/v1/teapot", KEY_A), ("/health", NONE), ("/v1/nowhere", NONE)]:
            response = demo.call("GET", path, key=key)
            body = problem(demo, response, 503, "maintenance", extra=("retry_after",))
            assert retry_after(response) == 60
            assert body["retry_after"] == 60
    assert demo.call("GET", "/health", key=NONE).json() == {"status": "ok"}


# -- the service's own situations ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["transfers", "trackers", "jobs"])
def test_an_unknown_or_foreign_resource_is_404(demo: Demo, kind: str) -> None:
    """An id nobody has and an id another key owns get the same problem."""
    if kind == "transfers":
        own = demo.create_transfer()["id"]
    elif kind == "trackers":
        own = demo.create_tracker()["id"]
    else:
        own = demo.create_job(0.1)["id"]
    foreign = problem(demo, demo.call("GET", f"/v1/{kind}/{own}", key=KEY_B), 404)
    unknown = problem(demo, demo.call("GET", f"/v1/{kind}/{uuid.uuid4().hex}"), 404)
    del foreign["request_id"], unknown["request_id"]
    assert foreign["code"] == unknown["code"]
    assert foreign["title"] == unknown["title"]


def test_a_tracker_name_in_use_is_409(demo: Demo) -> None:
    """A second tracker with the same name for the same key is a conflict."""
    name = f"taken-{uuid.uuid4().hex[:6]}"
    demo.create_tracker(name)
    problem(demo, post_json(demo, "/v1/trackers", {"name": name}), 409)


def test_an_expired_transfer_is_410(demo: Demo) -> None:
    """Past ``expires_in`` the transfer is gone."""
    transfer = demo.create_transfer(expires_in=0.3)
    gone = poll(
        lambda: demo.call("GET", f"/v1/transfers/{transfer['id']}"),
        lambda r: r.status_code != 200,
    )
    problem(demo, gone, 410)


def test_writes_to_a_finalizing_transfer_are_423(demo: Demo) -> None:
    """Finalising: 202 with Retry-After, writes are locked, then the transfer is ready."""
    transfer = demo.create_transfer(sizes=(0,))
    tid, fid = transfer["id"], transfer["files"][0]["id"]
    assert demo.call("POST", f"/v1/transfers/{tid}/files/{fid}/complete").status_code == 200
    started = post_json(demo, f"/v1/transfers/{tid}/finalize", {"seconds": 1.0})
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "finalizing"
    retry_after(started)
    locked = post_json(demo, f"/v1/transfers/{tid}/finalize", {"seconds": 1.0})
    assert locked.status_code == 423, locked.text
    hint = {"retry_after"} & set(locked.json())  # a wait hint is welcome, not required
    problem(demo, locked, 423, extra=hint)
    ready = poll(
        lambda: demo.call("GET", f"/v1/transfers/{tid}"),
        lambda r: r.json().get("state") != "finalizing",
    )
    assert ready.json()["state"] == "ready"


def test_completing_a_file_of_the_wrong_size_names_both_sizes(demo: Demo) -> None:
    """The "Expected X to be Y" situation: a client error whose detail gives both sizes."""
    transfer = demo.create_transfer(sizes=(1234,))
    tid, fid = transfer["id"], transfer["files"][0]["id"]
    assert demo.put_part(tid, fid, 1, b"x" * 56).status_code == 200
    response = demo.call("POST", f"/v1/transfers/{tid}/files/{fid}/complete")
    assert 400 <= response.status_code < 500, response.text
    body = problem(demo, response, response.status_code)
    assert re.search(r"\b56\b", body["detail"]), body["detail"]
    assert re.search(r"\b1234\b", body["detail"]), body["detail"]


def test_unsupported_and_damaged_files_are_two_different_422s(demo: Demo) -> None:
    """Both are 422, with different codes, so a client can tell which one it got."""
    unsupported = problem(
        demo,
        demo.call("POST", "/v1/rebuild", content=UNSUPPORTED_FILES["gif"], headers=OCTET),
        422,
    )
    damaged = problem(
        demo,
        demo.call("POST", "/v1/rebuild", content=DAMAGED_FILES["pdf"](), headers=OCTET),
        422,
        optional=("reason",),
    )
    assert unsupported["code"] != damaged["code"]


def test_the_teapot_is_418(demo: Demo) -> None:
    """GET /v1/teapot answers 418 as a problem."""
    problem(demo, demo.call("GET", "/v1/teapot"), 418)


# -- representation: language and XML --------------------------------------------------------


def test_a_german_client_gets_german_text_and_content_language(demo: Demo) -> None:
    """Accept-Language picks the entry's translation; Content-Language says which."""
    response = demo.call("GET", "/v1/nowhere", headers={"Accept-Language": "de-CH, de;q=0.9"})
    body = problem(demo, response, 404, "unknown_route", language="de")
    assert body["title"] == "Nicht gefunden"
    english = demo.call("GET", "/v1/nowhere", headers={"Accept-Language": "fr"})
    assert problem(demo, english, 404, "unknown_route")["title"] == "Not found"


def test_a_client_that_asks_for_xml_gets_problem_xml(demo: Demo) -> None:
    """``Accept: application/problem+xml`` gets the RFC 9457 XML form of the same problem."""
    response = demo.call("GET", "/v1/nowhere", headers={"Accept": "application/problem+xml"})
    assert response.status_code == 404
    assert response.headers["content-type"].split(";")[0] == "application/problem+xml"
    root = ET.fromstring(response.content)
    ns = "{urn:ietf:rfc:7807}"
    assert root.tag == f"{ns}problem"
    assert root.findtext(f"{ns}status") == "404"
    assert root.findtext(f"{ns}code") == "unknown_route"
    assert root.findtext(f"{ns}type") == "/errors/unknown_route"


def test_the_glossary_and_health_are_public(demo: Demo) -> None:
    """``/errors``, ``/health`` and ``/openapi.json`` answer without a credential."""
    index = demo.call("GET", "/errors", key=NONE, headers={"Accept": "application/json"})
    assert index.status_code == 200
    codes = {entry["code"] for entry in index.json()}
    assert {"unknown_route", "unauthenticated", "maintenance", "payload_too_large"} <= codes
    assert demo.call("GET", "/health", key=NONE).json() == {"status": "ok"}
    spec = demo.call("GET", "/openapi.json", key=NONE)
    assert spec.status_code == 200
    assert spec.json()["openapi"].startswith("3.1")


def test_a_request_without_an_id_gets_one_in_the_header_and_the_body(demo: Demo) -> None:
    """The service makes a request id when none is sent, and the problem carries that id."""
    response = demo.client.get("/v1/nowhere")
    assert response.status_code == 404
    made = response.headers.get("x-request-id")
    assert made
    assert response.json()["request_id"] == made
    again = demo.client.get("/v1/nowhere")
    assert again.headers.get("x-request-id") not in (None, made)
