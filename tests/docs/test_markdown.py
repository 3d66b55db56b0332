"""The Markdown glossary: front matter, the three page styles, and cells that stay cells."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from errorbook._catalog import Catalog
from errorbook._docs import render_markdown
from errorbook._docs._markdown import author_markdown, code_span
from errorbook._docs_config import COLUMN_FIELDS

# GitHub's reading of Markdown: tables, strikethrough, raw HTML (linkify needs an extra
# package and only turns bare URLs into links, which changes no page structure).
GFM = MarkdownIt("gfm-like", {"linkify": False})
# How the HTML glossary reads author Markdown: GFM without raw HTML.
NO_HTML = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
TRICKY = st.text(alphabet=st.sampled_from("ab |`\\*_~{}<>&#[]()!\n\t-:"), min_size=1, max_size=30)
MARKDOWN = st.text(alphabet=st.sampled_from("ab `{}<>~*_\\|-#>[]():/@.\n "), max_size=40)
# A brace or angle bracket written as a backslash escape or a character reference: MDX reads
# it as a character, so the checker below hides it before looking for raw ones.
NEUTRALISED = re.compile(r"(?<!\\)((?:\\\\)*)\\[{}<]|&(?:#123|#125|lt);")
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)


def catalog(errors: dict[str, Any], **top: Any) -> Catalog:
    return Catalog.from_dict({"name": "Test API", "errors": errors, **top})


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table as a GFM parser reads it: rows of cell sources, header row first."""
    found: list[list[list[str]]] = []
    row: list[str] = []
    tokens: list[Token] = GFM.parse(markdown)
    for index, token in enumerate(tokens):
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            row.append(tokens[index + 1].content)
        elif token.type == "tr_close":
            found[-1].append(row)
    return found


def mdx_hazards(markdown: str) -> list[str]:
    """What an MDX parser would read as an expression or a JSX tag rather than as text.

    That is a ``{``, ``}`` or ``<`` in running text (code spans and fenced code are safe;
    MDX has no indented code), raw HTML other than the ``<br />`` of table cells, and
    autolinks, which MDX does not have.
    """
    masked = NEUTRALISED.sub(lambda m: (m.group(1) or "") + "\\U", FRONT_MATTER.sub("", markdown))
    hazards: list[str] = []

    def walk(tokens: list[Token]) -> None:
        for token in tokens:
            raw_html = token.type == "html_block" or (
                token.type == "html_inline" and token.content != "<br />"
            )
            running_text = token.type in ("text", "code_block")
            if (
                raw_html
                or token.markup == "autolink"
                or (running_text and re.search(r"[{}<]", token.content))
            ):
                hazards.append(token.content)
            walk(token.children or [])

    walk(GFM.parse(masked))
    return hazards


def plain(cell_source: str) -> str:
    """The text a table cell's Markdown shows, or a marker when it holds any markup."""
    tokens = GFM.parseInline(cell_source)[0].children or []
    kinds = {token.type for token in tokens}
    return "".join(t.content for t in tokens) if kinds <= {"text"} else f"<markup {kinds}>"


def headings(markdown: str) -> list[str]:
    """The plain text of every heading."""
    tokens = GFM.parse(markdown)
    return [plain(tokens[i + 1].content) for i, t in enumerate(tokens) if t.type == "heading_open"]


SIMPLE = {
    "b_second": {"status": 404, "code": "b_second", "description": "Missing."},
    "a_first": {"status": 400, "code": "a_first", "description": "Bad."},
    "c_third": {"status": 400, "code": "c_third", "description": "Also bad."},
}


def test_front_matter_round_trips() -> None:
    """Front matter keeps its keys, order and values, however awkward the values are."""
    docs = {
        "title": "Errors: the list",
        "id": "errors",
        "sidebar_label": "#1 'errors'",
        "slug": "/a/b/",
        "draft": False,
        "position": 3,
        "note": "yes",
    }
    markdown = render_markdown(catalog(SIMPLE, docs=docs))
    match = re.match(r"---\n(.*?)\n---\n", markdown, re.DOTALL)
    assert match
    loaded = yaml.safe_load(match.group(1))
    assert loaded == docs
    assert list(loaded) == list(docs)


