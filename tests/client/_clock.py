"""A `Clock` for the client's tests: time moves only when the transport sleeps.

The waits a retrying transport takes are asserted from the sleeps this clock records, so no
test ever sleeps and none depends on how fast the machine is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: The wall-clock time at monotonic 0: an arbitrary fixed instant (2023-11-14 22:13:20 UTC).
WALL = 1_700_000_000.0


@dataclass
class FakeClock:
    """Monotonic time starts at 0; every sleep is recorded, advances it, then runs ``on_sleep``."""

    now: float = 0.0
    wall: float = WALL
    sleeps: list[float] = field(default_factory=list)
    on_sleep: Callable[[], None] | None = None

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall + self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
