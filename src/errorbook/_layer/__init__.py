"""The ErrorLayer: pure ASGI middleware that answers every error the catalog's way.

No web framework is imported here or below; Starlette and FastAPI appear only in the tests,
the benchmark and (later) the adapters.
"""

from __future__ import annotations

from ._answers import Authorize
from ._auth import Authenticator, AuthRequest, api_key, bearer
from ._jwt import jwt_bearer
from ._layer import ErrorLayer
from ._types import ASGIApp, Message, Receive, RouteOptions, Scope, Send

__all__ = [
    "ASGIApp",
    "AuthRequest",
    "Authenticator",
    "Authorize",
    "ErrorLayer",
    "Message",
    "Receive",
    "RouteOptions",
    "Scope",
    "Send",
    "api_key",
    "bearer",
    "jwt_bearer",
]
