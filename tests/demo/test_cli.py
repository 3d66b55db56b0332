"""`errorbook demo`: its flags' one-line errors, its banner, and a real start and stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from errorbook._cli import main
from errorbook._demo._credentials import Credential
from errorbook._demo._serve import banner


@pytest.fixture(name="runner")
def _runner() -> CliRunner:
    return CliRunner()


def refused(runner: CliRunner, *args: str, says: str) -> None:
    """The command exits 2 with exactly one line on stderr, naming the problem."""
    result = runner.invoke(main, ["demo", *args])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert says in lines[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--profile", "stripe"), "--profile: no built-in profile 'stripe'; expected one of"),
        (("--port", "http"), "--port: expected a whole number from 0 to 65535, got 'http'"),
        (("--port", "65536"), "--port: expected a whole number from 0 to 65535"),
        (("--port", "-1"), "--port: expected a whole number"),
        (("--rebuild-limit", "1MB"), "--rebuild-limit: expected a whole number from 0 or more"),
        (("--api-key", "two words"), "--api-key: an API key is 1 to 512 visible ASCII"),
        (("--api-key", ""), "--api-key: an API key is"),
        (
            ("--profile", "rebuild", "--jwt-secret", "short"),
            "--jwt-secret: the JWT secret must be at least 32 bytes",
        ),
    ],
    ids=[
        "profile",
        "port-word",
        "port-high",
        "port-negative",
        "limit",
        "key-space",
        "key-empty",
        "secret",
    ],
)
def test_bad_flags(runner: CliRunner, args: tuple[str, ...], says: str) -> None:
    """Each malformed flag is named on one line, with exit status 2."""
    refused(runner, "--db", ":memory:", *args, says=says)


def test_a_db_that_cannot_be_opened(runner: CliRunner, tmp_path: Path) -> None:
    """A --db in a missing directory, or a file that is no database, is refused."""
    refused(runner, "--db", str(tmp_path / "no" / "demo.sqlite3"), says="--db: cannot")
    notes = tmp_path / "notes.txt"
    notes.write_text("plain text, not SQLite\n" * 50)
    refused(runner, "--db", str(notes), says="--db: cannot use")


def test_a_port_in_use(runner: CliRunner) -> None:
    """An address that cannot be bound names host and port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused(
            runner,
            "--db",
            ":memory:",
            "--port",
            str(port),
            says=f"--host/--port: cannot listen on 127.0.0.1:{port}",
        )