def test_heading_without_front_matter() -> None:
    """Without front matter the page opens with the docs heading, else the catalog's name."""
    assert render_markdown(catalog(SIMPLE)).startswith("# Test API\n")
    markdown = render_markdown(catalog(SIMPLE, docs={"heading": "Errors", "intro": "Read me."}))
    assert markdown.startswith("# Errors\n\nRead me.\n")


def test_table_default_columns_and_order() -> None:
    """The table style defaults to four columns and sorts rows by status, then code."""
    markdown = render_markdown(catalog(SIMPLE))
    assert "| Status | Code | Title | Description |" in markdown
    table = tables(markdown)[0]
    assert [row[1] for row in table[1:]] == ["`a_first`", "`c_third`", "`b_second`"]


def test_integer_codes_sort_numerically() -> None:
    """Integer wire codes sort as numbers, before text codes of the same status."""
    errors = {
        "big": {"status": 400, "code": 50035},
        "small": {"status": 400, "code": 0},
        "text": {"status": 400, "code": "alpha"},
        "mid": {"status": 400, "code": 10003},
    }
    table = tables(render_markdown(catalog(errors)))[0]
    assert [row[1].strip("`") for row in table[1:]] == ["0", "10003", "50035", "alpha"]


def test_every_column_field_renders() -> None:
    """Each column field fills its cell: example bodies and messages use the example params."""
    errors = {
        "mismatch": {
            "status": 400,
            "title": "Size mismatch",
            "message": "Expected {expected} to be {actual}",
            "params": {"expected": "int", "actual": "int"},
            "example": {"expected": 1, "actual": 2},
            "description": "Sizes differ.",
            "resolution": "Upload it all.",
        },
        "slow": {"status": 429, "retry": "after", "retry_after": 2},
    }
    columns = {field: field for field in COLUMN_FIELDS}
    cat = catalog(errors, docs={"columns": columns})
    table = tables(render_markdown(cat))[0]
    assert table[0] == list(COLUMN_FIELDS)
    row = dict(zip(table[0], table[1], strict=True))
    assert row["status"] == "400"
    assert row["status_title"] == "400 - Size mismatch"
    assert row["message"] == "Expected 1 to be 2"
    assert json.loads(row["example"].strip("`"))["detail"] == "Expected 1 to be 2"
    assert row["retry"] == "No"
    slow = dict(zip(table[0], table[2], strict=True))
    assert "2 s" in slow["retry"]


def test_example_without_values_still_renders() -> None:
    """An entry whose params have no example values gets placeholders in its example body."""
    errors = {"e": {"status": 400, "message": "Bad {field}", "params": {"field": "str"}}}
    markdown = render_markdown(catalog(errors, docs={"columns": {"example": "Body"}}))
    assert "Bad ..." in markdown


def test_cells_never_break_the_table() -> None:
    """Pipes, line breaks and backticks in catalog text stay inside their cells."""
    errors = {
        "odd": {
            "status": 400,
            "code": "a|b`c",
            "title": "Pipe | and `tick`",
            "message": "m",
            "description": "Line one | still one\nline two.\n\nA second paragraph with `a | b`.",
            "resolution": "Escaped \\| already.",
        }
    }
    columns = {"code": "Code", "title": "Title", "description": "D", "resolution": "R"}
    markdown = render_markdown(catalog(errors, docs={"columns": columns}))
    table = tables(markdown)[0]
    assert len(table) == 2
    code, title, description, resolution = table[1]
    assert code.strip("` ") == "a|b`c"
    assert title.replace("\\", "") == "Pipe | and `tick`"
    assert "Line one | still one line two." in description
    assert "<br />" in description
    assert resolution == "Escaped | already."


@settings(max_examples=60, deadline=None)
@given(title=TRICKY.filter(str.strip), description=TRICKY)
def test_any_text_keeps_the_table_shape(title: str, description: str) -> None:
    """Whatever a title or description holds, the table keeps one row of three cells."""
    errors = {"e": {"status": 400, "title": title, "message": "m", "description": description}}
    columns = {"status": "S", "title": "T", "description": "D"}
    markdown = render_markdown(catalog(errors, docs={"columns": columns}))
    table = tables(markdown)[0]
    assert [len(row) for row in table] == [3, 3]
    assert table[1][0] == "400"


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("a `\\|*"), min_size=1, max_size=20))
def test_code_span_shows_its_text_exactly(text: str) -> None:
    """A code span renders exactly its text, whatever backticks or spaces it holds."""
    rendered = GFM.renderInline(code_span(text))
    assert rendered == f"<code>{text}</code>"


