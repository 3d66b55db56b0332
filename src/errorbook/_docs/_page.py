"""The glossary as data: which headings, tables and paragraphs a page has, in which order.

Both renderers walk the same `Page`, so the Markdown and the HTML glossary can never
disagree about rows, sorting or columns; they differ only in how a cell is written. Cells
say what they hold (plain text, inline code or Markdown) and leave escaping to the renderer.

Fallback entries (the rfc9457 answers a catalog inherits for conditions it leaves open) are
real responses, so they are documented, but apart: after the catalog's own entries, under
"Other errors" with a note saying where they come from. The catalog's own tables and
sections keep exactly the rows its author wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import quote

from .._docs_config import DocsStyle, StatusTable
from .._spec import ErrorSpec

if TYPE_CHECKING:
    from .._catalog import Catalog

__all__ = ["Cell", "Heading", "Page", "Prose", "Row", "Table", "build_page", "entry_anchor"]

CellKind = Literal["text", "code", "markdown"]

DEFAULT_COLUMNS: Final[Mapping[str, str]] = {
    "status": "Status",
    "code": "Code",
    "title": "Title",
    "description": "Description",
}
DEFAULT_ENDPOINT_COLUMNS: Final[Mapping[str, str]] = {
    "status_title": "Error Code",
    "description": "Description",
    "resolution": "Resolution",
}
OTHER_ERRORS: Final = "Other errors"
OTHER_ERRORS_NOTE: Final = (
    "The API gives these answers from errorbook's standard set of errors, because this "
    "catalog defines no entry of its own for the situations below."
)
ANY_OPERATION: Final = "Any operation"
ENTRIES_HEADING: Final = "Error reference"
_CLASS_PHRASES: Final = {
    "1xx": "Informational",
    "2xx": "Success",
    "3xx": "Redirection",
    "4xx": "Client Error",
    "5xx": "Server Error",
}
# Values for template parameters an entry gives no example for, so its example body renders.
_PLACEHOLDERS: Final[Mapping[str, Any]] = {"str": "...", "int": 0, "float": 0.0, "bool": False}


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell: plain text, inline code, or Markdown kept as Markdown."""

    kind: CellKind
    text: str


