"""The service's own refusals, named by situation rather than by catalog entry.

The store and the handlers say *what* went wrong (``gone``, ``locked``); the demo's catalog
says *how* the profile answers it (wetransfer's ``gone``, tape's ``not_found``...). Keeping
the two apart is what lets one service speak six error dialects.
"""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

__all__ = ["SITUATIONS", "Refused", "Situation"]

Situation = Literal[
    "not_found",
    "tracker_not_found",
    "name_taken",
    "gone",
    "locked",
    "state_conflict",
    "size_mismatch",
    "unsupported_file_type",
    "file_damaged",
    "teapot",
]

#: Every situation, in the order the reference table lists them.
SITUATIONS: Final[tuple[Situation, ...]] = get_args(Situation)


class Refused(Exception):
    """The service refuses a request; the handler turns it into the profile's answer.

    Args:
        situation: What went wrong, in the service's words.
        reason: What exactly went wrong this time (which file, which check), for the client;
            sent as the ``reason`` extension member where the format carries extensions.
        retry_after: Seconds after which the same request may succeed (``locked``).
        facts: Values the entry's message may use (``name``, ``received``, ``declared``...).
    """

    def __init__(
        self,
        situation: Situation,
        *,
        reason: str | None = None,
        retry_after: float | None = None,
        **facts: Any,
    ) -> None:
        super().__init__(situation)
        self.situation: Situation = situation
        self.reason = reason
        self.retry_after = retry_after
        self.facts = facts
