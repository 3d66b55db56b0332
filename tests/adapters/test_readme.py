"""The README's adapter examples run as written and do what the text says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from errorbook import ErrorLayer

from ._client import fetch

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks(containing: str) -> list[str]:
    """The README's ```python blocks that contain ``containing``."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return [block for block in blocks if containing in block]


def test_fastapi_example_runs() -> None:
    """The FastAPI example installs, opens FastAPI's docs pages and guards the rest."""
    (block,) = python_blocks("errorbook.adapters.fastapi import install")
    namespace: dict[str, Any] = {}
    exec(compile(block, str(README), "exec"), namespace)
    asgi = namespace["asgi"]
    assert isinstance(asgi, ErrorLayer)
    for url in ("/docs", "/redoc", "/docs/oauth2-redirect", "/openapi.json"):
        assert fetch(asgi, "GET", url).status_code == 200, url
    refused = fetch(asgi, "GET", "/v1/trackers/1")
    assert refused.status_code == 401
    assert refused.json()["error_code"] == "unauthorized"
    token = {"authorization": "Bearer secret-key"}
    assert fetch(asgi, "GET", "/v1/trackers/1", headers=token).json() == {"id": 1}
    document = fetch(asgi, "GET", "/openapi.json").json()
    assert "404" in document["paths"]["/v1/trackers/{tracker_id}"]["get"]["responses"]