def test_plain_text_is_not_markup() -> None:
    """A title's Markdown and HTML characters read back as the same text."""
    errors = {"e": {"status": 400, "title": "*not bold* <b>x</b> [link](y) {mdx}", "message": "m"}}
    markdown = render_markdown(catalog(errors, docs={"style": "sections"}))
    heading = next(line for line in markdown.splitlines() if line.startswith("### "))
    html = GFM.render(heading)
    assert not re.search(r"<(strong|em|a)\b", html)
    assert "*not bold* &lt;b&gt;x&lt;/b&gt; [link](y) {mdx}" in html


def test_sections_style() -> None:
    """The sections style gives each entry a heading, then its description and resolution."""
    errors = {
        "z": {"status": 403, "title": "Forbidden", "description": "No.", "resolution": "Ask."},
        "a": {"status": 403, "title": "Missing token", "description": "Wrong URL."},
        "b": {"status": 400, "title": "Bad", "description": "Fix it."},
    }
    markdown = render_markdown(catalog(errors), style="sections")
    headings = re.findall(r"^### (.+)$", markdown, re.MULTILINE)
    assert headings[:3] == ["400 Bad", "403 Forbidden", "403 Missing token"]
    assert "### 403 Forbidden\n\nNo.\n\nAsk.\n" in markdown


def test_endpoints_style() -> None:
    """The endpoints style lists statuses, then a table per operation, then the rest."""
    errors = {
        "exists": {"status": 409, "endpoints": ["POST /v1/t"], "resolution": "Rename."},
        "big": {"status": 413, "endpoints": ["POST /v1/t", "PUT /v1/t/{id}"]},
        "gone": {"status": 404, "endpoints": ["GET /v1/t/{id}"]},
        "auth": {"status": 401, "title": "Unauthorized"},
    }
    endpoints = {"POST /v1/t": "Create", "GET /v1/t/{id}": "Get"}
    markdown = render_markdown(catalog(errors, endpoints=endpoints, docs={"style": "endpoints"}))
    headings = re.findall(r"^### (.+)$", markdown, re.MULTILINE)
    assert headings[:5] == [
        "HTTP status codes",
        "Create",
        "Get",
        "PUT /v1/t/\\{id\\}",
        "Any operation",
    ]
    status_table, create, get, put, general, *_ = tables(markdown)
    assert [row[0] for row in status_table[1:]] == ["401", "404", "409", "413"]
    assert create[0] == ["Error Code", "Description", "Resolution"]
    assert [row[0] for row in create[1:]] == ["409 - Conflict", "413 - Request Entity Too Large"]
    assert create[1][2] == "Rename."
    assert [row[0] for row in get[1:]] == ["404 - Not Found"]
    assert [row[0] for row in put[1:]] == ["413 - Request Entity Too Large"]
    assert [row[0] for row in general[1:]] == ["401 - Unauthorized"]


def test_status_table_labels() -> None:
    """A status table label may use the status, its phrase and Markdown; classes get a name."""
    docs = {"status_table": {"heading": "Codes", "label": "`{status}` ({phrase})"}}
    statuses = {200: "Fine.", 404: "Gone.", "5xx": "Broken."}
    markdown = render_markdown(catalog(SIMPLE, docs=docs, statuses=statuses))
    status_table = tables(markdown)[0]
    assert [row[0] for row in status_table[1:]] == [
        "`200` (OK)",
        "`404` (Not Found)",
        "`5xx` (Server Error)",
    ]
    assert "| `200` (OK) | Fine. |" in markdown
    assert "| `5xx` (Server Error) | Broken. |" in markdown


def test_fallbacks_are_documented_apart() -> None:
    """Entries a catalog inherits from rfc9457 appear under 'Other errors', not in its table."""
    cat = catalog(SIMPLE)
    markdown = render_markdown(cat)
    own, other = markdown.split("\n## Other errors\n")
    main_table, fallback_table = tables(own)[0], tables(other)[0]
    assert len(main_table) == 1 + len(SIMPLE)
    assert len(fallback_table) == 1 + len(cat.fallbacks)
    assert "errorbook" in other
    assert "Other errors" not in render_markdown(Catalog.load("rfc9457"))


