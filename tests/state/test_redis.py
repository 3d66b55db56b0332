"""The Redis store's own promises: one round trip, NOSCRIPT, hash tags, expiry, StoreError."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.exceptions as redis_errors
from redis.asyncio import Redis
from redis.crc import key_slot

from errorbook import ErrorbookError, StoreError
from errorbook._state import Lease, Limit, Started, StoredResponse, open_store
from errorbook._state._lua import DECIDE
from errorbook._state._redis import RedisStore
from tests._redis import RedisServer, free_port, redis_server
from tests.state.conftest import Harness, redis_harness

pytestmark = pytest.mark.anyio

#: What the Lua scripts call; commandstats counts these as they run inside EVALSHA.
IN_SCRIPTS = {
    "time", "get", "set", "hmget", "hset", "pexpire", "del",
    "zremrangebyscore", "zcard", "zadd", "zrange", "zscore", "pttl",
}  # fmt: skip


@pytest.fixture(name="rh")
async def _rh(redis: RedisServer) -> AsyncIterator[Harness]:
    harness = redis_harness(redis)
    yield harness
    await harness.store.aclose()


def stats(server: RedisServer) -> dict[str, int]:
    """Commands the server has processed, per command and in total (through redis-cli)."""
    counts: dict[str, int] = {}
    for line in server.cli("INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, rest = line.partition(":")
            counts[name.removeprefix("cmdstat_")] = int(rest.split(",")[0].split("=")[1])
    return counts


async def test_one_round_trip_per_call(rh: Harness, redis: RedisServer) -> None:
    """Every decision, acquire, release, begin and complete is exactly one command."""
    store = rh.store
    limits = [Limit.parse("100/second"), Limit.parse("1000/day", algorithm="sliding_window")]
    await store.decide("warm", limits)  # loads the script if this server never saw it
    await store.acquire("warm", 1, ttl=1)
    warm = await store.begin("warm", "fp", lock_ttl=1)
    assert isinstance(warm, Started)
    await store.complete("warm", warm.token, StoredResponse(200, (), b""), retention=1)
    sent: list[object] = []
    client = rh.store._client  # type: ignore[attr-defined]
    execute = client.execute_command

    async def counting(*args: object, **options: object) -> object:
        sent.append(args[0])
        return await execute(*args, **options)

    client.execute_command = counting
    before = stats(redis)
    for _ in range(50):
        await store.decide("k", limits)
    lease = await store.acquire("k", 5, ttl=10)
    assert lease is not None
    await store.release(lease)
    started = await store.begin("idem", "fp", lock_ttl=10)
    assert isinstance(started, Started)
    await store.complete("idem", started.token, StoredResponse(200, (), b"x"), retention=10)
    after = stats(redis)
    delta = {name: after[name] - before.get(name, 0) for name in after}
    delta = {name: n for name, n in delta.items() if n and name != "info"}
    # Client side: one command sent per call. Server side: the same top-level commands,
    # the rest ran inside the scripts (commandstats counts those too), and no SCRIPT LOAD.
    assert sent == ["EVALSHA"] * 51 + ["ZREM"] + ["EVALSHA"] * 2
    assert (delta.pop("evalsha"), delta.pop("zrem")) == (53, 1)
    assert set(delta) <= IN_SCRIPTS


async def test_noscript_reloads_transparently(rh: Harness, redis: RedisServer) -> None:
    """After SCRIPT FLUSH (a restart, a failover) the next call reloads and answers."""
    limit = Limit.parse("3/minute")
    assert (await rh.store.decide("k", [limit])).states[0].remaining == 2
    assert redis.cli("SCRIPT", "FLUSH") == "OK"
    assert redis.cli("SCRIPT", "EXISTS", DECIDE.sha) == "0"
    assert (await rh.store.decide("k", [limit])).states[0].remaining == 1
    assert redis.cli("SCRIPT", "EXISTS", DECIDE.sha) == "1"
    redis.cli("SCRIPT", "FLUSH")
    assert isinstance(await rh.store.begin("i", "fp", lock_ttl=1), Started)


async def test_keys_expire_in_redis(rh: Harness, redis: RedisServer) -> None:
    """Every key carries a PEXPIRE, so Redis itself removes state after its window."""
    await rh.store.decide("k", [Limit.parse("5/second")])
    await rh.store.decide("k", [Limit.parse("5/second", algorithm="fixed_window")])
    await rh.store.decide("k", [Limit.parse("5/0.5 seconds", algorithm="sliding_window")])
    await rh.store.acquire("k", 1, ttl=1)
    await rh.store.begin("k", "fp", lock_ttl=1)
    client = Redis(port=redis.port)
    try:
        keys = [key async for key in client.scan_iter(f"{rh.prefix}*")]
        ttls = [await client.pttl(key) for key in keys]
    finally:
        await client.aclose()
    assert len(keys) == 5
    assert all(0 < ttl <= 1000 for ttl in ttls), ttls
    deadline = time.monotonic() + 5
    while redis.cli("--scan", "--pattern", f"{rh.prefix}*") and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert redis.cli("--scan", "--pattern", f"{rh.prefix}*") == ""


async def test_all_keys_of_a_call_share_a_slot(rh: Harness, redis: RedisServer) -> None:
    """Keys carry the caller's key as hash tag: one decision is one Redis Cluster slot."""
    limits = [
        Limit.parse("10/second"),
        Limit.parse("100/hour", algorithm="fixed_window"),
        Limit.parse("1000/day", algorithm="sliding_window"),
    ]
    for key in ("client-1", "a}b", "{x}", "ключ"):
        await rh.store.decide(key, limits)
        await rh.store.acquire(key, 1, ttl=5)
        await rh.store.begin(key, "fp", lock_ttl=5)
    keys = redis.cli("--scan", "--pattern", f"{rh.prefix}*").split()
    by_caller: dict[str, set[int]] = {}
    for stored in keys:
        caller = stored.removeprefix(rh.prefix + "{").rsplit("}:", 1)[0]
        by_caller.setdefault(caller, set()).add(key_slot(stored.encode()))
    assert sorted(by_caller) == sorted(["client-1", "a}b", "{x}", "ключ"])
    assert all(len(slots) == 1 for slots in by_caller.values())


