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
