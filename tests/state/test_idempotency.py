"""Idempotency records on both backends: started, in flight, mismatch, replay."""

from __future__ import annotations

import asyncio

import pytest

from errorbook._state import (
    InFlight,
    Mismatch,
    Replay,
    Started,
    StoredResponse,
    fingerprint,
)
from tests.state.conftest import Harness

pytestmark = pytest.mark.anyio

RESPONSE = StoredResponse(
    201,
    ((b"content-type", b"application/json"), (b"location", b"/v1/t/1"), (b"x-\xe9", b"\xff")),
    b'{"id": 1}\x00\xff',
)


async def test_four_outcomes(harness: Harness) -> None:
    """First runs; a repeat in flight is 409; another payload is 422; after completion, replay."""
    store = harness.store
    started = await store.begin("key-1", "fp-a", lock_ttl=30)
    assert isinstance(started, Started)
    in_flight = await store.begin("key-1", "fp-a", lock_ttl=30)
    assert isinstance(in_flight, InFlight)
    assert in_flight.retry_after == pytest.approx(30, abs=0.05)
    assert isinstance(await store.begin("key-1", "fp-b", lock_ttl=30), Mismatch)
    assert await store.complete("key-1", started.token, RESPONSE, retention=3600)
    assert await store.begin("key-1", "fp-a", lock_ttl=30) == Replay(RESPONSE)
    assert isinstance(await store.begin("key-1", "fp-b", lock_ttl=30), Mismatch)


async def test_abandon_lets_a_retry_run(harness: Harness) -> None:
    """A failed handler abandons its key; the retry starts afresh."""
    store = harness.store
    started = await store.begin("k", "fp", lock_ttl=30)
    assert isinstance(started, Started)
    await store.abandon("k", "not-the-token")
    assert isinstance(await store.begin("k", "fp", lock_ttl=30), InFlight)
    await store.abandon("k", started.token)
    await store.abandon("k", started.token)
    again = await store.begin("k", "fp", lock_ttl=30)
    assert isinstance(again, Started)
    assert again.token != started.token


async def test_abandon_never_drops_a_completed_record(harness: Harness) -> None:
    """Abandoning after completion (a late error path) keeps the stored response."""
    store = harness.store
    started = await store.begin("k", "fp", lock_ttl=30)
    assert isinstance(started, Started)
    assert await store.complete("k", started.token, RESPONSE, retention=60)
    await store.abandon("k", started.token)
    assert isinstance(await store.begin("k", "fp", lock_ttl=30), Replay)


async def test_lock_expires(harness: Harness) -> None:
    """A worker that dies mid-request frees the key after the lock TTL; its late complete
    then stores nothing, so it cannot overwrite the request that took over."""
    store = harness.store
    first = await store.begin("k", "fp", lock_ttl=5)
    assert isinstance(first, Started)
    harness.advance(5.01)
    second = await store.begin("k", "fp", lock_ttl=5)
    assert isinstance(second, Started)
    assert not await store.complete("k", first.token, RESPONSE, retention=60)
    assert isinstance(await store.begin("k", "fp", lock_ttl=5), InFlight)
    other = StoredResponse(200, (), b"second")
    assert await store.complete("k", second.token, other, retention=60)
    assert not await store.complete("k", second.token, RESPONSE, retention=60)
    assert await store.begin("k", "fp", lock_ttl=5) == Replay(other)


async def test_retention_ends(harness: Harness) -> None:
    """After the retention period the key is free again."""
    store = harness.store
    started = await store.begin("k", "fp", lock_ttl=5)
    assert isinstance(started, Started)
    assert await store.complete("k", started.token, RESPONSE, retention=60)
    harness.advance(59)
    assert isinstance(await store.begin("k", "fp", lock_ttl=5), Replay)
    harness.advance(1.01)
    assert isinstance(await store.begin("k", "other", lock_ttl=5), Started)


async def test_concurrent_begins(harness: Harness) -> None:
    """Of 50 simultaneous first attempts with one key, exactly one runs."""
    outcomes = await asyncio.gather(
        *(harness.store.begin("k", "fp", lock_ttl=30) for _ in range(50))
    )
    assert sum(isinstance(o, Started) for o in outcomes) == 1
    assert sum(isinstance(o, InFlight) for o in outcomes) == 49


async def test_empty_and_large_bodies(harness: Harness) -> None:
    """Bodies are stored byte for byte, empty or a megabyte."""
    store = harness.store
    for key, body in (("empty", b""), ("large", bytes(range(256)) * 4096)):
        started = await store.begin(key, "fp", lock_ttl=5)
        assert isinstance(started, Started)
        response = StoredResponse(204 if not body else 200, (), body)
        assert await store.complete(key, started.token, response, retention=60)
        assert await store.begin(key, "fp", lock_ttl=5) == Replay(response)


async def test_bad_arguments(harness: Harness) -> None:
    """TTLs must be positive and finite; keys non-empty."""
    with pytest.raises(ValueError, match="lock_ttl must be a positive number of seconds"):
        await harness.store.begin("k", "fp", lock_ttl=float("nan"))
    with pytest.raises(ValueError, match="retention must be a positive number of seconds"):
        await harness.store.complete("k", "t", RESPONSE, retention=-1)
    with pytest.raises(ValueError, match="non-empty string"):
        await harness.store.begin("", "fp", lock_ttl=1)


def test_fingerprint() -> None:
    """Method, path and body all count, and parts cannot run into each other."""
    base = fingerprint("POST", "/v1/t", b"{}")
    assert base == fingerprint("post", "/v1/t", b"{}")
    assert len(base) == 64
    assert base != fingerprint("PUT", "/v1/t", b"{}")
    assert base != fingerprint("POST", "/v1/u", b"{}")
    assert base != fingerprint("POST", "/v1/t", b"{ }")
    assert fingerprint("POST", "/a", b"b") != fingerprint("POST", "/ab", b"")
