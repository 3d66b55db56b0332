"""A preview server for glossaries, as ``mkdocs serve`` is for docs.

Pages are rendered once at start, so a broken catalog fails before the port opens, and the
server only hands out bytes. It uses the standard library's HTTP server on purpose: a
preview must not pull a web framework into the core.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click

from ._catalog import Catalog

__all__ = ["build_site", "make_server", "serve"]

Page = tuple[str, bytes]


def build_site(sources: Iterable[str]) -> dict[str, Page]:
    """Every page of the preview, by path: an index, then HTML and Markdown per catalog."""
    from ._docs import render_html, render_html_index, render_markdown
    from ._profiles import profile_names

    names = list(sources) or list(profile_names())
    catalogs: dict[str, Catalog] = {}
    for source in names:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(source).stem).strip("-") or "catalog"
        slug, number = base, 1
        while slug in catalogs:  # two errors.yaml from different folders both get a page
            number += 1
            slug = f"{base}-{number}"
        catalogs[slug] = Catalog.load(source)
    site: dict[str, Page] = {
        "/": ("text/html; charset=utf-8", render_html_index(catalogs).encode())
    }
    for slug, catalog in catalogs.items():
        site[f"/{slug}/"] = ("text/html; charset=utf-8", render_html(catalog).encode())
        site[f"/{slug}.md"] = ("text/markdown; charset=utf-8", render_markdown(catalog).encode())
    return site


def make_server(site: Mapping[str, Page], host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server for ``site``; port 0 picks a free port (see ``server_address``)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "errorbook-preview"
        sys_version = ""

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def _answer(self, *, send_body: bool) -> None:
            path = self.path.split("?", 1)[0]
            if path in site:
                content_type, body = site[path]
                status = HTTPStatus.OK
            elif path + "/" in site:
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", path + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            else:
                content_type, body = "text/plain; charset=utf-8", b"not found\n"
                status = HTTPStatus.NOT_FOUND
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            click.echo(f"{self.address_string()} {format % args}", err=True)

    return ThreadingHTTPServer((host, port), Handler)


def serve(sources: Iterable[str], *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Render the glossaries and serve them until interrupted."""
    site = build_site(sources)
    server = make_server(site, host, port)
    bound_port = server.server_address[1]
    click.echo(f"errorbook preview: serving {len(site) // 2} glossaries")
    click.echo(f"  open http://{host}:{bound_port}/")
    for path in sorted(p for p in site if p.endswith("/") and p != "/"):
        click.echo(f"    http://{host}:{bound_port}{path}")
    click.echo("  press Ctrl-C to stop")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("\nstopped")
    finally:
        server.server_close()
