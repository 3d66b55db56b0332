"""Rebuilding files: type by magic bytes, structural damage, the clean copy, the size limits."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from errorbook._demo._rebuild import rebuild
from errorbook._demo._situations import Refused

from ._service import OCTETS, Service, body_of, start
from .test_transfers import problem

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def chunk(kind: bytes, data: bytes, *, crc: int | None = None) -> bytes:
    """One PNG chunk, with its real CRC unless told otherwise."""
    check = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", check)


IHDR = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
IDAT = chunk(b"IDAT", zlib.compress(b"\x00\x00"))
IEND = chunk(b"IEND", b"")
PNG = b"\x89PNG\r\n\x1a\n" + IHDR + IDAT + IEND


def zip_file(comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<doc/>")
        archive.comment = comment
    return out.getvalue()


class TestRebuild:
    def test_pdf_ends_at_its_last_eof(self) -> None:
        """Bytes appended after the document are dropped."""
        assert rebuild(PDF + b"trailing junk") == ("application/pdf", PDF)

    def test_png_loses_text_chunks_and_trailing_bytes(self) -> None:
        """Metadata chunks go; image chunks stay, byte for byte."""
        tagged = b"\x89PNG\r\n\x1a\n" + IHDR + chunk(b"tEXt", b"Author\x00me") + IDAT + IEND
        assert rebuild(tagged + b"junk") == ("image/png", PNG)

    def test_zip_ends_at_its_directory_record(self) -> None:
        """The comment stays, anything after it goes, and the result still opens."""
        original = zip_file(b"note")
        kind, rebuilt = rebuild(original + b"junk")
        assert kind == "application/zip"
        assert rebuilt == original
        assert zipfile.ZipFile(io.BytesIO(rebuilt)).namelist() == ["word/document.xml"]

    @pytest.mark.parametrize(
        "data",
        [b"", b"GIF89a....", b"hello", b"%PDF", b"\x89PNG\r\n", b"PK\x05\x06"],
        ids=["empty", "gif", "text", "short-pdf", "short-png", "bare-eocd"],
    )
    def test_unsupported_types(self, data: bytes) -> None:
        """Anything that does not start like PDF, PNG or ZIP is unsupported."""
        with pytest.raises(Refused) as caught:
            rebuild(data)
        assert caught.value.situation == "unsupported_file_type"

    @pytest.mark.parametrize(
        ("data", "why"),
        [
            (b"%PDF-1.7\n1 0 obj <<>> endobj\n", "%%EOF"),
            (b"\x89PNG\r\n\x1a\n" + IHDR + IDAT, "ends before"),
            (b"\x89PNG\r\n\x1a\n" + IHDR + IDAT[:-6], "cut short"),
            (b"\x89PNG\r\n\x1a\n" + IHDR + chunk(b"IDAT", b"xx", crc=1) + IEND, "CRC"),
            (zip_file()[:-22], "end-of-central-directory"),
            (zip_file(b"long comment")[:-4], "end-of-central-directory"),
        ],
        ids=["pdf-no-eof", "png-no-iend", "png-cut", "png-crc", "zip-no-eocd", "zip-cut-comment"],
    )
    def test_damaged_files(self, data: bytes, why: str) -> None:
        """A supported type whose structure is broken is file_damaged, saying what broke."""
        with pytest.raises(Refused) as caught:
            rebuild(data)
        assert caught.value.situation == "file_damaged"
        assert why in str(caught.value.reason)


class TestRoute:
    def test_rebuilt_bytes_come_back(self, service: Service) -> None:
        """200 with the clean copy as octets, and the type it was read as."""
        response = service.call("POST", "/v1/rebuild", content=PNG + b"junk", headers=OCTETS)
        assert response.status_code == 200
        assert response.content == PNG
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["x-detected-type"] == "image/png"

    def test_octets_may_be_asked_for(self, service: Service) -> None:
        """Accept: application/octet-stream is satisfiable on this route."""
        headers = {**OCTETS, "Accept": "application/octet-stream"}
        response = service.call("POST", "/v1/rebuild", content=PDF, headers=headers)
        assert response.status_code == 200

    def test_the_two_422s(self, service: Service) -> None:
        """Unsupported and damaged are told apart by code; damage carries a reason."""
        problem(
            service.call("POST", "/v1/rebuild", content=b"GIF89a", headers=OCTETS),
            422,
            "unsupported_file_type",
        )
        damaged = problem(
            service.call("POST", "/v1/rebuild", content=PDF[:-7], headers=OCTETS),
            422,
            "file_damaged",
        )
        assert damaged["reason"] == "The PDF has no %%EOF marker."

    def test_a_json_body_is_415(self, service: Service) -> None:
        """The route reads octets only."""
        response = service.call(
            "POST", "/v1/rebuild", content=b"{}", headers={"Content-Type": "application/json"}
        )
        problem(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("profile", "limit"),
    [("rfc9457", 5 * 1024 * 1024), ("rebuild", 6 * 1024 * 1024), ("symbl", 1024 * 1024)],
)
def test_the_limit_follows_the_profile(profile: str, limit: int) -> None:
    """At the limit the file is read; one byte more is 413 naming the limit."""
    service = start(profile)
    try:
        padded = PDF + b" " * (limit - len(PDF))
        assert (
            service.call("POST", "/v1/rebuild", content=padded, headers=OCTETS).status_code == 200
        )
        over = service.call("POST", "/v1/rebuild", content=padded + b" ", headers=OCTETS)
        assert over.status_code == 413
        assert str(limit) in over.text
    finally:
        service.store.close()


def test_the_limit_can_be_set() -> None:
    """rebuild_limit replaces the profile's limit."""
    service = start(rebuild_limit=100)
    try:
        over = service.call("POST", "/v1/rebuild", content=PDF + b" " * 100, headers=OCTETS)
        body = problem(over, 413, "payload_too_large")
        assert "100" in str(body["detail"])
        assert body_of(service.call("GET", "/health")) == {"status": "ok"}
    finally:
        service.store.close()
