"""How a catalog's glossary page is laid out: the ``docs`` section of a catalog file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = ["COLUMN_FIELDS", "DOCS_STYLES", "DocsConfig", "DocsStyle", "StatusTable"]

DocsStyle = Literal["table", "sections", "endpoints"]

#: ``table``: one table, a row per entry. ``sections``: a heading per entry
#: (``### 403 Forbidden``). ``endpoints``: a status table, then a table per operation.
DOCS_STYLES: Final[tuple[DocsStyle, ...]] = ("table", "sections", "endpoints")

#: What a glossary table column may show, for the ``columns`` mapping (field -> header).
COLUMN_FIELDS: Final[Mapping[str, str]] = {
    "status": "the HTTP status (400)",
    "status_title": "status and title (409 - Conflict)",
    "code": "the wire code, as inline code",
    "title": "the entry's title",
    "message": "the message, rendered with the entry's example parameters",
    "example": "an example body in the catalog's format, as inline code",
    "description": "the Markdown description",
    "resolution": "what the caller should do",
    "retry": "whether and how to retry",
}

#: Keys of the ``docs`` section that configure the page; every other key is front matter.
DOCS_SETTINGS: Final[frozenset[str]] = frozenset(
    {"style", "intro", "columns", "heading", "table_heading", "status_table", "endpoint_columns"}
)


@dataclass(frozen=True, slots=True)
class StatusTable:
    """The table of HTTP statuses the API uses (success ones included), as on most pages."""

    heading: str = "HTTP status codes"
    status_header: str = "Status"
    meaning_header: str = "Meaning"
    #: How a status is written in its cell: ``{status}`` and ``{phrase}`` (``404 (NOT FOUND)``).
    label: str = "{status}"


@dataclass(frozen=True, slots=True)
class DocsConfig:
    """The glossary's layout and the front matter a docs site needs (id, title, slug...)."""

    style: DocsStyle = "table"
    heading: str | None = None
    #: The heading above the entries table (``table`` style); none when not set and the
    #: page has no status table to tell it apart from.
    table_heading: str | None = None
    intro: str = ""
    front_matter: Mapping[str, str | int | bool] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)
    endpoint_columns: Mapping[str, str] = field(default_factory=dict)
    status_table: StatusTable | None = None
