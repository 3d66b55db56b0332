"""Running `errorbook demo` in a subprocess and talking to it over a real socket.

`start_demo` launches the real command line (``python -m errorbook demo ...``) on port 0,
reads the address and the credential lines from its banner, and hands back a `Demo`: the
base URL, the credentials and an `httpx.Client`. `Demo.call` sends one request with a fresh
``X-Request-Id`` and checks the response echoes it, so every test checks that for free.

The rest are small tools the profile modules share: file bodies for the rebuild route,
polling with a deadline, and checks for the headers several profiles need.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import jwt
import pytest

from tests._service_process import STOP_TIMEOUT, ServiceOutput, stop_process

#: Two tenants: every test that needs "another key's resource" uses both.
KEY_A: Final = "live-key-alpha-6c1f0e"
KEY_B: Final = "live-key-bravo-93d2aa"
#: The HS256 secret handed to the `rebuild` profile, so tests can sign their own tokens.
JWT_SECRET: Final = "live-tests-jwt-secret-" + "0123456789abcdef" * 4  # 86 bytes: HS512-safe
JWT_AUDIENCE: Final = "errorbook-demo"

#: No credential at all (``key=NONE`` in `Demo.call`).
NONE: Final = None

_STARTUP_TIMEOUT: Final = 30.0
_URL: Final = re.compile(r"on (http://127\.0\.0\.1:(\d+))")
_CREDENTIAL: Final = re.compile(r"^\s*credential\s+([A-Za-z0-9-]+):\s*(\S.*?)\s*$")


@dataclass
class Demo:
    """One running reference service, and the means to talk to it."""

    profile: str
    base_url: str
    keys: tuple[str, str]
    #: The printed credential lines, as (header name, value), one per key, in order.
    credentials: list[tuple[str, str]]
    client: httpx.Client
    process: subprocess.Popen[str]
    output: ServiceOutput
    stderr_path: Path
    jwt_secret: str | None = None

    def credential(self, key: str) -> tuple[str, str]:
        """The printed credential (header, value) that belongs to ``key``."""
        for header, value in self.credentials:
            if self._owner(value) == key:
                return header, value
        raise AssertionError(f"the banner printed no credential for {key!r}: {self.credentials}")

    def _owner(self, value: str) -> str:
        token = value.split(" ", 1)[1] if value.lower().startswith("bearer ") else value
        if self.profile == "rebuild":
            claims = jwt.decode(token, options={"verify_signature": False})
            return str(claims.get("sub"))
        return token

    def auth(self, key: str | None) -> dict[str, str]:
        """The headers that authenticate as ``key`` (none for None), the way the contract says."""
        if key is None:
            return {}
        if self.profile == "rebuild":
            header, value = self.credential(key)
            return {header: value}
        if self.profile == "wetransfer":
            return {"X-API-KEY": key}
        return {"Authorization": f"Bearer {key}"}

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = KEY_A,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request with a fresh request id; check the response echoes that id.

        ``key`` picks the credential (None: none); ``headers`` are sent as given and win
        over the credential, so a test can send a bad one.
        """
        request_id = f"live-{uuid.uuid4().hex}"
        sent = {"X-Request-Id": request_id, **self.auth(key), **(headers or {})}
        response = self.client.request(method, path, headers=sent, **kwargs)
        assert response.headers.get("x-request-id") == request_id, (
            f"{method} {path} -> {response.status_code}: the response did not echo the "
            f"request id (got {response.headers.get('x-request-id')!r})"
        )
        return response

    def sign(self, claims: Mapping[str, Any], *, secret: str | None = None, **kwargs: Any) -> str:
        """A JWT over ``claims`` (HS256 with the service's secret unless told otherwise)."""
        kwargs.setdefault("algorithm", "HS256")
        key = self.jwt_secret if secret is None else secret
        return jwt.encode(dict(claims), key, **kwargs)

    def good_claims(self, key: str = KEY_A, **overrides: Any) -> dict[str, Any]:
        """Claims the service accepts for ``key``; ``overrides`` change or (None) drop some."""
        claims: dict[str, Any] = {"sub": key, "aud": JWT_AUDIENCE, "exp": int(time.time()) + 300}
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    # -- the service's own resources -----------------------------------------------------

    def create_transfer(
        self, *, key: str = KEY_A, sizes: tuple[int, ...] = (10,), **extra: Any
    ) -> dict[str, Any]:
        """Create a transfer with one file per size; check the 201 and return its body."""
        files = [{"name": f"file-{i}.bin", "size": size} for i, size in enumerate(sizes)]
        body = {"name": f"transfer-{uuid.uuid4().hex[:8]}", "files": files, **extra}
        response = self.call("POST", "/v1/transfers", key=key, json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def put_part(
        self, transfer: str, file: str, n: int, data: bytes, *, key: str = KEY_A
    ) -> httpx.Response:
        """Upload part ``n`` of a file."""
        return self.call(
            "PUT",
            f"/v1/transfers/{transfer}/files/{file}/parts/{n}",
            key=key,
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )

    def create_tracker(self, name: str | None = None, *, key: str = KEY_A) -> dict[str, Any]:
        """Create a tracker; check the 201 and return its body."""
        name = name or f"tracker-{uuid.uuid4().hex[:8]}"
        response = self.call("POST", "/v1/trackers", key=key, json={"name": name})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def create_job(self, seconds: float, *, key: str = KEY_A) -> dict[str, Any]:
        """Start a job; check the 202 and return its body."""
        response = self.call("POST", "/v1/jobs", key=key, json={"seconds": seconds})
        assert response.status_code == 202, response.text
        return dict(response.json())

    @contextmanager
    def maintenance(self, *, key: str = KEY_A) -> Iterator[None]:
        """Maintenance switched on for the block, and off again whatever happens in it."""
        on = self.call("PUT", "/v1/admin/maintenance", key=key, json={"on": True})
        assert on.status_code == 200, on.text
        assert on.json() == {"maintenance": True}
        try:
            yield
        finally:
            off = self.call("PUT", "/v1/admin/maintenance", key=key, json={"on": False})
            assert off.status_code == 200, off.text
            assert off.json() == {"maintenance": False}


# -- starting and stopping ---------------------------------------------------------------


@contextmanager
def start_demo(
    profile: str, directory: Path, *, extra_args: tuple[str, ...] = ()
) -> Iterator[Demo]:
    """Run ``errorbook demo --profile PROFILE`` on a free port until the block ends.

    Fails with the service's output if it does not print its address and one credential
    line per key in time, and, after stopping it, if it logged a traceback: no request the
    live tests send should make the service fail.
    """
    keys = (KEY_A, KEY_B)
    args = [
        sys.executable,
        "-m",
        "errorbook",
        "demo",
        "--profile",
        profile,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--db",
        str(directory / "demo.sqlite3"),
    ]
    for key in keys:
        args += ["--api-key", key]
    secret = None
    if profile == "rebuild":
        secret = JWT_SECRET
        args += ["--jwt-secret", secret]
    args += list(extra_args)
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
        )
    assert process.stdout is not None
    output = ServiceOutput()
    reader = threading.Thread(target=output.pump, args=(process.stdout,), daemon=True)
    reader.start()
    client: httpx.Client | None = None
    try:
        base_url, credentials = _read_banner(process, output, stderr_path, len(keys))
        client = httpx.Client(base_url=base_url, timeout=20.0)
        _wait_ready(client, process, output, stderr_path)
        yield Demo(
            profile=profile,
            base_url=base_url,
            keys=keys,
            credentials=credentials,
            client=client,
            process=process,
            output=output,
            stderr_path=stderr_path,
            jwt_secret=secret,
        )
    finally:
        if client is not None:
            client.close()
        stop_process(process)
        reader.join(STOP_TIMEOUT)
        process.stdout.close()
    logged = output.text() + "\n" + stderr_path.read_text(encoding="utf-8", errors="replace")
    if "Traceback (most recent call last)" in logged:
        pytest.fail(f"errorbook demo --profile {profile} logged a traceback:\n{logged}")


