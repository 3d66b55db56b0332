"""The reference service assembled: Starlette routes behind an ErrorLayer, on the store.

One route table feeds both Starlette and the layer; the layer gets the profile's extended
catalog, the profile's credentials and the per-route body rules; the OpenAPI document gets
the catalog's errors per operation. The handlers themselves are in ``_handlers``.

See ``docs/reference-service.md`` for the contract these routes keep.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Final

from starlette.applications import Starlette
from starlette.routing import Route

from .._layer import ErrorLayer, RouteOptions
from .._layer._limits import OnStoreError
from .._state import Store as StateStore
from ..adapters.starlette import install, with_error_responses
from ._catalog import ServiceCatalog, service_catalog
from ._credentials import authenticator
from ._document import openapi_document
from ._handlers import Handlers
from ._situations import Situation
from ._store import Store

__all__ = [
    "DEFAULT_MAX_JOBS",
    "ENVIRONMENT",
    "JSON_LIMIT",
    "PART_LIMIT",
    "REBUILD_LIMITS",
    "ROUTES",
    "app_from_environment",
    "create_app",
    "store_of",
]

MIB: Final = 1024 * 1024
#: The largest JSON body any route reads.
JSON_LIMIT: Final = MIB
#: The largest part of a file upload.
PART_LIMIT: Final = 5 * MIB
#: The largest file ``POST /v1/rebuild`` takes, per profile (its seed page's limit).
REBUILD_LIMITS: Final[Mapping[str, int]] = {"rebuild": 6 * MIB, "symbl": MIB}
DEFAULT_REBUILD_LIMIT: Final = 5 * MIB
#: Seconds before the layer gives up on a handler (504).
DEADLINE: Final = 30.0

_TRANSFER: Final = "/v1/transfers/{transfer_id}"
_FILE: Final = _TRANSFER + "/files/{file_id}"
PARTS: Final = f"PUT {_FILE}/parts/{{n}}"
REBUILD: Final = "POST /v1/rebuild"
MAINTENANCE: Final = "PUT /v1/admin/maintenance"
TRACKERS: Final = "POST /v1/trackers"
#: Running jobs one credential may have at once, unless ``max_jobs`` says otherwise.
DEFAULT_MAX_JOBS: Final = 3
#: The catalog entry answering a second concurrent tracker call, per profile (where the
#: profile's seed page has one); the others answer with their concurrency_limited entry.
TRACKER_CALL_ENTRIES: Final[Mapping[str, str]] = {"symbl": "tracker_call_in_progress"}
#: The variable `app_from_environment` reads: ``errorbook demo --workers N`` puts the
#: service's settings there (JSON) for its worker processes.
ENVIRONMENT: Final = "ERRORBOOK_DEMO_SETTINGS"

#: Every route: (method, path, handler name). Both Starlette's table and the layer's
#: declared routes are built from it, so the two can never disagree.
ROUTES: Final[tuple[tuple[str, str, str], ...]] = (
    ("POST", "/v1/transfers", "create_transfer"),
    ("GET", _TRANSFER, "get_transfer"),
    ("PUT", f"{_FILE}/parts/{{n}}", "put_part"),
    ("POST", f"{_FILE}/complete", "complete_file"),
    ("POST", f"{_TRANSFER}/finalize", "finalize"),
    ("POST", "/v1/trackers", "create_tracker"),
    ("GET", "/v1/trackers/{tracker_id}", "get_tracker"),
    ("POST", "/v1/jobs", "create_job"),
    ("GET", "/v1/jobs/{job_id}", "get_job"),
    ("POST", "/v1/rebuild", "rebuild"),
    ("PUT", "/v1/admin/maintenance", "set_maintenance"),
    ("GET", "/v1/teapot", "teapot"),
    ("GET", "/openapi.json", "openapi"),
    ("GET", "/health", "health"),
)
PUBLIC: Final = ("/health", "/openapi.json")


def create_app(
    profile: str = "rfc9457",
    *,
    api_keys: Collection[str],
    db: str = ":memory:",
    jwt_secret: str | None = None,
    rebuild_limit: int | None = None,
    clock: Callable[[], float] = time.time,
    store: StateStore | str = "memory://",
    rate: Sequence[str] = (),
    max_jobs: int | None = DEFAULT_MAX_JOBS,
    on_store_error: OnStoreError = "fail_open",
) -> ErrorLayer:
    """The reference service for ``profile``, ready to serve (an ASGI app).

    Args:
        profile: A built-in profile name; its catalog, extended by the service's own
            entries, answers every error.
        api_keys: The accepted keys, each its own owner.
        db: The SQLite file (created with its schema when missing), or ``:memory:``.
        jwt_secret: The HS256 secret of ``rebuild``'s tokens (at least 32 bytes); required
            under ``rebuild``, ignored otherwise.
        rebuild_limit: The largest body of ``POST /v1/rebuild`` in bytes; the profile's
            seed page limit by default (6 MiB ``rebuild``, 1 MiB ``symbl``, else 5 MiB).
        clock: Seconds since the epoch; tests pass their own to move time.
        store: Where rate limits, tracker leases and idempotency keys live: a state store
            or its URL (``memory://``, ``redis://host:6379/0``); shared by every worker
            when it is Redis.
        rate: Rate limits per credential across every ``/v1`` route (``"100/minute"``),
            checked all-or-nothing; none by default.
        max_jobs: Running jobs one credential may have at once; None for no limit.
        on_store_error: ``"fail_open"`` (serve without limits) or ``"fail_closed"`` (503)
            while the state store fails.

    The Starlette app is ``layer.app``; its ``state`` holds ``store`` and ``service``.

    Raises:
        ValueError: an unknown profile, no or malformed keys, a missing or short secret,
            a negative limit, a malformed rate or store URL.
        StoreError: the database cannot be opened or used.
    """
    catalog = service_catalog(profile)
    auth = authenticator(profile, api_keys, jwt_secret)
    limit = rebuild_limit
    if limit is None:
        limit = REBUILD_LIMITS.get(profile, DEFAULT_REBUILD_LIMIT)
    if limit < 0:
        raise ValueError(f"expected a rebuild limit in bytes >= 0, got {limit}")
    if max_jobs is not None and max_jobs < 1:
        raise ValueError(f"expected at most N running jobs with N >= 1, got {max_jobs}")
    database = Store(db, clock=clock)
    service = Handlers(database, catalog, max_jobs=max_jobs)
    app = Starlette(
        routes=[
            Route(path, getattr(service, name), methods=[method], name=name)
            for method, path, name in ROUTES
        ]
    )
    octets = ["application/octet-stream"]
    trackers: RouteOptions = {"concurrency": 1}  # one call at a time per credential
    if profile in TRACKER_CALL_ENTRIES:
        trackers["concurrency_entry"] = TRACKER_CALL_ENTRIES[profile]
    options: dict[str, RouteOptions] = {
        PARTS: {"body_types": octets, "max_body": PART_LIMIT},
        REBUILD: {"body_types": octets, "max_body": limit, "produces": octets},
        # Open during maintenance, or nothing could switch it back off.
        MAINTENANCE: {"maintenance": False},
        TRACKERS: trackers,
        # The rate limits are per credential on /v1; the public routes are not counted.
        **{f"GET {path}": {"rate": []} for path in PUBLIC},
    }
    # `install` makes Starlette re-raise its errors, so the layer answers them all.
    layer = install(
        app,
        catalog=catalog.catalog,
        routes=[(method, path) for method, path, _ in ROUTES],
        auth=auth,
        public=PUBLIC,
        max_body=JSON_LIMIT,
        route_options=options,
        deadline=DEADLINE,
        store=store,
        limits=rate,
        idempotency="optional",
        on_store_error=on_store_error,
    )
    service.layer = layer
    service.document = with_error_responses(
        layer, openapi_document(catalog, rebuild_limit=limit), errors=_errors(catalog)
    )
    app.state.store = database
    app.state.service = service
    return layer


def app_from_environment() -> ErrorLayer:
    """The service from the settings ``errorbook demo`` left in `ENVIRONMENT`.

    uvicorn's worker processes import the app by name, so ``--workers N`` hands each one its
    settings this way (``uvicorn --factory errorbook._demo:app_from_environment``).

    Raises:
        RuntimeError: the variable is missing or malformed.
    """
    raw = os.environ.get(ENVIRONMENT)
    try:
        settings: dict[str, Any] = json.loads(raw or "")
        profile = settings.pop("profile")
    except (ValueError, TypeError, KeyError, AttributeError):
        raise RuntimeError(
            f"{ENVIRONMENT} must hold the demo's settings as JSON (set by errorbook demo)"
        ) from None
    return create_app(profile, **settings)


def store_of(layer: ErrorLayer) -> Store:
    """The store of a service `create_app` made (to close it, or to look inside in tests)."""
    app = layer.app
    assert isinstance(app, Starlette)
    store: Store = app.state.store
    return store


#: The situations each operation can meet, for its documented error responses.
SITUATIONS_BY_OPERATION: Final[Mapping[str, tuple[Situation, ...]]] = {
    f"GET {_TRANSFER}": ("not_found", "gone"),
    PARTS: ("not_found", "gone", "locked", "state_conflict"),
    f"POST {_FILE}/complete": ("not_found", "gone", "locked", "state_conflict", "size_mismatch"),
    f"POST {_TRANSFER}/finalize": ("not_found", "gone", "locked", "state_conflict"),
    "POST /v1/trackers": ("name_taken",),
    "GET /v1/trackers/{tracker_id}": ("tracker_not_found",),
    "GET /v1/jobs/{job_id}": ("not_found",),
    REBUILD: ("unsupported_file_type", "file_damaged"),
    "GET /v1/teapot": ("teapot",),
}


def _errors(catalog: ServiceCatalog) -> dict[str, list[str]]:
    """The entry keys each operation can answer with under ``catalog``'s profile."""
    return {
        operation: sorted({catalog.uses[situation].key for situation in situations})
        for operation, situations in SITUATIONS_BY_OPERATION.items()
    }
