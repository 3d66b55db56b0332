"""Idempotency under faults: a response lost after the handler committed is never a duplicate.

Every create goes first through `DroppingProxy`, which lets the request reach the service
and cuts both connections the moment the response starts (the handler has run and
committed; the client sees only a broken connection). The client then retries the same
request with the same ``Idempotency-Key`` straight to the service, as a careful client
would, until it has an answer. Eight clients (one credential each) do this at once for
trackers and transfers through the 4 workers, and afterwards the SQLite database must hold
exactly one resource per key, the one whose replayed response the client finally got.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import pytest

from ._http import DroppingProxy, Hammer
from ._procs import RedisProcess, Service, redis_process, serving_pids, start_service

WORKERS: Final = 4
RATE: Final = "100000/minute"
CLIENTS: Final = tuple(f"acc-idem-{i}" for i in range(8))
PER_CLIENT: Final = 5  # of each kind
RACE_KEY: Final = "acc-idem-race"
#: How long a client keeps retrying one request before the test gives up on it.
GIVE_UP: Final = 15.0


@pytest.fixture(scope="module", name="redis")
def _redis() -> Iterator[RedisProcess]:
    with redis_process() as server:
        yield server


@pytest.fixture(scope="module", name="service")
def _service(redis: RedisProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory: Path = tmp_path_factory.mktemp("accuracy-idempotency")
    with start_service(
        directory, keys=(*CLIENTS, RACE_KEY), store=redis.url, rate=[RATE], workers=WORKERS
    ) as service:
        yield service


def replayed(response: httpx.Response) -> bool:
    """Whether the response says it is a replay (an ``Idempotent-Replayed``-style header)."""
    for name, value in response.headers.items():
        if "replay" in name.lower():
            return value.strip().lower() in ("true", "?1", "1", "yes")
    return False


@dataclass
class Created:
    """What one client ended up with for one idempotency key."""

    kind: str
    owner: str
    key: str
    first_error: str
    response: httpx.Response
    attempts: int


def _body(kind: str) -> dict[str, Any]:
    name = f"{kind}-{uuid.uuid4().hex[:12]}"
    if kind == "trackers":
        return {"name": name}
    return {"name": name, "files": [{"name": "a.bin", "size": 10}]}


async def _retry_until_answered(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], body: dict[str, Any]
) -> tuple[httpx.Response, int]:
    """Send until the answer is final: retry (same key) on 409 in flight and on 429."""
    deadline = time.monotonic() + GIVE_UP
    attempts = 0
    while True:
        attempts += 1
        response = await client.post(path, headers=headers, json=body)
        if response.status_code not in (409, 429) or time.monotonic() > deadline:
            return response, attempts
        problem = response.json()
        if response.status_code == 409:
            assert str(problem.get("type", "")).endswith("idempotency_in_flight"), problem
        wait = response.headers.get("retry-after", "")
        assert wait.isdigit(), f"{response.status_code} without Retry-After: {response.headers}"
        # The in-flight request is a handler already answering: a short poll is enough.
        # After a 429, Retry-After plus a little jitter, so that retries told the same
        # second do not all arrive together again.
        pause = 0.05 if response.status_code == 409 else int(wait) + random.uniform(0, 0.5)
        await asyncio.sleep(pause)


async def _create(
    proxied: httpx.AsyncClient, direct: httpx.AsyncClient, service: Service, owner: str, kind: str
) -> Created:
    key = str(uuid.uuid4())
    path = f"/v1/{kind}"
    headers = {**service.auth(owner), "Idempotency-Key": key}
    body = _body(kind)
    try:
        lost = await proxied.post(path, headers=headers, json=body)
    except httpx.TransportError as exc:
        first_error = repr(exc)
    else:
        raise AssertionError(f"the proxy let a response through: {lost.status_code} {lost.text}")
    response, attempts = await _retry_until_answered(direct, path, headers, body)
    return Created(kind, owner, key, first_error, response, attempts)


def _ids(service: Service, table: str, owner: str) -> list[str]:
    with sqlite3.connect(f"file:{service.db}?mode=ro", uri=True, timeout=10) as db:
        rows = db.execute(f"SELECT id FROM {table} WHERE owner = ?", (owner,)).fetchall()
    return [row[0] for row in rows]


def test_lost_responses_retried_create_each_resource_once(service: Service) -> None:
    """80 creates (trackers and transfers, 8 clients at once) whose responses are all cut
    after commit: every retry gets the stored 201 replayed, and the database holds exactly
    one resource per key."""

    async def client(
        proxied: httpx.AsyncClient, direct: httpx.AsyncClient, owner: str
    ) -> list[Created]:
        done = []
        for _ in range(PER_CLIENT):
            for kind in ("trackers", "transfers"):
                done.append(await _create(proxied, direct, service, owner, kind))
        return done

    async def run() -> tuple[list[Created], int, Counter[int | None]]:
        async with (
            DroppingProxy(service.port) as proxy,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{proxy.port}", timeout=20) as proxied,
            Hammer(service.base_url, connections=len(CLIENTS)) as direct,
        ):
            # Each client retries over its own connection, the connections spread over the
            # workers; the lost first attempts go through the proxy on fresh connections, so
            # a retry is mostly answered by another process than the one that committed.
            held = await direct.open(lambda p: serving_pids(service, p), workers=WORKERS)
            results = await asyncio.gather(
                *(
                    client(proxied, connection, owner)
                    for connection, owner in zip(direct.clients, CLIENTS, strict=True)
                )
            )
            return [c for r in results for c in r], proxy.dropped, held

    created, dropped, held = asyncio.run(run())
    assert len([pid for pid in held if pid is not None]) >= 2, f"retries on one worker: {held}"
    assert dropped == len(created) == len(CLIENTS) * PER_CLIENT * 2, (dropped, len(created))
    wrong = [
        f"{c.kind} {c.key}: {c.response.status_code} {dict(c.response.headers)} {c.response.text}"
        for c in created
        if c.response.status_code != 201 or not replayed(c.response)
    ]
    assert not wrong, (
        f"{len(wrong)} of {len(created)} retries did not get the first response replayed "
        f"(201 with a replay header):\n" + "\n".join(wrong[:5])
    )
    for owner in CLIENTS:
        for kind in ("trackers", "transfers"):
            stored = _ids(service, kind, owner)
            answered = [
                c.response.json()["id"] for c in created if c.owner == owner and c.kind == kind
            ]
            assert sorted(stored) == sorted(answered), (
                f"{owner} {kind}: the database holds {len(stored)} ({sorted(stored)}), the "
                f"clients were answered {len(answered)} ({sorted(answered)})"
            )
    retries = sum(c.attempts for c in created)
    print(
        f"{len(created)} creates, {dropped} responses dropped after commit, {retries} "
        f"retries (connections per worker pid {dict(held)}), 0 duplicates"
    )


def test_the_same_key_at_once_from_many_connections_creates_once(service: Service) -> None:
    """Eight identical requests with one key at the same moment, through different workers:
    one resource, and every one of them ends with that resource's 201."""

    async def run() -> dict[str, list[httpx.Response]]:
        async with httpx.AsyncClient(
            base_url=service.base_url,
            timeout=20,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
        ) as client:

            async def same_key(kind: str) -> tuple[str, list[httpx.Response]]:
                key = str(uuid.uuid4())
                headers = {**service.auth(RACE_KEY), "Idempotency-Key": key}
                body = _body(kind)
                answers = await asyncio.gather(
                    *(_retry_until_answered(client, f"/v1/{kind}", headers, body) for _ in range(8))
                )
                return f"{kind} {key}", [response for response, _ in answers]

            kinds = ("transfers", "trackers", "transfers", "trackers")
            return dict(await asyncio.gather(*(same_key(kind) for kind in kinds)))

    answers = asyncio.run(run())
    for label, responses in answers.items():
        statuses = [r.status_code for r in responses]
        assert statuses == [201] * 8, f"{label}: {statuses} {[r.text for r in responses]}"
        ids = {r.json()["id"] for r in responses}
        assert len(ids) == 1, f"{label}: one key answered with several resources {ids}"
        assert sum(not replayed(r) for r in responses) == 1, (
            f"{label}: expected one original and seven replays, got replay flags "
            f"{[replayed(r) for r in responses]}"
        )
    for kind in ("trackers", "transfers"):
        stored = _ids(service, kind, RACE_KEY)
        assert len(stored) == 2, f"{kind}: {len(stored)} in the database for 2 keys: {stored}"


def test_the_same_key_with_another_body_is_refused(service: Service) -> None:
    """A key reused with a different payload answers 422 idempotency_mismatch, creating nothing."""
    key = str(uuid.uuid4())
    headers = {**service.auth(RACE_KEY), "Idempotency-Key": key}
    with httpx.Client(base_url=service.base_url, timeout=20) as client:
        first = client.post("/v1/transfers", headers=headers, json=_body("transfers"))
        assert first.status_code == 201, first.text
        before = len(_ids(service, "transfers", RACE_KEY))
        other = client.post("/v1/transfers", headers=headers, json=_body("transfers"))
    assert other.status_code == 422, other.text
    assert str(json.loads(other.content).get("type", "")).endswith("idempotency_mismatch"), (
        other.text
    )
    assert len(_ids(service, "transfers", RACE_KEY)) == before
