"""The declared route table, compiled once into a matcher that costs a few dict lookups.

Patterns are ``/v1/trackers/{id}``: literal segments and ``{name}`` parameters, each
parameter exactly one non-empty segment. Fully literal patterns live in one dict keyed by
path; the rest form a tree of segments, where a literal segment beats a parameter and the
walk backs up only at the nodes that have both.

The same tree carries the per-route policy (public or not, body limit, accepted and
produced media types), so one match gives routing and every later guard its settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from ._media import MediaSet
from ._rules import StateRules
from ._types import RouteOptions

__all__ = ["Leaf", "Policy", "Router", "build_router", "check_limit", "shared_media_set"]

_METHOD: Final = re.compile(r"[A-Z][A-Z0-9!#$%&'*+.^_`|~-]*\Z")
_PARAM: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?\}\Z")
#: The options guards 7 and 8 read; a route with any of them gets its own `StateRules`.
_STATE_OPTIONS: Final = frozenset(
    {"rate", "cost", "concurrency", "concurrency_entry", "idempotency"}
)

#: ``derive(base, options, label, method)``: a route's StateRules from its options.
Derive = Callable[[StateRules | None, RouteOptions, str, str | None], StateRules | None]


@dataclass(frozen=True, slots=True)
class Policy:
    """The settings every guard after routing reads for one route and method."""

    public: bool
    max_body: int | None
    body_types: MediaSet
    produces: MediaSet
    #: Closed while the layer is in maintenance mode (False: stays open).
    maintenance: bool = True
    #: Rate, concurrency and idempotency rules (guards 7 and 8); None: nothing to do.
    state: StateRules | None = None


@dataclass(slots=True)
class Leaf:
    """One route pattern: its declared methods and each method's policy."""

    pattern: str
    #: Policies by method; HEAD is added wherever GET is declared.
    methods: dict[str, Policy] = field(default_factory=dict)
    #: The policy for a method the table does not declare (only used when routes are not
    #: declared, so the app routes).
    default: Policy | None = None
    #: Whether the methods came from a declared route table (else: only options).
    declared: bool = False
    #: The ``Allow`` header for 405 and OPTIONS answers.
    allow: str = ""


@dataclass(slots=True)
class _Node:
    static: dict[str, _Node] = field(default_factory=dict)
    param: _Node | None = None
    leaf: Leaf | None = None


class Router:
    """Finds the Leaf for a path, or None."""

    __slots__ = ("_root", "dynamic", "open_in_maintenance", "static", "tails")

    def __init__(
        self, static: dict[str, Leaf], tails: dict[str, Leaf], root: _Node, dynamic: bool
    ) -> None:
        #: Fully literal patterns by path, and patterns ending in their only parameter by
        #: the literal head before it: `match`'s first two lookups, which the layer also
        #: does inline on every request before calling `walk`.
        self.static = static
        self.tails = tails
        self._root = root
        #: Whether any pattern has a parameter (else `static` alone decides).
        self.dynamic = dynamic
        #: Whether any route stays open in maintenance mode; when none does, maintenance
        #: answers without matching the path.
        leaves = [*static.values(), *tails.values(), *_leaves(root)]
        self.open_in_maintenance = any(
            not policy.maintenance
            for leaf in leaves
            for policy in [*leaf.methods.values(), *([leaf.default] if leaf.default else [])]
        )

    def policies(self) -> list[Policy]:
        """Every policy in the table (to learn, once, whether any route needs a store)."""
        leaves = [*self.static.values(), *self.tails.values(), *_leaves(self._root)]
        return [
            policy
            for leaf in leaves
            for policy in [*leaf.methods.values(), *([leaf.default] if leaf.default else [])]
        ]

    def policy(self, path: str, method: str) -> Policy | None:
        """The policy for ``method`` on ``path``, or None when routing would refuse it."""
        leaf = self.match(path)
        if leaf is None:
            return None
        found = leaf.methods.get(method)
        if found is None and not leaf.declared:
            found = leaf.default
        return found

    def match(self, path: str) -> Leaf | None:
        """The route whose pattern matches ``path`` (the decoded path, as ASGI gives it)."""
        leaf = self.static.get(path)
        if leaf is not None or not self.dynamic:
            return leaf
        # The commonest shape, literals then one parameter (/v1/trackers/{id}), by its literal
        # head. The tree would pick the same route: it prefers literals at every level, and a
        # literal last segment would make a fully literal pattern, found above.
        head, _, tail = path.rpartition("/")
        if tail:
            leaf = self.tails.get(head)
            if leaf is not None:
                return leaf
        return self.walk(path)

    def walk(self, path: str) -> Leaf | None:
        """The tree walk of `match`, for a path neither of its lookups found."""
        parts = path.split("/")
        if parts[0]:
            return None
        return _walk(self._root, parts, 1)


