"""The reference service in process: `create_app` behind httpx's ASGITransport.

Time is a `FakeClock` the tests move forward, so expiry, finalising and jobs are checked
without sleeping.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from errorbook import ErrorLayer
from errorbook._demo import create_app, store_of
from errorbook._demo._credentials import credentials
from errorbook._demo._store import Store
from errorbook._state import MemoryStore

KEY_A: Final = "demo-key-alpha"
KEY_B: Final = "demo-key-bravo"
SECRET: Final = "demo-tests-jwt-secret-0123456789abcdef"
JSON: Final = {"Content-Type": "application/json"}
OCTETS: Final = {"Content-Type": "application/octet-stream"}
#: No credential at all.
ANONYMOUS: Final = ""


@dataclass
class FakeClock:
    """Seconds since the epoch, moved by hand."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Service:
    """One service, its clock and each key's credential header."""

    profile: str
    layer: ErrorLayer
    clock: FakeClock
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return store_of(self.layer)

    def call(self, method: str, path: str, *, key: str = KEY_A, **kwargs: Any) -> httpx.Response:
        """One request with ``key``'s credential (none for ANONYMOUS)."""
        headers = {**self.headers.get(key, {}), **kwargs.pop("headers", {})}

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.layer)
            async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
                return await client.request(method, path, headers=headers, **kwargs)

        return asyncio.run(go())

    def post_json(self, path: str, body: Any, *, key: str = KEY_A) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.call("POST", path, key=key, content=content, headers=JSON)

    def new_transfer(self, *sizes: int, key: str = KEY_A, **extra: Any) -> dict[str, Any]:
        files = [{"name": f"file-{index}.bin", "size": size} for index, size in enumerate(sizes)]
        response = self.post_json("/v1/transfers", {"name": "t", "files": files, **extra}, key=key)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def put_part(
        self, transfer: str, file: str, number: int | str, data: bytes, *, key: str = KEY_A
    ) -> httpx.Response:
        path = f"/v1/transfers/{transfer}/files/{file}/parts/{number}"
        return self.call("PUT", path, key=key, content=data, headers=OCTETS)


def start(
    profile: str = "rfc9457",
    *,
    db: str = ":memory:",
    rebuild_limit: int | None = None,
    **options: Any,
) -> Service:
    """A fresh service under ``profile`` for KEY_A and KEY_B; ``options`` go to create_app
    (``rate``, ``max_jobs``...). Its state store runs on the same fake clock."""
    clock = FakeClock()
    keys = [KEY_A, KEY_B]
    secret = SECRET if profile == "rebuild" else None
    options.setdefault("store", MemoryStore(clock=clock))
    layer = create_app(
        profile,
        api_keys=keys,
        db=db,
        jwt_secret=secret,
        rebuild_limit=rebuild_limit,
        clock=clock,
        **options,
    )
    shown = credentials(profile, keys, secret)
    headers = {key: {c.header: c.value} for key, c in zip(keys, shown, strict=True)}
    return Service(profile, layer, clock, headers)


def body_of(response: httpx.Response) -> dict[str, Any]:
    """The JSON object in ``response``."""
    found = json.loads(response.content)
    assert isinstance(found, dict), found
    return found