@pytest.mark.parametrize("module", ["uvicorn", "starlette"])
def test_a_missing_extra_names_it(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    """Without Starlette or uvicorn, one line says which extra to install; exit 1."""
    monkeypatch.setitem(sys.modules, module, None)
    for name in ("errorbook._demo", "errorbook._demo._serve", "errorbook._demo._app"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    result = runner.invoke(main, ["demo", "--db", ":memory:"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "pip install 'errorbook[demo]'" in lines[0]


def test_the_banner() -> None:
    """URL, glossary, openapi, database, one credential line per key and three curls."""
    text = banner(
        profile="wetransfer",
        url="http://127.0.0.1:9000",
        database="demo.sqlite3",
        credentials=[Credential("X-API-KEY", "k1"), Credential("X-API-KEY", "k2")],
    )
    assert text.splitlines() == [
        "errorbook demo: profile wetransfer on http://127.0.0.1:9000",
        "  glossary  http://127.0.0.1:9000/errors",
        "  openapi   http://127.0.0.1:9000/openapi.json",
        "  database  demo.sqlite3",
        "  credential  X-API-KEY: k1",
        "  credential  X-API-KEY: k2",
        "  try:",
        "    curl -i http://127.0.0.1:9000/v1/nowhere -H 'X-API-KEY: k1'",
        "    curl -i http://127.0.0.1:9000/v1/transfers -H 'X-API-KEY: k1'"
        " -H 'Content-Type: application/json'"
        ' -d \'{"name": "", "files": [{"name": "a.txt", "size": -1}]}\'',
        "    curl -i http://127.0.0.1:9000/v1/trackers/tk_missing -H 'X-API-KEY: k1'",
    ]


@pytest.fixture(name="demo_process")
def _demo_process(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "errorbook", "demo", "--port", "0", "--db", ":memory:"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(10)
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()
    process.stderr.close()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["term", "int"])
def test_serves_after_the_banner_and_stops_cleanly(
    demo_process: subprocess.Popen[str], stop: signal.Signals
) -> None:
    """The banner's URL answers at once; its curls show errors; a signal exits 0."""
    assert demo_process.stdout is not None
    assert demo_process.stderr is not None
    lines = [demo_process.stdout.readline() for _ in range(9)]
    assert lines[0].startswith("errorbook demo: profile rfc9457 on http://127.0.0.1:")
    url = lines[0].split()[-1]
    port = int(url.rpartition(":")[2])
    assert port > 0
    header, _, value = lines[4].strip().removeprefix("credential  ").partition(": ")
    assert header == "Authorization"
    assert value.startswith("Bearer ")
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/v1/nowhere", headers={header: value}).status_code == 404
        assert client.get("/v1/trackers/tk_missing", headers={header: value}).status_code == 404
    demo_process.send_signal(stop)
    assert demo_process.wait(15) == 0
    errors = demo_process.stderr.read()
    assert "Traceback" not in errors
    assert errors.strip().endswith("errorbook demo: stopped")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--rate", "100/fortnight"), "--rate: invalid limit '100/fortnight'"),
        (("--rate", "many"), "--rate: "),
        (("--store", "mongodb://db"), "--store: invalid store URL 'mongodb://db'"),
        (("--store", "memory://?max_keys=0"), "--store: invalid store URL"),
        (("--max-jobs", "0"), "--max-jobs: expected a whole number from 1"),
        (("--max-jobs", "x"), "--max-jobs: expected a whole number"),
        (("--workers", "0"), "--workers: expected a whole number from 1 to 64"),
        (("--workers", "2"), "--workers: several workers need a shared --store"),
        (
            ("--workers", "2", "--store", "redis://127.0.0.1:1/0"),
            "--workers: several workers need a --db file",
        ),
    ],
    ids=[
        "rate-unit",
        "rate-word",
        "store-scheme",
        "store-option",
        "jobs-zero",
        "jobs-word",
        "workers-zero",
        "workers-memory",
        "workers-memory-db",
    ],
)
def test_bad_limit_flags(runner: CliRunner, args: tuple[str, ...], says: str) -> None:
    """The state flags are checked before anything starts: one line, exit 2."""
    refused(runner, "--db", ":memory:", *args, says=says)


def test_workers_share_one_limit(tmp_path: Path) -> None:
    """``--workers 2 --store redis://`` prints one banner, and the workers share the rate
    limit through Redis: the fourth call of a 3/minute limit is a 429, whichever worker
    answers it; SIGTERM stops every worker and exits 0."""
    from tests._redis import redis_server

    with redis_server() as redis:
        args = [sys.executable, "-m", "errorbook", "demo", "--port", "0", "--api-key", "k1"]
        args += ["--db", str(tmp_path / "demo.sqlite3"), "--workers", "2"]
        args += ["--store", redis.url, "--rate", "3/minute"]
        process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert process.stdout is not None
            assert process.stderr is not None
            first = process.stdout.readline()
            assert first.startswith("errorbook demo: profile rfc9457 on http://127.0.0.1:")
            url = first.split()[-1]
            headers = {"Authorization": "Bearer k1"}
            statuses = []
            with httpx.Client(base_url=url, timeout=10) as client:
                deadline = 30.0
                while True:  # the workers start after the banner; the socket queues meanwhile
                    try:
                        client.get("/health")
                        break
                    except httpx.TransportError:
                        deadline -= 0.1
                        assert deadline > 0
                for _ in range(5):
                    # A fresh connection each time, so the kernel spreads them over workers.
                    with httpx.Client(base_url=url, timeout=10) as fresh:
                        response = fresh.get("/v1/trackers/tk_x", headers=headers)
                        statuses.append(response.status_code)
            assert statuses == [404, 404, 404, 429, 429]
            process.send_signal(signal.SIGTERM)
            assert process.wait(20) == 0
            rest = process.stdout.read()
            assert "errorbook demo: profile" not in rest  # one banner, from the parent
            errors = process.stderr.read()
            assert "Traceback" not in errors
            assert errors.strip().endswith("errorbook demo: stopped")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
