"""The situations the layer detects by itself.

A catalog entry answers a condition by listing it in ``on``; the `rfc9457` profile answers
every one, and catalogs that leave one unanswered fall back to that profile's entry.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CONDITIONS"]

#: Every condition, in the order the layer's guards meet them.
CONDITIONS: Final[tuple[str, ...]] = (
    "maintenance",
    "unknown_route",
    "method_not_allowed",
    "unauthenticated",
    "forbidden",
    "unsupported_media_type",
    "not_acceptable",
    "payload_too_large",
    "rate_limited",
    "concurrency_limited",
    "idempotency_key_missing",
    "idempotency_in_flight",
    "idempotency_mismatch",
    "invalid_json",
    "validation_failed",
    "internal",
    "timeout",
)
