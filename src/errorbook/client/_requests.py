"""What the retry rules say about requests and responses: their origin, whether a body can
be sent again, whether an error can ever be mended, and how an attempt is written down
without leaking a secret."""

from __future__ import annotations

import ssl
from typing import Final
from urllib.parse import quote

import httpx

from ._errors import Attempt, CircuitOpenError

__all__ = [
    "circuit_open",
    "copy_request",
    "error_text",
    "hopeless",
    "origin",
    "rebuilt",
    "replayable",
    "summary",
    "url_text",
]

#: Transport errors that say nothing about the host's health and that a retry cannot mend:
#: a URL without a usable scheme, a request httpx refuses to write, an open circuit.
_HOPELESS: Final = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, CircuitOpenError)
#: Headers that describe the body on the wire, not the decoded bytes a rebuilt response holds.
_WIRE_HEADERS: Final = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def origin(url: httpx.URL) -> str:
    """The key a budget and a breaker keep per host: scheme, host and port, the default
    port filled in (``https://api.test:443``), so http and https, or two ports, of one
    host fail apart."""
    scheme = url.scheme
    host = url.raw_host.decode("ascii")
    if ":" in host:  # IPv6
        host = f"[{host}]"
    port = url.port if url.port is not None else _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host}:{port}" if port is not None else f"{scheme}://{host}"


def hopeless(error: httpx.TransportError) -> bool:
    """Whether ``error`` is one no retry can mend and that says nothing of the host's
    health: besides `_HOPELESS`, a TLS certificate the client refuses (the same
    certificate will be refused again)."""
    if isinstance(error, _HOPELESS):
        return True
    if isinstance(error, httpx.ConnectError):
        seen: set[int] = set()
        cause: BaseException | None = error
        while cause is not None and id(cause) not in seen:
            if isinstance(cause, ssl.SSLCertVerificationError):
                return True
            seen.add(id(cause))
            cause = cause.__cause__ or cause.__context__
    return False


def replayable(stream: object) -> bool:
    """Whether a request body can be sent again as it was: bytes, or a multipart form
    whose fields and files are all in memory (a file object may not rewind)."""
    if isinstance(stream, httpx.ByteStream):
        return True
    if type(stream).__name__ != "MultipartStream":
        return False
    fields = getattr(stream, "fields", None)
    if not isinstance(fields, list):
        return False
    for item in fields:
        kind = type(item).__name__
        if kind == "DataField":
            continue
        if kind != "FileField" or not isinstance(getattr(item, "file", None), bytes | str):
            return False
    return True


def copy_request(request: httpx.Request, name: str, value: str) -> httpx.Request:
    """``request`` with one header set, sharing its (replayable) body stream."""
    headers = request.headers.copy()
    headers[name] = value
    return httpx.Request(
        request.method,
        request.url,
        headers=headers,
        stream=request.stream,
        extensions=request.extensions,
    )


def rebuilt(response: httpx.Response, body: bytes, request: httpx.Request) -> httpx.Response:
    """The failed response again, holding the body that was read, so an error's
    ``response.text`` works after the connection went back to the pool."""
    headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _WIRE_HEADERS]
    extensions = {k: v for k, v in response.extensions.items() if k != "network_stream"}
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=request,
        extensions=extensions,
        default_encoding=response.default_encoding,
    )


def circuit_open(request: httpx.Request, host: str, retry_in: float) -> CircuitOpenError:
    error = CircuitOpenError(host, retry_in, request=request)
    error.attempts = (
        Attempt(
            number=1,
            method=request.method,
            url=url_text(request.url),
            status=None,
            code=None,
            error=error_text(error),
            wait=0.0,
            reason="circuit-open",
            elapsed=0.0,
        ),
    )
    return error


def url_text(url: httpx.URL) -> str:
    """The URL as attempts and notes show it: no user info at all, and the query's names
    without their values (``?api_key=***``), since either may hold a secret."""
    names = "&".join(f"{quote(name, safe='')}=***" for name, _ in url.params.multi_items())
    bare = str(url.copy_with(userinfo=b"", query=None, fragment=None))
    return f"{bare}?{names}" if names else bare


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def summary(attempts: tuple[Attempt, ...]) -> str:
    lines = [f"errorbook: {len(attempts)} attempt(s)"]
    for attempt in attempts:
        got = attempt.status if attempt.status is not None else attempt.error
        wait = f", waited {attempt.wait:.3f}s" if attempt.wait else ""
        lines.append(
            f"  {attempt.number}. {attempt.method} {attempt.url} -> {got} "
            f"({attempt.reason}{wait}, at {attempt.elapsed:.3f}s)"
        )
    return "\n".join(lines)
