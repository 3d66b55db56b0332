"""The catalog the reference service answers with: a built-in profile, plus what it lacks.

A profile reproduces a seed page, and a seed page documents only some of the service's
situations (wetransfer has a 410 and a 418, tape a hidden 404, rebuild its two 422s). For
each situation the service uses the profile's own entry where the page documents one, and
otherwise adds an entry of its own, written here once and rendered in the profile's format.
The profile's file is read as plain data, the additions are put beside its entries, and the
whole is validated again by `Catalog.from_dict`, exactly as a user's catalog would be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .._catalog import Catalog
from .._problem import Problem
from .._profiles import profile_names, profile_path
from .._source import read_catalog_file
from ._situations import SITUATIONS, Situation

__all__ = ["ServiceCatalog", "Use", "service_catalog"]

_TRANSFER: Final = "/v1/transfers/{transfer_id}"
_FILE: Final = _TRANSFER + "/files/{file_id}"
_WRITES: Final = [
    f"PUT {_FILE}/parts/{{n}}",
    f"POST {_FILE}/complete",
    f"POST {_TRANSFER}/finalize",
]

#: The entries the service adds where a profile has none for a situation; keys are the
#: situations' names, and each entry's parameters are the situation's facts by name.
ADDITIONS: Final[Mapping[Situation, Mapping[str, Any]]] = {
    "not_found": {
        "status": 404,
        "title": "Not found",
        "message": "Nothing with this id is visible to these credentials.",
        "description": (
            "No resource of this kind has the id in the path, or it belongs to other "
            "credentials. Both cases get the same answer, so ids cannot be probed."
        ),
        "resolution": "Check the id, and send the credentials that created the resource.",
        "endpoints": [
            f"GET {_TRANSFER}",
            *_WRITES,
            "GET /v1/trackers/{tracker_id}",
            "GET /v1/jobs/{job_id}",
        ],
    },
    "name_taken": {
        "status": 409,
        "title": "Name taken",
        "message": "You already have a tracker named {name}.",
        "params": {"name": "str"},
        "example": {"name": "Weekly review"},
        "description": "Tracker names are unique for each set of credentials.",
        "resolution": "Choose another name, or use the tracker that already has this one.",
        "endpoints": ["POST /v1/trackers"],
    },
    "gone": {
        "status": 410,
        "title": "Gone",
        "message": "This transfer has expired and its files were removed.",
        "description": "A transfer lives until its expiry time; after that it answers 410.",
        "resolution": "Create a new transfer and upload the files again.",
        "endpoints": [f"GET {_TRANSFER}", *_WRITES],
    },
    "locked": {
        "status": 423,
        "title": "Locked",
        "message": "The transfer is being finalised and takes no changes for now.",
        "description": (
            "Finalising a transfer locks it for a few seconds. `Retry-After` says how many "
            "are left."
        ),
        "resolution": "Wait for `Retry-After` seconds, then read the transfer again.",
        "retry": "after",
        "endpoints": _WRITES,
    },
    "state_conflict": {
        "status": 409,
        "title": "Conflict with the transfer's state",
        "message": "The transfer's current state does not allow this change.",
        "description": (
            "The request does not fit the state the transfer is in: a part for a file that "
            "is already complete, any change to a finalised transfer, or finalising before "
            "every file is complete. Where the format has room, `detail` names the cause."
        ),
        "resolution": "Read the transfer, then send only what its state allows.",
        "endpoints": _WRITES,
    },
    "size_mismatch": {
        "status": 400,
        "title": "Size mismatch",
        "message": "Received {received} bytes, but the file was declared with {declared}.",
        "params": {"received": "int", "declared": "int"},
        "example": {"received": 1200, "declared": 3243214},
        "description": (
            "Completing a file adds up the bytes of its parts and compares the sum with the "
            "size given when the transfer was created. They differ."
        ),
        "resolution": (
            "Upload every part before completing (sending a part again replaces it), or "
            "declare the right size in a new transfer."
        ),
        "endpoints": [f"POST {_FILE}/complete"],
    },
    "unsupported_file_type": {
        "status": 422,
        "title": "Unsupported file type",
        "message": "The service does not rebuild files of this type.",
        "description": (
            "The file's first bytes match none of the types the service rebuilds: PDF, PNG "
            "and ZIP (which includes Office documents)."
        ),
        "resolution": "Send a PDF, PNG or ZIP file.",
        "endpoints": ["POST /v1/rebuild"],
    },
    "file_damaged": {
        "status": 422,
        "title": "File too damaged",
        "message": "The file is too damaged to be rebuilt.",
        "description": (
            "The type is supported, but the file's structure is broken: a PDF without its "
            "end-of-file marker, a PNG with a cut or corrupted chunk, a ZIP without its "
            "central directory."
        ),
        "resolution": "Send an intact copy of the file.",
        "endpoints": ["POST /v1/rebuild"],
    },
    "teapot": {
        "status": 418,
        "title": "I'm a teapot",
        "message": "This server is a teapot; it does not brew coffee.",
        "description": (
            "A joke status from RFC 2324, kept to show that any status renders in the "
            "catalog's format."
        ),
        "resolution": "Ask a coffee pot instead.",
        "endpoints": ["GET /v1/teapot"],
    },
}


@dataclass(frozen=True, slots=True)
class Use:
    """How one situation is answered: an entry, and its parameters from the situation's facts.

    Args:
        key: The entry's key in the (extended) catalog.
        params: Entry parameter -> the fact that fills it.
    """

    key: str
    params: Mapping[str, str]


_NOT_FOUND: Final = Use("not_found", {})

#: The profile entries that answer a situation because the profile's seed page documents it.
REUSED: Final[Mapping[str, Mapping[Situation, Use]]] = {
    "rfc9457": {},
    "tape": {
        "not_found": _NOT_FOUND,
        "tracker_not_found": _NOT_FOUND,
        "name_taken": Use("conflict_error", {}),
        "state_conflict": Use("conflict_error", {}),
    },
    "discord": {
        "not_found": _NOT_FOUND,
        "tracker_not_found": _NOT_FOUND,
        "name_taken": Use("conflict", {}),
        "state_conflict": Use("conflict", {}),
        "gone": Use("gone", {}),
        "locked": Use("locked", {}),
    },
    "symbl": {
        "not_found": _NOT_FOUND,
        "tracker_not_found": Use("tracker_not_found", {"tracker_id": "tracker_id"}),
        "name_taken": Use("tracker_exists", {"name": "name"}),
    },
    "wetransfer": {
        "not_found": _NOT_FOUND,
        "tracker_not_found": _NOT_FOUND,
        "gone": Use("gone", {}),
        "teapot": Use("teapot", {}),
        # The page's "Expected 1200 to be 3243214" reads "expected <the bytes sent> to be
        # <the size declared>": the file sent was expected to have the declared size.
        "size_mismatch": Use("size_mismatch", {"received": "received", "declared": "declared"}),
    },
    "rebuild": {
        "unsupported_file_type": Use("unsupported_file_type", {}),
        "file_damaged": Use("file_damaged", {}),
    },
}

#: Wire codes for added entries, where a profile's format needs its own kind of code.
#: Discord's codes are integers: its convention gives an entry without a JSON code its
#: status (418); the service's specific errors take numbers from 910001 up, a block
#: Discord's code list does not use.
CODES: Final[Mapping[str, Mapping[Situation, int]]] = {
    "discord": {
        "size_mismatch": 910001,
        "unsupported_file_type": 910002,
        "file_damaged": 910003,
        "teapot": 418,
    },
}


class ServiceCatalog:
    """The extended catalog and which entry answers each situation.

    Args:
        profile: The built-in profile it extends.
        catalog: The profile plus the service's additions.
        uses: Situation -> entry and parameters.
        added: The keys of the entries the service added.
    """

    def __init__(
        self,
        profile: str,
        catalog: Catalog,
        uses: Mapping[Situation, Use],
        added: tuple[str, ...],
    ) -> None:
        self.profile = profile
        self.catalog = catalog
        self.uses = uses
        self.added = added

    def error(
        self,
        situation: Situation,
        *,
        reason: str | None = None,
        retry_after: float | None = None,
        **facts: Any,
    ) -> Problem:
        """The profile's Problem for ``situation``; ``facts`` fill the entry's parameters."""
        use = self.uses[situation]
        params = {param: facts[fact] for param, fact in use.params.items()}
        return self.catalog.error(use.key, retry_after=retry_after, **_reason(reason), **params)

    def condition(self, condition: str, *, reason: str | None = None, **kwargs: Any) -> Problem:
        """The Problem of the entry that answers one of the layer's conditions."""
        key = self.catalog.for_condition(condition).key
        return self.catalog.error(key, **_reason(reason), **kwargs)