@pytest.mark.parametrize("style", ["table", "sections", "endpoints"], ids=str)
def test_language_picks_titles(style: str) -> None:
    """Titles come in the requested language, falling back to the catalog's own."""
    errors = {"e": {"status": 400, "title": {"en": "Bad", "de": "Schlecht"}}}
    columns = {"status_title": "S"}
    cat = catalog(errors, docs={"columns": columns, "endpoint_columns": columns})
    expected = "### 400 Schlecht" if style == "sections" else "| 400 - Schlecht |"
    assert expected in render_markdown(cat, style=style, language="de")
    assert "Schlecht" not in render_markdown(cat, style=style, language="fr")


# -- escaping: plain text, author Markdown, MDX ----------------------------------------------


@pytest.mark.parametrize("title", ["~~old~~", "~old~", "a ~~b~~ c"], ids=str)
def test_tildes_in_plain_text_are_not_strikethrough(title: str) -> None:
    """A title's tildes read back as tildes, in a heading and in a table cell."""
    errors = {"e": {"status": 400, "title": title, "message": title}}
    columns = {"title": "T", "message": "M"}
    cat = catalog(errors, docs={"columns": columns})
    table = tables(render_markdown(cat))[0]
    assert [plain(cell) for cell in table[1]] == [title, title]
    heading = next(
        line for line in render_markdown(cat, style="sections").splitlines() if "400" in line
    )
    html = GFM.render(heading)
    assert not re.search(r"<(s|del)>", html)
    assert f"400 {title}</h3>" in html


def test_braces_are_never_mdx_expressions() -> None:
    """Braces in every kind of catalog text are escaped, except inside code."""
    errors = {
        "e": {
            "status": 400,
            "code": "bad_{x}",
            "title": "Bad {title}",
            "message": "Expected {expected}, got {{literal}}",
            "params": {"expected": "str"},
            "example": {"expected": "{value}"},
            "description": 'Use {expected}; send `{"a": 1}`, not {a: 1}.',
            "resolution": "Either {this}\n\nor {that}.",
            "endpoints": ["PUT /t/{id}"],
        }
    }
    columns = {"code": "{code}", "title": "T", "message": "M", "description": "D"}
    top = {
        "endpoints": {"PUT /t/{id}": "Update {it}"},
        "statuses": {400: "Bad {request}"},
        "docs": {
            "intro": 'Errors of {api}:\n\n```json\n{"message": "..."}\n```',
            "columns": columns,
            "endpoint_columns": {**columns, "resolution": "R"},
            "status_table": {"heading": "Codes {all}", "label": "{status} {{x}}"},
        },
    }
    cat = catalog(errors, **top)
    for style in ("table", "sections", "endpoints"):
        markdown = render_markdown(cat, style=style)
        assert mdx_hazards(markdown) == [], style
        html = GFM.render(markdown)
        assert "Use {expected}; send <code>{&quot;a&quot;: 1}</code>, not {a: 1}." in html
        assert '<code class="language-json">{&quot;message&quot;: &quot;...&quot;}\n</code>' in html
        assert "Errors of {api}:" in html
        assert "Bad {request}" in html
    table = tables(render_markdown(cat))[1]
    assert [plain(cell) for cell in table[0]] == ["{code}", "T", "M", "D"]
    assert table[1][:3] == [
        "`bad_{x}`",
        "Bad \\{title\\}",
        "Expected \\{value\\}, got \\{literal\\}",
    ]
    assert "### Update \\{it\\}" in render_markdown(cat, style="endpoints")


def test_author_markdown_has_no_raw_html() -> None:
    """Author Markdown shows raw HTML as text, as the HTML glossary does; links stay links."""
    description = "A <b>bold</b> claim, a < b, see <https://x.test/a_b> or <me@x.test>."
    errors = {"e": {"status": 400, "description": description}}
    markdown = render_markdown(catalog(errors, docs={"columns": {"description": "D"}}))
    assert mdx_hazards(markdown) == []
    cell = tables(markdown)[0][1][0]
    assert GFM.renderInline(cell) == NO_HTML.renderInline(description)
    assert '<a href="https://x.test/a_b">https://x.test/a_b</a>' in GFM.renderInline(cell)
    assert '<a href="mailto:me@x.test">me@x.test</a>' in GFM.renderInline(cell)
    assert "&lt;b&gt;bold&lt;/b&gt;" in GFM.renderInline(cell)


