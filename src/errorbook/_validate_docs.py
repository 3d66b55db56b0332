"""Validating the ``docs`` section: front matter and the glossary page's layout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._checks import no_unknown_keys
from ._docs_config import COLUMN_FIELDS, DOCS_SETTINGS, DOCS_STYLES, DocsConfig, StatusTable
from ._source import KeyPath, Source

__all__ = ["validate_docs"]


def validate_docs(data: Mapping[str, Any], source: Source) -> DocsConfig:
    docs = data.get("docs", {})
    if not isinstance(docs, Mapping):
        raise source.error(
            "expected 'docs', a mapping of front matter and page settings", ("docs",)
        )
    style = docs.get("style", "table")
    if style not in DOCS_STYLES:
        raise source.error(
            f"expected docs style to be one of {', '.join(DOCS_STYLES)}, got {style!r}",
            ("docs", "style"),
        )
    front_matter: dict[str, str | int | bool] = {}
    for name, value in docs.items():
        if name in DOCS_SETTINGS:
            continue
        if not isinstance(name, str) or not isinstance(value, str | int | bool):
            raise source.error(
                f"expected front matter {name!r} to be text, a number or true/false "
                f"(page settings are {', '.join(sorted(DOCS_SETTINGS))})",
                ("docs", name),
            )
        front_matter[name] = value
    heading = docs.get("heading")
    if heading is not None and not isinstance(heading, str):
        raise source.error("expected 'heading' to be text", ("docs", "heading"))
    table_heading = docs.get("table_heading")
    if table_heading is not None and not isinstance(table_heading, str):
        raise source.error("expected 'table_heading' to be text", ("docs", "table_heading"))
    intro = docs.get("intro", "")
    if not isinstance(intro, str):
        raise source.error("expected 'intro' to be Markdown text", ("docs", "intro"))
    return DocsConfig(
        style=style,
        heading=heading,
        table_heading=table_heading,
        intro=intro.strip(),
        front_matter=front_matter,
        columns=_columns(docs, "columns", source),
        endpoint_columns=_columns(docs, "endpoint_columns", source),
        status_table=_status_table(docs, source),
    )


def _columns(docs: Mapping[str, Any], name: str, source: Source) -> dict[str, str]:
    columns = docs.get(name, {})
    if not isinstance(columns, Mapping):
        raise source.error(
            f"expected '{name}', a mapping of fields to column headers", ("docs", name)
        )
    for column, header in columns.items():
        if column not in COLUMN_FIELDS:
            raise source.error(
                f"unknown column {column!r}; expected one of {', '.join(COLUMN_FIELDS)}",
                ("docs", name, column),
            )
        if not isinstance(header, str) or not header.strip():
            raise source.error("expected a column header", ("docs", name, column))
    return dict(columns)


def _status_table(docs: Mapping[str, Any], source: Source) -> StatusTable | None:
    table = docs.get("status_table")
    if table is None:
        return None
    if table is True:
        return StatusTable()
    path: KeyPath = ("docs", "status_table")
    if not isinstance(table, Mapping):
        raise source.error(
            "expected 'status_table', true or a mapping of heading, status, meaning and label", path
        )
    no_unknown_keys(
        table, frozenset({"heading", "status", "meaning", "label"}), path, source, "status table"
    )
    for name in ("heading", "status", "meaning", "label"):
        if name in table and not isinstance(table[name], str):
            raise source.error(f"expected '{name}' to be text", (*path, name))
    default = StatusTable()
    return StatusTable(
        heading=table.get("heading", default.heading),
        status_header=table.get("status", default.status_header),
        meaning_header=table.get("meaning", default.meaning_header),
        label=table.get("label", default.label),
    )
