"""The reference service behind ``errorbook demo``: a small, real API on SQLite.

Transfers with chunked uploads, named trackers, asynchronous jobs and file rebuilds, built
with `ErrorLayer` on Starlette, that meets every error situation of the seed pages and
answers it the way the chosen profile does. The contract is ``docs/reference-service.md``.

Needs the ``[demo]`` extra (Starlette, uvicorn, PyJWT); importing this package without it
raises ImportError naming the extra.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401
except ImportError:  # pragma: no cover - exercised by the CLI's missing-extra test
    raise ImportError(
        "the reference service needs Starlette and uvicorn: pip install 'errorbook[demo]'"
    ) from None

from ._app import app_from_environment, create_app, store_of

__all__ = ["app_from_environment", "create_app", "store_of"]
