"""The Redis store (redis-py asyncio; Valkey too): shared state for many workers and hosts.

Every call is one round trip: a Lua script from ``_lua.py`` called by EVALSHA (its SHA1 is
computed here, so no call needs the script text), loaded with SCRIPT LOAD the first time
the server answers NOSCRIPT (first use, a restart, a failover, SCRIPT FLUSH), then retried.
Releasing a lease is a plain ZREM, also one round trip.

Keys read ``{prefix}{<key>}:<kind>``: the caller's key is the hash tag, so every key of one
call lives in one Redis Cluster slot and a multi-limit decision stays one atomic script.

redis-py's own retries are switched off: retrying a script whose reply was lost would
apply the decision twice (a double-counted hit, or an idempotency key that reports itself
in flight). A failure is one :class:`~errorbook.StoreError` instead, and the layer applies
its fail-open or fail-closed policy.

This module imports redis-py; ``open_store`` imports it only for Redis URLs.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Sequence
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from .._errors import StoreError
from ._decision import Decision, LimitState
from ._limit import Limit
from ._lua import ABANDON, ACQUIRE, BEGIN, COMPLETE, DECIDE, RENEW, Script
from ._records import Begin, InFlight, Lease, Mismatch, Replay, Started, StoredResponse
from ._validate import check_decide, check_integer, check_key, check_seconds

__all__ = ["RedisStore", "open_redis"]

#: Seconds to wait for a connection and for each reply, unless the URL says otherwise: a
#: rate-limit check that hangs would hang every request, so fail fast and apply the policy.
DEFAULT_TIMEOUT = 1.0
_US = 1_000_000
#: Foreign errors that mean "the store could not answer". redis-py raises RedisError
#: subclasses for everything it understands; the rest are the socket and timer errors
#: that can escape it while connecting.
_BACKEND_ERRORS = (RedisError, OSError, asyncio.TimeoutError)

Client = Redis | RedisCluster


def open_redis(url: str, *, prefix: str) -> RedisStore:
    """A RedisStore for a ``redis://``, ``rediss://``, ``unix://`` or ``+cluster`` URL."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = dict(query)
    prefix = options.pop("prefix", prefix)
    if "{" in prefix or "}" in prefix:
        raise ValueError(f"a store key prefix cannot contain braces (the hash tag), got {prefix!r}")
    scheme = parts.scheme.lower()
    cluster = scheme.endswith("+cluster")
    plain = urlunsplit(
        (scheme.removesuffix("+cluster"), parts.netloc, parts.path, urlencode(options), "")
    )
    kwargs: dict[str, Any] = {"retry": Retry(NoBackoff(), 0)}
    for name in ("socket_timeout", "socket_connect_timeout"):
        if name not in options:
            kwargs[name] = DEFAULT_TIMEOUT
    client: Client
    if cluster:
        client = RedisCluster.from_url(plain, **kwargs)
    else:
        # A blocking pool: a burst of concurrent requests waits (up to the timeout) for a
        # connection instead of failing with "Too many connections".
        kwargs.setdefault("timeout", kwargs.get("socket_timeout", DEFAULT_TIMEOUT))
        client = Redis.from_pool(BlockingConnectionPool.from_url(plain, **kwargs))
    where = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
    return RedisStore(client, prefix=prefix, where=where)


