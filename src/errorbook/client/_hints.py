"""How long the server asked the client to wait: ``Retry-After``, ``RateLimit`` and the body.

Every value read here comes from a server the client does not control, possibly through a
proxy that mangles it. So nothing here raises: a value that is malformed, negative or not
a number is ignored (the transport then backs off on its own), never turned into an
exception. A well-formed wait longer than `MAX_HINT` is not ignored, though: the server said
a retry before then would be refused, so it comes back as ``math.inf`` ("longer than the
client will wait"), and the transport stops retrying (reason ``"timeout"``) rather than
retry at once or obey a wait of a thousand years.
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Mapping
from datetime import UTC
from decimal import Decimal
from typing import Final, NamedTuple

import http_sf

__all__ = ["MAX_HINT", "Hint", "body_retry_after", "ratelimit_reset", "retry_after", "server_hint"]

#: The longest wait taken from a server, in seconds (a day, as catalogs allow for
#: ``retry_after``); a longer one reads as ``math.inf``, and the transport stops.
MAX_HINT: Final = 86_400.0

# RFC 9110 delta-seconds are ASCII digits; a fraction is accepted because servers send them.
# float() alone would also take "1e3", "nan", "1_0" and non-ASCII digits.
_DELTA = re.compile(r"[0-9]+(?:\.[0-9]+)?\Z")


class Hint(NamedTuple):
    """A server's wait and where it came from (the reason an `Attempt` records)."""

    seconds: float
    reason: str  # "retry-after", "ratelimit-reset" or "body-retry-after"


def server_hint(headers: Mapping[str, str], body_retry: float | None, *, now: float) -> Hint | None:
    """The longest wait the response asks for, or None when it asks for none.

    The longest, because each source is a lower bound: a retry before any of them has
    passed is one the server said it would refuse. On a tie ``Retry-After`` wins, being
    the standard header, then ``RateLimit``.

    Args:
        headers: The response headers (case-insensitive, like httpx's).
        body_retry: The parsed body's ``retry_after``.
        now: The wall clock, for an HTTP-date ``Retry-After`` when there is no ``Date``.
    """
    best: Hint | None = None
    for seconds, reason in (
        (retry_after(headers.get("retry-after"), date=headers.get("date"), now=now), "retry-after"),
        (ratelimit_reset(headers), "ratelimit-reset"),
        (body_retry_after(body_retry), "body-retry-after"),
    ):
        if seconds is not None and (best is None or seconds > best.seconds):
            best = Hint(seconds, reason)
    return best


def retry_after(value: str | None, *, date: str | None = None, now: float) -> float | None:
    """Seconds from a ``Retry-After`` value: delta seconds (``120``, ``1.5``) or an HTTP date.

    A date is measured against the response's ``Date`` header when it has a valid one: both
    come from the server's clock, so a client whose clock is off still waits what the server
    meant. Without one it is measured against ``now``. A date already past means "now" (0).
    """
    if value is None:
        return None
    text = value.strip()
    if _DELTA.match(text):
        return _bounded(float(text))
    target = _http_date(text)
    if target is None:
        return None
    reference = _http_date(date.strip()) if date is not None else None
    return _bounded(max(target - (now if reference is None else reference), 0.0))


def ratelimit_reset(headers: Mapping[str, str]) -> float | None:
    """Seconds until an exhausted rate limit resets, from the ``RateLimit`` header.

    The current draft's list form (``"burst";r=0;t=3, "day";r=80;t=3600``, what our own
    server writes) is read with http_sf; among the limits that are exhausted (``r=0``, or no
    ``r`` at all) the largest ``t`` is the wait, since all must have reset for a request to
    pass. A limit with quota left says when it refills, not when to retry, so it is ignored.
    Without a usable ``RateLimit``, the older drafts' ``RateLimit-Reset`` delta seconds is
    used, unless ``RateLimit-Remaining`` says quota is left.
    """
    current = headers.get("ratelimit")
    if current is not None:
        found = _draft_reset(current)
        if found is not None:
            return found
    reset = headers.get("ratelimit-reset")
    if reset is None or not _exhausted(headers.get("ratelimit-remaining")):
        return None
    text = reset.strip()
    return _bounded(float(text)) if _DELTA.match(text) else None


def body_retry_after(value: object) -> float | None:
    """The body's ``retry_after`` when it is a usable number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None  # not a JSON number: Python's json reads "Infinity" and "NaN"
    try:
        seconds = float(value)
    except OverflowError:  # an int past the float range: longer than any wait
        return math.inf
    return _bounded(seconds)


def _draft_reset(value: str) -> float | None:
    try:
        members = http_sf.parse(value.encode("latin-1"), tltype="list")
    except (ValueError, UnicodeEncodeError):  # StructuredFieldError is a ValueError
        return None
    waits: list[float] = []
    for member in members if isinstance(members, list) else ():
        if not isinstance(member, tuple) or len(member) != 2:
            continue
        params = member[1]  # an item's or an inner list's parameters: always a dict
        remaining = params.get("r")
        if _number(remaining) is not None and remaining != 0:
            continue  # quota left: this limit is not why the request was refused
        seconds = _bounded(_number(params.get("t")))
        if seconds is not None:
            waits.append(seconds)
    return max(waits, default=None)


def _exhausted(remaining: str | None) -> bool:
    if remaining is None:
        return True
    text = remaining.strip()
    return not _DELTA.match(text) or float(text) == 0


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


def _http_date(text: str) -> float | None:
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": RFC 5322 for "UTC, source unknown"
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def _bounded(seconds: float | None) -> float | None:
    """None for no usable wait; ``math.inf`` for one longer than `MAX_HINT` (digits past
    the float range included)."""
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return None
    return math.inf if seconds > MAX_HINT else seconds
