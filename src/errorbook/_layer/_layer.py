"""ErrorLayer: the ASGI middleware that answers every error the catalog's way.

The guards run in a fixed order and the first refusal ends the request, so a request that
will be refused costs as little as possible:

1. request id: a sane incoming ``X-Request-Id`` is kept, else one is made; every response
   echoes it and every problem carries it
   (the glossary at ``/errors`` is served here, before maintenance, so that the ``type`` URI
   of a 503 still resolves)
2. maintenance: 503 ``maintenance`` with ``Retry-After`` (but on routes whose
   ``RouteOptions`` say ``maintenance: False``)
3. routing (declared routes only): 404 ``unknown_route``, 405 ``method_not_allowed`` with
   ``Allow``; ``OPTIONS`` on a known path answers 204 with ``Allow``
4. authentication: 401/403 ``unauthenticated``, ``forbidden`` (or 404 to hide the route)
5. negotiation: 415 ``unsupported_media_type``, then 406 ``not_acceptable``
6. body size: 413 ``payload_too_large`` from ``Content-Length``, and on the stream
7. rate limits: 429 ``rate_limited`` with ``Retry-After`` and ``RateLimit`` headers; then
   concurrency: 429 ``concurrency_limited`` (or the route's ``concurrency_entry``)
8. idempotency: the stored response replayed, 409 ``idempotency_in_flight``, 422
   ``idempotency_mismatch``, 400 ``idempotency_key_missing`` (see ``_limits`` and
   ``_idempotency``; routes without limits skip 7 and 8 entirely)
9. the app, whose exceptions are mapped (see ``_exceptions``)
10. deadline: 504 ``timeout``, the handler cancelled

Once a response has started, the layer never sends another: an error after that is logged
and re-raised so the server closes the connection (Starlette's ``ServerErrorMiddleware`` does
the same).
"""

from __future__ import annotations

import asyncio
import logging
import os
from binascii import hexlify
from collections.abc import Iterable, Mapping
from random import getrandbits
from typing import Any, Final

from .._catalog import Catalog
from .._state import Limit, Store, open_store
from ._answers import Answers, Authorize
from ._auth import MISSING, Authenticator, HeaderAuth
from ._client_ip import ClientAddress
from ._exchange import Exchange
from ._glossary import Glossary
from ._limits import OnStoreError, StateGuards, Ticket
from ._media import (
    MediaSet,
    accepted,
    body_length,
    new_request_id,
    readable,
    sane_request_id,
)
from ._respond import Responder
from ._routing import Policy, build_router, check_limit, shared_media_set
from ._rules import (
    RateRule,
    StateRules,
    check_cost,
    check_idempotency,
    check_key_by,
    derive_rules,
    parse_limits,
)
from ._types import ASGIApp, Cost, IdempotencyMode, KeyBy, Receive, RouteOptions, Scope, Send

__all__ = ["ErrorLayer"]

_CONTENT_LENGTH: Final = b"content-length"
_TRANSFER_ENCODING: Final = b"transfer-encoding"
_CONTENT_TYPE: Final = b"content-type"
_ACCEPT: Final = b"accept"
_PREFLIGHT: Final = b"access-control-request-method"


