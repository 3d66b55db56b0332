"""Serving the reference service: the socket, the banner, uvicorn, and a clean stop.

The socket is bound and listening *before* the banner is printed, so a script that waits
for the banner can connect at once (connections queue in the backlog until the loop
accepts them), and ``--port 0`` prints the port the system picked.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Final

try:
    import uvicorn
    from uvicorn.supervisors import Multiprocess
except ImportError:  # pragma: no cover - exercised through the command line's test
    raise ImportError(
        "the reference service needs uvicorn to serve: pip install 'errorbook[demo]'"
    ) from None

from .._layer import ErrorLayer
from ._credentials import Credential

__all__ = ["APP_FACTORY", "banner", "bind", "run", "run_workers", "url_of"]

#: What each worker process imports (``--workers``): it reads the settings the command
#: line left in the environment.
APP_FACTORY: Final = "errorbook._demo:app_from_environment"

_BACKLOG: Final = 2048
_STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)
#: Seconds a worker may take to start serving before the banner gives up on it.
_READY_TIMEOUT: Final = 60.0


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` and listening.

    Raises:
        OSError: the host does not resolve, or the address cannot be bound.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        # Restarting the demo must not wait for the old socket's TIME_WAIT to pass.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    """The base URL a client uses to reach ``sock``."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def banner(*, profile: str, url: str, database: str, credentials: Sequence[Credential]) -> str:
    """What ``errorbook demo`` prints on start; the contract fixes its line shapes."""
    header = shlex.quote(str(credentials[0]))
    bad_transfer = '{"name": "", "files": [{"name": "a.txt", "size": -1}]}'
    lines = [
        f"errorbook demo: profile {profile} on {url}",
        f"  glossary  {url}/errors",
        f"  openapi   {url}/openapi.json",
        f"  database  {database}",
        *(f"  credential  {credential}" for credential in credentials),
        "  try:",
        f"    curl -i {url}/v1/nowhere -H {header}",
        f"    curl -i {url}/v1/transfers -H {header}"
        f" -H 'Content-Type: application/json' -d {shlex.quote(bad_transfer)}",
        f"    curl -i {url}/v1/trackers/tk_missing -H {header}",
    ]
    return "\n".join(lines)


class _Server(uvicorn.Server):
    """uvicorn's server, stopping on SIGINT or SIGTERM without re-raising the signal.

    uvicorn shuts down gracefully on those signals and then raises them again, which ends
    the process with a KeyboardInterrupt traceback or a "terminated" status. A demo
    stopped on purpose has done its job: it should exit 0.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run(layer: ErrorLayer, sock: socket.socket) -> None:
    """Serve ``layer`` on ``sock`` until SIGINT or SIGTERM; then close the socket."""
    config = uvicorn.Config(layer, lifespan="off", log_level="warning", access_log=False)
    try:
        _Server(config).run(sockets=[sock])
    finally:
        sock.close()


def run_workers(sock: socket.socket, workers: int, *, on_ready: Callable[[], None]) -> None:
    """Serve on ``sock`` from ``workers`` processes until SIGINT or SIGTERM.

    uvicorn's supervisor starts the workers, each importing `APP_FACTORY` and accepting on
    the one shared socket; it stops them all gracefully on the signal and returns.
    ``on_ready`` runs once every worker serves (the banner: printed then, a client that
    reads it finds every worker accepting, so its connections spread over all of them).
    """
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        workers=workers,
        lifespan="off",
        log_level="warning",
        access_log=False,
    )
    try:
        _Workers(config, [sock], on_ready).run()
    finally:
        sock.close()


class _Workers(Multiprocess):
    """uvicorn's supervisor, telling once when every worker has started serving."""

    def __init__(
        self, config: uvicorn.Config, sockets: list[socket.socket], on_ready: Callable[[], None]
    ) -> None:
        super().__init__(config, sockets)
        self._on_ready = on_ready

    def init_processes(self) -> None:
        super().init_processes()
        for process in self.processes:
            if not process.wait_until_ready(_READY_TIMEOUT, self.should_exit):
                return  # a worker failed to start: the supervisor stops; no banner
        self._on_ready()