def _leaves(node: _Node) -> list[Leaf]:
    found = [] if node.leaf is None else [node.leaf]
    for child in [*node.static.values(), *([node.param] if node.param else [])]:
        found.extend(_leaves(child))
    return found


def _walk(node: _Node, parts: list[str], index: int) -> Leaf | None:
    # A loop, not recursion, except where a literal and a parameter both fit a segment.
    count = len(parts)
    while index < count:
        segment = parts[index]
        child = node.static.get(segment)
        param = node.param if segment else None
        if child is not None:
            if param is not None:
                # Both a literal and a parameter fit: try the literal, then back up.
                found = _walk(child, parts, index + 1)
                if found is not None:
                    return found
                child = param
        elif param is not None:
            child = param
        else:
            return None
        node = child
        index += 1
    return node.leaf


def build_router(
    *,
    routes: Iterable[tuple[str, str]] | None,
    public: Iterable[str],
    route_options: Mapping[str, RouteOptions],
    defaults: Policy,
    media_sets: dict[tuple[frozenset[str], frozenset[str]], MediaSet],
    derive: Derive | None = None,
) -> Router | None:
    """Compile the route table and per-route options; None when there is nothing to match.

    Raises:
        ValueError: a pattern or method is malformed, or (with declared routes) an option
            names a route the table does not have.
    """
    declared: dict[str, set[str]] = {}
    patterns: dict[str, str] = {}  # shape -> the pattern as first written
    for method, pattern in routes or ():
        _check_method(method)
        shape = _shape(pattern)
        declared.setdefault(shape, set()).add(method)
        patterns.setdefault(shape, pattern)
    options: dict[tuple[str, str | None], RouteOptions] = {}
    for key in public:
        _merge(options, key, {"public": True}, declared if routes is not None else None, patterns)
    for key, value in route_options.items():
        _merge(options, key, value, declared if routes is not None else None, patterns)
    if routes is None and not options:
        return None

    leaves: dict[str, Leaf] = {}
    for shape in {*declared, *(shape for shape, _ in options)}:
        pattern = patterns[shape]
        leaf = Leaf(pattern, declared=routes is not None)
        wide = _policy(defaults, options.get((shape, None)), media_sets, derive, pattern, None)
        methods = set(declared.get(shape, ()))
        methods.update(m for s, m in options if s == shape and m is not None)
        if "GET" in methods:
            methods.add("HEAD")
        for method in methods:
            own = options.get((shape, method))
            label = f"{method} {pattern}"
            if own is None and method == "HEAD":
                own = options.get((shape, "GET"))
                label = f"GET {pattern}"
            leaf.methods[method] = _policy(wide, own, media_sets, derive, label, method)
        leaf.default = wide
        leaf.allow = ", ".join(sorted(methods | {"OPTIONS"}))
        leaves[shape] = leaf

    static: dict[str, Leaf] = {}
    tails: dict[str, Leaf] = {}
    root = _Node()
    dynamic = False
    for shape, leaf in leaves.items():
        segments = shape.split("/")
        if "{}" not in segments:
            static[leaf.pattern] = leaf
            continue
        if segments.index("{}") == len(segments) - 1:
            tails[shape.rpartition("/")[0]] = leaf
        dynamic = True
        node = root
        for segment in shape.split("/")[1:]:
            if segment == "{}":
                node.param = node.param or _Node()
                node = node.param
            else:
                node = node.static.setdefault(segment, _Node())
        node.leaf = leaf
    return Router(static, tails, root, dynamic)


