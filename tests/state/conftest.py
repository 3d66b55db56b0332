"""Every store test runs on both backends: memory, and a real redis-server.

The ``harness`` fixture gives a fresh store and a way to move its time forward: the
memory store gets a fake clock; the Redis store keeps the server's clock (its scripts call
``TIME``) plus an offset, so tests jump ahead without sleeping while Redis still decides.
Each Redis test gets its own key prefix, so tests never see each other's keys.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest

from errorbook._state import MemoryStore, Store, open_store
from errorbook._state._redis import RedisStore
from tests._redis import RedisServer, redis_server

BACKENDS = ["memory", "redis"]
_prefixes = itertools.count()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", name="redis")
def _redis() -> Iterator[RedisServer]:
    """One real redis-server for the whole session (fails, never skips, when missing)."""
    try:
        with redis_server() as server:
            yield server
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@dataclass
class Harness:
    """A store under test, its backend's name, and its clock control."""

    store: Store
    backend: str
    advance: Callable[[float], None]
    server: RedisServer | None = None
    prefix: str = ""


class FakeClock:
    """Seconds that move only when told to."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def memory_harness(**options: int) -> Harness:
    clock = FakeClock()
    return Harness(MemoryStore(clock=clock, **options), "memory", clock.advance)


def redis_harness(server: RedisServer) -> Harness:
    prefix = f"t{next(_prefixes)}:"
    store = open_store(server.url, prefix=prefix)
    assert isinstance(store, RedisStore)

    def advance(seconds: float) -> None:
        store._offset_us += round(seconds * 1_000_000)

    return Harness(store, "redis", advance, server, prefix)


@pytest.fixture(params=BACKENDS, ids=BACKENDS, name="harness")
async def _harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    if request.param == "memory":
        harness = memory_harness()
    else:
        harness = redis_harness(request.getfixturevalue("redis"))
    try:
        yield harness
    finally:
        await harness.store.aclose()
