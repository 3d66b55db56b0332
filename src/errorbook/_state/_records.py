"""Concurrency leases and idempotency records: the values the stores hand back.

Idempotency follows the IETF Idempotency-Key draft with Stripe's semantics: the first
request with a key runs and its response is kept for a retention period; a repeat with the
same fingerprint gets that response replayed, a repeat while the first still runs is told
so (409), and a repeat with a different payload is refused (422) because replaying another
request's response, or running it, would both be wrong.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = [
    "Begin",
    "InFlight",
    "Lease",
    "Mismatch",
    "Replay",
    "Started",
    "StoredResponse",
    "fingerprint",
]


@dataclass(frozen=True, slots=True)
class Lease:
    """One held slot of a concurrency limit; give it back with ``store.release(lease)``.

    The token is random and unique per acquisition, so releasing twice, or releasing a
    lease that already expired and was handed to someone else, frees nothing it should not.
    """

    key: str
    token: str
    #: Slots held under this key right after this one was taken, this one included.
    in_flight: int


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response kept for replay: status, raw ASGI headers and the whole body."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Started:
    """No record existed: this request runs the handler, then completes or abandons.

    ``token`` proves ownership: if the lock expired and another request took the key over,
    this one's late ``complete`` stores nothing rather than overwrite the other's record.
    """

    token: str


@dataclass(frozen=True, slots=True)
class InFlight:
    """The same request is running elsewhere (409); its lock ends in ``retry_after`` s."""

    retry_after: float


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The key was used with a different payload (422); checked before in-flight state,
    since a retry could never succeed."""


@dataclass(frozen=True, slots=True)
class Replay:
    """The request already completed: answer with its stored response."""

    response: StoredResponse


#: What ``store.begin()`` answers.
Begin = Started | InFlight | Mismatch | Replay


def fingerprint(method: str, path: str, body: bytes) -> str:
    """A SHA-256 hex digest of method, path (with its query, if the caller includes it)
    and body: what makes two requests with one idempotency key "the same request".

    Each part is length-prefixed, so no two different triples can hash the same input.
    """
    digest = hashlib.sha256()
    for part in (method.upper().encode("utf-8"), path.encode("utf-8"), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()
