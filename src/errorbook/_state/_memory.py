"""The embedded store: state in this process, bounded, exact under asyncio concurrency.

Correctness: no method awaits between reading and writing state, so on one event loop each
call is atomic without locks. (The store is not thread-safe: use one per event loop.)

Bounds and eviction, stated because they are part of the contract:

- Rate-limit and lease entries share one map of at most ``max_keys`` entries; idempotency
  records have their own map of at most ``max_records``, so a flood of distinct client
  keys cannot push out stored responses.
- Every entry knows when it stops mattering (a GCRA key when its TAT passes, a window when
  it closes, a lease set when its last lease expires, a record when its lock or retention
  ends). Expired entries are dropped when read, and an incremental sweep inspects the
  oldest rate and lease entries, two per write on average: expired ones are removed, live
  ones rotated to the back, so expired entries are reclaimed within ``len / 2`` writes,
  with no background task. Each new idempotency record drops up to two expired records
  from the front of theirs (kept in order of their last write). ``sweep()`` does it all
  at once.
- When a map is full, the entry at its front goes: the least recently written one, or one
  the sweep found alive and rotated longest ago (a second-chance approximation of LRU).
  Forgetting a rate-limit or lease entry can only forgive a client (it starts afresh),
  never refuse one wrongly. Forgetting an idempotency record means a retry older than the
  last ``max_records`` idempotent requests runs again.

Memory, measured with tracemalloc by ``benchmarks/bench_state.py`` (1,000,000 distinct
keys of 20-odd characters, one GCRA limit each): about 285 bytes per live key, so an
unbounded million is about 285 MB, while the default ``max_keys`` of 100,000 holds a flood
of a million keys at about 36 MB (43 MB peak). (An entry is a two-item list rather than a
tuple, 16 bytes more, so that the layer's every admitted request updates it in place.)
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from math import trunc
from typing import Any

from ._algorithms import ALGORITHM_FUNCTIONS
from ._decision import Decision, LimitState
from ._limit import Limit
from ._records import Begin, InFlight, Lease, Mismatch, Replay, Started, StoredResponse
from ._validate import check_decide, check_integer, check_key, check_seconds

__all__ = ["DEFAULT_MAX_KEYS", "DEFAULT_MAX_RECORDS", "Admitted", "MemoryStore"]

DEFAULT_MAX_KEYS = 100_000
DEFAULT_MAX_RECORDS = 100_000
#: The sweep runs every _SWEEP_EVERY writes and inspects _SWEEP_BATCH
#: entries: two per write on average, so reclaiming outpaces a steady stream of new keys.
_SWEEP_EVERY = 8
_SWEEP_BATCH = 16
_US = 1_000_000
#: What `MemoryStore._admitter`'s function answers for an admitted request: remaining
#: units and the reset in whole seconds, rounded up.
Admitted = tuple[int, int]


class _Record:
    """One idempotency key: in flight while ``response`` is None, then completed."""

    __slots__ = ("expires", "fingerprint", "response", "token")

    def __init__(self, fingerprint: str, token: str, expires: int) -> None:
        self.fingerprint = fingerprint
        self.token = token
        self.expires = expires
        self.response: StoredResponse | None = None


class MemoryStore:
    """State in this process. See the module docstring for bounds and eviction.

    Args:
        max_keys: most rate-limit and lease entries kept (one per key and limit).
        max_records: most idempotency records kept.
        clock: seconds from any fixed origin; tests pass a fake one.
    """

    def __init__(
        self,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        max_records: int = DEFAULT_MAX_RECORDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_keys = check_integer("max_keys", max_keys, 1)
        self.max_records = check_integer("max_records", max_records, 1)
        self._clock = clock
        # key -> [expires at in µs, state]: a list, so that the layer's admitting function
        # updates a live entry in place (see `_admitter`). Order: least recently written
        # first.
        self._entries: OrderedDict[str, list[Any]] = OrderedDict()
        self._records: OrderedDict[str, _Record] = OrderedDict()
        #: Writes left before the next sweep, counted down by every writer of ``_entries``
        #: (`_put` and the admitting functions): one list they share, so the sweep keeps
        #: its cadence however many write, and small ints (no int made per write).
        self._until_sweep = [_SWEEP_EVERY]

    def __repr__(self) -> str:
        return f"<MemoryStore {len(self._entries)}/{self.max_keys} keys>"

    def __len__(self) -> int:
        """Entries held now (rate, lease and idempotency), expired ones not yet swept included."""
        return len(self._entries) + len(self._records)

    def _now(self) -> int:
        return int(self._clock() * _US)

    # -- rate limits -------------------------------------------------------------------

    async def decide(self, key: str, limits: Sequence[Limit], *, cost: int = 1) -> Decision:
        """See :meth:`Store.decide`."""
        if len(limits) == 1 and type(limits[0]) is Limit and limits[0].algorithm == "gcra":
            return self._gcra(key, limits[0], cost)
        check_decide(key, limits, cost)
        now = int(self._clock() * _US)
        entries = self._entries
        base = key + "\x1f"
        outcomes = []
        allowed = True
        for limit in limits:
            name = base + limit.key
            entry = entries.get(name)
            state = entry[1] if entry is not None and entry[0] > now else None
            outcome = ALGORITHM_FUNCTIONS[limit.key[0]](state, now, limit, cost)
            allowed = allowed and outcome[0]
            outcomes.append((name, entry, outcome))
        if allowed:
            if cost:
                for name, entry, outcome in outcomes:
                    self._put(name, entry, outcome[2], outcome[1], now)
        else:
            for index, (name, entry, outcome) in enumerate(outcomes):
                if outcome[0]:
                    # This limit would have admitted the cost but consumes nothing: report it
                    # as it stands, which is what a peek (cost 0) answers.
                    state = entry[1] if entry is not None and entry[0] > now else None
                    limit = limits[index]
                    peek = ALGORITHM_FUNCTIONS[limit.key[0]](state, now, limit, 0)
                    outcomes[index] = (name, entry, peek)
                if entry is not None:
                    # A refused client is an active one: keep its state last in line for
                    # eviction, since forgetting it would forgive it.
                    entries.move_to_end(name)
        return Decision(
            allowed,
            cost,
            tuple(
                LimitState(limit, o[0], o[3], o[4] / _US, o[5] / _US)
                for limit, (_, _, o) in zip(limits, outcomes, strict=True)
            ),
        )

    def _gcra(self, key: str, limit: Limit, cost: int) -> Decision:
        """``decide`` for the common case, one GCRA limit: ``_algorithms.gcra`` inlined.

        The layer calls this on every limited request, so it avoids the general path's
        lists and generator; the arithmetic is the same, and the tests run both.
        """
        if (
            type(key) is not str
            or not key
            or type(cost) is not int
            or not 0 <= cost <= limit.capacity
        ):
            check_decide(key, (limit,), cost)  # raises the precise error
        now = int(self._clock() * _US)
        name = f"{key}\x1f{limit.key}"
        entry = self._entries.get(name)
        interval = limit.interval_us
        tau = limit.burst * interval
        tat = entry[1] if entry is not None and entry[1] > now else now
        new = tat + cost * interval
        if new - tau <= now:
            if cost:
                self._put(name, entry, new, new, now)
            state = LimitState(limit, True, (tau - new + now) // interval, (new - now) / _US, 0.0)
            return Decision(True, cost, (state,))
        if entry is not None:
            self._entries.move_to_end(name)
        retry = (new - tau - now) / _US
        state = LimitState(limit, False, (tau - tat + now) // interval, (tat - now) / _US, retry)
        return Decision(False, cost, (state,))

    def _admitter(self, interval: int, tau: int, step: int) -> Callable[[str], Admitted | None]:
        """The admitting half of `_gcra` for one GCRA limit and cost, for the layer:
        ``admit(name)`` answers ``(remaining, t)`` when the limit admits the request
        (consumed), None when it refuses (nothing changes; ask `decide` for the refusal's
        numbers).

        The layer asks this on every limited request, so everything fixed is bound once,
        here: the limit's ``interval`` (``interval_us``), ``tau`` (burst x interval),
        ``step`` (cost x interval; the caller has checked the cost is an int from 0 to the
        capacity), and the store's map and clock, which the closure reads as locals rather
        than attributes. A live entry is updated in place, then moved last in line:
        `_put`'s order without building a new entry.

        ``name`` is the entry's name (``key + "\\x1f" + limit.key``, the one string
        `_gcra` would build). The answer is what the ``RateLimit`` header needs, in
        integers: remaining units, and ``t``, the reset in whole seconds rounded up (equal
        to ``ceil(reset)`` of `_gcra`'s float while the reset is under 2**33 s; the caller
        keeps to that). The arithmetic and the state left behind are `_gcra`'s.
        """
        entries = self._entries
        get = entries.get
        move_to_end = entries.move_to_end
        clock = self._clock
        sweep = self._sweep
        until_sweep = self._until_sweep

        def admit(name: str) -> Admitted | None:
            # `_now`, inline; trunc is int() for the clock's float, without a type call.
            now = trunc(clock() * 1_000_000)
            entry = get(name)
            tat = entry[1] if entry is not None and entry[1] > now else now
            # `_gcra`'s arithmetic counted from now (``reset`` is its ``new - now``, and
            # ``new - tau > now`` becomes ``reset > tau``): small ints, cheaper to compute
            # with than clock readings in µs.
            reset = tat - now + step
            if reset > tau:
                return None
            if step:
                new = now + reset
                # `_put`, inline. Nothing runs between `get` and here, so the entry found is
                # still in the map.
                if entry is None:
                    if len(entries) >= self.max_keys:
                        entries.popitem(last=False)
                    entries[name] = [new, new]
                else:
                    entry[0] = entry[1] = new
                    move_to_end(name)
                # `_put`'s countdown.
                left = until_sweep[0] - 1
                if left:
                    until_sweep[0] = left
                else:
                    until_sweep[0] = _SWEEP_EVERY
                    sweep(now)
            # ceil(reset / _US), in integers: (reset + _US - 1) // _US.
            return (tau - reset) // interval, (reset + 999_999) // 1_000_000

        return admit

    def _put(self, name: str, entry: object, expires: int, state: Any, now: int) -> None:
        """Store an entry last in line; ``entry`` is what ``get`` found (None: a new key).

        Between `decide`'s reads and its writes, putting one limit's new entry may have
        evicted another's: so a new list rather than ``entry`` updated, and the bound
        enforced after the write, whatever ``entry`` said.
        """
        entries = self._entries
        entries[name] = [expires, state]
        if entry is not None:
            entries.move_to_end(name)
        if len(entries) > self.max_keys:
            entries.popitem(last=False)  # never this entry: it is last
        left = self._until_sweep[0] - 1
        if left:
            self._until_sweep[0] = left
        else:
            self._until_sweep[0] = _SWEEP_EVERY
            self._sweep(now)

    def _sweep(self, now: int) -> None:
        """Inspect the oldest entries: drop expired ones, rotate live ones to the back."""
        entries = self._entries
        # Never the newest entry, just written; an `if` over `min`, which costs a call
        # with keyword parsing on every sweep.
        batch = len(entries) - 1
        if batch > _SWEEP_BATCH:
            batch = _SWEEP_BATCH
        for _ in range(batch):
            # Moved, not popped and put back: a dict's delete and insert would leave a
            # dead slot each, and the table would grow to hold them.
            name = next(iter(entries))
            if entries[name][0] <= now:
                del entries[name]
            else:
                entries.move_to_end(name)

    async def sweep(self) -> int:
        """Drop every expired entry now; returns how many. Writes do this incrementally."""
        now = self._now()
        dead = [name for name, (expires, _) in self._entries.items() if expires <= now]
        for name in dead:
            del self._entries[name]
        records = [key for key, record in self._records.items() if record.expires <= now]
        for key in records:
            del self._records[key]
        return len(dead) + len(records)

    # -- concurrency leases ------------------------------------------------------------

    async def acquire(self, key: str, limit: int, *, ttl: float) -> Lease | None:
        """See :meth:`Store.acquire`."""
        check_key(key)
        check_integer("a concurrency limit", limit, 1)
        ttl_us = check_seconds("ttl", ttl)
        now = self._now()
        name = key + "\x1fc"
        entry = self._entries.get(name)
        leases: dict[str, int] = {}
        if entry is not None and entry[0] > now:
            leases = {token: at for token, at in entry[1].items() if at > now}
        if len(leases) >= limit:
            self._entries.move_to_end(name)
            return None
        token = secrets.token_hex(12)
        leases[token] = now + ttl_us
        self._put(name, entry, max(leases.values()), leases, now)
        return Lease(key, token, len(leases))

    async def renew(self, lease: Lease, *, ttl: float) -> bool:
        """See :meth:`Store.renew`."""
        ttl_us = check_seconds("ttl", ttl)
        now = self._now()
        name = lease.key + "\x1fc"
        entry = self._entries.get(name)
        if entry is None or entry[1].get(lease.token, 0) <= now:
            return False
        leases: dict[str, int] = entry[1]
        leases[lease.token] = now + ttl_us
        self._put(name, entry, max(leases.values()), leases, now)
        return True

    async def release(self, lease: Lease) -> None:
        """See :meth:`Store.release`."""
        name = lease.key + "\x1fc"
        entry = self._entries.get(name)
        if entry is not None and entry[1].pop(lease.token, None) is not None and not entry[1]:
            del self._entries[name]

    # -- idempotency -------------------------------------------------------------------

    async def begin(self, key: str, fingerprint: str, *, lock_ttl: float) -> Begin:
        """See :meth:`Store.begin`."""
        check_key(key)
        ttl_us = check_seconds("lock_ttl", lock_ttl)
        now = self._now()
        records = self._records
        record = records.get(key)
        if record is None or record.expires <= now:
            token = secrets.token_hex(12)
            records[key] = _Record(fingerprint, token, now + ttl_us)
            records.move_to_end(key)
            while len(records) > self.max_records:
                records.popitem(last=False)
            for _ in range(2):
                oldest = next(iter(records))
                if oldest == key or records[oldest].expires > now:
                    break
                del records[oldest]
            return Started(token)
        if record.fingerprint != fingerprint:
            return Mismatch()
        if record.response is None:
            return InFlight((record.expires - now) / _US)
        return Replay(record.response)

    async def complete(
        self, key: str, token: str, response: StoredResponse, *, retention: float
    ) -> bool:
        """See :meth:`Store.complete`."""
        retention_us = check_seconds("retention", retention)
        now = self._now()
        record = self._records.get(key)
        if (
            record is None
            or record.token != token
            or record.response is not None
            or record.expires <= now
        ):
            return False
        record.response = response
        record.expires = now + retention_us
        self._records.move_to_end(key)
        return True

    async def abandon(self, key: str, token: str) -> None:
        """See :meth:`Store.abandon`."""
        record = self._records.get(key)
        if record is not None and record.token == token and record.response is None:
            del self._records[key]

    async def aclose(self) -> None:
        """Nothing to release; the state goes with the object."""