def test_status_meanings_from_titles_are_plain_text() -> None:
    """Without ``statuses``, the status table lists titles, which are text, not Markdown."""
    errors = {"e": {"status": 400, "title": "*not bold* ~~x~~ {y}", "message": "m"}}
    markdown = render_markdown(catalog(errors, docs={"status_table": True}))
    assert plain(tables(markdown)[0][1][1]) == "*not bold* ~~x~~ {y}"


AUTHOR_MARKDOWN = [
    "Plain {braces} and `code {braces}` and ``a ` {b}``.",
    "Already escaped \\{ and \\\\{ not.",
    "```\n{fenced}\n```\n\n~~~ts\nconst a = {b};\n~~~\n\nafter {c}",
    "- one `a\n- two {b}`\n\n> quoted `{c}\n> {d}`",
    "    indented {code}",
    "# Heading {h}\n\n| a | b |\n|---|---|\n| `x | {y}` |\n| `{z}` | w |",
    "A <b>tag</b>, a < b, <https://x.test/p?q={v}> and <a.b@x.test>.",
    "[link {text}](https://x.test/{id}) ![alt {text}](i.png) ~~gone~~",
    "`unclosed {x}\n\nnext `{y}`",
]


@pytest.mark.parametrize("text", AUTHOR_MARKDOWN, ids=range(len(AUTHOR_MARKDOWN)))
def test_author_markdown_renders_as_written(text: str) -> None:
    """Author Markdown is made MDX-safe and still renders as the HTML glossary renders it."""
    safe = author_markdown(text)
    assert mdx_hazards(safe) == []
    assert NO_HTML.render(safe) == NO_HTML.render(text)


@settings(max_examples=300, deadline=None)
@given(text=MARKDOWN)
def test_any_author_markdown_is_mdx_safe(text: str) -> None:
    """Whatever author Markdown holds, MDX reads no expression or tag in it."""
    assert mdx_hazards(author_markdown(text)) == []


FIELD_TEXT = TRICKY.filter(str.strip)


@settings(max_examples=150, deadline=None)
@given(
    # A backslash right before a pipe cannot survive a GFM table cell, even in a code span.
    code=FIELD_TEXT.filter(lambda text: "\\|" not in text),
    title=FIELD_TEXT,
    message=TRICKY,
    value=TRICKY,
    description=TRICKY,
    resolution=TRICKY,
    headers=st.lists(FIELD_TEXT, min_size=5, max_size=5),
    endpoint=FIELD_TEXT,
    meaning=FIELD_TEXT,
)
def test_any_text_in_any_field_stays_text(
    code: str,
    title: str,
    message: str,
    value: str,
    description: str,
    resolution: str,
    headers: list[str],
    endpoint: str,
    meaning: str,
) -> None:
    """Whatever any field holds, tables keep their shape, plain text reads back as written,
    and MDX finds no expression or tag anywhere on the page."""
    template = message.replace("{", "{{").replace("}", "}}") + " {value}"
    errors = {
        "e": {
            "status": 400,
            "code": code,
            "title": title,
            "message": template,
            "params": {"value": "str"},
            "example": {"value": value},
            "description": description,
            "resolution": resolution,
            "endpoints": ["POST /x"],
        }
    }
    columns = dict(
        zip(["code", "title", "message", "description", "resolution"], headers, strict=True)
    )
    docs = {"columns": columns, "endpoint_columns": columns, "status_table": True}
    cat = catalog(errors, endpoints={"POST /x": endpoint}, statuses={400: meaning}, docs=docs)
    for style in ("table", "endpoints"):
        markdown = render_markdown(cat, style=style)
        assert mdx_hazards(markdown) == [], style
        found = tables(markdown)
        assert all(len(row) == len(table[0]) for table in found for row in table)
        status_table, entries = found[0], found[1]
        assert len(status_table) == 2
        assert [plain(header) for header in entries[0]] == [" ".join(h.split()) for h in headers]
        assert len(entries) == 2
        (span,) = GFM.parseInline(entries[1][0])[0].children or []
        assert (span.type, span.content) == ("code_inline", " ".join(code.splitlines()))
        assert plain(entries[1][1]) == " ".join(title.split())
        assert plain(entries[1][2]) == " ".join(f"{message} {value}".split())
    assert " ".join(endpoint.split()) in headings(render_markdown(cat, style="endpoints"))
    sections = render_markdown(cat, style="sections")
    assert mdx_hazards(sections) == []
    assert f"400 {' '.join(title.split())}" in headings(sections)
