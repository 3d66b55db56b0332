"""Where the retrying transports get the time and how they wait.

Every reading of the time and every sleep goes through a `Clock`, so a test can inject one
whose ``sleep`` records the wait and moves its own time forward: retries are then checked
to the exact second without a test ever sleeping.
"""

from __future__ import annotations

import time as _time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """The time source and the sleeper of a retrying transport."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; deadlines and elapsed times use it."""
        ...

    def time(self) -> float:
        """The wall clock as a POSIX timestamp; an HTTP-date ``Retry-After`` needs it when
        the response has no ``Date`` header to measure against."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds`` (the sync transport)."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds`` (the async transport)."""
        ...


class SystemClock:
    """The real clock: `time.monotonic`, `time.time`, `time.sleep`, and anyio's sleep.

    The async sleep is anyio's rather than asyncio's because httpx runs on both asyncio and
    trio (anyio comes with httpx); a cancelled sleep raises the event loop's own
    cancellation, which the transport lets through untouched.
    """

    __slots__ = ()

    # The time functions themselves, not methods wrapping them: the transport reads the
    # clock on every request, and a Python frame per reading is a cost the success path
    # need not pay.
    monotonic = staticmethod(_time.monotonic)
    time = staticmethod(_time.time)
    sleep = staticmethod(_time.sleep)

    async def asleep(self, seconds: float) -> None:
        import anyio  # only the async transport waits this way; httpx depends on anyio

        await anyio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"
