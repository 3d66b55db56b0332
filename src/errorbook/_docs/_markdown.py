"""The glossary as Markdown (GitHub-flavoured tables), ready for a docs site.

Catalog text ends up inside table cells and headings, where one stray character changes the
page's structure: a ``|`` splits a cell, a newline ends the table, a backtick in a code
span closes it early, ``~~`` strikes text through, and ``{`` or ``<`` opens an expression
or a JSX tag in MDX (Docusaurus). Every value is written through the helpers below, and
what they do depends on who wrote the text:

* Plain text (titles, codes, messages, statuses, retry hints, column headers, headings,
  endpoint titles) reads back as exactly the same text: every character that could start
  Markdown, GFM or MDX syntax is backslash-escaped (`_text`), and codes and example bodies
  are inline code spans (`code_span`).
* Markdown written by the catalog's author (the intro, descriptions, resolutions, status
  meanings and status labels) keeps its syntax, read as GitHub-flavoured Markdown without
  raw HTML, exactly as the HTML glossary reads it (`author_markdown`): ``{``, ``}`` and
  ``<`` are escaped outside code spans and fenced code blocks, and an autolink
  (``<https://...>``, which MDX does not have) becomes the same link written
  ``[url](url)``. Inside code, braces are literal in MDX too, so code is left as written.

Either way no ``{`` in the output can be read as an MDX expression, nor a ``<`` as a tag.
In table cells, line breaks collapse to spaces (paragraph breaks to ``<br />``, which we
write ourselves) and every ``|`` is escaped.
"""

from __future__ import annotations

import itertools
import re
import string
from typing import TYPE_CHECKING, Final

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .._docs_config import DocsStyle
from ._page import Block, Cell, Heading, Page, Prose, Table, build_page

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .._catalog import Catalog

__all__ = ["author_markdown", "code_span", "render_markdown"]

# Characters that start Markdown, GFM or MDX syntax in running text; `_` only at a word's
# edge, since GFM never reads an underscore inside a word as emphasis.
_SPECIAL: Final = re.compile(r"[\\`*~\[\]<>{}#|]|(?<!\w)_|_(?!\w)|&(?=#?\w+;)")
_PIPE: Final = re.compile(r"(\\*)\|")
_BACKTICKS: Final = re.compile(r"`+")
_PARAGRAPH_BREAK: Final = re.compile(r"\n[ \t]*\n\s*")
_CELL_BORDER: Final = re.compile(r"((?<!\\)\|)")
# What MDX reads as code (an expression, a JSX tag) when it appears in running text.
_MDX_SPECIAL: Final = frozenset("{}<")
_ASCII_PUNCTUATION: Final = frozenset(string.punctuation)
# CommonMark autolinks: <scheme:anything but spaces, controls and angle brackets>, <email>.
_URI_AUTOLINK: Final = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\x00-\x20<>\x7f]*)>")
_EMAIL_AUTOLINK: Final = re.compile(
    r"<([A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*)>"
)
_DESTINATION_SPECIAL: Final = re.compile(r"[\\()<>{}`]")
# An MDX-special character behind a backslash escape, or as a character reference.
_NEUTRALISED: Final = re.compile(r"(?<!\\)((?:\\\\)*)\\[{}<]|&(?:#123|#125|lt);")
_REFERENCES: Final = {"{": "&#123;", "}": "&#125;", "<": "&lt;"}
# How the HTML glossary reads author Markdown: GFM tables and strikethrough, no raw HTML.
_PARSER: Final = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


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
        parts.append(author_markdown(page.intro))
    parts += [_block(block) for block in page.blocks]
    return "\n\n".join(parts) + "\n"


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {_text(block.text)}"
    if isinstance(block, Prose):
        return author_markdown(block.markdown)
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
    paragraphs = _PARAGRAPH_BREAK.split(cell.text.strip())
    lines = [_inline_markdown(" ".join(paragraph.split())) for paragraph in paragraphs]
    return _escape_pipes(" <br /><br /> ".join(lines))


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


# -- Markdown written by the catalog's author ---------------------------------------------