class ErrorLayer(Answers):
    """Wrap an ASGI app so that every error it or the layer gives is the catalog's.

    Args:
        app: The ASGI application (Starlette, FastAPI, Litestar, Django's ASGI handler...).
        catalog: A `Catalog`, a built-in profile name, a catalog file or a dict.
        routes: The API's routes as ``(method, pattern)`` pairs, ``pattern`` like
            ``/v1/trackers/{id}`` (each parameter is one path segment). With them the layer
            answers unknown paths and methods itself, before authentication; without them
            (None) routing is the app's, and its 404/405 responses pass unchanged.
        auth: Who may call: `api_key`, `bearer`, or any callable ``auth(request) ->
            principal | None`` (sync or async) taking an `AuthRequest`; None refuses with
            ``unauthenticated``, and raising a `Problem` answers with it. A callable may
            have a ``challenge`` attribute, sent as ``WWW-Authenticate`` on a 401. The
            principal is put in ``scope["state"]["principal"]`` (Starlette's
            ``request.state.principal``). None: no authentication.
        authorize: ``authorize(principal, method, path) -> bool`` (sync or async), asked
            after authentication; False answers ``forbidden``.
        public: Routes that skip authentication: patterns (``/health``) or ``"METHOD
            /pattern"``. CORS preflight requests always skip it (browsers send them without
            credentials).
        hide_forbidden: Answer ``unknown_route`` instead of ``forbidden``, so a caller
            cannot learn that a route it may not use exists.
        body_types: The request media types a body may have (415 otherwise); ``"*/*"``
            accepts any. Parameters such as ``charset`` are ignored.
        produces: What the app answers in besides the catalog's formats: an ``Accept`` that
            allows none of these and none of the catalog's formats is answered 406.
        max_body: The largest request body in bytes, or None for no limit. Enforced from
            ``Content-Length`` before the app runs and on the stream while it reads.
        route_options: Per-route `RouteOptions` (``public``, ``max_body``, ``body_types``,
            ``produces``, ``maintenance``), keyed by ``"METHOD /pattern"`` or ``"/pattern"``.
        deadline: Seconds the app may take; when it overruns it is cancelled and, if it has
            not started a response, the client gets 504 ``timeout``. Needs asyncio.
        maintenance: Start in maintenance mode; switch at run time with
            ``layer.maintenance = True``. Answers carry the entry's ``Retry-After``
            (60 seconds when the entry has none). Routes with ``maintenance: False`` in
            ``route_options`` stay open (the admin route that switches it off).
        request_id_header: The header that carries the request id, both ways.
        glossary: Where the catalog's glossary is served (``/errors`` and
            ``/errors/{code}``), or None. The layer answers these paths itself, before
            maintenance, routing and auth. Point the catalog's ``type_base`` at it
            (``type_base: /errors/``, as the built-in profiles do) and every problem's
            ``type`` URI resolves.
        logger: Where unexpected errors are logged; ``errorbook.layer`` by default.
        store: Where rate, concurrency and idempotency state lives: a `Store`, or a URL
            for `open_store` (``"memory://"``, ``"redis://host:6379/0"``). The layer closes
            in `aclose` only a store it opened. Default: ``memory://``, made only when a
            route has limits or idempotency.
        limits: Rate limits for every route (``["100/minute", "10/second"]`` or `Limit`
            objects), counted per key across all routes and checked all-or-nothing in one
            store decision. A route's ``rate`` option replaces them for that route.
        rate_key: Whom limits count: ``"principal"`` (the authenticated caller, else the
            client address; the default when ``auth`` is set), ``"ip"`` (the default
            without ``auth``), or ``key(request) -> str | None`` taking an `AuthRequest`
            (None exempts the request).
        cost: What one request costs: a whole number (1) or ``cost(request) -> int``.
        idempotency: Honour ``Idempotency-Key`` on every POST route: ``"off"``,
            ``"optional"`` or ``"required"``; routes set their own with ``RouteOptions``.
        idempotency_retention: Seconds a completed response is kept for replay.
        lease_ttl: Seconds a concurrency slot is held before it expires unless renewed (the
            layer renews it while the handler runs; the TTL frees the slots of a worker
            that died).
        on_store_error: ``"fail_open"`` (serve without limits) or ``"fail_closed"``
            (answer ``maintenance``, 503) when the store fails. Never a 500.
        legacy_ratelimit_headers: Also send ``X-RateLimit-Limit``, ``-Remaining`` and
            ``-Reset`` (delta seconds) for the tightest limit.
        trusted_proxies: Addresses or networks of the proxies in front, whose
            ``Forwarded`` / ``X-Forwarded-For`` are believed for the client address.

    Raises:
        ValueError: a route pattern, media type, limit, cost, deadline, header name, store
            URL or glossary path is malformed (when the layer is built, never per
            request).
        CatalogError: the catalog does not load.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        catalog: Catalog | str | os.PathLike[str] | Mapping[str, Any] = "rfc9457",
        routes: Iterable[tuple[str, str]] | None = None,
        auth: Authenticator | None = None,
        authorize: Authorize | None = None,
        public: Iterable[str] = (),
        hide_forbidden: bool = False,
        body_types: Iterable[str] = ("application/json",),
        produces: Iterable[str] = ("application/json",),
        max_body: int | None = None,
        route_options: Mapping[str, RouteOptions] | None = None,
        deadline: float | None = None,
        maintenance: bool = False,
        request_id_header: str = "x-request-id",
        glossary: str | None = "/errors",
        logger: logging.Logger | None = None,
        store: Store | str | None = None,
        limits: Iterable[str | Limit] | str = (),
        rate_key: KeyBy | None = None,
        cost: Cost = 1,
        idempotency: IdempotencyMode = "off",
        idempotency_retention: float = 24 * 3600.0,
        lease_ttl: float = 60.0,
        on_store_error: OnStoreError = "fail_open",
        legacy_ratelimit_headers: bool = False,
        trusted_proxies: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.catalog = Catalog.load(catalog)
        #: Answer every request (but the glossary) with 503 while True.
        self.maintenance = maintenance
        self.hide_forbidden = hide_forbidden
        self.logger = logger or logging.getLogger("errorbook.layer")
        if deadline is not None and not deadline > 0:
            raise ValueError(f"expected a deadline in seconds above 0, got {deadline!r}")
        self.deadline = deadline
        header = request_id_header.strip().lower()
        if not header or not sane_request_id(header.encode("latin-1", "replace")):
            raise ValueError(f"expected a header name, got {request_id_header!r}")
        self._rid_key = header.encode("ascii")
        self._responder = Responder(self.catalog, request_id_header=header)

        sets: dict[tuple[frozenset[str], frozenset[str]], MediaSet] = {}
        formats = [fmt.media_type for fmt in self.catalog.formats]
        post_mode = check_idempotency(idempotency, where="idempotency")
        layer_rules = StateRules(
            parse_limits(limits, scope="", cost=check_cost(cost, where="cost"), where="limits"),
            None,
            None if post_mode != "off" else "off",
        )
        self._default = Policy(
            public=False,
            max_body=check_limit(max_body),
            body_types=shared_media_set(body_types, sets),
            produces=shared_media_set([*formats, *produces], sets),
            state=None if layer_rules.empty else layer_rules,
        )
        self._declared = routes is not None

        def derive(
            base: StateRules | None, options: RouteOptions, label: str, method: str | None
        ) -> StateRules | None:
            return derive_rules(
                base,
                options,
                label=label,
                method=method,
                post_mode=post_mode,
                has_entry=self.catalog.__contains__,
            )

        self._router = build_router(
            routes=None if routes is None else list(routes),
            public=list(public),
            route_options=route_options or {},
            defaults=self._default,
            media_sets=sets,
            derive=derive,
        )
        if on_store_error not in ("fail_open", "fail_closed"):
            raise ValueError(
                f"expected on_store_error 'fail_open' or 'fail_closed', got {on_store_error!r}"
            )
        durations: tuple[tuple[str, object], ...] = (
            ("lease_ttl", lease_ttl),
            ("idempotency_retention", idempotency_retention),
        )
        for name, seconds in durations:
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
                raise ValueError(f"expected {name} in seconds above 0, got {seconds!r}")
        key_by = check_key_by(
            rate_key or ("principal" if auth is not None else "ip"), where="rate_key"
        )
        client_address = ClientAddress(trusted_proxies)
        self._owns_store = isinstance(store, str)
        self._guards: StateGuards | None = None
        if store is not None or self._uses_state():
            self._guards = StateGuards(
                self,
                self._open(store),
                rate_key=key_by,
                client_address=client_address,
                on_store_error=on_store_error,
                legacy_headers=legacy_ratelimit_headers,
                lease_ttl=float(lease_ttl),
                retention=float(idempotency_retention),
                post_mode=post_mode,
                rules=self._rate_rules(),
            )
            self._owns_store = self._owns_store or store is None
        self._auth = auth
        self._header_auth = auth if isinstance(auth, HeaderAuth) else None
        #: A ready-made authenticator whose lookup is a dict, checked inline; exactly a
        #: HeaderAuth, since a subclass may refuse in `check` what the table lets in.
        self._fast_auth = (
            self._header_auth
            if type(auth) is HeaderAuth
            and self._header_auth is not None
            and not self._header_auth.maybe_async
            else None
        )
        self._challenge: str | None = getattr(auth, "challenge", None)
        self._authorize = authorize
        if glossary is not None and (not glossary.startswith("/") or not glossary.strip("/")):
            raise ValueError(f"expected the glossary's path like '/errors', got {glossary!r}")
        self._glossary = None if glossary is None else Glossary(self.catalog, glossary)
        self._glossary_path = None if self._glossary is None else self._glossary.path

    def __repr__(self) -> str:
        return f"<ErrorLayer {self.catalog.name!r} around {self.app!r}>"

    @property
    def app(self) -> ASGIApp:
        """The wrapped application."""
        return self._app

    @app.setter
    def app(self, app: ASGIApp) -> None:
        self._app = app
        #: What serves the HTTP requests the guards let through: the app itself, or a
        #: shortcut into it that an adapter sets (see `adapters.starlette.install`).
        self._dispatch: ASGIApp = app

    @property
    def store(self) -> Store | None:
        """The state store of rate, concurrency and idempotency guards, if any route uses one."""
        return None if self._guards is None else self._guards.store

    async def aclose(self) -> None:
        """Close the state store, if the layer opened it (from a URL, or the default)."""
        if self._guards is not None and self._owns_store:
            await self._guards.store.aclose()

    @staticmethod
    def _open(store: Store | str | None) -> Store:
        # `is None`, not truthiness: an empty MemoryStore has len() 0.
        if store is None:
            return open_store("memory://")
        return open_store(store) if isinstance(store, str) else store

    def _policies(self) -> list[Policy]:
        """The default policy and every route's."""
        router = self._router
        return [self._default, *([] if router is None else router.policies())]

    def _rate_rules(self) -> list[RateRule]:
        """Every distinct rate rule of the layer's routes (most share the layer's own)."""
        rules: dict[int, RateRule] = {}
        for policy in self._policies():
            if policy.state is not None and policy.state.rate is not None:
                rules[id(policy.state.rate)] = policy.state.rate
        return list(rules.values())

    def _uses_state(self) -> bool:
        return any(policy.state is not None for policy in self._policies())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The success path is written for speed: locals over attributes, lookups inline,
        # no call that a dict lookup can replace. Every refusal leaves it at once.
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        # The one pass over the request headers; every guard below reads this dict.
        headers: dict[bytes, bytes] = dict(scope["headers"])
        rid = headers.get(self._rid_key)
        if rid is None:
            # `new_request_id`, inline: a call costs as much as the id.
            rid = hexlify(getrandbits(128).to_bytes(16, "big"))
        elif not sane_request_id(rid):
            rid = new_request_id()
        path: str = scope["path"]
        method: str = scope["method"]

        # One startswith for every request; the exact test only for paths that begin alike.
        glossary_path = self._glossary_path
        if glossary_path is not None and path.startswith(glossary_path):
            glossary = self._glossary
            assert glossary is not None
            if path == glossary_path or path.startswith(glossary.prefix):
                await self._serve_glossary(glossary, send, path, method, headers, rid)
                return
        if self.maintenance and not self._open_in_maintenance(path, method):
            await self._refuse(send, "maintenance", rid, headers, method)
            return

        policy = self._default
        router = self._router
        if router is not None:
            # Router.match, its two lookups inline (a literal path; a literal head and one
            # parameter), its tree walk only when both miss.
            leaf = router.static.get(path)
            if leaf is None and router.dynamic:
                head, _, tail = path.rpartition("/")
                if tail:
                    leaf = router.tails.get(head)
                if leaf is None:
                    leaf = router.walk(path)
            if leaf is not None:
                found = leaf.methods.get(method)
                if found is not None:
                    policy = found
                elif not leaf.declared:
                    policy = leaf.default or policy
                elif method != "OPTIONS":
                    allow = (("Allow", leaf.allow),)
                    await self._refuse(send, "method_not_allowed", rid, headers, method, allow)
                    return
                elif _PREFLIGHT not in headers:
                    await self._send_bare(send, 204, {"Allow": leaf.allow}, rid)
                    return
            elif self._declared:
                await self._refuse(send, "unknown_route", rid, headers, method)
                return

        # Only a CORS preflight (OPTIONS with Access-Control-Request-Method) skips auth: the
        # header alone on another method would let any caller past it.
        preflight = method == "OPTIONS" and _PREFLIGHT in headers
        principal: object = None
        if self._auth is not None and not policy.public and not preflight:
            header_auth = self._fast_auth
            if header_auth is not None:
                # A ready-made authenticator with its keys in a dict: one lookup, no user
                # code; a value not in its canonical form goes through `check`.
                raw_credential = headers.get(header_auth.header)
                principal = header_auth.exact.get(raw_credential)
                if principal is None:
                    principal = header_auth.check(raw_credential)
                    if principal is None or principal is MISSING:
                        missing = principal is MISSING
                        await self._unauthenticated(
                            header_auth.challenge if missing else header_auth.invalid_challenge,
                            send,
                            headers,
                            rid,
                            method,
                        )
                        return
            else:
                principal = await self._call_auth(scope, send, headers, rid, method)
                if principal is None:
                    return
            if self._authorize is not None and not await self._authorized(
                principal, send, headers, rid, method, path
            ):
                return
            state = scope.get("state")
            if state is None:
                scope["state"] = {"principal": principal}
            else:
                state["principal"] = principal

        limit = policy.max_body
        length: int | None = None
        # Most requests (GET, HEAD, DELETE) say neither: two lookups and they are through.
        if _CONTENT_LENGTH in headers or _TRANSFER_ENCODING in headers:
            length_value = headers.get(_CONTENT_LENGTH)
            chunked = headers.get(_TRANSFER_ENCODING)
            length = body_length(length_value)
            if (
                (length is not None and length > 0)
                or (length is None and length_value is not None)
                or (chunked is not None and b"chunked" in chunked.lower())
            ):
                content_type = headers.get(_CONTENT_TYPE)
                if content_type is None or not (
                    policy.body_types.type_cache.get(content_type)
                    or readable(policy.body_types, content_type)
                ):
                    await self._refuse(send, "unsupported_media_type", rid, headers, method)
                    return
        accept = headers.get(_ACCEPT)
        if accept is not None:
            produces = policy.produces
            allowed = produces.accept_cache.get(accept)
            if allowed is None:
                allowed = accepted(produces, accept)
            if not allowed:
                await self._refuse(send, "not_acceptable", rid, headers, method, primary=True)
                return
        if length is not None and limit is not None and length > limit:
            given = (("limit", limit),)
            await self._refuse(send, "payload_too_large", rid, headers, method, given=given)
            return

        # -- the app ---------------------------------------------------------------------
        exchange = Exchange(self, receive, send, rid, headers, method, limit)
        if limit is not None:
            receive = exchange.receive
        rules = policy.state
        # Guards 7 and 8; routes without limits never get here. CORS preflights carry no
        # credentials and change nothing: they are not counted.
        if rules is not None and not preflight:
            rate = rules.rate
            if rate is not None:
                # Most limited requests are admitted at once, without awaiting: a memory
                # store bound to the rule (`RateRule.admit`) decides under the caller's
                # entry name, remembered per principal. Anything else, and every refusal
                # (which consumed nothing), goes to `guards.rate`, which decides afresh.
                admit = rate.admit
                admitted = None
                if admit is not None:
                    name = rate.names.get(principal) if type(principal) is str else None
                    if name is None:
                        guards = self._guards
                        assert guards is not None
                        name = guards.entry_name(rate, scope, headers)
                    if name is not None:
                        admitted = admit(name)
                if admitted is not None:
                    # `StateGuards._headers` of an admitting decision, from the rule's format.
                    # (No outage to end: a bound store's methods are its own, which never fail.)
                    exchange.extra = [rate.policy_header, (b"ratelimit", rate.current % admitted)]
                else:
                    guards = self._guards
                    assert guards is not None
                    if not await guards.rate(rate, exchange, scope):
                        return
            if rules.holds:
                await self._run_holding(rules, exchange, scope, receive)
                return
        if self.deadline is not None:
            await self._run_holding(None, exchange, scope, receive)
            return
        # The app, as most routes run it: nothing held, no deadline.
        try:
            await self._dispatch(scope, receive, exchange.send)
        except Exception as exc:
            if await self._app_failed(exc, exchange, None):
                raise
            return
        if not exchange.started:
            await self._no_response(exchange)

    async def _run_holding(
        self, rules: StateRules | None, exchange: Exchange, scope: Scope, receive: Receive
    ) -> None:
        """The app, for a route with concurrency or idempotency (``rules``) or a deadline:
        what is held goes back however the request ends, and an overrun is cancelled."""
        ticket: Ticket | None = None
        if rules is not None:
            guards = self._guards
            assert guards is not None
            ticket = await guards.enter(rules, exchange, scope, receive)
            if ticket is None:
                return
            receive = ticket.receive
        # The layer's own answers from here on go through the exchange too, so they carry
        # what it adds (RateLimit headers) and an idempotency recorder sees them.
        send = exchange.send
        timer = None
        try:
            try:
                if self.deadline is None:
                    await self._dispatch(scope, receive, send)
                else:
                    timer = asyncio.timeout(self.deadline)
                    async with timer:
                        await self._dispatch(scope, receive, send)
            except Exception as exc:
                if await self._app_failed(exc, exchange, timer):
                    raise
                return
            if not exchange.started:
                await self._no_response(exchange)
        finally:
            if ticket is not None:
                # Leases and unfinished idempotency keys go back however the request ended.
                await ticket.close()

    def _open_in_maintenance(self, path: str, method: str) -> bool:
        """Whether the route stays open in maintenance (``RouteOptions.maintenance``)."""
        router = self._router
        if router is None or not router.open_in_maintenance:
            return False
        policy = router.policy(path, method)
        return policy is not None and not policy.maintenance