def _read_banner(
    process: subprocess.Popen[str], output: ServiceOutput, stderr_path: Path, count: int
) -> tuple[str, list[tuple[str, str]]]:
    def banner(lines: list[str]) -> tuple[str, list[tuple[str, str]]] | None:
        base_url = None
        credentials: list[tuple[str, str]] = []
        for line in lines:
            found = _URL.search(line)
            if found and base_url is None:
                base_url = found.group(1)
            credential = _CREDENTIAL.match(line)
            if credential:
                credentials.append((credential.group(1), credential.group(2)))
        if base_url is not None and len(credentials) >= count:
            return base_url, credentials
        return None

    found = output.wait_for(banner, _STARTUP_TIMEOUT)
    if found is not None:
        return found
    problem = "exited" if process.poll() is not None else "did not print its banner in time"
    stop_process(process)
    pytest.fail(
        f"errorbook demo {problem} (exit code {process.returncode}); expected the address "
        f"and {count} credential lines.\n--- stdout\n{output.text()}\n--- stderr\n"
        f"{stderr_path.read_text(encoding='utf-8', errors='replace')}"
    )


def _wait_ready(
    client: httpx.Client, process: subprocess.Popen[str], output: ServiceOutput, stderr_path: Path
) -> None:
    """Wait until the printed address accepts connections (the banner may come first)."""
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while True:
        try:
            client.get("/health")
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_process(process)
                pytest.fail(
                    "errorbook demo does not answer at the address it printed.\n--- stdout\n"
                    f"{output.text()}\n--- stderr\n{stderr_path.read_text(encoding='utf-8')}"
                )
            time.sleep(0.05)


