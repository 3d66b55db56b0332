"""Guards 7 and 8 at run time: rate limits, concurrency leases, idempotency keys.

`StateGuards.enter` runs for routes whose policy has `StateRules` (routes without any
never get here: no store call, no extra wrapping). It either answers (429, 409, 422, 400,
or 503 when the store is down and the policy is ``fail_closed``) and returns None, or
returns a `Ticket`: the receive the app should read, and what to clean up afterwards.

Rate limits: one ``store.decide`` call per request checks every limit of the route's
scope at once (all-or-nothing), and the same decision yields ``RateLimit`` and
``RateLimit-Policy`` (and, as an option, ``X-RateLimit-*``), on the 429 and on every
allowed response of the route, plus the 429's ``Retry-After`` and body ``retry_after``.
On a memory store, a rule of one GCRA limit is bound to it (`RateRule.admit`) and the
layer admits most requests in that one step without awaiting; what it does not admit
comes here, to `rate`, and gets the same answer `decide` would give.

Concurrency: a lease per request, renewed while the handler runs past a third of its TTL
(so a worker that dies frees its slots when the TTL passes, and a long handler keeps
its own), released when the request ends however it ends: completed, failed, cancelled,
or its client gone. The release is shielded from cancellation.

Store failures: every `StoreError` goes to one policy. ``fail_open`` serves the request
as if the route had no limits; ``fail_closed`` answers the catalog's ``maintenance``
entry (503). Either way the outage is logged once when it starts (WARNING) and once when
the store answers again; never a 500.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

from .._errors import StoreError
from .._problem import FieldError
from .._state import (
    Decision,
    InFlight,
    Lease,
    MemoryStore,
    Mismatch,
    Replay,
    Started,
    fingerprint,
)
from ._auth import AuthRequest
from ._client_ip import ClientAddress
from ._idempotency import Recorder, parse_key, read_body, replay_messages, replaying
from ._rules import ConcurrencyRule, RateRule, StateRules
from ._types import IdempotencyMode, KeyBy, Receive

if TYPE_CHECKING:
    from .._state import Store
    from ._exchange import Exchange
    from ._layer import ErrorLayer

__all__ = ["OnStoreError", "StateGuards", "Ticket"]

OnStoreError = Literal["fail_open", "fail_closed"]

_IDEMPOTENCY_KEY: Final = b"idempotency-key"
_ACCEPT: Final = b"accept"
_ACCEPT_LANGUAGE: Final = b"accept-language"
#: Keys longer than this are hashed: bounded store keys whatever a principal looks like.
_MAX_WHO: Final = 200
#: The longest principal counted as itself (``"p:"`` and it fit in _MAX_WHO).
_MAX_PRINCIPAL: Final = _MAX_WHO - 2
#: Seconds the idempotency lock holds without a deadline (with one: the deadline + margin).
LOCK_WITHOUT_DEADLINE: Final = 300.0
_LOCK_MARGIN: Final = 10.0
#: Retry-After of a concurrency refusal whose entry gives no hint.
_CONCURRENCY_RETRY: Final = 1.0
_OUTAGE_RETRY: Final = 30.0
#: Cleanup tasks that must outlive a cancelled request; kept so they are not collected.
_CLEANUPS: set[asyncio.Task[None]] = set()


class Ticket:
    """One admitted request's state: the receive for the app and what to give back."""

    __slots__ = ("guards", "lease", "receive", "recorder", "renewal", "timer")

    def __init__(self, guards: StateGuards, receive: Receive) -> None:
        self.guards = guards
        self.receive = receive
        self.lease: Lease | None = None
        self.recorder: Recorder | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.renewal: asyncio.Task[None] | None = None

    async def close(self) -> None:
        """Release the lease and give up an unfinished idempotency key, shielded from
        cancellation: the request may be ending *because* it was cancelled."""
        if self.timer is not None:
            self.timer.cancel()
        if self.renewal is not None:
            self.renewal.cancel()
        lease = self.lease
        recorder = self.recorder
        abandon = None if recorder is None else recorder.abandon()
        if lease is None and abandon is None:
            return
        self.lease = None
        await _shielded(self.guards._clean_up(lease, abandon))


