"""The HTML glossary: a standalone, well-formed page where catalog text is never markup."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from errorbook._catalog import Catalog
from errorbook._docs import entry_anchor, render_html, render_html_index
from errorbook._profiles import profile_names
from errorbook._spec import ErrorSpec

VOID = frozenset({"meta", "br", "hr", "img", "input", "link"})
STYLES = ("table", "sections", "endpoints")


class Checker(HTMLParser):
    """Records ids, links and tags, and fails on any element closed out of order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name == "id" and value is not None:
                self.ids.append(value)
            if name == "href" and value is not None:
                self.hrefs.append(value)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1:] == [tag], f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check(page: str) -> Checker:
    assert page.startswith("<!doctype html>\n")
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.stack == [], f"unclosed: {checker.stack}"
    assert len(checker.ids) == len(set(checker.ids)), "duplicate ids"
    assert "script" not in checker.tags
    return checker


def catalog(errors: dict[str, Any], **top: Any) -> Catalog:
    return Catalog.from_dict({"name": "Test API", "errors": errors, **top})


CASES = [(name, style) for name in profile_names() for style in STYLES]


@pytest.mark.parametrize(("name", "style"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_every_entry_has_an_anchor(name: str, style: str) -> None:
    """Each profile's page parses cleanly and has exactly one id per entry, in every style."""
    cat = Catalog.load(name)
    checker = check(render_html(cat, style=style))
    assert {entry_anchor(spec) for spec in cat} <= set(checker.ids)


def test_type_uri_points_at_the_anchor() -> None:
    """A problem's type URI ends in its code, which is its entry's id on the page."""
    cat = Catalog.load("tape")
    spec = cat.by_code("too_many_requets")
    page = render_html(cat)
    assert cat.type_uri(spec) == f"{cat.type_base}{entry_anchor(spec)}"
    assert f'<tr id="{entry_anchor(spec)}">' in page


def test_markup_in_catalog_text_is_escaped() -> None:
    """HTML in titles, descriptions, intro and statuses shows as text and never runs."""
    evil = "<script>alert(1)</script>"
    errors = {
        "e": {
            "status": 400,
            "title": f"Title {evil}",
            "message": "m",
            "description": f"Desc {evil} [x](javascript:alert(1)) <img src=x onerror=alert(1)>",
            "resolution": f"Fix {evil}",
        }
    }
    docs = {"title": f"T {evil}", "intro": f"Intro {evil}", "status_table": True}
    for style in STYLES:
        columns = {"title": "T", "description": "D", "resolution": "R"}
        top = {"docs": {**docs, "columns": columns}, "statuses": {400: f"Bad {evil}"}}
        page = render_html(catalog(errors, **top), style=style)
        checker = check(page)
        assert "<img" not in page
        assert "javascript:" not in "".join(checker.hrefs)
        assert page.count("&lt;script&gt;") >= 4
        assert "alert(1)" in "".join(checker.text)


def test_markdown_in_descriptions_is_rendered() -> None:
    """Descriptions are Markdown: emphasis, code and links become HTML."""
    errors = {"e": {"status": 400, "description": "Use *this* `code` [docs](https://x.test/)."}}
    page = render_html(catalog(errors), style="sections")
    assert "<em>this</em> <code>code</code>" in page
    assert '<a href="https://x.test/">docs</a>' in page


def test_page_title_and_language() -> None:
    """The title comes from front matter, else the heading, else the name; lang follows."""
    assert "<title>Front</title>" in render_html(
        catalog({"e": {"status": 400}}, docs={"title": "Front"})
    )
    assert "<h1>Head</h1>" in render_html(catalog({"e": {"status": 400}}, docs={"heading": "Head"}))
    page = render_html(catalog({"e": {"status": 400}}), language="de")
    assert "<title>Test API</title>" in page
    assert '<html lang="de">' in page


def test_page_is_standalone() -> None:
    """The page declares its charset and loads nothing from elsewhere."""
    page = render_html(Catalog.load("discord"))
    assert '<meta charset="utf-8">' in page
    assert "<style>" in page
    assert not re.search(r"<(link|script|img|iframe)\b|\bsrc=", page)


def test_index_links_every_catalog() -> None:
    """The index links each catalog's page and Markdown by slug, with escaped names."""
    cats = {"tape": Catalog.load("tape"), "odd name": catalog({"e": {"status": 400}}, name="<A&B>")}
    page = render_html_index(cats)
    checker = check(page)
    assert {"/tape/", "/tape.md", "/odd%20name/", "/odd%20name.md"} <= set(checker.hrefs)
    assert "&lt;A&amp;B&gt;" in page
    assert "No catalogs." in render_html_index({})


def spec(code: str | int) -> ErrorSpec:
    return ErrorSpec(key="k", code=code, status=400, title={"en": "t"}, message={})


@given(st.text(min_size=1), st.text(min_size=1))
def test_anchor_is_safe_and_distinct(first: str, second: str) -> None:
    """Anchors use only URL-safe characters, and distinct codes get distinct anchors."""
    anchor = entry_anchor(spec(first))
    assert re.fullmatch(r"[A-Za-z0-9_.~%-]+", anchor)
    assert (anchor == entry_anchor(spec(second))) == (first == second)


@pytest.mark.parametrize("code", ["invalid_json", 50014, "a.b-c"], ids=str)
def test_plain_codes_are_their_own_anchor(code: str | int) -> None:
    """Codes made of safe characters are used as anchors unchanged."""
    assert entry_anchor(spec(code)) == str(code)


# Tags the page never uses itself, one per place plain text reaches the page.
HOSTILE = {
    "code": "<b>x</b>",
    "title": "<ins>t</ins>",
    "message": "<u>m</u>",
    "heading": "<small>Top</small>",
    "table_heading": "<mark>Entries</mark>",
    "column": "<i>Col</i>",
    "status_heading": "<kbd>Codes</kbd>",
    "status_header": "<sub>St</sub>",
    "meaning_header": "<sup>Mn</sup>",
    "label": "<var>{status}</var>",
    "endpoint": "<script>alert(1)</script>",
}


def hostile_catalog() -> Catalog:
    errors = {
        "e": {
            "status": 400,
            "code": HOSTILE["code"],
            "title": HOSTILE["title"],
            "message": HOSTILE["message"],
            "endpoints": ["POST /x"],
        }
    }
    columns = {
        "code": HOSTILE["column"],
        "title": "Title",
        "message": "Message",
        "status_title": "Status",
    }
    docs = {
        "heading": HOSTILE["heading"],
        "table_heading": HOSTILE["table_heading"],
        "columns": columns,
        "endpoint_columns": columns,
        "status_table": {
            "heading": HOSTILE["status_heading"],
            "status": HOSTILE["status_header"],
            "meaning": HOSTILE["meaning_header"],
            "label": HOSTILE["label"],
        },
    }
    return catalog(errors, endpoints={"POST /x": HOSTILE["endpoint"]}, docs=docs)


PLACES = {
    "table": ["code", "title", "message", "heading", "table_heading", "column"],
    "sections": ["title", "heading"],
    "endpoints": ["code", "title", "message", "heading", "column", "endpoint"],
}


@pytest.mark.parametrize("style", STYLES, ids=str)
def test_markup_in_plain_text_is_escaped(style: str) -> None:
    """Codes, titles, messages, headings, column headers, status-table headings and labels,
    and endpoint titles show their markup as text."""
    page = render_html(hostile_catalog(), style=style)
    checker = check(page)
    tags = {"b", "ins", "u", "small", "mark", "i", "kbd", "sub", "sup", "var", "script"}
    assert not checker.tags & tags
    status_table = ["status_heading", "status_header", "meaning_header"]
    for place in [*PLACES[style], *status_table]:
        assert HOSTILE[place] not in page, place
        assert escape(HOSTILE[place]) in page, place
    # The label is Markdown: its tag is text too, around the status it names.
    assert escape("<var>400</var>") in page
    assert f"<title>{escape(HOSTILE['heading'])}</title>" in page
    assert f"<h1>{escape(HOSTILE['heading'])}</h1>" in page
    if style != "sections":
        assert f"<code>{escape(HOSTILE['code'])}</code>" in page
        assert f"<th>{escape(HOSTILE['column'])}</th>" in page
    if style == "endpoints":
        assert f"<h3>{escape(HOSTILE['endpoint'])}</h3>" in page
    assert entry_anchor(hostile_catalog()["e"]) in checker.ids


def test_strikethrough_is_markdown_only_where_markdown_is() -> None:
    """Descriptions are GitHub-flavoured Markdown (``~~`` strikes through); titles are text."""
    errors = {"e": {"status": 400, "title": "~~old~~", "message": "m", "description": "~~gone~~"}}
    page = render_html(catalog(errors), style="sections")
    assert "<s>gone</s>" in page
    assert "400 ~~old~~</h3>" in page
