"""What the retrying transport costs on a request that succeeds, beside plain httpx.

Almost every request a client sends succeeds at once, so the transport's success path must
be nearly free: it reads the policy, deposits into the retry budget and passes the response
through. The cases, each sending the same ``GET /v1/items/42``:

- over a real socket, to a minimal uvicorn app on 127.0.0.1 answering 200 JSON (run in its
  own process, so the server's work does not share the client's interpreter): plain
  ``httpx.Client``, ``httpx.Client(transport=RetryTransport(httpx.HTTPTransport()))`` and
  ``errorbook.Client``;
- in process, the worst case for a ratio (no network, no server, so nothing hides the
  transport's cost): ``httpx.MockTransport`` alone and wrapped in ``RetryTransport``;
- the async twins of all five (``AsyncClient``, ``AsyncRetryTransport``, on one event loop).

The cases take turns, round after round, so a noisy neighbour slows them all alike; each
case's time is its best round (the least disturbed) and the median is shown beside it.
Ratios are of best times, each against plain httpx of the same kind.

Target: the transport adds under 5% to a request to a local server.

Run: ``.venv/bin/python benchmarks/bench_client.py`` (about 30 seconds).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

import errorbook
from errorbook.client import AsyncRetryTransport, RetryTransport

#: Rounds in which every case runs once; the best and the median round are reported.
ROUNDS = 11
#: Seconds one case's batch should last in a round.
TARGET = 0.2
#: The target for the transport's cost over a real socket.
GOAL = 0.05

PATH = "/v1/items/42"
BODY = json.dumps({"id": "42", "name": "tracker"}).encode()

Batch = Callable[[int], None]


# -- the server: a raw ASGI app under uvicorn, in a process of its own ----------------------


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """200 JSON to every request."""
    assert scope["type"] == "http"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


def serve(fd: int) -> None:
    """Serve on the listening socket ``fd`` the parent bound and handed over."""
    import uvicorn

    # socket(fileno=) detects the family; uvicorn's own ``fd=`` takes every socket for a Unix
    # one, so asyncio would leave Nagle on and each answer would wait 40 ms for an ACK.
    sock = socket.socket(fileno=fd)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


@contextmanager
def server() -> Iterator[str]:
    """The app on a free loopback port (the socket is bound here and handed over)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", str(sock.fileno())],
        pass_fds=(sock.fileno(),),
        stdin=subprocess.DEVNULL,
    )
    sock.close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + PATH, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the benchmark server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def mock_handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "application/json"}, content=BODY)


# -- cases -------------------------------------------------------------------------------


def sync_case(client: httpx.Client) -> Batch:
    """A batch of ``number`` GETs on ``client``; checks the answer once first."""
    first = client.get(PATH)
    if first.status_code != 200 or first.content != BODY:
        raise AssertionError(f"expected 200 {BODY!r}, got {first.status_code} {first.content!r}")

    def batch(number: int) -> None:
        get = client.get
        for _ in range(number):
            get(PATH)

    return batch


