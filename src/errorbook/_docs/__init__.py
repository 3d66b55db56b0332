"""The error glossary: a catalog rendered as a Markdown or HTML page.

`_page` decides what the page shows (headings, tables, sections, in which order); `_markdown`
and `_html` only write it out, so the two formats always agree.
"""

from __future__ import annotations

from ._html import render_html, render_html_index
from ._markdown import render_markdown
from ._page import entry_anchor

__all__ = ["entry_anchor", "render_html", "render_html_index", "render_markdown"]
