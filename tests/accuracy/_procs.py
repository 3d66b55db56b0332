"""Processes for the accuracy tests: a restartable redis-server and the multi-worker service.

`RedisProcess` runs ``redis-server`` on a port it keeps, so a test can SIGKILL it in the
middle of a run and start it again on the same address (``tests/_redis.py`` picks a fresh
port each time, which is right for the store tests but not for an outage).

`start_service` runs the real command line, ``python -m errorbook demo ... --workers N
--store URL``, in its own process group, reads the address from the banner, waits until it
answers, and on the way out stops it (SIGTERM, then SIGKILL of the whole group), failing
with the service's output if it logged a traceback.

`serving_pids` tells which worker process holds each client connection, read from
``/proc`` (the sockets each worker owns): the service does not say which worker answered,
so the tests observe it from the outside.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
import pytest

from tests._redis import MISSING, free_port, ping, redis_cli
from tests._service_process import STOP_TIMEOUT, ServiceOutput, stop_process

__all__ = [
    "RedisProcess",
    "Service",
    "redis_process",
    "serving_pids",
    "start_service",
    "stop_process",
]

_STARTUP: Final = 45.0
_URL: Final = re.compile(r"on (http://127\.0\.0\.1:(\d+))")


# -- redis-server on a fixed port ---------------------------------------------------------


@dataclass
class RedisProcess:
    """One redis-server on ``port``; ``kill()`` and ``start()`` as often as a test needs."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, timeout: float = 10.0) -> None:
        """Start the server on its port and wait for PING; fail with its stderr if it won't."""
        assert self.process is None or self.process.poll() is not None, "already running"
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(MISSING)
        self.starts += 1
        log = self.workdir / f"redis-{self.starts}.log"
        args = [
            binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(log),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            if ping(self.port):
                return
            time.sleep(0.02)
        stop_process(self.process)
        text = log.read_text(errors="replace") if log.exists() else ""
        raise RuntimeError(f"redis-server did not come up on port {self.port}:\n{text}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to clients; the port is closed at once."""
        assert self.process is not None, "never started"
        assert self.process.poll() is None, "not running"
        self.process.kill()
        self.process.wait(STOP_TIMEOUT)

    def cli(self, *args: str) -> str:
        """One command through redis-cli (no Python client involved)."""
        return redis_cli(self.port, *args)


@contextlib.contextmanager
def redis_process() -> Iterator[RedisProcess]:
    """A running redis-server on a free loopback port, stopped (whatever state) at the end."""
    with tempfile.TemporaryDirectory(prefix="errorbook-accuracy-redis-") as workdir:
        for _attempt in range(5):
            server = RedisProcess(free_port(), Path(workdir))
            try:
                server.start()
                break
            except RuntimeError:
                continue  # another process took the port between free_port() and bind
        else:
            raise RuntimeError("redis-server did not start on any of 5 free ports")
        try:
            yield server
        finally:
            if server.process is not None:
                stop_process(server.process)


# -- the service --------------------------------------------------------------------------


@dataclass
class Service:
    """One running ``errorbook demo`` (a supervisor and its worker processes)."""

    base_url: str
    port: int
    keys: tuple[str, ...]
    db: Path
    args: list[str]
    process: subprocess.Popen[str]
    output: ServiceOutput
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def logs(self) -> str:
        """Everything the service wrote, for failure messages."""
        return (
            f"--- command\n{' '.join(self.args)}\n--- stdout\n{self.output.text()}\n"
            f"--- stderr\n{self.stderr()}"
        )

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def pids(self) -> set[int]:
        """The supervisor and every process below it, now."""
        return {self.process.pid, *_descendants(self.process.pid)}


def start_service(
    directory: Path,
    *,
    keys: Sequence[str],
    store: str,
    rate: Sequence[str] = (),
    workers: int = 4,
    extra: Sequence[str] = (),
) -> contextlib.AbstractContextManager[Service]:
    """The reference service under ``rfc9457`` with ``workers`` worker processes."""
    args = [
        sys.executable, "-m", "errorbook", "demo",
        "--profile", "rfc9457",
        "--host", "127.0.0.1",
        "--port", "0",
        "--db", str(directory / "demo.sqlite3"),
        "--workers", str(workers),
        "--store", store,
    ]  # fmt: skip
    for key in keys:
        args += ["--api-key", key]
    for spec in rate:
        args += ["--rate", spec]
    args += list(extra)
    return _running(directory, args, tuple(keys))


@contextlib.contextmanager
def _running(directory: Path, args: list[str], keys: tuple[str, ...]) -> Iterator[Service]:
    stderr_path = directory / "stderr.txt"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "200"}
    with stderr_path.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            cwd=directory,
            env=env,
            # Its own process group: if the supervisor dies without stopping its workers,
            # the group id still reaches every one of them.
            start_new_session=True,
        )
    assert process.stdout is not None
    output = ServiceOutput()
    reader = threading.Thread(target=output.pump, args=(process.stdout,), daemon=True)
    reader.start()
    try:
        base_url, port = _read_address(process, output, stderr_path, args)
        service = Service(
            base_url, port, keys, directory / "demo.sqlite3", args, process, output, stderr_path
        )
        _wait_ready(service)
        yield service
    finally:
        stop_process(process, group=True)
        reader.join(STOP_TIMEOUT)
        process.stdout.close()
    logged = output.text() + "\n" + stderr_path.read_text(encoding="utf-8", errors="replace")
    if "Traceback (most recent call last)" in logged:
        pytest.fail(f"the service logged a traceback ({' '.join(args)}):\n{logged}")


