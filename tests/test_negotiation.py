"""Accept and Accept-Language negotiation."""

from __future__ import annotations

import pytest

from errorbook import Catalog, choose_format, choose_language
from errorbook._negotiation import parse_accept

RFC = Catalog.load("rfc9457")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "problem+json"),
        ("", "problem+json"),
        ("*/*", "problem+json"),
        ("application/json", "problem+json"),
        ("application/xml", "problem+xml"),
        ("application/problem+xml", "problem+xml"),
        ("application/problem+json;q=0.5, application/problem+xml", "problem+xml"),
        ("text/html, application/*;q=0.1", "problem+json"),
        ("application/problem+xml;q=0, */*", "problem+json"),
        ("text/html", None),
        ("application/json;q=0", None),
        ("garbage;;;,,", None),
    ],
    ids=repr,
)
def test_choose_format(accept: str | None, expected: str | None) -> None:
    """The most preferred acceptable format wins; none acceptable gives None (406)."""
    chosen = choose_format(RFC.formats, accept)
    assert (chosen.name if chosen else None) == expected


def test_json_only_catalog_refuses_xml() -> None:
    """A vendor JSON catalog offers no XML, so an XML-only client gets None (406)."""
    assert choose_format(Catalog.load("wetransfer").formats, "application/xml") is None


def test_bad_q_values_do_not_crash() -> None:
    """Malformed q-values count as zero instead of raising."""
    assert parse_accept("a/b;q=abc, c/d;q=2") == [("c/d", 1.0), ("a/b", 0.0)]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("de", "de"),
        ("de-CH, en;q=0.5", "de"),
        ("fr, *;q=0.1", "en"),
        ("fr", "en"),
        ("DE", "de"),
    ],
    ids=repr,
)
def test_choose_language(header: str | None, expected: str) -> None:
    """The best available language, by q-value and base tag, else the default."""
    assert choose_language(["en", "de"], header, "en") == expected


def test_nan_quality_is_refusal() -> None:
    """q=nan counts as zero, so it cannot outrank a real preference."""
    chosen = choose_format(
        RFC.formats, "application/problem+json;q=0.1, application/problem+xml;q=nan"
    )
    assert chosen is not None
    assert chosen.name == "problem+json"


def test_wildcard_language_respects_refusals() -> None:
    """`*` means any language the client did not refuse with q=0."""
    assert choose_language(["en", "de"], "de;q=0, *", "de") == "en"
