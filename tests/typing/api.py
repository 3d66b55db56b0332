"""Checked by mypy (`make typecheck`), never run: the public API as a user's code sees it."""

from __future__ import annotations

from typing import Any, assert_type

import errorbook
from errorbook import Catalog, ErrorSpec, FieldError, Format, Problem, ProblemResponse

catalog = Catalog.load("tape")
assert_type(catalog, Catalog)
assert_type(Catalog.from_dict({"name": "T", "errors": {"a": {"status": 400}}}), Catalog)

spec = catalog["invalid_json"]
assert_type(spec, ErrorSpec)
assert_type(spec.status, int)
assert_type(spec.code, str | int)

problem = catalog.problem("invalid_json", fields=[FieldError("/a", "bad", "Bad.")])
assert_type(problem, Problem)
assert_type(problem.fields, tuple[FieldError, ...])
assert_type(problem.retry_after, float | None)


def handler() -> None:
    raise catalog.error("invalid_json", request_id="r-1")


fmt = errorbook.get_format("problem+json")
assert_type(fmt, Format)
assert_type(fmt.render(problem), bytes)
assert_type(fmt.parse(b"{}", status=400), Problem)

response = errorbook.render_response(catalog, problem, accept="application/json")
assert_type(response, ProblemResponse)
assert_type(response.headers, tuple[tuple[str, str], ...])

report = errorbook.lint("tape")
assert_type(report.ok, bool)
changes = errorbook.diff(catalog, Catalog.load("rfc9457"))
assert_type(changes, list[errorbook.Change])


async def asgi_app(scope: Any, receive: Any, send: Any) -> None: ...


jwt_auth = errorbook.jwt_bearer(
    "a-shared-secret-of-at-least-thirty-two-bytes",
    algorithms=["HS256"],
    audience="https://api.example.com",
    principal=lambda claims: str(claims["sub"]),
)
open_admin: errorbook.RouteOptions = {"maintenance": False}
layer = errorbook.ErrorLayer(
    asgi_app,
    routes=[("PUT", "/v1/admin/maintenance")],
    auth=jwt_auth,
    route_options={"PUT /v1/admin/maintenance": open_admin},
)
