"""Request header reading the layer does on every request, kept cheap.

Everything here runs on the success path, so the work is bytes operations implemented in C
(``translate``, ``partition``, ``isdigit``) and dictionary lookups; anything that parses a
header properly (``Accept``) is cached by the header's raw bytes.
"""

from __future__ import annotations

from binascii import hexlify
from collections.abc import Iterable
from random import getrandbits
from typing import Final

from .._negotiation import parse_accept

__all__ = [
    "CACHE_SIZE",
    "MediaSet",
    "accepted",
    "accepts_any",
    "body_length",
    "media_type",
    "new_request_id",
    "readable",
    "sane_request_id",
]

_ID_CHARS: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"
#: The longest incoming request id the layer accepts; longer ones are replaced.
MAX_REQUEST_ID: Final = 128
# More digits than any real body length; int() on a 5,000-digit header would raise.
_MAX_LENGTH_DIGITS: Final = 19


def sane_request_id(value: bytes) -> bool:
    """Whether an incoming request id is 1-128 characters of ``[A-Za-z0-9._:-]``.

    The id is echoed in a header and written to logs and bodies, so anything that could split
    a header, forge a log line or carry markup is replaced rather than cleaned up.
    """
    return 0 < len(value) <= MAX_REQUEST_ID and not value.translate(None, _ID_CHARS)


def new_request_id() -> bytes:
    """A fresh request id: 32 hex digits, like ``uuid4().hex`` at a tenth of the cost.

    Request ids must be unique, not secret, so the Mersenne Twister serves; the random module
    reseeds itself in a forked worker, so pre-forked servers do not repeat each other's ids.
    """
    # hexlify gives the bytes the header needs in one step (.hex().encode() takes two).
    return hexlify(getrandbits(128).to_bytes(16, "big"))


def body_length(value: bytes | None) -> int | None:
    """The Content-Length as an int; None when absent or not a number (the stream decides).

    A number too long to be real counts as larger than any limit.
    """
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit():
        return None
    if len(value) > _MAX_LENGTH_DIGITS:
        return 1 << 63
    return int(value)


def media_type(content_type: bytes) -> str:
    """The media type of a Content-Type value, lowercased, without parameters."""
    return content_type.partition(b";")[0].strip().lower().decode("latin-1")


class MediaSet:
    """A set of media types that may name families (``image/*``) or anything (``*/*``).

    Used both for what a route reads (``body_types``, for 415) and what it answers in
    (``produces``, for 406). Equal sets share their caches: ``accept_cache`` maps raw
    ``Accept`` values to whether they allow any of the set, ``type_cache`` raw
    ``Content-Type`` values to whether their media type is in it. The layer bounds both
    (`accepted`, `readable`).
    """

    __slots__ = ("accept_cache", "any", "exact", "families", "type_cache")

    def __init__(self, types: Iterable[str]) -> None:
        exact: set[str] = set()
        families: set[str] = set()
        for item in types:
            media = item.partition(";")[0].strip().lower()
            kind, slash, sub = media.partition("/")
            if not slash or not kind or not sub:
                raise ValueError(f"expected a media type like 'application/json', got {item!r}")
            if sub == "*":
                families.add(kind)
            else:
                exact.add(media)
        self.exact: frozenset[str] = frozenset(exact)
        self.families: frozenset[str] = frozenset(families)
        self.any = "*" in families
        self.accept_cache: dict[bytes, bool] = {}
        self.type_cache: dict[bytes, bool] = {}

    def key(self) -> tuple[frozenset[str], frozenset[str]]:
        """What makes two sets equal (for sharing caches between routes)."""
        return self.exact, self.families

    def __contains__(self, media: object) -> bool:
        if not isinstance(media, str):
            return False
        return self.any or media in self.exact or media.partition("/")[0] in self.families

    def __repr__(self) -> str:
        return f"MediaSet({sorted(self.exact | {f'{kind}/*' for kind in self.families})})"


#: Entries a MediaSet's caches hold before they start afresh: a flood of distinct header
#: values costs a parse each, never memory.
CACHE_SIZE: Final = 512
#: The longest header value kept in a cache, in bytes: the caches hold at most 256 KiB.
CACHED_LENGTH: Final = 512


def accepted(produces: MediaSet, accept: bytes) -> bool:
    """Whether ``accept`` allows any of ``produces``; parsed once, cached by raw value (the
    layer looks in ``accept_cache`` itself and calls this on a miss)."""
    return _remember(produces.accept_cache, accept, accepts_any(accept.decode("latin-1"), produces))


def readable(body_types: MediaSet, content_type: bytes) -> bool:
    """Whether ``content_type`` names one of ``body_types``; cached by raw value (the layer
    looks in ``type_cache`` itself and calls this on a miss)."""
    return _remember(body_types.type_cache, content_type, media_type(content_type) in body_types)


def _remember(cache: dict[bytes, bool], value: bytes, answer: bool) -> bool:
    if len(value) > CACHED_LENGTH:
        return answer  # real values are short; long ones would make the bound megabytes
    if len(cache) >= CACHE_SIZE:
        cache.clear()  # a flood of distinct values costs a parse each, never memory
    cache[value] = answer
    return answer


def accepts_any(accept: str, offered: MediaSet) -> bool:
    """Whether ``accept`` allows at least one of ``offered`` (with a quality above zero).

    Each offered type takes the quality of the most specific range that matches it, as RFC
    9110 section 12.5.1 asks, so ``application/json;q=0, */*`` rules out exactly JSON. A range
    ``application/json`` also matches ``application/problem+json``: a problem document is JSON.
    """
    if offered.any:
        return True
    ranges = parse_accept(accept)
    if not ranges:
        # Nothing parseable: treat it like a missing header rather than refuse the client.
        return True
    for media in offered.exact:
        if _quality(media, ranges) > 0:
            return True
    for family in offered.families:
        if any(q > 0 and (r == "*/*" or r.partition("/")[0] == family) for r, q in ranges):
            return True
    return False


def _quality(media: str, ranges: list[tuple[str, float]]) -> float:
    kind, _, sub = media.partition("/")
    suffix = sub.rpartition("+")[2] if "+" in sub else None
    best = -1
    quality = 0.0
    for wanted, q in ranges:
        want_kind, _, want_sub = wanted.partition("/")
        if wanted == media:
            specificity = 3
        elif suffix is not None and want_kind == kind and want_sub == suffix:
            specificity = 2
        elif want_kind == kind and want_sub == "*":
            specificity = 1
        elif wanted == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best:
            best, quality = specificity, q
    return quality