@dataclass(frozen=True, slots=True)
class Row:
    """A table row, with the id of the entry it documents."""

    cells: tuple[Cell, ...]
    #: The HTML id of the entry this row documents, on its first appearance only.
    anchor: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """Column headers (plain text) and rows."""

    headers: tuple[str, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Heading:
    """A heading; an entry's own heading (sections style) carries its id."""

    level: int
    text: str
    anchor: str | None = None


@dataclass(frozen=True, slots=True)
class Prose:
    """A paragraph or more of Markdown: a description, a resolution, a note."""

    markdown: str


Block = Heading | Table | Prose


@dataclass(frozen=True, slots=True)
class Page:
    """Everything one glossary page shows, renderer-neutral."""

    title: str
    language: str
    description: str
    front_matter: Mapping[str, str | int | bool]
    intro: str
    blocks: tuple[Block, ...]


def entry_anchor(spec: ErrorSpec) -> str:
    """The HTML id of an entry: its wire code, percent-encoded where it is not URL-safe.

    ``invalid_json`` stays ``invalid_json`` and ``50014`` stays ``50014``, so a problem's
    ``type`` of ``type_base`` + code can point straight at ``#code``; the encoding keeps
    distinct codes distinct and never yields spaces or quotes.
    """
    return quote(str(spec.code), safe="")


def build_page(
    catalog: Catalog, *, style: DocsStyle | str | None = None, language: str | None = None
) -> Page:
    """The glossary of ``catalog`` in ``style`` (default: the catalog's), titles in ``language``."""
    return _Builder(catalog, style, language).page()


class _Builder:
    def __init__(self, catalog: Catalog, style: str | None, language: str | None) -> None:
        self.catalog = catalog
        self.docs = catalog.docs
        self.style = style or self.docs.style
        self.language = language or catalog.language
        fallback_keys = {catalog.for_condition(c).key for c in catalog.fallbacks}
        self.own = [spec for spec in catalog if spec.key not in fallback_keys]
        self.fallbacks = [spec for spec in catalog if spec.key in fallback_keys]
        self.anchored: set[str] = set()

    def page(self) -> Page:
        front = self.docs.front_matter
        title = str(front.get("title") or self.docs.heading or self.catalog.name)
        if self.style == "sections":
            blocks = self._sections_page()
        elif self.style == "endpoints":
            blocks = self._endpoints_page()
        else:
            blocks = self._table_page()
        return Page(
            title=title,
            language=self.language,
            description=self.catalog.description,
            front_matter=front,
            intro=self.docs.intro,
            blocks=tuple(blocks),
        )

    # -- the three styles --------------------------------------------------------------

    def _table_page(self) -> list[Block]:
        columns = self.docs.columns or DEFAULT_COLUMNS
        blocks: list[Block] = []
        if self.docs.status_table is not None:
            blocks += self._status_blocks(self.docs.status_table, level=2)
            blocks.append(Heading(2, self.docs.table_heading or ENTRIES_HEADING))
        elif self.docs.table_heading:
            blocks.append(Heading(2, self.docs.table_heading))
        blocks.append(self._table(columns, sorted(self.own, key=_by_status_and_code)))
        if self.fallbacks:
            blocks += [Heading(2, OTHER_ERRORS), Prose(OTHER_ERRORS_NOTE)]
            blocks.append(self._table(columns, sorted(self.fallbacks, key=_by_status_and_code)))
        return blocks

    def _sections_page(self) -> list[Block]:
        blocks: list[Block] = []
        if self.docs.status_table is not None:
            blocks += self._status_blocks(self.docs.status_table, level=2)
        blocks += self._sections(self.own, level=3)
        if self.fallbacks:
            blocks += [Heading(2, OTHER_ERRORS), Prose(OTHER_ERRORS_NOTE)]
            blocks += self._sections(self.fallbacks, level=3)
        return blocks

    def _endpoints_page(self) -> list[Block]:
        columns = self.docs.endpoint_columns or DEFAULT_ENDPOINT_COLUMNS
        blocks = self._status_blocks(self.docs.status_table or StatusTable(), level=3)
        # Declared operations first, in catalog order, then any an entry names undeclared.
        titles = dict(self.catalog.endpoints)
        for spec in self.own:
            for operation in spec.endpoints:
                titles.setdefault(operation, operation)
        for operation, title in titles.items():
            specs = [spec for spec in self.own if operation in spec.endpoints]
            blocks.append(Heading(3, title))
            blocks.append(self._table(columns, sorted(specs, key=_by_status)))
        general = [spec for spec in self.own if not spec.endpoints]
        if general:
            blocks.append(Heading(3, ANY_OPERATION))
            blocks.append(self._table(columns, sorted(general, key=_by_status)))
        if self.fallbacks:
            blocks += [Heading(3, OTHER_ERRORS), Prose(OTHER_ERRORS_NOTE)]
            blocks.append(self._table(columns, sorted(self.fallbacks, key=_by_status)))
        return blocks

    # -- pieces ------------------------------------------------------------------------

    def _status_blocks(self, table: StatusTable, *, level: int) -> list[Block]:
        # The catalog's own status meanings are Markdown; meanings made of titles are text.
        meanings: list[tuple[str, Cell]]
        if self.catalog.statuses:
            meanings = [
                (status, Cell("markdown", meaning))
                for status, meaning in self.catalog.statuses.items()
            ]
        else:
            by_status: dict[str, list[str]] = {}
            for spec in sorted(self.own, key=_by_status):
                titles = by_status.setdefault(str(spec.status), [])
                title = spec.title_in(self.language, self.catalog.language)
                if title not in titles:
                    titles.append(title)
            meanings = [
                (status, Cell("text", ", ".join(titles))) for status, titles in by_status.items()
            ]
        rows = tuple(
            Row((Cell("markdown", _label(table.label, status)), meaning))
            for status, meaning in meanings
        )
        return [
            Heading(level, table.heading),
            Table((table.status_header, table.meaning_header), rows),
        ]

    def _sections(self, specs: Iterable[ErrorSpec], *, level: int) -> list[Block]:
        blocks: list[Block] = []
        for spec in sorted(specs, key=_by_status):
            title = spec.title_in(self.language, self.catalog.language)
            blocks.append(Heading(level, f"{spec.status} {title}", self._anchor(spec)))
            blocks += [Prose(text) for text in (spec.description, spec.resolution) if text]
        return blocks

    def _table(self, columns: Mapping[str, str], specs: Sequence[ErrorSpec]) -> Table:
        rows = tuple(
            Row(tuple(self._cell(field, spec) for field in columns), self._anchor(spec))
            for spec in specs
        )
        return Table(tuple(columns.values()), rows)

    def _anchor(self, spec: ErrorSpec) -> str | None:
        # An entry listed under several operations gets its id once: ids are unique.
        anchor = entry_anchor(spec)
        if anchor in self.anchored:
            return None
        self.anchored.add(anchor)
        return anchor

    def _cell(self, field: str, spec: ErrorSpec) -> Cell:
        title = spec.title_in(self.language, self.catalog.language)
        if field == "status":
            return Cell("text", str(spec.status))
        if field == "status_title":
            return Cell("text", f"{spec.status} - {title}")
        if field == "code":
            return Cell("code", str(spec.code))
        if field == "title":
            return Cell("text", title)
        if field == "message":
            return Cell("text", spec.example_message(self.language, self.catalog.language))
        if field == "example":
            return Cell("code", self._example(spec))
        if field == "description":
            return Cell("markdown", spec.description)
        if field == "resolution":
            return Cell("markdown", spec.resolution)
        if field == "retry":
            return Cell("text", _retry(spec))
        raise ValueError(f"unknown glossary column {field!r}")  # pragma: no cover - validated

    def _example(self, spec: ErrorSpec) -> str:
        params = {name: _PLACEHOLDERS[kind] for name, kind in spec.params.items()}
        params.update(spec.example)
        problem = self.catalog.problem(spec.key, language=self.language, **params)
        return self.catalog.format.render(problem).decode("utf-8", "replace")


def _by_status(spec: ErrorSpec) -> int:
    return spec.status


def _by_status_and_code(spec: ErrorSpec) -> tuple[int, int, int, str]:
    # Integer codes sort numerically and before text codes (50014 after 10003, not before).
    if isinstance(spec.code, int):
        return (spec.status, 0, spec.code, "")
    return (spec.status, 1, 0, spec.code)


def _label(template: str, status: str) -> str:
    if status in _CLASS_PHRASES:
        phrase = _CLASS_PHRASES[status]
    else:
        try:
            phrase = HTTPStatus(int(status)).phrase
        except ValueError:
            phrase = ""
    # str.replace, not str.format: a label may hold other braces without breaking.
    return template.replace("{status}", status).replace("{phrase}", phrase)


def _retry(spec: ErrorSpec) -> str:
    if spec.retry == "backoff":
        return "With exponential backoff"
    if spec.retry == "after":
        if spec.retry_after is not None:
            return f"After the delay the response gives (default {spec.retry_after:g} s)"
        return "After the delay the response gives"
    return "No"