async def test_redis_cluster() -> None:
    """``redis+cluster://`` decides, leases and records on a real (one-node) cluster."""
    with redis_server(cluster=True) as server:
        store = open_store(server.url)
        try:
            limits = [Limit.parse("2/minute"), Limit.parse("10/hour", algorithm="sliding_window")]
            decisions = [await store.decide("k", limits) for _ in range(3)]
            assert [d.allowed for d in decisions] == [True, True, False]
            lease = await store.acquire("k", 1, ttl=5)
            assert lease is not None
            await store.release(lease)
            server.cli("SCRIPT", "FLUSH")
            assert isinstance(await store.begin("k", "fp", lock_ttl=5), Started)
        finally:
            await store.aclose()


async def test_time_comes_from_the_server(
    rh: Harness, redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two app hosts whose clocks disagree by an hour still share one limit exactly."""
    skewed = open_store(redis.url, prefix=rh.prefix)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    try:
        limit = Limit.parse("4/minute", algorithm="fixed_window")
        results = []
        for store in (rh.store, skewed, rh.store, skewed, rh.store):
            results.append(await store.decide("shared", [limit]))
        assert [d.allowed for d in results] == [True] * 4 + [False]
        assert results[-1].retry_after == pytest.approx(60, abs=0.5)
    finally:
        await skewed.aclose()


async def test_store_error_when_the_server_is_gone() -> None:
    """Every call on an unreachable server raises StoreError (an ErrorbookError), from the cause."""
    store = open_store(f"redis://127.0.0.1:{free_port()}/0?socket_connect_timeout=0.5")
    limit = Limit.parse("1/second")
    calls: list[Any] = [
        store.decide("k", [limit]),
        store.acquire("k", 1, ttl=1),
        store.renew(Lease("k", "t", 1), ttl=1),
        store.release(Lease("k", "t", 1)),
        store.begin("k", "fp", lock_ttl=1),
        store.complete("k", "t", StoredResponse(200, (), b""), retention=1),
        store.abandon("k", "t"),
    ]
    for call in calls:
        with pytest.raises(StoreError, match=r"store redis://127\.0\.0\.1:\d+/0 could not") as info:
            await call
        assert isinstance(info.value, ErrorbookError)
        assert isinstance(info.value.__cause__, redis_errors.ConnectionError)
    await store.aclose()


async def test_store_error_when_the_server_dies_mid_run() -> None:
    """A server killed between calls gives StoreError, and the store recovers when it is back."""
    with redis_server() as server:
        store = open_store(server.url)
        limit = Limit.parse("100/minute")
        assert (await store.decide("k", [limit])).allowed
        server.process.kill()
        server.process.wait()
        with pytest.raises(StoreError):
            await store.decide("k", [limit])
        await store.aclose()


async def test_server_errors_are_store_errors(rh: Harness, redis: RedisServer) -> None:
    """A reply error (here a key of the wrong type) is a StoreError too, never a raw RedisError."""
    redis.cli("RPUSH", f"{rh.prefix}{{k}}:c", "not-a-zset")
    with pytest.raises(StoreError, match="ResponseError") as info:
        await rh.store.acquire("k", 1, ttl=1)
    assert isinstance(info.value.__cause__, redis_errors.ResponseError)


class _Failing:
    """A client whose every command raises one given exception."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def evalsha(self, *args: object) -> object:
        raise self.exc

    async def zrem(self, *args: object) -> object:
        raise self.exc

    async def aclose(self) -> None:
        raise self.exc


def _redis_error_classes() -> Iterator[type[BaseException]]:
    seen: set[type[BaseException]] = set()
    stack: list[type[BaseException]] = [redis_errors.RedisError]
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.add(cls)
            stack.extend(cls.__subclasses__())
    # NOSCRIPT is answered by loading the script (test_noscript_twice_is_a_store_error).
    seen.discard(redis_errors.NoScriptError)
    yield from sorted(seen, key=lambda c: c.__qualname__)
    yield ConnectionRefusedError
    yield OSError
    yield TimeoutError


@pytest.mark.parametrize("cls", list(_redis_error_classes()), ids=lambda c: c.__qualname__)
async def test_every_backend_error_is_mapped(cls: type[BaseException]) -> None:
    """Each redis-py exception class, and the socket errors, become StoreError."""
    # Cluster redirections parse their message ("slot host:port").
    exc = cls("3999 127.0.0.1:6381")
    store = RedisStore(_Failing(exc))  # type: ignore[arg-type]
    with pytest.raises(StoreError) as info:
        await store.decide("k", [Limit.parse("1/second")])
    assert info.value.__cause__ is exc
    with pytest.raises(StoreError):
        await store.release(Lease("k", "t", 1))
    with pytest.raises(StoreError):
        await store.aclose()


async def test_noscript_twice_is_a_store_error() -> None:
    """If the script cannot be loaded (NOSCRIPT after SCRIPT LOAD), that is a StoreError."""

    class Flaky(_Failing):
        async def script_load(self, source: str) -> str:
            return "sha"

    store = RedisStore(Flaky(redis_errors.NoScriptError("NOSCRIPT")))  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="NoScriptError"):
        await store.decide("k", [Limit.parse("1/second")])


def test_redis_module_typing_surface() -> None:
    """RedisStore is built from redis-py's asyncio client, with bytes replies."""
    store = open_store("redis://127.0.0.1:1/0")
    assert isinstance(store, RedisStore)
    assert isinstance(store._client, Redis)
    assert "127.0.0.1:1" in repr(store)
