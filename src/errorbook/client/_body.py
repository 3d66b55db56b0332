"""Reading an error body within a cap, whatever its ``Content-Encoding``.

A server that fails may answer with anything, and a small gzip body can inflate to
gigabytes. httpx's ``iter_bytes`` inflates a whole raw chunk at once, so a cap checked on
its output comes too late. `BodyReader` is fed the raw bytes instead and inflates them step
by step (``decompress(data, max_length)``), never holding more than the cap; an encoding it
cannot inflate in bounded steps (``br``, ``zstd``, an unknown or a stacked one) is not
inflated at all, and the body counts as incomplete.

When the transport returns the final error response (``raise_errors=False``), a body cut at
the cap is not handed over cut: `resumed` gives back a response that streams the raw bytes
read so far, then the rest of the original stream, with the original headers.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator
from typing import NamedTuple

import httpx

__all__ = ["READ_ERRORS", "Body", "BodyReader", "Discard", "resumed"]

#: What breaks the reading of an error body.
READ_ERRORS = (httpx.TransportError, httpx.DecodingError, zlib.error)

#: The content codings inflated here, with their zlib window bits.
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class Body(NamedTuple):
    """An error body as read: the decoded bytes (at most the cap), whether they are the
    whole body, and, when the body was cut and the caller is to get the response, that
    response with its whole body still to stream (open: it must be returned or closed)."""

    data: bytes
    complete: bool
    whole: httpx.Response | None = None


class Discard(NamedTuple):
    """A step of the retry plan: close this response (a `Body.whole` not returned)."""

    response: httpx.Response


class BodyReader:
    """Collects an error body up to a cap; the transports feed it raw chunks as they read.

    The cap counts decoded bytes and raw bytes alike, so neither a long body nor a small
    compressed one that inflates to gigabytes is held past it. ``complete`` is False when
    the body was cut, its stream broke, or its encoding cannot be inflated here; an
    incomplete body is not parsed, since its start may parse while saying less than the
    whole. ``cut`` tells a body stopped on purpose (the rest may still be streamed) from a
    broken one.
    """

    __slots__ = (
        "_cap",
        "_chunks",
        "_fallback",
        "_inflater",
        "_raw",
        "_raw_size",
        "_size",
        "complete",
        "cut",
        "readable",
    )

    def __init__(self, cap: int, encoding: str | None = None, *, keep_raw: bool = False) -> None:
        self._cap = cap
        self._chunks: list[bytes] = []
        self._size = 0
        self._raw: list[bytes] | None = [] if keep_raw else None
        self._raw_size = 0
        self._inflater: zlib._Decompress | None = None
        self._fallback = False
        self.complete = True
        self.cut = False
        self.readable = True
        codings = [part.strip().lower() for part in (encoding or "").split(",")]
        codings = [coding for coding in codings if coding and coding != "identity"]
        if len(codings) == 1 and codings[0] in _WBITS:
            self._inflater = zlib.decompressobj(wbits=_WBITS[codings[0]])
            # "deflate" is meant to be zlib-wrapped, but many servers send it raw: the
            # first failure switches to raw deflate, as httpx does.
            self._fallback = codings[0] == "deflate"
        elif codings:
            self.readable = self.complete = False
            self.cut = True

    def __enter__(self) -> BodyReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> bool:
        """A stream that breaks part way (a dropped connection, a broken gzip) leaves the
        body read so far, marked incomplete; anything else propagates."""
        if exc_type is not None and issubclass(exc_type, READ_ERRORS):
            self.complete = self.cut = False
            return True
        return False

    @property
    def raw(self) -> list[bytes]:
        """The raw chunks read so far (kept only with ``keep_raw``)."""
        return self._raw if self._raw is not None else []

    def add(self, chunk: bytes) -> bool:
        """Take a raw ``chunk``; False once a cap is passed (stop reading)."""
        if self._raw is not None:
            self._raw.append(chunk)
        self._raw_size += len(chunk)
        taken = self._take(chunk) if self._inflater is None else self._inflate(chunk)
        if taken and self._raw_size > self._cap:
            self._stop()
            return False
        return taken

    def add_decoded(self, content: bytes) -> bool:
        """Take a body httpx has already read and decoded."""
        self._inflater = None
        self.readable = True
        self.complete, self.cut = True, False
        return self._take(content)

    def result(self) -> tuple[bytes, bool]:
        inflater = self._inflater
        if inflater is not None and not inflater.eof and self._raw_size and self.complete:
            self.complete = False  # the stream ended inside the compressed data
        return b"".join(self._chunks), self.complete

    def _inflate(self, data: bytes) -> bool:
        inflater = self._inflater
        assert inflater is not None
        while data and not inflater.eof:
            try:
                out = inflater.decompress(data, self._cap - self._size + 1)
            except zlib.error:
                if not self._fallback:
                    raise
                self._fallback = False
                inflater = self._inflater = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
                continue
            self._fallback = False
            if not self._take(out):
                return False
            data = inflater.unconsumed_tail
        return True

    def _take(self, data: bytes) -> bool:
        room = self._cap - self._size
        if len(data) > room:
            self._chunks.append(data[:room])
            self._size = self._cap
            self._stop()
            return False
        self._chunks.append(data)
        self._size += len(data)
        return True

    def _stop(self) -> None:
        self.complete = False
        self.cut = True


def resumed(
    response: httpx.Response, prefix: list[bytes], rest: Iterator[bytes] | AsyncIterator[bytes]
) -> httpx.Response:
    """``response`` again, streaming ``prefix`` then ``rest`` (raw bytes, decoded by httpx
    as its unchanged headers say), closing the original once read or closed."""
    stream: httpx.SyncByteStream | httpx.AsyncByteStream
    if isinstance(rest, Iterator):
        stream = _Resumed(response, prefix, rest)
    else:
        stream = _AsyncResumed(response, prefix, rest)
    return httpx.Response(
        response.status_code,
        headers=response.headers.raw,
        stream=stream,
        extensions=dict(response.extensions),
        default_encoding=response.default_encoding,
    )


class _Resumed(httpx.SyncByteStream):
    def __init__(
        self, response: httpx.Response, prefix: list[bytes], rest: Iterator[bytes]
    ) -> None:
        self._response, self._prefix, self._rest = response, prefix, rest

    def __iter__(self) -> Iterator[bytes]:
        prefix, self._prefix = self._prefix, []
        yield from prefix
        yield from self._rest

    def close(self) -> None:
        self._response.close()


class _AsyncResumed(httpx.AsyncByteStream):
    def __init__(
        self, response: httpx.Response, prefix: list[bytes], rest: AsyncIterator[bytes]
    ) -> None:
        self._response, self._prefix, self._rest = response, prefix, rest

    async def __aiter__(self) -> AsyncIterator[bytes]:
        prefix, self._prefix = self._prefix, []
        for chunk in prefix:
            yield chunk
        async for chunk in self._rest:
            yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()
