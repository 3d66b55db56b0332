"""A real, throwaway ``redis-server`` for tests and benchmarks: free loopback port, no disk.

Used by ``tests/state/conftest.py`` and ``benchmarks/bench_state.py``; any test directory
can reuse it. A missing ``redis-server`` is a failure, never a skip: the store is only
tested if it is tested against the real thing (``make test`` installs it through
``scripts/ensure-redis``).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MISSING", "RedisServer", "free_port", "ping", "redis_cli", "redis_server"]

MISSING = (
    "redis-server is not on PATH: the state store is tested against a real Redis. "
    "`make test` installs it (scripts/ensure-redis); or install it yourself, e.g. "
    "`apt-get install redis-server`"
)


@dataclass(frozen=True)
class RedisServer:
    """A running server: its port, URL and process."""

    port: int
    process: subprocess.Popen[bytes]
    cluster: bool = False

    @property
    def url(self) -> str:
        if self.cluster:
            return f"redis+cluster://127.0.0.1:{self.port}"
        return f"redis://127.0.0.1:{self.port}/0"

    def cli(self, *args: str) -> str:
        """Run one command through redis-cli (no Python client involved) and return its reply."""
        return redis_cli(self.port, *args)


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_cli(port: int, *args: str) -> str:
    """One command through redis-cli on ``port`` (no Python client involved): its reply."""
    done = subprocess.run(
        ["redis-cli", "-p", str(port), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return done.stdout.strip()


def ping(port: int) -> bool:
    """Whether a Redis answers PING on ``port`` (raw socket: no client library needed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(*, cluster: bool = False) -> Iterator[RedisServer]:
    """Start ``redis-server`` on a free loopback port, wait for PING, stop it afterwards.

    With ``cluster=True`` the server runs in cluster mode owning all 16384 slots: a real,
    one-node Redis Cluster that ``redis+cluster://`` URLs can talk to.

    Raises:
        RuntimeError: redis-server is missing (see MISSING) or does not come up.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(MISSING)
    stderr = ""
    with tempfile.TemporaryDirectory(prefix="errorbook-redis-") as workdir:
        for _attempt in range(10):
            port = free_port()
            if cluster and port > 55535:
                continue  # the cluster bus listens on port + 10000
            args = [
                binary,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", workdir,
                "--daemonize", "no",
                "--loglevel", "warning",
            ]  # fmt: skip
            if cluster:
                args += ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf"]
            process = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=workdir
            )
            deadline = time.monotonic() + 10
            while process.poll() is None and time.monotonic() < deadline and not ping(port):
                time.sleep(0.02)
            if process.poll() is None and ping(port):
                break
            # Most likely another process took the port between free_port() and bind.
            process.kill()
            process.wait()
            stderr = process.stderr.read().decode() if process.stderr else ""
            if process.stderr:
                process.stderr.close()
        else:
            raise RuntimeError(f"redis-server did not start: {stderr.strip()}")
        server = RedisServer(port, process, cluster)
        try:
            if cluster:
                server.cli("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
                deadline = time.monotonic() + 10
                while "cluster_state:ok" not in server.cli("CLUSTER", "INFO"):
                    if time.monotonic() > deadline:
                        raise RuntimeError("the one-node cluster did not reach cluster_state:ok")
                    time.sleep(0.05)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr:
                process.stderr.close()


if __name__ == "__main__":  # pragma: no cover - a manual check
    with redis_server() as srv:
        print(srv.url, srv.cli("PING"))
    with redis_server(cluster=True) as srv:
        print(srv.url, srv.cli("CLUSTER", "INFO").splitlines()[0])
    print(Path(__file__).name, "ok")
