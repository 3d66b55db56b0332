"""The reference service's handlers: the service's work, and nothing about errors but raising.

A `Refused` from the store becomes the profile's Problem in `Handlers._call`, bad bodies
become ``invalid_json`` or ``validation_failed``, and the layer renders whatever is raised
in the profile's format. Unknown paths, wrong methods, credentials, media types and body
sizes never reach a handler: the layer answers them from the declared route table.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, ParamSpec, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from .._layer import ErrorLayer
from .._problem import Problem
from ._catalog import ServiceCatalog
from ._rebuild import rebuild
from ._schema import Checker, InvalidJson, parse_json
from ._situations import Refused
from ._store import File, JobsBusy, Store, Transfer

__all__ = ["Handlers"]

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_EXPIRES_IN: Final = 7 * 24 * 3600.0
MAX_EXPIRES_IN: Final = 365 * 24 * 3600.0
DEFAULT_FINALIZE: Final = 3.0
DEFAULT_JOB: Final = 2.0
MAX_WAIT: Final = 60.0
#: The shortest wait: a 202 must still be in progress when the answer is sent.
MIN_WAIT: Final = 0.001
MAX_PARTS: Final = 10_000
_PART_NUMBER: Final = re.compile(r"[1-9][0-9]{0,4}\Z")  # canonical: no leading 0


def _encode(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(_encode(data), status, dict(headers or {}), media_type="application/json")


def _seconds(value: float) -> int:
    """Whole seconds to wait, rounded up, as ``Retry-After`` and ``retry_after`` say it."""
    return max(0, math.ceil(value))


def _rfc3339(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def _file(file: File) -> dict[str, Any]:
    return {
        "id": file.id,
        "name": file.name,
        "size": file.size,
        "received": file.received,
        "complete": file.complete,
    }


def _transfer(transfer: Transfer) -> dict[str, Any]:
    return {
        "id": transfer.id,
        "name": transfer.name,
        "state": transfer.state,
        "expires_at": _rfc3339(transfer.expires_at),
        "files": [_file(file) for file in transfer.files],
    }


def _etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _none_match(header: str | None, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag`` (weak comparison, as RFC 9110 asks)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == tag:
            return True
    return False


class Handlers:
    """The route handlers, bound to one store and one catalog.

    ``layer`` and ``document`` are set by `create_app` once the layer exists.
    """

    layer: ErrorLayer
    document: dict[str, Any]

    def __init__(
        self, store: Store, catalog: ServiceCatalog, *, max_jobs: int | None = None
    ) -> None:
        self.store = store
        self.catalog = catalog
        #: Running jobs one credential may have at once (None: no limit).
        self.max_jobs = max_jobs

    # -- plumbing --------------------------------------------------------------------------

    async def _call(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking store call in a worker thread; a refusal becomes the profile's."""
        try:
            return await asyncio.to_thread(method, *args, **kwargs)
        except Refused as refused:
            raise self._problem(refused) from None

    def _problem(self, refused: Refused) -> Problem:
        return self.catalog.error(
            refused.situation,
            reason=refused.reason,
            retry_after=None if refused.retry_after is None else _seconds(refused.retry_after),
            **refused.facts,
        )

    async def _body(self, request: Request, *, required: bool) -> Any:
        """The JSON body; an absent optional body reads as ``{}``."""
        raw = await request.body()
        if not raw and not required:
            return {}
        try:
            return parse_json(raw)
        except InvalidJson as exc:
            raise self.catalog.condition("invalid_json", reason=exc.reason) from None

    def _check(self, checker: Checker) -> None:
        if checker.errors:
            raise self.catalog.condition("validation_failed", fields=checker.errors)

    @staticmethod
    def _owner(request: Request) -> str:
        return str(request.state.principal)

    async def _wait(self, request: Request, default: float) -> float:
        """The optional ``{"seconds": number}`` body of finalize and jobs."""
        body = await self._body(request, required=False)
        checker = Checker()
        found = checker.object(body, "", optional=("seconds",))
        seconds: float | None = default
        if found is not None and "seconds" in found:
            seconds = checker.number(
                found["seconds"], "/seconds", minimum=MIN_WAIT, maximum=MAX_WAIT
            )
        self._check(checker)
        assert seconds is not None
        return seconds

    # -- transfers -------------------------------------------------------------------------

    async def create_transfer(self, request: Request) -> Response:
        body = await self._body(request, required=True)
        checker = Checker()
        found = checker.object(body, "", required=("name", "files"), optional=("expires_in",))
        name: str | None = None
        files: list[tuple[str, int]] = []
        expires_in: float | None = DEFAULT_EXPIRES_IN
        if found is not None:
            if "name" in found:
                name = checker.string(found["name"], "/name", min_length=1, max_length=255)
            if "files" in found:
                items = checker.array(found["files"], "/files", min_items=1, max_items=100)
                for index, item in enumerate(items or ()):
                    at = f"/files/{index}"
                    entry = checker.object(item, at, required=("name", "size"))
                    if entry is None:
                        continue
                    file_name = size = None
                    if "name" in entry:
                        file_name = checker.string(
                            entry["name"], f"{at}/name", min_length=1, max_length=255
                        )
                    if "size" in entry:
                        size = checker.integer(entry["size"], f"{at}/size", minimum=0)
                    if file_name is not None and size is not None:
                        files.append((file_name, size))
            if "expires_in" in found:
                expires_in = checker.number(
                    found["expires_in"],
                    "/expires_in",
                    minimum=0,
                    maximum=MAX_EXPIRES_IN,
                    above=True,
                )
        self._check(checker)
        assert name is not None
        assert expires_in is not None
        transfer = await self._call(
            self.store.create_transfer, self._owner(request), name, files, expires_in
        )
        body = _encode(_transfer(transfer))
        headers = {"Location": f"/v1/transfers/{transfer.id}", "ETag": _etag(body)}
        return Response(body, 201, headers, media_type="application/json")

    async def get_transfer(self, request: Request) -> Response:
        transfer = await self._call(
            self.store.get_transfer, self._owner(request), request.path_params["transfer_id"]
        )
        body = _encode(_transfer(transfer))
        tag = _etag(body)
        if _none_match(request.headers.get("if-none-match"), tag):
            return Response(status_code=304, headers={"ETag": tag})
        return Response(body, 200, {"ETag": tag}, media_type="application/json")

    async def put_part(self, request: Request) -> Response:
        raw_number = request.path_params["n"]
        number = int(raw_number) if _PART_NUMBER.match(raw_number) else 0
        if not 1 <= number <= MAX_PARTS:
            checker = Checker()
            checker.fail("/n", "out_of_range", f"Part numbers go from 1 to {MAX_PARTS}.")
            self._check(checker)
        data = await request.body()
        file_id = request.path_params["file_id"]
        received = await self._call(
            self.store.put_part,
            self._owner(request),
            request.path_params["transfer_id"],
            file_id,
            number,
            data,
        )
        return _json({"file_id": file_id, "part": number, "received": received})

    async def complete_file(self, request: Request) -> Response:
        file = await self._call(
            self.store.complete_file,
            self._owner(request),
            request.path_params["transfer_id"],
            request.path_params["file_id"],
        )
        return _json(_file(file))

    async def finalize(self, request: Request) -> Response:
        seconds = await self._wait(request, DEFAULT_FINALIZE)
        transfer = await self._call(
            self.store.finalize, self._owner(request), request.path_params["transfer_id"], seconds
        )
        wait = _seconds(transfer.finalizing_for)
        return _json(
            {"id": transfer.id, "state": transfer.state, "retry_after": wait},
            202,
            {"Retry-After": str(wait), "Location": f"/v1/transfers/{transfer.id}"},
        )

    # -- trackers --------------------------------------------------------------------------

    async def create_tracker(self, request: Request) -> Response:
        body = await self._body(request, required=True)
        checker = Checker()
        found = checker.object(body, "", required=("name",))
        name = None
        if found is not None and "name" in found:
            name = checker.string(found["name"], "/name", min_length=1, max_length=100)
        self._check(checker)
        assert name is not None
        tracker = await self._call(self.store.create_tracker, self._owner(request), name)
        return _json(
            {"id": tracker.id, "name": tracker.name},
            201,
            {"Location": f"/v1/trackers/{tracker.id}"},
        )

    async def get_tracker(self, request: Request) -> Response:
        tracker = await self._call(
            self.store.get_tracker, self._owner(request), request.path_params["tracker_id"]
        )
        return _json({"id": tracker.id, "name": tracker.name})

    # -- jobs ------------------------------------------------------------------------------

    async def create_job(self, request: Request) -> Response:
        seconds = await self._wait(request, DEFAULT_JOB)
        try:
            job = await self._call(
                self.store.create_job, self._owner(request), seconds, max_running=self.max_jobs
            )
        except JobsBusy as busy:
            # Answered by the entry of the layer's concurrency_limited condition (symbl's
            # concurrent_jobs_limit), with the wait until a running job ends.
            raise self.catalog.condition(
                "concurrency_limited",
                reason=f"{busy.running} jobs are running; at most {self.max_jobs} may run at once.",
                retry_after=max(1, _seconds(busy.retry_after)),
            ) from None
        wait = _seconds(job.remaining)
        return _json(
            {"id": job.id, "state": "running", "retry_after": wait},
            202,
            {"Retry-After": str(wait), "Location": f"/v1/jobs/{job.id}"},
        )

    async def get_job(self, request: Request) -> Response:
        job = await self._call(
            self.store.get_job, self._owner(request), request.path_params["job_id"]
        )
        if job.done:
            return _json({"id": job.id, "state": "done", "result": {"seconds": job.seconds}})
        wait = _seconds(job.remaining)
        return _json(
            {"id": job.id, "state": "running", "retry_after": wait},
            202,
            {"Retry-After": str(wait)},
        )

    # -- rebuild ---------------------------------------------------------------------------

    async def rebuild(self, request: Request) -> Response:
        data = await request.body()
        try:
            kind, rebuilt = await asyncio.to_thread(rebuild, data)
        except Refused as refused:
            raise self._problem(refused) from None
        return Response(
            rebuilt,
            200,
            {"X-Detected-Type": kind},
            media_type="application/octet-stream",
        )

    # -- odds and ends ---------------------------------------------------------------------

    async def set_maintenance(self, request: Request) -> Response:
        body = await self._body(request, required=True)
        checker = Checker()
        found = checker.object(body, "", required=("on",))
        on = None
        if found is not None and "on" in found:
            on = checker.boolean(found["on"], "/on")
        self._check(checker)
        assert on is not None
        self.layer.maintenance = on
        return _json({"maintenance": on})

    async def teapot(self, request: Request) -> Response:
        raise self.catalog.error("teapot")

    async def openapi(self, request: Request) -> Response:
        return _json(self.document)

    async def health(self, request: Request) -> Response:
        return _json({"status": "ok"})
