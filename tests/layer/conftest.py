"""Store fixtures for the layer's guards 7 and 8: both backends, time under the test's hand.

The ``harness`` fixture (memory with a fake clock, and a real redis-server whose clock the
test moves through an offset) comes from ``tests/state``; tests that use it are async
(anyio on asyncio), since a Redis client belongs to the event loop that opened it.
"""

from __future__ import annotations

from tests.state.conftest import _harness, _redis, anyio_backend

__all__ = ["_harness", "_redis", "anyio_backend"]
