"""The glossary the layer serves at /errors, so that problem type URIs resolve."""

from __future__ import annotations

import pytest

from errorbook._layer import ErrorLayer, api_key

from ._driver import ok_app, run

LAYER = ErrorLayer(ok_app, routes=[("GET", "/v1/a")], auth=api_key(keys={"k"}))


@pytest.mark.parametrize(
    ("accept", "content_type", "start"),
    [
        (None, "text/html; charset=utf-8", b"<!doctype html>"),
        ("text/html,*/*;q=0.8", "text/html; charset=utf-8", b"<!doctype html>"),
        ("text/markdown", "text/markdown; charset=utf-8", b"---"),
        ("application/json", "application/json", b"[{"),
        ("image/png", "text/html; charset=utf-8", b"<!doctype html>"),
    ],
    ids=["default", "browser", "markdown", "json", "unsatisfiable"],
)
def test_index(accept: str | None, content_type: str, start: bytes) -> None:
    """GET /errors is HTML, or Markdown or JSON by Accept, without credentials."""
    headers = [] if accept is None else [("accept", accept)]
    result = run(LAYER, path="/errors", headers=headers)
    assert result.status == 200
    assert result.header("content-type") == content_type
    assert result.body.startswith(start)
    assert result.header("x-request-id")


def test_json_index_entries() -> None:
    """The JSON index lists every entry with key, code, status, title and retry."""
    entries = run(LAYER, path="/errors", headers=[("accept", "application/json")]).json()
    first = entries[0]
    assert set(first) == {"key", "code", "status", "title", "retry"}
    assert {e["code"] for e in entries} >= {"unknown_route", "internal"}


def test_problem_type_resolves() -> None:
    """A problem's type URI is a page of the glossary, in HTML and JSON."""
    problem = run(LAYER, path="/nope").json()
    page = run(LAYER, path=problem["type"])
    assert page.status == 200
    assert b"Not found" in page.body
    entry = run(LAYER, path=problem["type"], headers=[("accept", "application/json")]).json()
    assert entry["code"] == "unknown_route"
    assert entry["status"] == 404


def test_unknown_entry() -> None:
    """An unknown code under /errors is the catalog's unknown_route problem."""
    result = run(LAYER, path="/errors/nope")
    assert result.status == 404
    assert result.json()["code"] == "unknown_route"


def test_other_methods() -> None:
    """The glossary is read-only: other methods get 405 with Allow: GET, HEAD."""
    result = run(LAYER, method="POST", path="/errors")
    assert result.status == 405
    assert result.header("allow") == "GET, HEAD"


def test_head() -> None:
    """HEAD on the glossary has its headers and no body."""
    result = run(LAYER, method="HEAD", path="/errors")
    assert result.status == 200
    assert result.body == b""
    assert int(result.header("content-length") or 0) > 1000


def test_entry_html_escapes_catalog_text() -> None:
    """Catalog text is data on the entry page: markup in it is escaped."""
    catalog = {
        "name": "<b>X</b>",
        "errors": {"bad": {"status": 400, "title": "<script>t</script>", "on": []}},
    }
    page = run(ErrorLayer(ok_app, catalog=catalog), path="/errors/bad").body
    assert b"<script>" not in page
    assert b"&lt;script&gt;" in page


@pytest.mark.parametrize("path", ["/api/errors", "/docs/errors/"], ids=["nested", "slash"])
def test_other_path(path: str) -> None:
    """The glossary can live elsewhere; None turns it off."""
    assert run(ErrorLayer(ok_app, glossary=path), path=path.rstrip("/")).status == 200
    assert run(ErrorLayer(ok_app, glossary=None), path="/errors").header("x-app") == "1"


@pytest.mark.parametrize("path", ["errors", "/", ""], ids=["relative", "root", "empty"])
def test_bad_path(path: str) -> None:
    """The glossary needs an absolute path other than the root."""
    with pytest.raises(ValueError, match="glossary"):
        ErrorLayer(ok_app, glossary=path)
