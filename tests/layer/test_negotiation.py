"""Guard 5: 415 for bodies of the wrong type, 406, and the format and language of problems."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from errorbook._layer import ErrorLayer
from errorbook._layer._media import MediaSet, accepts_any

from ._driver import ok_app, run

LAYER = ErrorLayer(
    ok_app,
    routes=[("POST", "/v1/items"), ("PUT", "/v1/blobs/{id}"), ("GET", "/v1/blobs/{id}")],
    route_options={
        "PUT /v1/blobs/{id}": {"body_types": ["application/octet-stream", "image/*"]},
        "GET /v1/blobs/{id}": {"produces": ["application/octet-stream"]},
    },
)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([("content-type", "application/json"), ("content-length", "2")], 200),
        ([("content-type", "Application/JSON; charset=utf-8"), ("content-length", "2")], 200),
        ([("content-type", "text/plain"), ("content-length", "2")], 415),
        ([("content-length", "2")], 415),
        ([("transfer-encoding", "chunked")], 415),
        ([("transfer-encoding", "gzip, Chunked"), ("content-type", "application/json")], 200),
        ([("content-length", "0")], 200),
        ([("content-length", "abc")], 415),
        ([], 200),
    ],
    ids=[
        "json",
        "case-and-params",
        "text",
        "no-type",
        "chunked-no-type",
        "chunked-json",
        "empty-body",
        "garbage-length",
        "no-body",
    ],
)
def test_unsupported_media_type(headers: list[tuple[str, str]], status: int) -> None:
    """A body needs a Content-Type in body_types, compared without parameters or case."""
    result = run(LAYER, method="POST", path="/v1/items", headers=headers, body=b"{}")
    assert result.status == status
    if status == 415:
        assert result.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("content_type", "status"),
    [("application/octet-stream", 200), ("image/png", 200), ("application/json", 415)],
    ids=["octets", "image-family", "json-not-here"],
)
def test_body_types_per_route(content_type: str, status: int) -> None:
    """A route's own body_types replace the layer's, families (image/*) included."""
    headers = [("content-type", content_type), ("content-length", "3")]
    assert run(LAYER, method="PUT", path="/v1/blobs/1", headers=headers, body=b"abc").status == (
        status
    )


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("application/json", 200),
        ("application/problem+json", 200),
        ("application/*", 200),
        ("*/*", 200),
        ("text/html, */*;q=0.1", 200),
        ("text/html", 406),
        ("application/json;q=0", 406),
        ("image/png, text/*", 406),
        ("not a media type", 200),
    ],
    ids=[
        "json",
        "problem-json",
        "family",
        "anything",
        "html-or-anything",
        "html-only",
        "json-refused",
        "images-and-text",
        "unparseable",
    ],
)
def test_not_acceptable(accept: str, status: int) -> None:
    """406 when Accept rules out both the catalog's formats and what the layer produces."""
    result = run(LAYER, method="POST", path="/v1/items", headers=[("accept", accept)])
    assert result.status == status


def test_not_acceptable_in_primary_format() -> None:
    """The 406 itself comes in the catalog's own format: the client must get something."""
    result = run(LAYER, method="POST", path="/v1/items", headers=[("accept", "text/html")])
    assert result.header("content-type") == "application/problem+json"
    assert result.json()["code"] == "not_acceptable"


def test_produces_per_route() -> None:
    """A route that produces octet-streams accepts a client that wants only those."""
    accept = [("accept", "application/octet-stream")]
    assert run(LAYER, path="/v1/blobs/1", headers=accept).status == 200
    assert run(LAYER, method="POST", path="/v1/items", headers=accept).status == 406


def test_problem_xml_when_asked() -> None:
    """A client preferring problem+xml gets RFC 9457's XML document."""
    result = run(LAYER, path="/nope", headers=[("accept", "application/problem+xml")])
    assert result.status == 404
    assert result.header("content-type") == "application/problem+xml"
    root = ET.fromstring(result.body)
    assert root.tag == "{urn:ietf:rfc:7807}problem"


@pytest.mark.parametrize(
    ("accept_language", "language", "word"),
    [
        ("de-CH, en;q=0.5", "de", "Ressource"),
        ("fr, en;q=0.8", "en", "resource"),
        ("fr", "en", "resource"),
        ("", "en", "resource"),
        ("\xff\x00;q=abc", "en", "resource"),
    ],
    ids=["swiss-german", "french-then-english", "unknown", "empty", "garbage"],
)
def test_language(accept_language: str, language: str, word: str) -> None:
    """The message follows Accept-Language where the catalog has it; Content-Language says."""
    result = run(LAYER, path="/nope", headers=[("accept-language", accept_language)])
    assert result.header("content-language") == language
    assert word in result.json()["detail"]


def test_vendor_format() -> None:
    """A catalog with a vendor shape answers in that shape, as application/json."""
    layer = ErrorLayer(ok_app, catalog="tape", routes=[("GET", "/")])
    result = run(layer, path="/nope")
    assert result.status == 400
    assert result.header("content-type") == "application/json"
    assert json.loads(result.body)["error_code"] == "invalid_request_url"


@pytest.mark.parametrize(
    ("accept", "offered", "expected"),
    [
        ("image/png", ["image/*"], True),
        ("*/*;q=0", ["application/json"], False),
        ("text/*", ["image/*"], False),
        ("anything", ["*/*"], True),
    ],
    ids=["family-offered", "all-refused", "other-family", "wildcard-offered"],
)
def test_accepts_any(accept: str, offered: list[str], expected: bool) -> None:
    """The Accept check handles offered families and wildcards."""
    assert accepts_any(accept, MediaSet(offered)) is expected


def test_media_set_rejects_garbage() -> None:
    """A body type that is not a media type is a configuration error."""
    with pytest.raises(ValueError, match="media type"):
        MediaSet(["json"])