def author_markdown(markdown: str) -> str:
    """Author-written Markdown, rendering as before, with nothing MDX reads as code.

    ``{``, ``}`` and ``<`` get a backslash outside code spans and fenced code blocks, and
    autolinks are written as inline links. MDX has no indented code either, so an indented
    code block at the top level is written fenced (one nested in a list or quote gets its
    braces escaped, which CommonMark then shows). Code spans are found block by block (a
    paragraph, a heading, a table cell), as a Markdown parser finds them, and each block is
    checked with one; should a pathological input (a backtick inside a link destination,
    say) still leave a brace in running text, every ``{``, ``}`` and ``<`` of that block
    becomes a character reference instead: always safe, at worst shown as written inside a
    code span.
    """
    blocks = _blocks(markdown.replace("\r\n", "\n").replace("\r", "\n"))
    chunks = []
    for kind, chunk in blocks:
        if kind == "code":
            chunks.append(chunk)
        elif kind == "table":
            # GFM splits a row at its pipes before it looks for code spans.
            cells = _CELL_BORDER.split(chunk)
            chunks.append("".join(c if c == "|" else _inline_markdown(c) for c in cells))
        else:
            chunks.append(_inline_markdown(chunk))
    result = "\n".join(chunks)
    # Each block was checked on its own; the page as a whole is checked too, to be sure.
    if _leaks(_PARSER.parse(_mask(result))):
        return "\n".join(c if kind == "code" else _references(c) for kind, c in blocks)
    return result


def _blocks(text: str) -> list[tuple[str, str]]:
    """The text's lines grouped into blocks, in order, each with its kind.

    ``code``: fenced code, kept as written; ``table``: one row of a table; ``inline``: the
    lines of one paragraph or heading; ``line``: any other line.
    """
    lines = text.split("\n")
    keys = [("line", index) for index in range(len(lines))]
    fenced: dict[tuple[str, int], str] = {}
    for index, token in enumerate(_PARSER.parse(text)):
        if token.map is None:
            continue
        start, stop = token.map
        if token.type == "table_open":
            keys[start:stop] = [("table", line) for line in range(start, stop)]
        elif token.type == "fence":
            keys[start:stop] = [("code", index)] * (stop - start)
        elif token.type == "code_block" and token.level == 0:
            keys[start:stop] = [("code", index)] * (stop - start)
            longest = max((len(run) for run in _BACKTICKS.findall(token.content)), default=0)
            fence = "`" * max(3, longest + 1)
            fenced["code", index] = f"{fence}\n{token.content}{fence}"
        elif token.type == "inline" and keys[start][0] != "table":
            keys[start:stop] = [("inline", index)] * (stop - start)
    blocks = []
    for key, group in itertools.groupby(zip(keys, lines, strict=True), lambda pair: pair[0]):
        blocks.append((key[0], fenced.get(key) or "\n".join(line for _, line in group)))
    return blocks


def _inline_markdown(text: str) -> str:
    """One block of author Markdown (a paragraph, a table cell) made MDX-safe."""
    result = _neutralise(text)
    if _leaks(_PARSER.parseInline(_mask(result))):
        return _references(text)
    return result


def _neutralise(text: str) -> str:
    """``text`` with ``{``, ``}`` and ``<`` escaped wherever they are not in code."""
    out: list[str] = []
    index, end = 0, len(text)
    while index < end:
        char = text[index]
        if char == "\\" and index + 1 < end and text[index + 1] in _ASCII_PUNCTUATION:
            out.append(text[index : index + 2])
            index += 2
            continue
        if char == "`":
            # A code span runs to the next run of exactly as many backticks; unmatched, the
            # run is literal text.
            opened = index
            while opened < end and text[opened] == "`":
                opened += 1
            closing = re.compile(rf"(?<!`)`{{{opened - index}}}(?!`)").search(text, opened)
            stop = closing.end() if closing else opened
            out.append(text[index:stop])
            index = stop
            continue
        if char == "<":
            link = _URI_AUTOLINK.match(text, index) or _EMAIL_AUTOLINK.match(text, index)
            if link:
                out.append(_inline_link(link))
                index = link.end()
                continue
        out.append("\\" + char if char in _MDX_SPECIAL else char)
        index += 1
    return "".join(out)


def _inline_link(autolink: re.Match[str]) -> str:
    target = autolink.group(1)
    href = target if autolink.re is _URI_AUTOLINK else f"mailto:{target}"
    destination = _DESTINATION_SPECIAL.sub(lambda m: "\\" + m.group(0), href)
    return f"[{_text(target)}]({destination})"


def _references(text: str) -> str:
    return "".join(_REFERENCES.get(char, char) for char in text)


def _mask(markdown: str) -> str:
    # Hide the neutralised characters, so any left in the parsed text were written raw.
    return _NEUTRALISED.sub(lambda m: (m.group(1) or "") + "\\U", markdown)


def _leaks(tokens: Iterable[Token]) -> bool:
    """Whether MDX would read part of the parsed Markdown as an expression or a tag."""
    for token in tokens:
        if token.type in ("text", "code_block") and not _MDX_SPECIAL.isdisjoint(token.content):
            # MDX has no indented code: such a block is running text to it.
            return True
        if token.type == "link_open" and token.markup == "autolink":
            return True
        if token.children and _leaks(token.children):
            return True
    return False
