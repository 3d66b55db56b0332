"""The testing switch: waits are computed and recorded, never slept.

A user's own test suite drives code that uses the retrying transports against mocked
failures; without the switch every mocked 503 would cost a real backoff. Like stamina's
``set_testing``, the switch is process-wide (the transports live deep inside the code under
test, out of reach of a fixture) and works as a context manager. It is a counter rather than
a flag so that nested uses, and uses from several threads at once, compose: waits come back
only when the last one ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["active", "testing"]

_lock = threading.Lock()
_depth = 0


@contextmanager
def testing() -> Iterator[None]:
    """While active, retrying transports do not sleep between attempts.

    Everything else stays as in production: the same attempts are made, and each wait is
    computed and recorded on the attempts (``Attempt.wait``) and counted against the
    policy's ``timeout`` as if it had passed, so a test sees the decisions production would
    make. Nestable and thread-safe::

        with errorbook.client.testing():
            client.get("/flaky")      # retried at once
    """
    global _depth
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1


# The name starts with "test": without this, pytest would collect the function as a test
# in every module of a user's suite that imports it.
testing.__test__ = False  # type: ignore[attr-defined]


def active() -> bool:
    """Whether some `testing` block is open anywhere in the process."""
    return _depth > 0
