"""Rate-limit decisions per second: our GCRA beside the ``limits`` library, memory and Redis.

One run measures, on the same machine and event loop:

- memory: our GCRA (``memory://``) and ``limits``' fixed and moving windows on its async
  memory storage (fixed window is its cheapest strategy: the target is to match it);
- Redis (a throwaway ``redis-server`` on a free loopback port, as the tests start): our
  GCRA, ``limits``' fixed and moving windows on its async Redis storage, and two bare
  EVALSHA loops on our store's own connection: our GCRA script with fixed arguments (what
  the store costs beyond the script: the target is at least 0.9x) and ``return 1`` (the
  round trip alone);
- round trips per decision, counted by the server (``INFO commandstats``: top-level
  EVALSHA calls against decisions made) and by the client;
- memory per key: 1,000,000 distinct keys through the memory store, measured with
  tracemalloc, unbounded and under the default ``max_keys``.

Decisions are sequential (one awaited after the other) over 1,000 keys, so the numbers are
per-decision latency turned into a rate, not a concurrency test. Run:
``.venv/bin/python benchmarks/bench_state.py`` (about a minute, most of it the million keys).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests._redis import RedisServer, redis_server

from errorbook._state import Limit, MemoryStore, open_store
from errorbook._state._lua import DECIDE, Script
from errorbook._state._memory import DEFAULT_MAX_KEYS
from errorbook._state._redis import RedisStore

REPEATS = 5
#: Seconds each timed repeat should last.
TARGET = 0.3
KEYS = [f"client-{i}" for i in range(1000)]
#: High enough that every decision is admitted: the same work every time.
SPEC = "1000000/minute"

Batch = Callable[[int], Awaitable[None]]


async def best_rates(
    batches: dict[str, Batch], *, repeats: int = REPEATS, target: float = TARGET
) -> dict[str, float]:
    """Decisions per second of each batch, best of ``repeats`` rounds.

    Rounds interleave the batches (each runs once per round), so a slow patch of the
    machine or a warming connection weighs on all of them alike, not on whichever ran first.
    """
    numbers: dict[str, int] = {}
    for name, batch in batches.items():
        await batch(200)  # warm up: connections, scripts, caches
        started = time.perf_counter()
        await batch(200)
        sample = max((time.perf_counter() - started) / 200, 1e-9)
        numbers[name] = max(1, int(target / sample))
    best = dict.fromkeys(batches, float("inf"))
    for _ in range(repeats):
        for name, batch in batches.items():
            started = time.perf_counter()
            await batch(numbers[name])
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: numbers[name] / best[name] for name in batches}


def ours(store: Any) -> Batch:
    limits = [Limit.parse(SPEC)]

    async def batch(number: int) -> None:
        keys = KEYS
        for i in range(number):
            decision = await store.decide(keys[i % 1000], limits)
            assert decision.allowed

    return batch


def theirs(limiter: Any) -> Batch:
    item = parse(SPEC)

    async def batch(number: int) -> None:
        keys = KEYS
        for i in range(number):
            assert await limiter.hit(item, keys[i % 1000])

    return batch


def bare_evalsha(store: RedisStore, script: Script, args: list[Any], suffix: str) -> Batch:
    """EVALSHA straight on the store's client, keys built beforehand: no argument checks,
    no key building, no reply parsing, no Decision."""
    client = store._client
    prefix = store._prefix

    async def batch(number: int) -> None:
        keys = [f"{prefix}{{{k}}}:{suffix}" for k in KEYS]
        for i in range(number):
            await client.evalsha(script.sha, 1, keys[i % 1000], *args)

    return batch


def commandstats(server: RedisServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in server.cli("INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, rest = line.partition(":")
            counts[name.removeprefix("cmdstat_")] = int(rest.split(",")[0].split("=")[1])
    return counts


async def round_trips(
    store: RedisStore, server: RedisServer, decisions: int
) -> tuple[float, float]:
    """(server-side top-level commands, client-side commands) per decision."""
    client = store._client
    sent = 0
    execute = client.execute_command

    async def counting(*args: Any, **options: Any) -> Any:
        nonlocal sent
        sent += 1
        return await execute(*args, **options)

    client.execute_command = counting  # type: ignore[method-assign]
    try:
        before = commandstats(server)
        await ours(store)(decisions)
        after = commandstats(server)
    finally:
        del client.execute_command
    # Commands run inside scripts are counted too; the top-level ones are EVALSHA and,
    # if a script had to be loaded, SCRIPT.
    top = sum(after.get(c, 0) - before.get(c, 0) for c in ("evalsha", "evalsha_ro", "script"))
    return top / decisions, sent / decisions


def row(name: str, rate: float, base: float | None, note: str = "") -> str:
    ratio = f"{rate / base:>8.2f}x" if base else f"{'':>9}"
    return f"{name:<46} {rate:>12,.0f} {1e6 / rate:>9.2f} {ratio}  {note}"


async def decisions_per_second(server: RedisServer) -> None:
    rates = await best_rates(
        {
            "ours: GCRA, memory": ours(MemoryStore()),
            "limits: fixed window, memory": theirs(FixedWindowRateLimiter(MemoryStorage())),
            "limits: moving window, memory": theirs(MovingWindowRateLimiter(MemoryStorage())),
        }
    )
    store = open_store(server.url, prefix="bench:")
    assert isinstance(store, RedisStore)
    limit = Limit.parse(SPEC)
    trivial = Script("return 1")
    # limits' async Redis storage through redis-py, the client our store uses; one
    # database per strategy, since both use the same key names.
    fixed_redis, moving_redis = (
        RedisStorage(f"async+redis://127.0.0.1:{server.port}/{db}", implementation="redispy")
        for db in (1, 2)
    )
    try:
        await store._client.script_load(trivial.source)
        rates |= await best_rates(
            {
                "ours: GCRA, redis": ours(store),
                # offset, cost, the limit: exactly what decide() sends.
                "bare EVALSHA of our GCRA script, redis": bare_evalsha(
                    store, DECIDE, [0, 1, limit.key], f"r:{limit.key}"
                ),
                "bare EVALSHA 'return 1', redis": bare_evalsha(store, trivial, [], "bare"),
                "limits: fixed window, redis": theirs(FixedWindowRateLimiter(fixed_redis)),
                "limits: moving window, redis": theirs(MovingWindowRateLimiter(moving_redis)),
            },
            # Network round trips are noisier than in-process calls: more, shorter rounds
            # give every case its quiet moments.
            repeats=15,
            target=0.1,
        )
        server_trips, client_trips = await round_trips(store, server, 2000)
    finally:
        await store.aclose()

    mem_base = rates["limits: fixed window, memory"]
    bare = rates["bare EVALSHA of our GCRA script, redis"]
    print(f"{'case':<46} {'decisions/s':>12} {'µs each':>9} {'ratio':>9}")
    for name, rate in rates.items():
        base = mem_base if "memory" in name else bare
        print(row(name, rate, base))
    print("(ratios: memory rows against limits' fixed window on memory; redis rows against")
    print(" the bare EVALSHA loop of our own GCRA script on the same connection)")
    print()
    ours_mem = rates["ours: GCRA, memory"]
    print(
        f"GCRA on memory vs limits' fixed window on memory: {ours_mem / mem_base:.2f}x "
        "(target >= 1)"
    )
    ours_redis = rates["ours: GCRA, redis"]
    print(f"GCRA on redis vs bare EVALSHA loop: {ours_redis / bare:.2f}x (target >= 0.9)")
    fixed, moving = rates["limits: fixed window, redis"], rates["limits: moving window, redis"]
    print(
        f"GCRA on redis vs limits on redis: {ours_redis / fixed:.2f}x its fixed window, "
        f"{ours_redis / moving:.2f}x its moving window"
    )
    print(
        f"round trips per decision: {server_trips:.2f} top-level commands at the server "
        f"(INFO commandstats), {client_trips:.2f} sent by the client (target: exactly 1)"
    )


async def fill(store: MemoryStore, count: int) -> None:
    # A day-long window, so no key expires (and is swept) while the million go in.
    limits = [Limit.parse("100/day")]
    for i in range(count):
        await store.decide(f"203.0.{i >> 16}.{i & 0xFFFF}:client-{i}", limits)


def memory_per_key() -> None:
    """1,000,000 distinct keys: bytes per key unbounded, and the bound under max_keys."""
    count = 1_000_000
    for label, max_keys in (("unbounded (max_keys=2,000,000)", 2_000_000), ("default", None)):
        gc.collect()
        tracemalloc.start()
        store = MemoryStore(max_keys=max_keys) if max_keys else MemoryStore()
        asyncio.run(fill(store, count))
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        held = len(store)
        print(
            f"memory, {count:,} distinct keys, {label}: {held:,} entries held, "
            f"{current / 1e6:.1f} MB now, {peak / 1e6:.1f} MB peak, "
            f"{current / held:.0f} bytes per held key"
        )
        del store
    print(f"(default max_keys = {DEFAULT_MAX_KEYS:,}; keys like '203.0.1.2:client-65538')")


def main() -> None:
    with redis_server() as server:
        asyncio.run(decisions_per_second(server))
    print()
    memory_per_key()


if __name__ == "__main__":
    main()
