"""errorbook: one error catalog as the single source of truth for an HTTP API's errors.

The catalog drives how the server answers, what the glossary says, and how clients react::

    import errorbook

    catalog = errorbook.Catalog.load("errors.yaml")   # or a profile: "tape", "rfc9457"
    raise catalog.error("size_mismatch", received=1200, declared=3243214)
"""

import contextlib as _contextlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._catalog import Catalog
from ._conditions import CONDITIONS
from ._diff import Change, diff
from ._docs import entry_anchor, render_html, render_markdown
from ._errors import (
    CatalogError,
    ErrorbookError,
    FormatError,
    ParamError,
    StoreError,
    UnknownEntryError,
)
from ._formats._base import Format, format_names, get_format, register_format
from ._layer import AuthRequest, ErrorLayer, RouteOptions, api_key, bearer, jwt_bearer
from ._lint import LintFinding, LintReport, lint
from ._negotiation import choose_format, choose_language
from ._openapi import OpenAPIError, add_error_responses, error_responses
from ._problem import FieldError, Problem
from ._profiles import profile_names
from ._response import ProblemResponse, render_response
from ._spec import ErrorSpec
from ._state import Limit, Store, open_store

if _TYPE_CHECKING:
    from .client import AsyncClient, Client, ProblemError

#: Client names, imported on first use so `import errorbook` never loads httpx.
_CLIENT = ("AsyncClient", "Client", "ProblemError")

__all__ = [
    "AsyncClient",
    "AuthRequest",
    "CONDITIONS",
    "Catalog",
    "CatalogError",
    "Change",
    "Client",
    "ErrorLayer",
    "ErrorSpec",
    "ErrorbookError",
    "FieldError",
    "Format",
    "FormatError",
    "Limit",
    "LintFinding",
    "LintReport",
    "OpenAPIError",
    "ParamError",
    "Problem",
    "ProblemError",
    "ProblemResponse",
    "RouteOptions",
    "Store",
    "StoreError",
    "UnknownEntryError",
    "add_error_responses",
    "api_key",
    "bearer",
    "choose_format",
    "choose_language",
    "diff",
    "entry_anchor",
    "error_responses",
    "format_names",
    "get_format",
    "jwt_bearer",
    "lint",
    "open_store",
    "profile_names",
    "register_format",
    "render_html",
    "render_markdown",
    "render_response",
]

# Reprs, tracebacks and docs show errorbook.Catalog, not errorbook._catalog.Catalog.
for _name in __all__:
    if _name in _CLIENT:
        continue
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and not isinstance(_obj, tuple):
        with _contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "errorbook"
del _name, _obj


def __getattr__(name: str) -> _Any:
    if name in _CLIENT:
        from . import client

        value = getattr(client, name)
        globals()[name] = value
        return value
    # The version comes from the installed metadata, read only when asked for.
    if name == "__version__":
        from importlib.metadata import version

        return version("errorbook")
    raise AttributeError(f"module 'errorbook' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_CLIENT})
