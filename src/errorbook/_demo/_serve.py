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
from collections.abc import Iterator, Sequence
from typing import Final

try:
    import uvicorn
except ImportError:  # pragma: no cover - exercised through the command line's test
    raise ImportError(
        "the reference service needs uvicorn to serve: pip install 'errorbook[demo]'"
    ) from None

from .._layer import ErrorLayer
from ._credentials import Credential

__all__ = ["banner", "bind", "run", "url_of"]

_BACKLOG: Final = 2048
_STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


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