# -- waiting -----------------------------------------------------------------------------


def poll(
    fetch: Callable[[], httpx.Response],
    done: Callable[[httpx.Response], bool],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
) -> httpx.Response:
    """Call ``fetch`` until ``done`` holds for its response; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        response = fetch()
        if done(response):
            return response
        if time.monotonic() > deadline:
            raise AssertionError(
                f"still {response.status_code} {response.text[:200]!r} after {timeout}s"
            )
        time.sleep(interval)


# -- header checks -----------------------------------------------------------------------


def allowed(response: httpx.Response) -> set[str]:
    """The methods of the ``Allow`` header (it must be present)."""
    value = response.headers.get("allow")
    assert value is not None, f"{response.status_code} without an Allow header"
    return {part.strip().upper() for part in value.split(",") if part.strip()}


def retry_after(response: httpx.Response) -> int:
    """The ``Retry-After`` header as delay-seconds (RFC 9110: a non-negative integer)."""
    value = response.headers.get("retry-after")
    assert value is not None, f"{response.status_code} without a Retry-After header"
    assert value.isdigit(), f"Retry-After is not delay-seconds: {value!r}"
    return int(value)


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a response that says it is JSON."""
    media = response.headers.get("content-type", "").split(";")[0].strip()
    assert media == "application/json" or media.endswith("+json"), media
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    return body


# -- file bodies for the rebuild route ---------------------------------------------------

OCTET: Final = {"Content-Type": "application/octet-stream"}


def pdf(size: int | None = None) -> bytes:
    """A small, well-formed PDF; padded with a comment to exactly ``size`` bytes if given."""
    head = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n"
    tail = b"%%EOF\n"
    if size is None:
        return head + tail
    pad = size - len(head) - len(tail) - 2
    assert pad >= 0
    return head + b"%" + b"x" * pad + b"\n" + tail


def png() -> bytes:
    """A 1x1 PNG with every chunk and CRC in place."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def zip_file() -> bytes:
    """A ZIP archive with one member, as an Office document would be."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def damaged_pdf() -> bytes:
    """A PDF that stops before its end marker."""
    return pdf().replace(b"%%EOF\n", b"")


def damaged_png() -> bytes:
    """A PNG without its closing IEND chunk."""
    data = png()
    return data[: data.index(b"IEND") - 4]


def damaged_zip() -> bytes:
    """A ZIP archive without its end-of-central-directory record."""
    data = zip_file()
    return data[: data.rindex(b"PK\x05\x06")]


SIGNATURES: Final = {
    "pdf": b"%PDF-",
    "png": b"\x89PNG\r\n\x1a\n",
    "zip": b"PK\x03\x04",
}
VALID_FILES: Final = {"pdf": pdf, "png": png, "zip": zip_file}
DAMAGED_FILES: Final = {"pdf": damaged_pdf, "png": damaged_png, "zip": damaged_zip}
#: Files of types the service does not rebuild.
UNSUPPORTED_FILES: Final = {
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04;",
    "text": b"just some words, not a document\n",
    "exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00",
}


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes in pieces, for a chunked body without Content-Length."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        yield b"\0" * piece
        sent += piece


def head_only(base_url: str, head: bytes, *, timeout: float = 10.0) -> bytes:
    """Send only a request head over a raw socket and return what the server answers.

    A server that answers before reading the body it was promised shows it here: the body
    is never sent, so waiting for it would end in the timeout.
    """
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        conn.sendall(head)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not _complete(answer):
                data = conn.recv(65536)
                if not data:
                    break
                answer += data
        except TimeoutError:
            pass
    return answer


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return found is not None and len(body) >= int(found.group(1))
