"""The glossary preview server, over a real socket on 127.0.0.1."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from errorbook._preview import build_site, make_server


@pytest.fixture(name="base_url", scope="module")
def _base_url() -> Iterator[str]:
    server = make_server(build_site([]), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def fetch(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_index_links_every_profile(base_url: str) -> None:
    """The index page links to each built-in profile's glossary."""
    from errorbook import profile_names

    status, content_type, body = fetch(base_url + "/")
    assert status == 200
    assert content_type.startswith("text/html")
    for name in profile_names():
        assert f"/{name}/" in body


def test_profile_pages(base_url: str) -> None:
    """Each profile has an HTML glossary and its Markdown source."""
    status, content_type, body = fetch(base_url + "/tape/")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert "too_many_requets" in body
    status, content_type, body = fetch(base_url + "/tape.md")
    assert status == 200
    assert content_type.startswith("text/markdown")
    assert "| Status | error_code |" in body


def test_unknown_path_is_404(base_url: str) -> None:
    """Paths outside the site answer 404."""
    assert fetch(base_url + "/nope")[0] == 404