async def _shielded(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` to its end even if the caller is cancelled meanwhile."""
    task = asyncio.ensure_future(work)
    _CLEANUPS.add(task)
    task.add_done_callback(_CLEANUPS.discard)
    await asyncio.shield(task)


class StateGuards:
    """Guards 7 and 8 for one layer, over one store."""

    def __init__(
        self,
        layer: ErrorLayer,
        store: Store,
        *,
        rate_key: KeyBy,
        client_address: ClientAddress,
        on_store_error: OnStoreError,
        legacy_headers: bool,
        lease_ttl: float,
        retention: float,
        post_mode: IdempotencyMode,
        rules: Iterable[RateRule],
    ) -> None:
        self.layer = layer
        self.store = store
        self.rate_key = rate_key
        self.client_address = client_address
        self.fail_closed = on_store_error == "fail_closed"
        self.legacy_headers = legacy_headers
        self.lease_ttl = lease_ttl
        self.retention = retention
        self.post_mode = post_mode
        self.lock_ttl = LOCK_WITHOUT_DEADLINE
        if layer.deadline is not None:
            self.lock_ttl = layer.deadline + _LOCK_MARGIN
        #: The store is failing: logged once when it started, once when it ends.
        self.down = False
        self.by_principal = rate_key == "principal"
        # The layer may admit without awaiting only in exactly a MemoryStore whose methods
        # nobody replaced (a subclass or a wrapper set on the instance, for metrics or a
        # deny-list, must see every decision; see `_own_methods`), with no legacy headers
        # to add.
        if type(store) is MemoryStore and _own_methods(store) and not legacy_headers:
            for rule in rules:
                rule.bind(store)

    # -- whom a limit counts -----------------------------------------------------------

    def who(self, key_by: KeyBy, scope: Any, headers: dict[bytes, bytes]) -> str | None:
        """The key a request counts under (None: exempt), prefixed by its kind so an API
        key that looks like an address never shares an address's counter."""
        if key_by == "principal":
            state = scope.get("state")
            principal = state.get("principal") if isinstance(state, Mapping) else None
            if principal is None:
                return "ip:" + self.client_address(scope, headers)
            who = "p:" + (principal if isinstance(principal, str) else str(principal))
        elif key_by == "ip":
            return "ip:" + self.client_address(scope, headers)
        else:
            assert callable(key_by)
            value: object = key_by(AuthRequest(scope, headers))
            if value is None:
                return None
            if not isinstance(value, str) or not value:
                raise TypeError(
                    f"a rate key function must return a non-empty str or None, got {value!r}"
                )
            who = "k:" + value
        if len(who) > _MAX_WHO:
            who = "h:" + hashlib.sha256(who.encode("utf-8", "surrogatepass")).hexdigest()
        return who

    # -- store outages -----------------------------------------------------------------

    def failed(self, exc: StoreError) -> None:
        """Note a store failure; logged only when an outage starts."""
        if not self.down:
            self.down = True
            then = "answering 503" if self.fail_closed else "serving without limits"
            self.layer.logger.warning("state store failed (%s); %s until it recovers", exc, then)

    def recovered(self) -> None:
        self.down = False
        self.layer.logger.warning("state store answers again; limits apply")

    # -- the guards --------------------------------------------------------------------

    async def enter(
        self, rules: StateRules, exchange: Exchange, scope: Any, receive: Receive
    ) -> Ticket | None:
        """Concurrency and idempotency (rate limits are `rate`'s): a Ticket to go on with,
        or None when answered."""
        ticket = Ticket(self, receive)
        try:
            concurrency = rules.concurrency
            if concurrency is not None and not await self._acquire(
                concurrency, ticket, exchange, scope
            ):
                return None
            mode = rules.idempotency
            if mode is None:
                mode = self.post_mode if exchange.method == "POST" else "off"
            if mode != "off" and not await self._idempotency(mode, ticket, exchange, scope):
                await ticket.close()
                return None
        except Exception as exc:
            # A rate-key or cost function failed: the app's bug, answered like the app's.
            await ticket.close()
            await self.layer._answer_exception(
                exc, exchange.send_, exchange.headers, exchange.rid, exchange.method
            )
            return None
        return ticket

    async def _outage(self, exc: StoreError, exchange: Exchange) -> bool:
        """Apply the store-failure policy; True to go on without the guard."""
        self.failed(exc)
        if not self.fail_closed:
            return True
        await self._answer(exchange, "maintenance", default_retry_after=_OUTAGE_RETRY)
        return False

    async def _answer(
        self,
        exchange: Exchange,
        condition: str,
        *,
        extra: list[tuple[bytes, bytes]] | tuple[()] = (),
        retry_after: float | None = None,
        default_retry_after: float | None = None,
        entry: str | None = None,
    ) -> None:
        headers = exchange.headers
        start, body = self.layer._responder.answer(
            condition,
            exchange.rid,
            headers.get(_ACCEPT),
            headers.get(_ACCEPT_LANGUAGE),
            retry_after=retry_after,
            default_retry_after=default_retry_after,
            entry=entry,
            head=exchange.method == "HEAD",
        )
        if extra:
            start["headers"].extend(extra)
        send = exchange.send_
        await send(start)
        await send(body)

    # -- 7a: rate limits ---------------------------------------------------------------

    def entry_name(self, rate: RateRule, scope: Any, headers: dict[bytes, bytes]) -> str | None:
        """The store's entry name of this request under ``rate``'s one limit, for
        `RateRule.admit` (the layer's shortcut): ``rate.key``, `who`, then ``rate.tail``.

        Asked when ``rate.names`` has no name for the caller yet (or for a request counted
        by address); a principal's name is remembered there. None when the request must go
        to `rate` instead: a key function decides, or the principal is not a str short
        enough to be counted as itself.
        """
        if self.by_principal:
            state = scope.get("state")
            principal = state.get("principal") if isinstance(state, Mapping) else None
            if principal is not None:
                if type(principal) is not str or len(principal) > _MAX_PRINCIPAL:
                    return None
                return rate.principal_name(principal)
        elif self.rate_key != "ip":
            return None
        return f"{rate.key}ip:{self.client_address(scope, headers)}{rate.tail}"

    async def rate(self, rate: RateRule, exchange: Exchange, scope: Any) -> bool:
        """Guard 7's rate limits: True to go on (with ``RateLimit`` headers set on the
        exchange), False when answered."""
        try:
            who = self.who(self.rate_key, scope, exchange.headers)
            if who is None:
                return True
            cost = rate.cost
            if not isinstance(cost, int):
                cost = self._cost(cost, rate, scope, exchange.headers)
            decision = await self.store.decide(rate.key + who, rate.limits, cost=cost)
        except StoreError as exc:
            return await self._outage(exc, exchange)
        except Exception as exc:
            # A rate-key or cost function failed: the app's bug, answered like the app's.
            await self.layer._answer_exception(
                exc, exchange.send_, exchange.headers, exchange.rid, exchange.method
            )
            return False
        if self.down:
            self.recovered()
        extra = self._headers(rate, decision)
        if decision.allowed:
            exchange.extra = extra
            return True
        # Whole seconds, rounded up: a client that waits this long is admitted. The body's
        # retry_after (discord) says the same number as the header.
        wait = max(1, math.ceil(decision.retry_after))
        await self._answer(exchange, "rate_limited", extra=extra, retry_after=wait)
        return False

    @staticmethod
    def _cost(
        function: Callable[[AuthRequest], int],
        rate: RateRule,
        scope: Any,
        headers: dict[bytes, bytes],
    ) -> int:
        cost: object = function(AuthRequest(scope, headers))
        if isinstance(cost, bool) or not isinstance(cost, int) or not 0 <= cost <= rate.capacity:
            raise ValueError(
                f"a cost function must return a whole number from 0 to {rate.capacity} "
                f"(what the limits admit at once), got {cost!r}"
            )
        return cost

    def _headers(self, rate: RateRule, decision: Decision) -> list[tuple[bytes, bytes]]:
        """``RateLimit-Policy`` and ``RateLimit`` from the decision (the policy is fixed)."""
        states = decision.states
        if len(states) == 1:
            state = states[0]
            t = state.reset if state.allowed else state.retry_after
            remaining = state.remaining if state.remaining > 0 else 0
            current = b"%s%d;t=%d" % (rate.prefixes[0], remaining, math.ceil(t))
        else:
            current = b", ".join(
                b"%s%d;t=%d"
                % (prefix, max(s.remaining, 0), _whole(s.reset if s.allowed else s.retry_after))
                for prefix, s in zip(rate.prefixes, states, strict=True)
            )
        headers = [rate.policy_header, (b"ratelimit", current)]
        if self.legacy_headers:
            tightest = decision.tightest
            assert tightest is not None
            reset = tightest.reset if tightest.allowed else tightest.retry_after
            headers += [
                (b"x-ratelimit-limit", str(tightest.limit.amount).encode("ascii")),
                (b"x-ratelimit-remaining", str(max(tightest.remaining, 0)).encode("ascii")),
                (b"x-ratelimit-reset", str(math.ceil(reset)).encode("ascii")),
            ]
        return headers

    # -- 7b: concurrency -----------------------------------------------------------------

    async def _acquire(
        self, rule: ConcurrencyRule, ticket: Ticket, exchange: Exchange, scope: Any
    ) -> bool:
        who = self.who(rule.key or self.rate_key, scope, exchange.headers)
        if who is None:
            return True
        try:
            lease = await self.store.acquire(
                "c" + rule.scope + "|" + who, rule.limit, ttl=self.lease_ttl
            )
        except StoreError as exc:
            return await self._outage(exc, exchange)
        if self.down:
            self.recovered()
        if lease is None:
            await self._answer(
                exchange,
                "concurrency_limited",
                extra=exchange.extra,
                default_retry_after=_CONCURRENCY_RETRY,
                entry=rule.entry,
            )
            return False
        ticket.lease = lease
        loop = asyncio.get_running_loop()
        ticket.timer = loop.call_later(self.lease_ttl / 3, self._start_renewal, ticket)
        return True

    def _start_renewal(self, ticket: Ticket) -> None:
        """The handler outlived a third of the lease: keep renewing it until it ends."""
        ticket.timer = None
        if ticket.lease is not None:
            ticket.renewal = asyncio.ensure_future(self._renew(ticket))

    async def _renew(self, ticket: Ticket) -> None:
        while (lease := ticket.lease) is not None:
            try:
                if not await self.store.renew(lease, ttl=self.lease_ttl):
                    self.layer.logger.warning("a concurrency lease expired while its request ran")
                    return
                if self.down:
                    self.recovered()
            except StoreError as exc:
                self.failed(exc)
            await asyncio.sleep(self.lease_ttl / 3)

    async def _clean_up(self, lease: Lease | None, abandon: Awaitable[None] | None) -> None:
        for work in (None if lease is None else self.store.release(lease), abandon):
            if work is None:
                continue
            try:
                await work
            except StoreError as exc:
                self.failed(exc)  # the lease expires by itself; the lock too

    # -- 8: idempotency ------------------------------------------------------------------

    async def _idempotency(
        self, mode: IdempotencyMode, ticket: Ticket, exchange: Exchange, scope: Any
    ) -> bool:
        headers = exchange.headers
        raw = headers.get(_IDEMPOTENCY_KEY)
        if raw is None:
            if mode == "required":
                await self._answer(exchange, "idempotency_key_missing", extra=exchange.extra)
                return False
            return True
        key = parse_key(raw)
        if key is None:
            await self._invalid_key(exchange)
            return False
        body = await read_body(ticket.receive, lambda: exchange.answered)
        if body is None:
            return False  # the client left, or the body was over the limit (answered 413)
        ticket.receive = replaying(body, ticket.receive)
        query = scope.get("query_string") or b""
        path = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        print_ = fingerprint(exchange.method, path, body)
        # Scoped by the caller (never by the rate key): two tenants' keys never meet.
        owner = self.who("principal", scope, headers)
        assert owner is not None
        store_key = "i" + owner + "|" + key
        try:
            begun = await self.store.begin(store_key, print_, lock_ttl=self.lock_ttl)
        except StoreError as exc:
            return await self._outage(exc, exchange)
        if self.down:
            self.recovered()
        if isinstance(begun, Started):
            recorder = Recorder(
                self.store,
                store_key,
                begun.token,
                exchange.send_,
                retention=self.retention,
                request_id_header=self.layer._rid_key,
                on_error=self.failed,
                warn=lambda what: self.layer.logger.warning(
                    "request %s: %s", exchange.rid.decode(), what
                ),
            )
            ticket.recorder = recorder
            exchange.send_ = recorder.send
            return True
        if isinstance(begun, Replay):
            extra = [(self.layer._rid_key, exchange.rid), *exchange.extra]
            start, message = replay_messages(begun.response, extra, head=exchange.method == "HEAD")
            await exchange.send_(start)
            await exchange.send_(message)
        elif isinstance(begun, InFlight):
            await self._answer(exchange, "idempotency_in_flight", extra=exchange.extra)
        else:
            assert isinstance(begun, Mismatch)
            await self._answer(exchange, "idempotency_mismatch", extra=exchange.extra)
        return False

    async def _invalid_key(self, exchange: Exchange) -> None:
        headers = exchange.headers
        responder = self.layer._responder
        problem = responder.problem(
            "validation_failed",
            request_id=exchange.rid.decode(),
            accept_language=_text(headers.get(_ACCEPT_LANGUAGE)),
            fields=[
                FieldError(
                    "",
                    "invalid_idempotency_key",
                    "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
                )
            ],
        )
        start, body = responder.messages(
            problem, accept=_text(headers.get(_ACCEPT)), head=exchange.method == "HEAD"
        )
        start["headers"].extend(exchange.extra)
        await exchange.send_(start)
        await exchange.send_(body)


#: The store methods the layer calls: a MemoryStore admits without awaiting only while all
#: of them are its own.
_STORE_METHODS: Final = ("decide", "acquire", "renew", "release", "begin", "complete", "abandon")


def _own_methods(store: MemoryStore) -> bool:
    """Whether every store method the layer calls is MemoryStore's own, bound to ``store``
    (none replaced by a wrapper set on the instance).

    ``decide`` must be, since a wrapper (metrics, a deny-list) must see every decision; and
    the others too, since MemoryStore's own never fail: then the layer has no outage to
    end on an admitted request. Asked through the attributes, not the instance's
    ``__dict__``: on CPython 3.11 reading ``__dict__`` materializes it, after which every
    attribute the store's methods read costs more.
    """
    for name in _STORE_METHODS:
        method: object = getattr(store, name)
        if (
            getattr(method, "__func__", None) is not getattr(MemoryStore, name)
            or getattr(method, "__self__", None) is not store
        ):
            return False
    return True


def _whole(seconds: float) -> int:
    return math.ceil(seconds)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")