def _read_address(
    process: subprocess.Popen[str], output: ServiceOutput, stderr_path: Path, args: list[str]
) -> tuple[str, int]:
    def address(lines: list[str]) -> tuple[str, int] | None:
        for line in lines:
            found = _URL.search(line)
            if found:
                return found.group(1), int(found.group(2))
        return None

    found = output.wait_for(address, _STARTUP)
    if found is not None:
        return found
    problem = "exited" if process.poll() is not None else "printed no address in time"
    stop_process(process, group=True)
    pytest.fail(
        f"errorbook demo {problem} (exit code {process.returncode}).\n--- command\n"
        f"{' '.join(args)}\n--- stdout\n{output.text()}\n--- stderr\n"
        f"{stderr_path.read_text(encoding='utf-8', errors='replace')}"
    )


def _wait_ready(service: Service) -> None:
    """Wait until ``/health`` answers 200; the banner may come before the workers serve."""
    deadline = time.monotonic() + _STARTUP
    with httpx.Client(base_url=service.base_url, timeout=5.0) as client:
        while True:
            try:
                if client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if service.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the service does not answer /health.\n{service.logs()}")
            time.sleep(0.05)


# -- which worker holds a connection --------------------------------------------------------


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces; the ppid follows it.
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        children = {pid for pid, parent in parents.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def serving_pids(service: Service, client_ports: set[int]) -> dict[int, int]:
    """For each client port still connected to the service, the pid of the worker serving it.

    Reads ``/proc/net/tcp`` (the server side of each connection: local port = the service's,
    remote port = the client's, and the socket's inode) and ``/proc/PID/fd`` of the
    service's processes (which process owns that inode).
    """
    inode_of: dict[int, int] = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        local, remote, state, inode = parts[1], parts[2], parts[3], int(parts[9])
        if state != "01" or int(local.split(":")[1], 16) != service.port:
            continue
        remote_port = int(remote.split(":")[1], 16)
        if remote_port in client_ports:
            inode_of[remote_port] = inode
    owner: dict[int, int] = {}
    for pid in service.pids():
        for inode in _socket_inodes(pid):
            owner[inode] = pid
    return {port: owner[inode] for port, inode in inode_of.items() if inode in owner}
