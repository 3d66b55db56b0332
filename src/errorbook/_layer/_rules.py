"""Guards 7 and 8 per route, compiled once: which limits, whose key, what cost, which entry.

The route table carries one `StateRules` per route and method (None where nothing is
limited, so such routes pay one attribute check and no store call). Everything that can be
wrong with a limit, a cost or a concurrency option is refused here, when the layer is
built, with the route named; nothing is parsed per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, cast, get_args

from .._state import Admitted, Decision, Limit, LimitState, MemoryStore, ratelimit_headers
from ._types import ConcurrencyOptions, Cost, IdempotencyMode, KeyBy, RouteOptions

__all__ = [
    "ConcurrencyRule",
    "RateRule",
    "StateRules",
    "check_cost",
    "check_idempotency",
    "check_key_by",
    "derive_rules",
    "parse_limits",
]

_MODES: Final = get_args(IdempotencyMode)
_KEY_NAMES: Final = ("principal", "ip")
#: Resets (in µs) below which ``ceil(µs / 1e6)`` in floats is exact: up to 2**33 seconds a
#: double's half-ulp is under 1e-6, the least distance of a non-whole quotient from a whole
#: number, so rounding to a double never crosses one.
EXACT_RESET_US: Final = 2**33 * 1_000_000
#: Callers whose entry name a RateRule remembers: about 0.25 MB for principals of a few
#: dozen characters, 0.6 MB for the longest ones counted as themselves (tracemalloc).
_MAX_NAMES: Final = 1024


@dataclass(frozen=True, slots=True)
class RateRule:
    """Rate limits checked together, all-or-nothing, in one store decision.

    Attributes:
        scope: ``""`` for the layer's limits (counted per key across every route), else the
            route they were declared on (counted per key and route).
        limits: Every limit, with distinct numbers (each one's counter is keyed by them).
        cost: A request's cost, or a callable computing it.
        policy: The ``RateLimit-Policy`` value: fixed for the rule, so built once.
        prefixes: Per limit, the ``"name";r=`` start of its ``RateLimit`` member.
        key: The start of the store key (the scope), to which the caller's key is added.
    """

    scope: str
    limits: tuple[Limit, ...]
    cost: Cost
    policy: bytes
    prefixes: tuple[bytes, ...]
    key: str
    #: ``RateLimit-Policy`` as a header pair, the same on every response.
    policy_header: tuple[bytes, bytes] = field(init=False)
    # What `StateGuards.admitted` needs per request, computed here once so that it neither
    # builds the store's entry name nor does arithmetic the rule already knows on each
    # request. Derived from the fields above, so left out of equality and repr.
    #: ``key`` and the principal kind (``"p:"``): the entry name's start for a principal.
    head: str = field(init=False, compare=False, repr=False)
    #: ``"\x1f"`` and the limit's key, the entry name's end (the store's naming), when
    #: a memory store may admit without awaiting: the rule's only limit is GCRA and the
    #: cost a fixed number (and the reset bounded, below); None otherwise.
    tail: str | None = field(init=False, compare=False, repr=False)
    #: That limit's emission interval, burst tolerance (burst x interval) and the cost's
    #: TAT step (cost x interval), in µs; 0 when ``tail`` is None.
    interval: int = field(init=False, compare=False, repr=False)
    tau: int = field(init=False, compare=False, repr=False)
    step: int = field(init=False, compare=False, repr=False)
    #: The ``RateLimit`` value of the first limit as a format for ``(remaining, t)``: its prefix,
    #: ``%`` escaped, then ``%d;t=%d``.
    current: bytes = field(init=False, compare=False, repr=False)
    #: Entry names already built, by principal (at most _MAX_NAMES; see `principal_name`).
    #: Filled only when the layer counts by principal, so a hit is always the right name.
    names: dict[str, str] = field(init=False, compare=False, repr=False)
    #: The store's admitting function for the rule's one GCRA limit and cost, when the
    #: layer's store may admit without awaiting (see `bind`); None: every request of the
    #: rule goes to `StateGuards.rate`.
    admit: Callable[[str], Admitted | None] | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy_header", (b"ratelimit-policy", self.policy))
        single = None
        if len(self.limits) == 1 and isinstance(self.cost, int):
            limit = self.limits[0]
            if type(limit) is Limit and limit.algorithm == "gcra":
                single = limit
        object.__setattr__(self, "head", self.key + "p:")
        tail = None
        interval = tau = step = 0
        if single is not None:
            interval = single.interval_us
            tau = single.burst * interval
            step = cast(int, self.cost) * interval
            # The store answers ``t`` rounded up in integers; it equals the general path's
            # ``ceil(µs / 1e6)`` in floats while the reset (at most tau) stays below this
            # bound. Past it (a limit of centuries), `StateGuards.rate` decides instead.
            if tau < EXACT_RESET_US:
                tail = "\x1f" + single.key
        object.__setattr__(self, "tail", tail)
        object.__setattr__(self, "interval", interval)
        object.__setattr__(self, "tau", tau)
        object.__setattr__(self, "step", step)
        prefix = self.prefixes[0] if self.prefixes else b""
        object.__setattr__(self, "current", prefix.replace(b"%", b"%%") + b"%d;t=%d")
        object.__setattr__(self, "names", {})
        object.__setattr__(self, "admit", None)

    def bind(self, store: MemoryStore) -> None:
        """Let ``store`` admit the rule's requests without awaiting, when the rule allows
        it (``tail`` set: one GCRA limit, a fixed cost, a bounded reset).

        Called once by the layer's `StateGuards`, which owns the rule: rules are built
        per layer (from its ``limits`` and ``route_options``), never shared between two.
        """
        if self.tail is not None:
            object.__setattr__(self, "admit", store._admitter(self.interval, self.tau, self.step))

    def principal_name(self, principal: str) -> str:
        """The store's entry name for ``principal`` under the rule's one GCRA limit (when
        ``tail`` is set), remembered in `names`.

        A caller comes back, so its name is built once rather than per request: reusing
        the same string object also spares the store hashing it and comparing it
        character by character on each lookup (the entry holds that very object). The
        cache is emptied when full, so it holds at most _MAX_NAMES recent callers.
        """
        name = f"{self.head}{principal}{self.tail}"
        names = self.names
        if len(names) >= _MAX_NAMES:
            names.clear()
        names[principal] = name
        return name

    @property
    def capacity(self) -> int:
        """The largest cost any request can be admitted with."""
        return min(limit.capacity for limit in self.limits)


@dataclass(frozen=True, slots=True)
class ConcurrencyRule:
    """At most ``limit`` requests in flight per key on one route.

    Attributes:
        scope: The route it was declared on.
        limit: Slots per key.
        key: Whom it counts, or None for the layer's ``rate_key``.
        entry: The catalog entry answering refusals, or None for ``concurrency_limited``.
    """

    scope: str
    limit: int
    key: KeyBy | None
    entry: str | None


@dataclass(frozen=True, slots=True)
class StateRules:
    """What guards 7 and 8 do on one route.

    ``idempotency`` None means "the layer's mode if the request is a POST": the policy of a
    route whose method is not known until the request comes.
    """

    rate: RateRule | None
    concurrency: ConcurrencyRule | None
    idempotency: IdempotencyMode | None
    #: Whether a request may hold something to give back (a lease, an idempotency key):
    #: rate limits alone need no cleanup, so their routes skip that machinery.
    holds: bool = field(init=False)

    def __post_init__(self) -> None:
        holds = self.concurrency is not None or self.idempotency != "off"
        object.__setattr__(self, "holds", holds)

    @property
    def empty(self) -> bool:
        return self.rate is None and not self.holds


def parse_limits(
    specs: Iterable[str | Limit] | str, *, scope: str, cost: Cost, where: str
) -> RateRule | None:
    """A RateRule for ``specs`` (``"100/minute"`` or `Limit`), or None when there are none.

    Raises:
        ValueError: a spec does not parse, two limits have the same numbers (they would
            share one counter), or a fixed cost exceeds what a limit can ever admit.
    """
    if isinstance(specs, str | Limit):
        specs = (specs,)
    limits: list[Limit] = []
    for spec in specs:
        if isinstance(spec, Limit):
            limits.append(spec)
        elif isinstance(spec, str):
            try:
                limits.append(Limit.parse(spec))
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        else:
            raise ValueError(f"{where}: expected limits like '100/minute', got {spec!r}")
    if not limits:
        return None
    seen: dict[str, Limit] = {}
    for limit in limits:
        if limit.key in seen:
            raise ValueError(
                f"{where}: limits {seen[limit.key].name!r} and {limit.name!r} have the same "
                "numbers and would share one counter; give one of them other numbers"
            )
        seen[limit.key] = limit
    check_cost(cost, where=where, capacity=min(limit.capacity for limit in limits))
    # The policy header is the same for every request: render it once, the store's way.
    full = Decision(True, 0, tuple(LimitState(limit, True, 0, 0.0, 0.0) for limit in limits))
    policy = dict(ratelimit_headers(full))[b"ratelimit-policy"]
    prefixes = tuple(f'"{limit.name}";r='.encode("ascii") for limit in limits)
    return RateRule(scope, tuple(limits), cost, policy, prefixes, f"r{scope}|")


def check_cost(cost: object, *, where: str, capacity: int | None = None) -> Cost:
    """A cost is a whole number from 0 (up to what the limits admit) or a callable."""
    if callable(cost):
        return cast(Cost, cost)
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 0:
        raise ValueError(
            f"{where}: expected a cost as a whole number >= 0 or a callable, got {cost!r}"
        )
    if capacity is not None and cost > capacity:
        raise ValueError(
            f"{where}: a cost of {cost} exceeds what the limits admit at once ({capacity}); "
            "no request could ever pass"
        )
    return cost


def check_key_by(key: object, *, where: str) -> KeyBy:
    """``"principal"``, ``"ip"`` or a callable."""
    if key in _KEY_NAMES or callable(key):
        return cast(KeyBy, key)
    raise ValueError(f"{where}: expected 'principal', 'ip' or a callable, got {key!r}")


def check_idempotency(mode: object, *, where: str) -> IdempotencyMode:
    if mode in _MODES:
        return mode  # type: ignore[return-value]
    raise ValueError(f"{where}: expected one of {', '.join(map(repr, _MODES))}, got {mode!r}")


def _concurrency(
    value: int | ConcurrencyOptions, entry: str | None, *, scope: str, where: str
) -> ConcurrencyRule:
    key: KeyBy | None = None
    if isinstance(value, dict):
        unknown = set(value) - {"limit", "key"}
        if unknown or "limit" not in value:
            raise ValueError(
                f"{where}: concurrency takes {{'limit': N, 'key': ...}}, got {value!r}"
            )
        limit: object = value["limit"]
        if "key" in value:
            key = check_key_by(value["key"], where=where)
    else:
        limit = value
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"{where}: a concurrency limit is a whole number >= 1, got {limit!r}")
    return ConcurrencyRule(scope, limit, key, entry)


def derive_rules(
    base: StateRules | None,
    options: RouteOptions,
    *,
    label: str,
    method: str | None,
    post_mode: IdempotencyMode,
    has_entry: Callable[[str], bool],
) -> StateRules | None:
    """The rules of a route: ``base`` (the layer's, or the pattern's) changed by ``options``.

    Raises:
        ValueError: an option is malformed, or ``concurrency_entry`` names no catalog entry.
    """
    where = f"route option {label!r}"
    rate = base.rate if base is not None else None
    concurrency = base.concurrency if base is not None else None
    idempotency: IdempotencyMode | None = base.idempotency if base is not None else "off"
    if "cost" in options and "rate" not in options and rate is not None:
        rate = parse_limits(
            rate.limits,
            scope=rate.scope,
            cost=check_cost(options["cost"], where=where),
            where=where,
        )
    if "rate" in options:
        given: Any = options.get("cost", rate.cost if rate is not None else 1)
        rate = parse_limits(options["rate"], scope=label, cost=given, where=where)
    entry = options.get("concurrency_entry")
    if entry is not None and not has_entry(entry):
        raise ValueError(f"{where}: concurrency_entry {entry!r} is no entry of the catalog")
    if "concurrency" in options:
        value: Any = options["concurrency"]  # None lifts a pattern-wide limit
        concurrency = (
            None if value is None else _concurrency(value, entry, scope=label, where=where)
        )
    elif entry is not None:
        if concurrency is None:
            raise ValueError(f"{where}: concurrency_entry without a concurrency limit")
        concurrency = ConcurrencyRule(concurrency.scope, concurrency.limit, concurrency.key, entry)
    if "idempotency" in options:
        idempotency = check_idempotency(options["idempotency"], where=where)
    elif idempotency is None and method is not None:
        # The layer's mode covers POST: settle it now that the method is known.
        idempotency = post_mode if method == "POST" else "off"
    rules = StateRules(rate, concurrency, idempotency)
    return None if rules.empty else rules