def _check_method(method: str) -> None:
    if not _METHOD.match(method):
        raise ValueError(f"expected an upper-case HTTP method like 'GET', got {method!r}")


def _shape(pattern: str) -> str:
    """The pattern with every parameter written ``{}``: two patterns of one shape collide."""
    if not pattern.startswith("/"):
        raise ValueError(f"a route pattern starts with '/', got {pattern!r}")
    segments = []
    for segment in pattern.split("/")[1:]:
        if "{" in segment or "}" in segment:
            found = _PARAM.match(segment)
            if found is None:
                raise ValueError(
                    f"in {pattern!r}: a parameter is a whole segment like '{{id}}', got {segment!r}"
                )
            if found.group(2) == "path":
                raise ValueError(
                    f"in {pattern!r}: parameters match one segment; ':path' is not supported"
                )
            segment = "{}"
        segments.append(segment)
    return "/" + "/".join(segments)


def _merge(
    options: dict[tuple[str, str | None], RouteOptions],
    key: str,
    value: RouteOptions,
    declared: dict[str, set[str]] | None,
    patterns: dict[str, str],
) -> None:
    method: str | None
    if key.startswith("/"):
        method, pattern = None, key
    else:
        method, _, pattern = key.partition(" ")
        _check_method(method)
        pattern = pattern.strip()
    shape = _shape(pattern)
    if declared is not None:
        if shape not in declared:
            raise ValueError(f"route option {key!r} names no declared route")
        if method is not None and method not in declared[shape]:
            raise ValueError(f"route option {key!r}: {method} is not declared for {pattern!r}")
    patterns.setdefault(shape, pattern)
    merged: RouteOptions = {**options.get((shape, method), {}), **value}
    options[(shape, method)] = merged


def _policy(
    base: Policy,
    options: RouteOptions | None,
    media_sets: dict[tuple[frozenset[str], frozenset[str]], MediaSet],
    derive: Derive | None,
    label: str,
    method: str | None,
) -> Policy:
    if not options:
        return base
    body_types = base.body_types
    if "body_types" in options:
        body_types = shared_media_set(options["body_types"], media_sets)
    produces = base.produces
    if "produces" in options:
        extra = shared_media_set(options["produces"], media_sets)
        produces = shared_media_set([*_names(base.produces), *_names(extra)], media_sets)
    max_body = base.max_body
    if "max_body" in options:
        max_body = check_limit(options["max_body"])
    state = base.state
    if not _STATE_OPTIONS.isdisjoint(options):
        if derive is None:
            raise ValueError(
                f"route option {label!r}: rate, concurrency and idempotency need a layer"
            )
        state = derive(base.state, options, label, method)
    return Policy(
        public=bool(options.get("public", base.public)),
        max_body=max_body,
        body_types=body_types,
        produces=produces,
        maintenance=bool(options.get("maintenance", base.maintenance)),
        state=state,
    )


def _names(media: MediaSet) -> list[str]:
    return [*media.exact, *(f"{kind}/*" for kind in media.families)]


def shared_media_set(
    types: Iterable[str], media_sets: dict[tuple[frozenset[str], frozenset[str]], MediaSet]
) -> MediaSet:
    """A MediaSet for ``types``, the same object for equal sets so they share one cache."""
    fresh = MediaSet(types)
    return media_sets.setdefault(fresh.key(), fresh)


def check_limit(limit: object) -> int | None:
    """``limit`` if it is a byte count (an int, zero or more) or None.

    Raises:
        ValueError: anything else.
    """
    if limit is None or (isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0):
        return limit
    raise ValueError(f"expected a body limit in bytes (an int >= 0) or None, got {limit!r}")
