"""What the tests that run ``errorbook demo`` in a subprocess share: its stdout read by a
thread (so the pipe never fills), a wait for what the banner prints, and a polite stop.

``tests/live/_demo.py`` (one service per profile) and ``tests/accuracy/_procs.py``
(several workers sharing Redis) each parse their own banner lines with these.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TypeVar

__all__ = ["STOP_TIMEOUT", "ServiceOutput", "stop_process"]

_T = TypeVar("_T")
#: Seconds a process has to exit after SIGTERM, then after SIGKILL.
STOP_TIMEOUT: Final = 10.0


@dataclass
class ServiceOutput:
    """Everything a service writes to stdout, collected by a thread (`pump`)."""

    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    closed: bool = False

    def pump(self, stream: io.TextIOBase) -> None:
        for line in stream:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def text(self) -> str:
        with self.changed:
            return "\n".join(self.lines)

    def wait_for(self, find: Callable[[list[str]], _T | None], timeout: float) -> _T | None:
        """What ``find`` makes of the lines so far, once it is not None; None when the
        stream closes or ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = find(self.lines)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.changed.wait(min(left, 0.5))


def stop_process(
    process: subprocess.Popen[str] | subprocess.Popen[bytes], *, group: bool = False
) -> None:
    """SIGTERM, wait, then SIGKILL; with ``group`` also SIGKILL whatever is left of its group.

    Only ever signals the process a test started, or the group it leads (its id).
    """
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)
    if group:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
