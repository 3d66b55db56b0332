"""The catalog's glossary, served by the layer at ``/errors`` and ``/errors/{code}``.

Every page is rendered once, when the layer is built: HTML by default, Markdown for a client
that prefers ``text/markdown`` and JSON for one that prefers ``application/json``. A
problem's ``type`` URI resolves here when the catalog's ``type_base`` is this path plus a
slash (``type_base: /errors/``, as the built-in profiles have it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from typing import Final

from markdown_it import MarkdownIt

from .._catalog import Catalog
from .._docs import entry_anchor, render_html, render_markdown
from .._negotiation import parse_accept
from .._spec import ErrorSpec

__all__ = ["Glossary", "Page"]

_HTML: Final = "text/html; charset=utf-8"
_MARKDOWN: Final = "text/markdown; charset=utf-8"
_JSON: Final = "application/json"
_MD: Final = MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True, slots=True)
class Page:
    """One pre-rendered representation: its Content-Type and body."""

    content_type: bytes
    body: bytes


class Glossary:
    """The glossary's pages for one catalog, by URL path."""

    def __init__(self, catalog: Catalog, path: str) -> None:
        self.path = path.rstrip("/") or "/"
        self.prefix = self.path.rstrip("/") + "/"
        self._index: dict[str, Page] = {
            "text/html": Page(_HTML.encode(), render_html(catalog).encode()),
            "text/markdown": Page(_MARKDOWN.encode(), render_markdown(catalog).encode()),
            "application/json": Page(
                _JSON.encode(), _json([_summary(catalog, s) for s in catalog])
            ),
        }
        self._entries: dict[str, dict[str, Page]] = {}
        for spec in catalog:
            self._entries[str(spec.code)] = {
                "text/html": Page(_HTML.encode(), _entry_html(catalog, spec, self.path)),
                "application/json": Page(_JSON.encode(), _json(_detail(catalog, spec))),
            }

    def owns(self, path: str) -> bool:
        """Whether ``path`` is the glossary's or one of its entries'."""
        return path == self.path or path.startswith(self.prefix)

    def page(self, path: str, accept: str | None) -> Page | None:
        """The page for ``path`` in the representation ``accept`` prefers; None if unknown."""
        if path == self.path or path == self.prefix:
            return _pick(self._index, accept)
        pages = self._entries.get(path[len(self.prefix) :])
        return None if pages is None else _pick(pages, accept)


def _pick(pages: dict[str, Page], accept: str | None) -> Page:
    # HTML unless the client ranks another representation higher; a client that accepts
    # none of them still gets HTML: a glossary is for reading, and 406 helps nobody here.
    if accept:
        for media, quality in parse_accept(accept):
            if quality <= 0:
                continue
            if media in pages:
                return pages[media]
            if media in ("*/*", "text/*"):
                break
    return pages["text/html"]


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _summary(catalog: Catalog, spec: ErrorSpec) -> dict[str, object]:
    return {
        "key": spec.key,
        "code": spec.code,
        "status": spec.status,
        "title": spec.title_in(catalog.language, catalog.language),
        "retry": spec.retry,
    }


def _detail(catalog: Catalog, spec: ErrorSpec) -> dict[str, object]:
    return {
        **_summary(catalog, spec),
        "message": spec.example_message(catalog.language, catalog.language),
        "description": spec.description,
        "resolution": spec.resolution,
        "type": catalog.type_uri(spec),
    }


def _entry_html(catalog: Catalog, spec: ErrorSpec, index: str) -> bytes:
    title = spec.title_in(catalog.language, catalog.language)
    message = spec.example_message(catalog.language, catalog.language)
    parts = [
        f"<h1>{escape(title)}</h1>",
        f"<p><code>{escape(str(spec.code))}</code> &middot; HTTP {spec.status}</p>",
        f"<blockquote><p>{escape(message)}</p></blockquote>",
    ]
    if spec.description:
        parts.append(str(_MD.render(spec.description)))
    if spec.resolution:
        parts += ["<h2>Resolution</h2>", str(_MD.render(spec.resolution))]
    href = escape(f"{index}#{entry_anchor(spec)}")
    parts.append(f'<p><a href="{href}">All errors of {escape(catalog.name)}</a></p>')
    page = (
        f'<!doctype html>\n<html lang="{escape(catalog.language)}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} - {escape(catalog.name)}</title>\n</head>\n"
        "<body>\n<main>\n" + "\n".join(parts) + "\n</main>\n</body>\n</html>\n"
    )
    return page.encode("utf-8")
