"""The store interface, and ``open_store(url)`` that picks a backend by URL scheme.

Rate limits, concurrency leases and idempotency records all live behind this one small
interface, so the layer never knows whether state is in this process or in Redis. Every
method is one atomic step: on the memory store because no method awaits between reading
and writing, on Redis because each is one Lua script.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

from ._decision import Decision
from ._limit import Limit
from ._records import Begin, Lease, StoredResponse

__all__ = ["SCHEMES", "Store", "open_store"]

#: Every URL scheme ``open_store`` accepts.
SCHEMES = ("memory", "redis", "rediss", "unix", "redis+cluster", "rediss+cluster")


class Store(Protocol):
    """Where rate, concurrency and idempotency state lives.

    Keys are the caller's partition (a credential, a client address, an idempotency key,
    usually with the route): non-empty strings. On Redis every key of one call shares a
    hash tag built from it, so one call is one slot in Redis Cluster. Backend failures raise
    :class:`~errorbook.StoreError`; bad arguments raise ValueError.
    """

    async def decide(self, key: str, limits: Sequence[Limit], *, cost: int = 1) -> Decision:
        """Check ``cost`` against every limit of ``key`` and consume it from all or none.

        ``cost=0`` peeks: it reports the limits' state and consumes nothing.

        Raises:
            ValueError: no limits, a negative cost, or a cost above a limit's capacity
                (such a request could never be admitted: a configuration error).
        """
        ...

    async def acquire(self, key: str, limit: int, *, ttl: float) -> Lease | None:
        """Take one of ``limit`` concurrent slots of ``key`` for at most ``ttl`` seconds.

        Returns None when all slots are held. A lease not released within ``ttl`` (the
        worker died, the handler hung) expires and its slot comes back.
        """
        ...

    async def renew(self, lease: Lease, *, ttl: float) -> bool:
        """Extend a held lease to ``ttl`` seconds from now; False if it already expired."""
        ...

    async def release(self, lease: Lease) -> None:
        """Give a slot back. Idempotent: releasing twice, or after expiry, frees nothing."""
        ...

    async def begin(self, key: str, fingerprint: str, *, lock_ttl: float) -> Begin:
        """Start an idempotent request, or learn that it ran, runs, or conflicts.

        Returns :class:`Started` (run the handler; the key is locked for ``lock_ttl``
        seconds), :class:`InFlight`, :class:`Mismatch` or :class:`Replay`.
        """
        ...

    async def complete(
        self, key: str, token: str, response: StoredResponse, *, retention: float
    ) -> bool:
        """Store the response of a started request for ``retention`` seconds.

        False, storing nothing, when ``token`` no longer holds the key (its lock expired).
        """
        ...

    async def abandon(self, key: str, token: str) -> None:
        """Drop a started request's lock (the handler failed), so a retry runs again."""
        ...

    async def aclose(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...


def open_store(url: str = "memory://", *, prefix: str = "errorbook:") -> Store:
    """A store for ``url``, connecting lazily (on first use), so this never does I/O.

    - ``memory://`` (the default), optionally ``memory://?max_keys=100000&max_records=100000``:
      this process only, bounded.
    - ``redis://``, ``rediss://`` (TLS), ``unix://``: one Redis or Valkey server, redis-py's
      URL syntax (``redis://:password@host:6379/0?socket_timeout=0.5``).
    - ``redis+cluster://``, ``rediss+cluster://``: Redis Cluster, any node's address.

    Redis keys start with ``prefix`` (or ``?prefix=`` in the URL).

    Raises:
        ValueError: an unknown scheme or option.
        ImportError: a Redis URL without redis-py installed.
    """
    if not isinstance(url, str):
        raise TypeError(f"a store URL is a string like 'memory://', got {url!r}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not url.lower().startswith(f"{scheme}:"):
        raise ValueError(
            f"invalid store URL {url!r}: expected a scheme among {', '.join(SCHEMES)} "
            "(e.g. memory:// or redis://localhost:6379/0)"
        )
    if scheme == "memory":
        return _open_memory(url, parts.netloc, parts.path, parts.query)
    try:
        from ._redis import open_redis
    except ImportError as exc:  # pragma: no cover - exercised in the no-extras CI job
        raise ImportError(
            f"store URL {url!r} needs redis-py: pip install 'errorbook[redis]' (redis>=5.0)"
        ) from exc
    return open_redis(url, prefix=prefix)


def _open_memory(url: str, netloc: str, path: str, query: str) -> Store:
    from ._memory import DEFAULT_MAX_KEYS, DEFAULT_MAX_RECORDS, MemoryStore

    if netloc or path.strip("/"):
        raise ValueError(f"invalid store URL {url!r}: memory:// takes no host or path")
    max_keys = max_records = None
    for name, value in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)):
        if name not in ("max_keys", "max_records"):
            raise ValueError(
                f"invalid store URL {url!r}: unknown option {name!r}; "
                "expected max_keys or max_records"
            )
        if not value.isdigit() or int(value) < 1:
            raise ValueError(
                f"invalid store URL {url!r}: {name} must be a positive integer, got {value!r}"
            )
        if name == "max_keys":
            max_keys = int(value)
        else:
            max_records = int(value)
    return MemoryStore(
        max_keys=max_keys or DEFAULT_MAX_KEYS, max_records=max_records or DEFAULT_MAX_RECORDS
    )
