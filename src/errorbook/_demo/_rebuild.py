"""File rebuilding: recognise a file by its first bytes, check its structure, write it clean.

A stand-in for a content-disarm engine, small enough to read: it tells the two 422s of the
``rebuild`` seed apart (a type it does not handle, a file too broken to handle) with real
structural checks, and gives back a normalised copy:

- PDF (``%PDF-``): must contain an ``%%EOF`` marker; the copy ends at the last marker
  (anything appended after the document is dropped).
- PNG (``\\x89PNG\\r\\n\\x1a\\n``): every chunk must be whole with a correct CRC and the last
  must be ``IEND``; the copy drops the text chunks (``tEXt``, ``zTXt``, ``iTXt``: metadata
  a cleaned file should not carry) and anything after ``IEND``.
- ZIP (``PK\\x03\\x04``, which includes Office documents): must end with an
  end-of-central-directory record whose comment fits the file; the copy ends there.

Nothing is decompressed, so a small hostile file cannot make the service do large work.
"""

from __future__ import annotations

import struct
import zlib
from typing import Final

from ._situations import Refused

__all__ = ["rebuild"]

_PDF: Final = b"%PDF-"
_PDF_EOF: Final = b"%%EOF"
_PNG: Final = b"\x89PNG\r\n\x1a\n"
_PNG_DROPPED: Final = frozenset({b"tEXt", b"zTXt", b"iTXt"})
_ZIP: Final = b"PK\x03\x04"
_ZIP_EOCD: Final = b"PK\x05\x06"
_EOCD_SIZE: Final = 22
_MAX_COMMENT: Final = 0xFFFF


def rebuild(data: bytes) -> tuple[str, bytes]:
    """The file's media type and its rebuilt bytes.

    Raises:
        Refused: ``unsupported_file_type`` (not PDF, PNG or ZIP), ``file_damaged``.
    """
    if data.startswith(_PDF):
        return "application/pdf", _pdf(data)
    if data.startswith(_PNG):
        return "image/png", _png(data)
    if data.startswith(_ZIP):
        return "application/zip", _zip(data)
    raise Refused("unsupported_file_type")


def _damaged(why: str) -> Refused:
    return Refused("file_damaged", reason=why)


def _pdf(data: bytes) -> bytes:
    end = data.rfind(_PDF_EOF)
    if end < 0:
        raise _damaged("The PDF has no %%EOF marker.")
    return data[: end + len(_PDF_EOF)] + b"\n"


def _png(data: bytes) -> bytes:
    kept = [_PNG]
    offset = len(_PNG)
    while True:
        if offset + 8 > len(data):
            raise _damaged("The PNG ends before its IEND chunk.")
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        end = offset + 12 + length
        if end > len(data):
            raise _damaged(f"The PNG's {kind!r} chunk is cut short.")
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[offset + 4 : end - 4]) != crc:
            raise _damaged(f"The PNG's {kind!r} chunk fails its CRC check.")
        if kind not in _PNG_DROPPED:
            kept.append(data[offset:end])
        if kind == b"IEND":
            return b"".join(kept)
        offset = end


def _zip(data: bytes) -> bytes:
    # The record sits at the end, followed only by its comment (at most 65535 bytes).
    window = len(data) - (_EOCD_SIZE + _MAX_COMMENT)
    start = data.rfind(_ZIP_EOCD, max(0, window))
    while start >= 0:
        if start + _EOCD_SIZE <= len(data):
            (comment,) = struct.unpack("<H", data[start + 20 : start + 22])
            end = start + _EOCD_SIZE + comment
            if end <= len(data):
                return data[:end]
        start = data.rfind(_ZIP_EOCD, max(0, window), start)
    raise _damaged("The ZIP has no end-of-central-directory record.")
