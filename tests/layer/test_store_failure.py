"""A failing store: the configured policy answers (fail open: no limits; fail closed: the
catalog's 503), never a 500, and the outage is logged once, then its end once."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest

from errorbook import ErrorLayer
from errorbook._layer import api_key
from errorbook._state import MemoryStore, Store
from tests._redis import free_port
from tests.layer._driver import call, ok_app
from tests.layer._limited import ALICE, KEYS, BrokenStore, Counting, ratelimit

pytestmark = pytest.mark.anyio

EVERYTHING: dict[str, Any] = {
    "limits": ["1/minute"],
    "route_options": {"POST /v1/things": {"concurrency": 1, "idempotency": "required"}},
}


def broken_layer(policy: str, app: Any = ok_app, **kwargs: Any) -> tuple[ErrorLayer, BrokenStore]:
    store = BrokenStore(MemoryStore())
    layer = ErrorLayer(
        app,
        auth=api_key(keys=KEYS),
        store=cast(Store, store),
        on_store_error=policy,  # type: ignore[arg-type]
        **{**EVERYTHING, **kwargs},
    )
    return layer, store


async def post(layer: ErrorLayer) -> Any:
    headers = [*ALICE, ("idempotency-key", "k"), ("content-type", "application/json")]
    return await call(
        layer, "POST", "/v1/things", headers=[*headers, ("content-length", "2")], body=b"{}"
    )


async def test_fail_open_serves_without_limits(caplog: pytest.LogCaptureFixture) -> None:
    """Fail open: every guard is skipped, the app answers, no RateLimit headers."""
    app = Counting()
    layer, _ = broken_layer("fail_open", app)
    for _ in range(3):
        result = await post(layer)
        assert result.status == 201
        assert ratelimit(result) == (None, None)
    assert app.calls == 3


async def test_fail_closed_answers_503(caplog: pytest.LogCaptureFixture) -> None:
    """Fail closed: the catalog's maintenance entry, 503 with Retry-After, in its format."""
    app = Counting()
    layer, _ = broken_layer("fail_closed", app, catalog="wetransfer")
    result = await post(layer)
    assert result.status == 503
    assert result.json() == {"message": "The API is down for scheduled maintenance."}
    assert result.header("retry-after") == "300"
    assert app.calls == 0


@pytest.mark.parametrize("policy", ["fail_open", "fail_closed"])
async def test_logged_once_per_outage(caplog: pytest.LogCaptureFixture, policy: str) -> None:
    """The first failure logs a WARNING, later ones nothing; recovery logs once."""
    layer, store = broken_layer(policy)
    caplog.set_level(logging.INFO, logger="errorbook.layer")
    for _ in range(5):
        assert (await call(layer, headers=ALICE)).status in (200, 503)
    failures = [r for r in caplog.records if "state store failed" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].levelno == logging.WARNING
    store.broken = False
    for _ in range(3):
        await call(layer, headers=ALICE)
    recovered = [r for r in caplog.records if "answers again" in r.getMessage()]
    assert len(recovered) == 1
    store.broken = True
    await call(layer, headers=ALICE)
    assert len([r for r in caplog.records if "state store failed" in r.getMessage()]) == 2


@pytest.mark.parametrize("policy", ["fail_open", "fail_closed"])
async def test_unreachable_redis(policy: str) -> None:
    """A real Redis URL nobody listens on: the policy answers, never a 500."""
    url = f"redis://127.0.0.1:{free_port()}/0?socket_connect_timeout=0.2&socket_timeout=0.2"
    app = Counting()
    layer = ErrorLayer(
        app,
        auth=api_key(keys=KEYS),
        store=url,
        on_store_error=policy,  # type: ignore[arg-type]
        **EVERYTHING,
    )
    try:
        result = await post(layer)
        assert result.status == (201 if policy == "fail_open" else 503)
        plain = await call(layer, headers=ALICE)
        assert plain.status == (201 if policy == "fail_open" else 503)
    finally:
        await layer.aclose()
