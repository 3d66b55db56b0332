"""State for the layer's rate limits, concurrency limits and idempotency keys.

``open_store(url)`` returns a :class:`Store`: ``memory://`` (embedded, bounded) or Redis
(``redis://``, ``rediss://``, ``redis+cluster://``). Redis support is imported only when a
Redis URL is opened, so ``import errorbook`` never loads redis-py.
"""

from ._decision import Decision, LimitState, ratelimit_headers
from ._limit import ALGORITHMS, Algorithm, Limit
from ._memory import Admitted, MemoryStore
from ._records import (
    Begin,
    InFlight,
    Lease,
    Mismatch,
    Replay,
    Started,
    StoredResponse,
    fingerprint,
)
from ._store import SCHEMES, Store, open_store

__all__ = [
    "ALGORITHMS",
    "Admitted",
    "Algorithm",
    "Begin",
    "Decision",
    "InFlight",
    "Lease",
    "Limit",
    "LimitState",
    "MemoryStore",
    "Mismatch",
    "Replay",
    "SCHEMES",
    "Started",
    "Store",
    "StoredResponse",
    "fingerprint",
    "open_store",
    "ratelimit_headers",
]
