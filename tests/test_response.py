"""Problems as HTTP responses: headers that cannot be split, negotiated bodies."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from errorbook import Catalog, render_response
from errorbook._response import safe_header_value


def test_retry_after_and_language_headers() -> None:
    """A retryable problem carries Retry-After in whole seconds and Content-Language."""
    catalog = Catalog.load("rfc9457")
    problem = catalog.problem("rate_limited", language="de", retry_after=1.2)
    response = render_response(catalog, problem)
    headers = dict(response.headers)
    assert response.status == 429
    assert headers["retry-after"] == "2"
    assert headers["content-language"] == "de"
    assert headers["content-type"] == "application/problem+json"
    assert headers["content-length"] == str(len(response.body))
    assert json.loads(response.body)["detail"] == problem.message


def test_headers_from_data_cannot_be_split() -> None:
    """CR, LF and other controls in header values from data become spaces."""
    catalog = Catalog.load("rfc9457")
    problem = catalog.problem(
        "internal", request_id="abc\r\nSet-Cookie: x=1", headers={"X-A": "1\n2"}
    )
    response = render_response(catalog, problem)
    for name, value in response.headers:
        assert "\r" not in value, name
        assert "\n" not in value, name
    assert safe_header_value("a\x00b\tc") == "a b\tc"


def test_xml_when_asked() -> None:
    """Accept: application/problem+xml gives a well-formed RFC 9457 XML document."""
    catalog = Catalog.load("rfc9457")
    response = render_response(
        catalog, catalog.problem("invalid_json"), accept="application/problem+xml"
    )
    root = ET.fromstring(response.body)
    assert root.tag == "{urn:ietf:rfc:7807}problem"
    assert dict(response.headers)["content-type"] == "application/problem+xml"
    assert response.to_http().startswith("HTTP/1.1 400 Bad Request\r\n")


def test_header_names_and_language_from_data_cannot_inject() -> None:
    """Header names that are not tokens are dropped; a bad language tag is not sent."""
    catalog = Catalog.load("rfc9457")
    problem = catalog.problem(
        "internal", headers={"X-A\r\nSet-Cookie: evil=1": "v", "X-Ok": "caf\u00e9\u2028"}
    )
    problem.language = "en\r\nSet-Cookie: a=b"
    response = render_response(catalog, problem)
    names = [name for name, _ in response.headers]
    assert all(":" not in name and "\n" not in name for name in names)
    assert "content-language" not in names
    assert dict(response.headers)["x-ok"] == "caf? "
    assert "Set-Cookie" not in response.to_http()


def test_non_finite_retry_after_sends_no_header() -> None:
    """A NaN or infinite retry hint (from a hostile parsed body) is not turned into a header."""
    catalog = Catalog.load("rfc9457")
    for value in (float("nan"), float("inf"), 10**400):
        problem = catalog.problem("maintenance", retry_after=value)
        assert problem.retry_after == value or problem.retry_after != problem.retry_after
        headers = dict(render_response(catalog, problem).headers)
        assert "retry-after" not in headers
    assert (
        dict(render_response(catalog, catalog.problem("maintenance")).headers)["retry-after"]
        == "60"
    )
