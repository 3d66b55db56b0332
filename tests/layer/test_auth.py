"""Guard 4: authentication and authorization, with the ready-made and custom checks."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from errorbook import Catalog
from errorbook._layer import AuthRequest, ErrorLayer, Receive, Scope, Send, api_key, bearer

from ._driver import call, ok_app, run, scope_for


def principal_app() -> tuple[Any, list[Any]]:
    """An app that records the principal the layer put into scope["state"]."""
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["state"]["principal"])
        await ok_app(scope, receive, send)

    return app, seen


@pytest.mark.parametrize(
    "header", ["x-api-key", "X-API-KEY"], ids=["lowercase", "uppercase-config"]
)
def test_api_key_accepted(header: str) -> None:
    """A known key passes, and its principal lands in scope["state"]["principal"]."""
    app, seen = principal_app()
    layer = ErrorLayer(app, auth=api_key(keys={"k1": "alice"}, header=header))
    assert run(layer, headers=[("x-api-key", "k1")]).status == 200
    assert seen == ["alice"]


def test_api_key_set_principal_is_key() -> None:
    """With a plain collection of keys the principal is the key itself."""
    app, seen = principal_app()
    run(ErrorLayer(app, auth=api_key(keys=["k1", "k2"])), headers=[("x-api-key", "k2")])
    assert seen == ["k2"]


@pytest.mark.parametrize(
    "headers",
    [[], [("x-api-key", "wrong")], [("x-api-key", "")], [("authorization", "Bearer k1")]],
    ids=["missing", "wrong", "empty", "other-header"],
)
def test_api_key_refused(headers: list[tuple[str, str]]) -> None:
    """A missing, empty or wrong key is refused with unauthenticated, before the app."""
    result = run(ErrorLayer(ok_app, auth=api_key(keys={"k1"})), headers=headers)
    assert result.status == 401
    assert result.json()["code"] == "unauthenticated"
    assert result.header("www-authenticate") is None
    assert result.header("x-app") is None


def test_existing_state_is_kept() -> None:
    """A scope["state"] the server made (lifespan state) is extended, not replaced."""
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(dict(scope["state"]))
        await ok_app(scope, receive, send)

    scope = scope_for(headers=[("x-api-key", "k")])
    scope["state"] = {"db": "pool"}
    asyncio.run(call(ErrorLayer(app, auth=api_key(keys={"k": "p"})), scope=scope))
    assert seen == [{"db": "pool", "principal": "p"}]


def test_single_string_keys_refused() -> None:
    """keys="secret" would accept every single character, so it is a TypeError."""
    with pytest.raises(TypeError, match="single key"):
        api_key(keys="secret")


@pytest.mark.parametrize(
    ("value", "status", "challenge"),
    [
        (None, 401, "Bearer"),
        ("Basic dTpw", 401, "Bearer"),
        ("Bearer", 401, "Bearer"),
        ("Bearer nope", 401, 'Bearer error="invalid_token"'),
        ("Bearer t\xe9", 401, 'Bearer error="invalid_token"'),
        ("Bearer tok", 200, None),
        ("bearer   tok  ", 200, None),
    ],
    ids=["missing", "other-scheme", "no-token", "wrong", "non-ascii", "valid", "case-and-space"],
)
def test_bearer(value: str | None, status: int, challenge: str | None) -> None:
    """Bearer tokens: a 401 carries a challenge, with invalid_token when a token was refused."""
    layer = ErrorLayer(ok_app, auth=bearer(keys={"tok": "svc"}))
    headers = [] if value is None else [("authorization", value)]
    result = run(layer, headers=headers)
    assert result.status == status
    assert result.header("www-authenticate") == challenge


def test_bearer_realm() -> None:
    """A realm is quoted into both challenges."""
    auth = bearer(keys={"t"}, realm='api "v1"')
    assert auth.challenge == 'Bearer realm="api \\"v1\\""'
    assert auth.invalid_challenge == 'Bearer realm="api \\"v1\\"", error="invalid_token"'


def test_bearer_needs_one_source() -> None:
    """bearer() takes exactly one of keys= and verify=."""
    with pytest.raises(TypeError, match="exactly one"):
        bearer()
    with pytest.raises(TypeError, match="exactly one"):
        bearer(keys={"a"}, verify=lambda token: token)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_bearer_verify(is_async: bool) -> None:
    """verify= may be sync or async; its result is the principal (the JWT seam)."""

    def check(token: str) -> Any:
        return {"sub": "u1"} if token == "good" else None

    async def acheck(token: str) -> Any:
        return check(token)

    app, seen = principal_app()
    layer = ErrorLayer(app, auth=bearer(verify=acheck if is_async else check))
    assert run(layer, headers=[("authorization", "Bearer good")]).status == 200
    assert seen == [{"sub": "u1"}]
    refused = run(layer, headers=[("authorization", "Bearer bad")])
    assert refused.header("www-authenticate") == 'Bearer error="invalid_token"'


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_custom_authenticator(is_async: bool) -> None:
    """Any callable taking an AuthRequest works, and its challenge attribute is used on 401."""

    def check(request: AuthRequest) -> Any:
        assert request.method == "GET"
        assert request.path == "/x"
        return request.header("X-User")

    async def acheck(request: AuthRequest) -> Any:
        return check(request)

    auth: Any = acheck if is_async else check
    auth.challenge = 'Custom realm="x"'
    app, seen = principal_app()
    layer = ErrorLayer(app, auth=auth)
    assert run(layer, path="/x", headers=[("x-user", "bob")]).status == 200
    assert seen == ["bob"]
    refused = run(layer, path="/x")
    assert refused.status == 401
    assert refused.header("www-authenticate") == 'Custom realm="x"'


def test_authenticator_failure_is_internal(caplog: pytest.LogCaptureFixture) -> None:
    """An authenticator that raises gives 500 internal, logged with the request id."""

    def broken(request: AuthRequest) -> Any:
        raise RuntimeError("ldap down at 10.0.0.7")

    with caplog.at_level(logging.ERROR, logger="errorbook.layer"):
        result = run(ErrorLayer(ok_app, auth=broken), headers=[("x-request-id", "r-auth")])
    assert result.status == 500
    assert b"ldap" not in result.body
    assert "r-auth" in caplog.text


def test_authenticator_may_raise_problem() -> None:
    """An authenticator may refuse with any catalog Problem, rendered as itself."""
    catalog = Catalog.load("rfc9457")

    def limited(request: AuthRequest) -> Any:
        raise catalog.error("rate_limited")

    result = run(ErrorLayer(ok_app, catalog=catalog, auth=limited))
    assert result.status == 429
    assert result.header("retry-after") == "1"


@pytest.mark.parametrize(
    ("hide", "status", "code"),
    [(False, 403, "forbidden"), (True, 404, "unknown_route")],
    ids=["forbidden", "hidden"],
)
def test_authorize(hide: bool, status: int, code: str) -> None:
    """authorize() refusing gives forbidden, or unknown_route with hide_forbidden."""
    calls: list[tuple[Any, str, str]] = []

    async def authorize(principal: Any, method: str, path: str) -> bool:
        calls.append((principal, method, path))
        return path != "/admin"

    layer = ErrorLayer(
        ok_app, auth=api_key(keys={"k": "alice"}), authorize=authorize, hide_forbidden=hide
    )
    headers = [("x-api-key", "k")]
    assert run(layer, path="/mine", headers=headers).status == 200
    result = run(layer, path="/admin", headers=headers)
    assert result.status == status
    assert result.json()["code"] == code
    assert calls == [("alice", "GET", "/mine"), ("alice", "GET", "/admin")]


def test_public_routes_skip_auth() -> None:
    """Routes listed in public= (pattern or METHOD pattern) skip authentication."""
    layer = ErrorLayer(
        ok_app,
        routes=[("GET", "/health"), ("GET", "/v1/docs/{id}"), ("POST", "/v1/docs/{id}")],
        auth=api_key(keys={"k"}),
        public=["/health", "GET /v1/docs/{id}"],
    )
    assert run(layer, path="/health").status == 200
    assert run(layer, path="/v1/docs/1").status == 200
    assert run(layer, method="HEAD", path="/v1/docs/1").status == 200
    assert run(layer, method="POST", path="/v1/docs/1").status == 401


def test_catalog_decides_status() -> None:
    """wetransfer answers unauthenticated with 403 and its own body, so no WWW-Authenticate."""
    layer = ErrorLayer(ok_app, catalog="wetransfer", auth=bearer(keys={"t"}))
    result = run(layer)
    assert result.status == 403
    assert result.header("www-authenticate") is None
    assert "message" in result.json()


def test_auth_request_header_lookup() -> None:
    """AuthRequest.header reads any case and returns None when absent."""
    request = AuthRequest({"method": "GET", "path": "/"}, {b"x-a": b"1"})
    assert request.header("X-A") == "1"
    assert request.header("x-b") is None


def test_header_auth_is_callable() -> None:
    """A ready-made authenticator also works as a plain async callable."""
    auth = api_key(keys={"k": "p"})
    assert asyncio.run(auth(AuthRequest({"method": "GET", "path": "/"}, {b"x-api-key": b"k"})))
    assert asyncio.run(auth(AuthRequest({"method": "GET", "path": "/"}, {}))) is None
