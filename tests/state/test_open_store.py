"""open_store: URLs to backends, precise errors, and redis-py imported only when needed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from errorbook import open_store
from errorbook._state import MemoryStore
from errorbook._state._redis import RedisStore


def test_memory() -> None:
    """memory:// (the default) is a MemoryStore; options set its bounds."""
    assert isinstance(open_store(), MemoryStore)
    store = open_store("memory://?max_keys=5&max_records=7")
    assert isinstance(store, MemoryStore)
    assert (store.max_keys, store.max_records) == (5, 7)
    assert isinstance(open_store("MEMORY://"), MemoryStore)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memcached://localhost", "expected a scheme among memory, redis, rediss"),
        ("localhost:6379", "expected a scheme among"),
        ("", "expected a scheme among"),
        ("memory://?max_keys=0", "max_keys must be a positive integer, got '0'"),
        ("memory://?max_keys=many", "max_keys must be a positive integer, got 'many'"),
        ("memory://?ttl=5", "unknown option 'ttl'; expected max_keys or max_records"),
        ("memory://host", "memory:// takes no host or path"),
        ("redis://localhost?prefix={x}", "prefix cannot contain braces"),
    ],
    ids=lambda v: str(v),
)
def test_bad_urls(url: str, message: str) -> None:
    """Unknown schemes and options are ValueErrors that quote the URL."""
    with pytest.raises(ValueError) as info:
        open_store(url)
    assert message in str(info.value)
    assert "brace" in message or str(info.value).startswith(f"invalid store URL {url!r}: ")


def test_not_a_string() -> None:
    """A URL must be a string."""
    with pytest.raises(TypeError, match="memory://"):
        open_store(None)  # type: ignore[arg-type]


async def _close(store: object) -> None:
    await store.aclose()  # type: ignore[attr-defined]


def test_redis_urls() -> None:
    """redis://, rediss://, unix:// and the +cluster forms build the right client, lazily."""
    import asyncio

    plain = open_store("redis://:secret@127.0.0.1:1/2?prefix=app:")
    assert isinstance(plain, RedisStore)
    assert plain._prefix == "app:"
    assert "secret" not in repr(plain)
    assert isinstance(plain._client, Redis)
    kwargs = plain._client.connection_pool.connection_kwargs
    assert (kwargs["db"], kwargs["socket_timeout"], kwargs["retry"].get_retries()) == (2, 1.0, 0)
    tls = open_store("rediss://127.0.0.1:1?socket_timeout=0.25", prefix="p:")
    assert isinstance(tls, RedisStore)
    assert isinstance(tls._client, Redis)
    assert tls._client.connection_pool.connection_kwargs["socket_timeout"] == 0.25
    assert tls._prefix == "p:"
    unix = open_store("unix:///tmp/redis.sock")
    assert isinstance(unix, RedisStore)
    cluster = open_store("redis+cluster://127.0.0.1:1")
    assert isinstance(cluster, RedisStore)
    assert isinstance(cluster._client, RedisCluster)
    for store in (plain, tls, unix, cluster):
        asyncio.run(_close(store))


def test_redis_is_imported_only_for_redis_urls() -> None:
    """memory:// never imports redis-py; a Redis URL without it names the extra to install."""
    code = (
        "import sys\n"
        "import errorbook\n"
        "errorbook.open_store('memory://')\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'redis'], 'redis imported'\n"
        "sys.modules['redis'] = None\n"
        "try:\n"
        "    errorbook.open_store('redis://localhost')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "pip install 'errorbook[redis]'" in result.stdout
    assert "redis://localhost" in result.stdout
