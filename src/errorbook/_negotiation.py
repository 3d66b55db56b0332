"""Choosing a format and a language from a request's Accept and Accept-Language headers.

Kept apart from the layer so the CLI's ``render --accept`` and the layer answer the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

from ._formats._base import Format

__all__ = ["choose_format", "choose_language", "parse_accept"]

_F = TypeVar("_F", bound=Format)


def parse_accept(header: str) -> list[tuple[str, float]]:
    """Media ranges with their q-values, best first; malformed parts are skipped, not fatal."""
    ranges: list[tuple[str, float, int]] = []
    for index, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media or ("/" not in media and media != "*"):
            continue
        if media == "*":
            media = "*/*"
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
                # "nan" and "inf" parse as floats; neither is a weight a client can mean.
                quality = min(max(quality, 0.0), 1.0) if math.isfinite(quality) else 0.0
        ranges.append((media, quality, index))
    ranges.sort(key=lambda r: (-r[1], -_specificity(r[0]), r[2]))
    return [(media, quality) for media, quality, _ in ranges]


def _specificity(media: str) -> int:
    kind, _, sub = media.partition("/")
    return (kind != "*") + (sub != "*")


def choose_format(formats: Sequence[_F], accept: str | None) -> _F | None:
    """The format the client prefers among ``formats`` (the first is the catalog's own).

    No Accept header, or one that allows anything, gets the catalog's own format. A client
    asking for ``application/json`` gets a ``+json`` format: a problem document is JSON.
    Returns None when Accept rules out every format (the layer answers 406).
    """
    if not accept or not accept.strip():
        return formats[0]
    ranges = parse_accept(accept)  # once, not once per format
    best: tuple[float, int, int] | None = None
    chosen: _F | None = None
    for position, fmt in enumerate(formats):
        quality, specificity = _quality(fmt.media_type, ranges)
        if quality <= 0:
            continue
        rank = (quality, specificity, -position)
        if best is None or rank > best:
            best, chosen = rank, fmt
    return chosen


def _quality(media_type: str, ranges: list[tuple[str, float]]) -> tuple[float, int]:
    kind, _, sub = media_type.partition("/")
    suffix = sub.rpartition("+")[2] if "+" in sub else None
    found: tuple[float, int] | None = None
    for media, quality in ranges:
        want_kind, _, want_sub = media.partition("/")
        if media == media_type:
            specificity = 3
        elif suffix and want_kind == kind and want_sub == suffix:
            specificity = 2
        elif want_kind == kind and want_sub == "*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if found is None or specificity > found[1]:
            found = (quality, specificity)
    return found or (0.0, 0)


def choose_language(available: Sequence[str], accept_language: str | None, default: str) -> str:
    """The best of ``available`` for an Accept-Language header, else ``default``."""
    if not accept_language:
        return default
    lowered = {lang.lower(): lang for lang in available}
    ranked = [
        (tag.removeprefix("x/"), q) for tag, q in parse_accept(_as_media_ranges(accept_language))
    ]
    refused = {tag for tag, quality in ranked if quality <= 0}
    for tag, quality in ranked:
        if quality <= 0:
            continue
        if tag in ("*", "*/*"):
            # Any language the client did not refuse; the default first.
            for lang in (default, *available):
                if lang.lower() not in refused:
                    return lang
            continue
        if tag in lowered:
            return lowered[tag]
        base = tag.split("-", 1)[0]
        if base in lowered and base not in refused:
            return lowered[base]
    return default


def _as_media_ranges(accept_language: str) -> str:
    # Accept-Language has Accept's grammar without the slash; borrow the parser.
    parts = []
    for part in accept_language.split(","):
        tag, sep, params = part.partition(";")
        tag = tag.strip()
        if tag:
            parts.append(f"x/{tag}{sep}{params}" if tag != "*" else f"*{sep}{params}")
    return ",".join(parts)