class RedisStore:
    """State in Redis, one Lua script per call. Build it with ``open_store("redis://...")``.

    Args:
        client: a redis-py asyncio client (``Redis`` or ``RedisCluster``), bytes replies.
        prefix: prepended to every key.
        where: the server, for error messages (never the password).
    """

    def __init__(self, client: Client, *, prefix: str = "errorbook:", where: str = "") -> None:
        self._client = client
        self._prefix = prefix
        self._where = where or "redis"
        #: Microseconds added to the server's clock. Always 0 outside tests, which move
        #: time forward with it instead of sleeping.
        self._offset_us = 0

    def __repr__(self) -> str:
        return f"<RedisStore {self._where} prefix={self._prefix!r}>"

    def _key(self, key: str, kind: str) -> str:
        return f"{self._prefix}{{{key}}}:{kind}"

    async def _call(self, script: Script, keys: Sequence[str], *args: Any) -> Any:
        client = self._client
        try:
            try:
                return await client.evalsha(script.sha, len(keys), *keys, self._offset_us, *args)
            except NoScriptError:
                await client.script_load(script.source)
                return await client.evalsha(script.sha, len(keys), *keys, self._offset_us, *args)
        except _BACKEND_ERRORS as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> NoReturn:
        raise StoreError(
            f"store {self._where} could not answer: {type(exc).__name__}: {exc}"
        ) from exc

    # -- rate limits -------------------------------------------------------------------

    async def decide(self, key: str, limits: Sequence[Limit], *, cost: int = 1) -> Decision:
        """See :meth:`Store.decide`."""
        tag = f"{self._prefix}{{{key}}}:r:"
        if (
            len(limits) == 1
            and type(limit := limits[0]) is Limit
            and type(key) is str
            and key
            and type(cost) is int
            and 0 <= cost <= limit.capacity
        ):
            # The common case, checked and sent without lists or an extra coroutine frame.
            try:
                raw = await self._client.evalsha(
                    DECIDE.sha, 1, tag + limit.key, self._offset_us, cost, limit.key
                )
            except NoScriptError:
                raw = await self._call(DECIDE, (tag + limit.key,), cost, limit.key)
            except _BACKEND_ERRORS as exc:
                self._fail(exc)
            ok, allowed, remaining, reset, retry = map(int, raw.split())
            state = LimitState(limit, allowed == 1, remaining, reset / _US, retry / _US)
            return Decision(ok == 1, cost, (state,))
        check_decide(key, limits, cost)
        keys = [tag + limit.key for limit in limits]
        raw = await self._call(DECIDE, keys, cost, *[limit.key for limit in limits])
        reply = [int(number) for number in raw.split()]
        states = []
        for i, limit in enumerate(limits):
            at = 1 + 4 * i
            states.append(
                LimitState(
                    limit, reply[at] == 1, reply[at + 1], reply[at + 2] / _US, reply[at + 3] / _US
                )
            )
        return Decision(reply[0] == 1, cost, tuple(states))

    # -- concurrency leases ------------------------------------------------------------

    async def acquire(self, key: str, limit: int, *, ttl: float) -> Lease | None:
        """See :meth:`Store.acquire`."""
        check_key(key)
        check_integer("a concurrency limit", limit, 1)
        ttl_us = check_seconds("ttl", ttl)
        token = secrets.token_hex(12)
        acquired, held = await self._call(ACQUIRE, [self._key(key, "c")], limit, ttl_us, token)
        return Lease(key, token, held) if acquired == 1 else None

    async def renew(self, lease: Lease, *, ttl: float) -> bool:
        """See :meth:`Store.renew`."""
        ttl_us = check_seconds("ttl", ttl)
        renewed = await self._call(RENEW, [self._key(lease.key, "c")], ttl_us, lease.token)
        return bool(renewed == 1)

    async def release(self, lease: Lease) -> None:
        """See :meth:`Store.release`."""
        try:
            await self._client.zrem(self._key(lease.key, "c"), lease.token)
        except _BACKEND_ERRORS as exc:
            self._fail(exc)

    # -- idempotency -------------------------------------------------------------------

    async def begin(self, key: str, fingerprint: str, *, lock_ttl: float) -> Begin:
        """See :meth:`Store.begin`."""
        check_key(key)
        ttl_us = check_seconds("lock_ttl", lock_ttl)
        token = secrets.token_hex(12)
        reply = await self._call(BEGIN, [self._key(key, "i")], fingerprint, token, ttl_us)
        outcome = reply[0]
        if outcome == 0:
            return Started(token)
        if outcome == 1:
            return InFlight(reply[1] / _US)
        if outcome == 2:
            return Mismatch()
        headers = tuple(
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in json.loads(reply[2])
        )
        return Replay(StoredResponse(int(reply[1]), headers, reply[3]))

    async def complete(
        self, key: str, token: str, response: StoredResponse, *, retention: float
    ) -> bool:
        """See :meth:`Store.complete`."""
        retention_us = check_seconds("retention", retention)
        headers = json.dumps(
            [[name.decode("latin-1"), value.decode("latin-1")] for name, value in response.headers]
        )
        stored = await self._call(
            COMPLETE,
            [self._key(key, "i")],
            token,
            retention_us,
            response.status,
            headers,
            response.body,
        )
        return bool(stored == 1)

    async def abandon(self, key: str, token: str) -> None:
        """See :meth:`Store.abandon`."""
        await self._call(ABANDON, [self._key(key, "i")], token)

    async def aclose(self) -> None:
        """Close the client's connections."""
        try:
            await self._client.aclose()
        except _BACKEND_ERRORS as exc:
            self._fail(exc)