def async_case(loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> Batch:
    """The same for an async client, driven on ``loop``."""
    first = loop.run_until_complete(client.get(PATH))
    if first.status_code != 200 or first.content != BODY:
        raise AssertionError(f"expected 200 {BODY!r}, got {first.status_code} {first.content!r}")

    async def run(number: int) -> None:
        get = client.get
        for _ in range(number):
            await get(PATH)

    def batch(number: int) -> None:
        loop.run_until_complete(run(number))

    return batch


def calibrate(batch: Batch) -> int:
    """How many requests make one TARGET-long batch."""
    batch(200)  # warm the pools, caches and imports
    started = time.perf_counter()
    batch(200)
    sample = max((time.perf_counter() - started) / 200, 1e-9)
    return max(1, int(TARGET / sample))


def measure(batches: dict[str, Batch]) -> dict[str, list[float]]:
    """Seconds per request for each case in every round, the cases taking turns."""
    numbers = {name: calibrate(batch) for name, batch in batches.items()}
    times: dict[str, list[float]] = {name: [] for name in batches}
    for _ in range(ROUNDS):
        for name, batch in batches.items():
            number = numbers[name]
            gc.collect()  # each batch starts with the same heap, not the last case's garbage
            started = time.perf_counter()
            batch(number)
            times[name].append((time.perf_counter() - started) / number)
    return times


HTTPX = "httpx.Client -> server"
RETRY = "  + RetryTransport"
CLIENT = "errorbook.Client -> server"
MOCK = "httpx.Client + MockTransport"
MOCK_RETRY = "  + RetryTransport(MockTransport)"
AHTTPX = "httpx.AsyncClient -> server"
ARETRY = "  + AsyncRetryTransport"
ACLIENT = "errorbook.AsyncClient -> server"
AMOCK = "httpx.AsyncClient + MockTransport"
AMOCK_RETRY = "  + AsyncRetryTransport(MockTransport)"

#: Each case and the plain httpx case it is compared with.
BASELINE = {
    HTTPX: HTTPX,
    RETRY: HTTPX,
    CLIENT: HTTPX,
    MOCK: MOCK,
    MOCK_RETRY: MOCK,
    AHTTPX: AHTTPX,
    ARETRY: AHTTPX,
    ACLIENT: AHTTPX,
    AMOCK: AMOCK,
    AMOCK_RETRY: AMOCK,
}


def main() -> None:
    loop = asyncio.new_event_loop()
    with server() as url:
        sync_clients = [
            (HTTPX, httpx.Client(base_url=url)),
            (RETRY, httpx.Client(base_url=url, transport=RetryTransport(httpx.HTTPTransport()))),
            (CLIENT, errorbook.Client(url)),
            (MOCK, httpx.Client(base_url=url, transport=httpx.MockTransport(mock_handler))),
            (
                MOCK_RETRY,
                httpx.Client(
                    base_url=url, transport=RetryTransport(httpx.MockTransport(mock_handler))
                ),
            ),
        ]
        async_clients = [
            (AHTTPX, httpx.AsyncClient(base_url=url)),
            (
                ARETRY,
                httpx.AsyncClient(
                    base_url=url, transport=AsyncRetryTransport(httpx.AsyncHTTPTransport())
                ),
            ),
            (ACLIENT, errorbook.AsyncClient(url)),
            (AMOCK, httpx.AsyncClient(base_url=url, transport=httpx.MockTransport(mock_handler))),
            (
                AMOCK_RETRY,
                httpx.AsyncClient(
                    base_url=url,
                    transport=AsyncRetryTransport(httpx.MockTransport(mock_handler)),
                ),
            ),
        ]
        try:
            batches = {name: sync_case(client) for name, client in sync_clients}
            batches |= {name: async_case(loop, client) for name, client in async_clients}
            if len(batches) != len(sync_clients) + len(async_clients):
                raise AssertionError("two cases share a name")
            times = measure(batches)
        finally:
            for _, client in sync_clients:
                client.close()

            async def close() -> None:
                await asyncio.gather(*(client.aclose() for _, client in async_clients))

            loop.run_until_complete(close())
            loop.close()

    best = {name: min(runs) * 1e6 for name, runs in times.items()}
    median = {name: statistics.median(runs) * 1e6 for name, runs in times.items()}
    print(f"{ROUNDS} rounds; µs per request, best and median round; ratios of best times")
    print(f"{'case':<40} {'best µs':>8} {'median µs':>10} {'x httpx':>8}")
    for name in times:
        ratio = best[name] / best[BASELINE[name]]
        print(f"{name:<40} {best[name]:>8.1f} {median[name]:>10.1f} {ratio:>8.3f}")

    def added(name: str) -> str:
        floor = best[BASELINE[name]]
        extra = best[name] - floor
        return f"{extra:+.1f} µs ({extra / floor:+.1%})"

    print()
    print(f"over a socket (target: under {GOAL:.0%}):")
    print(f"  RetryTransport adds {added(RETRY)} to httpx.Client")
    print(f"  errorbook.Client adds {added(CLIENT)}")
    print(f"  AsyncRetryTransport adds {added(ARETRY)} to httpx.AsyncClient")
    print(f"  errorbook.AsyncClient adds {added(ACLIENT)}")
    print("in process, no network (the worst case for a ratio):")
    print(f"  RetryTransport adds {added(MOCK_RETRY)} to MockTransport")
    print(f"  AsyncRetryTransport adds {added(AMOCK_RETRY)} to MockTransport")
    worst = max(best[name] / best[BASELINE[name]] - 1 for name in (RETRY, CLIENT, ARETRY, ACLIENT))
    verdict = "met" if worst < GOAL else "MISSED"
    print(f"target {verdict}: the most any client adds over a socket is {worst:.1%}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        main()
