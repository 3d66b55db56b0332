"""The glossary as one standalone HTML page: inline CSS, no scripts, no external assets.

Catalog text is data, never markup. Plain text (titles, codes, messages, column headers,
headings, endpoint titles) is escaped; Markdown (intro, descriptions, resolutions, status
meanings and labels) is read as GitHub-flavoured Markdown (tables, strikethrough) by
markdown-it-py with raw HTML disabled, as the Markdown glossary writes it, so a
``<script>`` in a catalog shows up as text, and link targets such as ``javascript:`` are
refused by markdown-it's link validation. Each entry carries ``id=entry_anchor(spec)``, so a
problem's ``type`` URI can end in ``#<code>`` and land on its row or section.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from markdown_it import MarkdownIt

from .._docs_config import DocsStyle
from ._page import Block, Cell, Heading, Prose, Row, Table, build_page

if TYPE_CHECKING:
    from .._catalog import Catalog

__all__ = ["render_html", "render_html_index"]

_MD: Final = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def _markdown(text: str) -> str:
    # markdown-it-py types render() as returning Any.
    return str(_MD.render(text))


_CSS: Final = """
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;
background:#fff}
main{max-width:72rem;margin:0 auto;padding:1.5rem 1.25rem 4rem}
h1{font-size:2rem;margin:.5rem 0 1rem}h2{margin-top:2.5rem}h3{margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:1rem 0;font-size:.95rem}
th,td{border:1px solid #d0d7de;padding:.45rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td p{margin:0 0 .5rem}td p:last-child{margin:0}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;
padding:.1em .3em;border-radius:4px;word-break:break-word}
tr:target,h3:target{background:#fff8c5}
ul.profiles li{margin:.5rem 0}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}
th{background:#161b22}th,td{border-color:#30363d}code{background:#161b22}
a{color:#58a6ff}tr:target,h3:target{background:#3b2e00}}
"""


def render_html(
    catalog: Catalog, *, style: DocsStyle | str | None = None, language: str | None = None
) -> str:
    """The catalog's error glossary as a standalone HTML page.

    The page has the structure of `render_markdown`'s, with the title taken from the
    front matter's ``title`` (else ``docs.heading``, else the catalog's name) and an ``id``
    on every entry's row or heading (see `entry_anchor`).
    """
    page = build_page(catalog, style=style, language=language)
    body = [f"<h1>{escape(page.title)}</h1>"]
    if page.intro:
        body.append(_markdown(page.intro))
    body += [_block(block) for block in page.blocks]
    return _document(page.title, page.language, page.description, "\n".join(body))


def render_html_index(catalogs: Mapping[str, Catalog]) -> str:
    """A page linking to each catalog's glossary at ``/<slug>/`` and its Markdown at ``/<slug>.md``.

    ``catalogs`` maps URL slugs to catalogs, as the preview server builds its site.
    """
    items = []
    for slug, catalog in catalogs.items():
        path = quote(slug)
        summary = " " + escape(" ".join(catalog.description.split()))
        items.append(
            f'<li><a href="/{path}/">{escape(catalog.name)}</a> <code>{escape(slug)}</code>'
            f" ({len(catalog)} errors, format <code>{escape(catalog.format.name)}</code>, "
            f'<a href="/{path}.md">Markdown</a>).{summary}</li>'
        )
    listing = "\n".join(items)
    body = f'<ul class="profiles">\n{listing}\n</ul>' if items else "<p>No catalogs.</p>"
    return _document("Error glossaries", "en", "", f"<h1>Error glossaries</h1>\n{body}")


def _document(title: str, language: str, description: str, body: str) -> str:
    meta = (
        f'<meta name="description" content="{escape(" ".join(description.split()))}">\n'
        if description
        else ""
    )
    return (
        "<!doctype html>\n"
        f'<html lang="{escape(language)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{meta}<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        tag = f"h{block.level}"
        anchor = f' id="{escape(block.anchor)}"' if block.anchor else ""
        return f"<{tag}{anchor}>{escape(block.text)}</{tag}>"
    if isinstance(block, Prose):
        return _markdown(block.markdown).rstrip("\n")
    return _table(block)


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(header)}</th>" for header in table.headers)
    rows = "\n".join(_row(row) for row in table.rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"


def _row(row: Row) -> str:
    anchor = f' id="{escape(row.anchor)}"' if row.anchor else ""
    return f"<tr{anchor}>" + "".join(f"<td>{_cell(cell)}</td>" for cell in row.cells) + "</tr>"


def _cell(cell: Cell) -> str:
    if cell.kind == "code":
        return f"<code>{escape(cell.text)}</code>"
    if cell.kind == "text":
        return escape(cell.text)
    rendered = _markdown(cell.text).strip()
    # A single paragraph reads better without its <p> inside a table cell.
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        return rendered[3:-4]
    return rendered