def _reason(reason: str | None) -> dict[str, Any]:
    """``reason`` as the ``reason`` extension member (and the Problem's ``detail``).

    Formats carry a Problem's message, not its ``detail``; an extension member is how
    occurrence facts reach the client, in the formats with room for extensions
    (problem+json, problem+xml, discord, rebuild), as the layer's ``line`` and ``column``
    do for invalid JSON.
    """
    if reason is None:
        return {}
    return {"detail": reason, "extensions": {"reason": reason}}


def service_catalog(profile: str) -> ServiceCatalog:
    """The service's catalog for a built-in ``profile``.

    Raises:
        ValueError: ``profile`` is not a built-in profile name.
    """
    if profile not in profile_names():
        raise ValueError(
            f"unknown profile {profile!r}; expected one of {', '.join(profile_names())}"
        )
    data, _ = read_catalog_file(profile_path(profile), f"{profile} (built-in profile)")
    entries: dict[str, Any] = data["errors"]
    reused = REUSED.get(profile, {})
    codes = CODES.get(profile, {})
    uses: dict[Situation, Use] = {}
    added: list[str] = []
    for situation in SITUATIONS:
        if situation in reused:
            uses[situation] = reused[situation]
        elif situation == "tracker_not_found":
            uses[situation] = uses["not_found"]
        else:
            entry = dict(ADDITIONS[situation])
            if situation in codes:
                entry["code"] = codes[situation]
            if situation in entries:
                raise ValueError(f"{profile} already has an entry {situation!r}; reuse it")
            entries[situation] = entry
            added.append(situation)
            uses[situation] = Use(situation, {name: name for name in entry.get("params", {})})
    catalog = Catalog.from_dict(data, name=f"{profile} (built-in profile) + errorbook demo")
    return ServiceCatalog(profile, catalog, uses, tuple(added))
