"""The glossary as Markdown (GitHub-flavoured tables), ready for a docs site.

Catalog text ends up inside table cells and headings, where one stray character changes the
page's structure: a ``|`` splits a cell, a newline ends the table, a backtick in a code
span closes it early, and ``{`` opens an expression in MDX (Docusaurus). Every value is
written through the helpers below, which neutralise exactly those characters.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

import yaml

from .._docs_config import DocsStyle
from ._page import Block, Cell, Heading, Page, Prose, Table, build_page

if TYPE_CHECKING:
    from .._catalog import Catalog

__all__ = ["code_span", "render_markdown"]

# Characters that start Markdown (or MDX) syntax in running text; `_` only at a word's edge,
# since GFM never reads an underscore inside a word as emphasis.
_SPECIAL: Final = re.compile(r"[\\`*\[\]<>{}#|]|(?<!\w)_|_(?!\w)|&(?=#?\w+;)")
_PIPE: Final = re.compile(r"(\\*)\|")
_BACKTICKS: Final = re.compile(r"`+")
_PARAGRAPH_BREAK: Final = re.compile(r"\n[ \t]*\n\s*")


def render_markdown(
    catalog: Catalog, *, style: DocsStyle | str | None = None, language: str | None = None
) -> str:
    """The catalog's error glossary as Markdown.

    The page opens with the catalog's front matter (YAML between ``---`` lines) when it has
    any, else with a ``#`` heading; then the intro, then the entries in ``style`` (the
    catalog's ``docs.style`` unless given). Titles and messages are in ``language`` where
    the catalog has them.
    """
    return markdown_page(build_page(catalog, style=style, language=language))


def markdown_page(page: Page) -> str:
    """Serialise a built page; `render_markdown` builds and serialises in one go."""
    parts: list[str] = []
    if page.front_matter:
        dumped = yaml.safe_dump(
            dict(page.front_matter), sort_keys=False, allow_unicode=True, default_flow_style=False
        )
        parts.append(f"---\n{dumped}---")
    else:
        parts.append(f"# {_text(page.title)}")
    if page.intro:
        parts.append(page.intro)
    parts += [_block(block) for block in page.blocks]
    return "\n\n".join(parts) + "\n"


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {_text(block.text)}"
    if isinstance(block, Prose):
        return block.markdown
    return _table(block)


def _table(table: Table) -> str:
    lines = [
        _row([_cell(Cell("text", header)) for header in table.headers]),
        _row(["---"] * len(table.headers)),
    ]
    lines += [_row([_cell(cell) for cell in row.cells]) for row in table.rows]
    return "\n".join(lines)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(cell: Cell) -> str:
    if cell.kind == "code":
        return _escape_pipes(code_span(cell.text))
    if cell.kind == "text":
        return _text(cell.text)
    # Markdown keeps its syntax; only what would break the row changes. Paragraph breaks
    # become <br /> (valid in HTML and MDX alike), other line breaks a space.
    text = _PARAGRAPH_BREAK.sub(" <br /><br /> ", cell.text.strip())
    return _escape_pipes(" ".join(text.split()))


def _text(text: str) -> str:
    """Plain text as Markdown that reads back as the same text, on one line."""
    return _SPECIAL.sub(lambda m: "\\" + m.group(0), " ".join(text.split()))


def _escape_pipes(text: str) -> str:
    # A pipe already escaped (odd number of backslashes before it) is left alone.
    return _PIPE.sub(
        lambda m: m.group(1) + ("|" if len(m.group(1)) % 2 else "\\|"),
        text,
    )


def code_span(text: str) -> str:
    """``text`` as one inline code span, whatever backticks and spaces it contains.

    The fence is one backtick longer than the longest run inside; a space pads content that
    starts or ends with a backtick, or with a space at both ends, since CommonMark strips
    one such space from each side.
    """
    text = " ".join(text.splitlines())
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = ""
    if (
        text.startswith("`")
        or text.endswith("`")
        or (text.startswith(" ") and text.endswith(" ") and text.strip())
    ):
        pad = " "
    return f"{fence}{pad}{text}{pad}{fence}"
