"""What the client raises, and the typed exception class of every catalog entry.

The tree, so callers can catch at the depth they care about::

    httpx.HTTPError
    ├── httpx.HTTPStatusError
    │   └── ProblemError                    a 4xx/5xx answer, its body parsed into a Problem
    │       └── <one class per entry>       catalog.errors.ValidationError, ...
    └── httpx.RequestError
        └── httpx.TransportError
            └── CircuitOpenError            the host's circuit is open; nothing was sent

Both client errors subclass httpx's own, so code written against plain httpx
(``except httpx.HTTPStatusError``) keeps working when the client is swapped in.

A typed class is made once per catalog name and entry content (every field of the ErrorSpec
but where it was read from): ``except`` compares classes by identity, so two
``Catalog.load("tape")`` calls in different modules must hand out the same
``ValidationError``, while two catalogs that only share a name and a key must not. The
process-wide cache holds classes weakly; each catalog's ``errors`` namespace holds the ones it
handed out, so a class lives as long as a catalog or a caller uses it, and a process that
loads many catalogs does not keep every class it ever made.
"""

from __future__ import annotations

import difflib
import re
import threading
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar, Final, cast

import httpx

from .._problem import FieldError, Problem

if TYPE_CHECKING:
    from .._catalog import Catalog
    from .._spec import ErrorSpec

__all__ = [
    "Attempt",
    "CircuitOpenError",
    "Errors",
    "ProblemError",
    "Unparsed",
    "class_name",
    "exception_class",
    "one_line",
]

#: Where typed classes say they live: the public package, not this private module.
_MODULE: Final = "errorbook.client"
#: How long the parts of ``str(err)`` may be: it goes into log lines, the body's text may not.
_MESSAGE_CHARS: Final = 500
_CODE_CHARS: Final = 100
_REQUEST_ID_CHARS: Final = 200
#: How much of a text `one_line` looks at; the rest is cut unread.
_LOOK_CHARS: Final = 16 * 1024


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of a request, as the retrying transport saw it.

    Args:
        number: 1 for the first try.
        method: The HTTP method.
        url: The full URL tried.
        status: The response status; None when no response came (a connection error, or a
            circuit that was open).
        code: The problem's wire code when an error body parsed, else None.
        error: For a try without a response, the exception as ``"ConnectError: ..."``.
        wait: Seconds waited after this try before the next one (0.0 after the last).
        reason: Why the transport went on or stopped after this try: ``success``,
            ``retry-after``, ``ratelimit-reset``, ``body-retry-after``, ``backoff``,
            ``not-retryable``, ``method-not-idempotent``, ``body-not-replayable``,
            ``attempts-exhausted``, ``timeout``, ``retry-budget`` or ``circuit-open``.
        elapsed: Seconds from the start of the first try to the end of this one.
    """

    number: int
    method: str
    url: str
    status: int | None
    code: str | int | None
    error: str | None
    wait: float
    reason: str
    elapsed: float


class Unparsed(Problem):
    """A Problem made from a body that none of the catalog's formats could read.

    A class of its own, rather than a flag on Problem, because a body that did parse can
    also lack a key and a code (a ``{"message": ...}`` shape no entry matches); only the
    type tells the two apart. Its ``detail`` is the snippet of the body.
    """

    __slots__ = ()


class ProblemError(httpx.HTTPStatusError):
    """A 4xx or 5xx response, raised with the Problem its body holds.

    Catch the typed subclass of one entry (``except catalog.errors.ValidationError``), this
    class for any error answer, or ``httpx.HTTPStatusError`` as plain httpx code does.

    Args:
        problem: What the body said, identified against the catalog.
        response: The response; its body has been read.
        attempts: Every try the transport made, the last one being this response.
    """

    #: The catalog entry; set on the typed class of each entry, None on this base class.
    spec: ClassVar[ErrorSpec | None] = None

    def __init__(
        self, problem: Problem, *, response: httpx.Response, attempts: Sequence[Attempt] = ()
    ) -> None:
        message = _describe(problem)
        try:
            request = response.request
        except RuntimeError:  # a Response built by hand was never sent
            httpx.HTTPError.__init__(self, message)
            self.response = response
        else:
            super().__init__(message, request=request, response=response)
        self.problem = problem
        self.attempts: tuple[Attempt, ...] = tuple(attempts)

    @property
    def key(self) -> str | None:
        """The catalog entry's key; None when no entry matched the body."""
        return self.problem.key

    @property
    def code(self) -> str | int | None:
        """The wire code the body carried (or the matched entry's code)."""
        return self.problem.code

    @property
    def status(self) -> int:
        """The HTTP status of the problem."""
        return self.problem.status

    @property
    def message(self) -> str:
        """The text for a person; the reason phrase when the body did not parse."""
        return self.problem.message

    @property
    def fields(self) -> tuple[FieldError, ...]:
        """What is wrong with which part of the request."""
        return self.problem.fields

    @property
    def request_id(self) -> str | None:
        """The server's request id, to quote when reporting the error."""
        return self.problem.request_id

    @property
    def extensions(self) -> dict[str, Any]:
        """Members of the body beyond the standard ones."""
        return self.problem.extensions

    @property
    def retry_after(self) -> float | None:
        """Seconds the body asked the client to wait before retrying."""
        return self.problem.retry_after

    @property
    def parsed(self) -> bool:
        """False when the body was in none of the catalog's formats (an HTML 502 page)."""
        return not isinstance(self.problem, Unparsed)

    @property
    def snippet(self) -> str:
        """The start of a body that did not parse, cleaned for logs; ``""`` when it parsed."""
        if isinstance(self.problem, Unparsed):
            return self.problem.detail or ""
        return ""


def _describe(problem: Problem) -> str:
    # "<status> <code>: <message>"; an unparsed body has no code, and "502 None: ..." would
    # read as if the server had sent the code "None". Every part the body supplied is made
    # one bounded line: str(err) ends up in logs, where a newline forges a record.
    head = str(problem.status)
    if problem.code is not None:
        head += f" {one_line(str(problem.code), _CODE_CHARS)}"
    text = f"{head}: {one_line(problem.message, _MESSAGE_CHARS)}"
    if problem.request_id is not None:
        text += f" [request id {one_line(problem.request_id, _REQUEST_ID_CHARS)}]"
    return text


def one_line(text: str, limit: int) -> str:
    """``text`` as one line a log can hold: runs of whitespace (newlines included) collapsed
    to one space, other unprintable characters (controls, bidi overrides) replaced by
    U+FFFD, and at most ``limit`` characters, the last an ellipsis when cut."""
    line = " ".join(text[:_LOOK_CHARS].split())
    if not line.isprintable():
        line = "".join(char if char.isprintable() else "\ufffd" for char in line)
    if len(line) > limit or len(text) > _LOOK_CHARS:
        line = line[: limit - 1] + "\u2026"
    return line


class CircuitOpenError(httpx.TransportError):
    """The circuit breaker of the request's host is open, so the request was not sent.

    A TransportError because, like a refused connection, no response exists; the retrying
    transport does not retry it (retrying is what the open circuit is there to stop).

    Args:
        host: The host whose circuit is open.
        retry_in: Seconds until the breaker lets one trial request through.
        request: The request that was not sent.
        attempts: Every try the transport made, this one included.
    """

    def __init__(
        self,
        host: str,
        retry_in: float,
        *,
        request: httpx.Request | None = None,
        attempts: Sequence[Attempt] = (),
    ) -> None:
        super().__init__(
            f"circuit open for {host}: request not sent; a trial request is let through "
            f"in {max(retry_in, 0.0):.1f}s",
            request=request,
        )
        self.host = host
        self.retry_in = retry_in
        self.attempts: tuple[Attempt, ...] = tuple(attempts)


# -- typed classes ---------------------------------------------------------------------------

_WORDS: Final = re.compile(r"[A-Za-z0-9]+")
#: Typed classes by (catalog name, entry fingerprint), held weakly: the catalogs' `Errors`
#: namespaces and the callers' own references keep alive the ones still in use.
_CLASSES: weakref.WeakValueDictionary[tuple[str, str], type[ProblemError]] = (
    weakref.WeakValueDictionary()
)
_LOCK: Final = threading.Lock()
#: ErrorSpec fields that say where an entry was read from, not what it is: the same catalog
#: read from two paths is the same API, with the same classes.
_PROVENANCE: Final = frozenset({"file", "line"})


def class_name(key: str) -> str:
    """The class name of an entry: ``validation_error`` -> ``ValidationError``,
    ``invalid_json`` -> ``InvalidJsonError``, ``errorbook.rate_limited`` ->
    ``ErrorbookRateLimitedError``."""
    name = "".join(word[:1].upper() + word[1:] for word in _WORDS.findall(key))
    return name if name.endswith("Error") else f"{name}Error"


def exception_class(catalog: Catalog, key: str) -> type[ProblemError]:
    """The ProblemError subclass of entry ``key``, the same object for every load of the
    same catalog.

    Raises:
        UnknownEntryError: the catalog has no entry ``key``.
    """
    return catalog.errors._class_of(catalog[key])


def _fingerprint(spec: ErrorSpec) -> str:
    """What the entry is, as text: every field but its provenance.

    An ErrorSpec holds mappings, so it cannot be hashed; its repr can, and is the same for
    two loads of one catalog (mappings keep the file's order). Any difference (the status,
    the code, ``retry``, a title) is another error, which an old ``except`` must not catch
    and whose class must not carry the other entry's ``spec``.
    """
    return repr(
        [(f.name, getattr(spec, f.name)) for f in fields(spec) if f.name not in _PROVENANCE]
    )


def _typed(catalog_name: str, spec: ErrorSpec) -> type[ProblemError]:
    cache_key = (catalog_name, _fingerprint(spec))
    with _LOCK:  # two threads making the same class must agree on one
        found = _CLASSES.get(cache_key)
        if found is None:
            name = class_name(spec.key)
            namespace = {
                "__module__": _MODULE,
                "__qualname__": name,
                "__doc__": f"{spec.status} {spec.code}: the {spec.key!r} entry of "
                f"{catalog_name!r}.",
                "spec": spec,
            }
            found = cast("type[ProblemError]", type(name, (ProblemError,), namespace))
            _CLASSES[cache_key] = found
    return found


class Errors:
    """A catalog's typed exception classes as attributes, named by ``class_name``.

    ``catalog.errors.ValidationError is catalog.exception("validation_error")``. When two
    keys give the same name (``rate_limited`` and ``rate-limited``), neither is here:
    guessing one would make an ``except`` clause silently catch the wrong error.
    """

    __slots__ = ("_catalog_name", "_classes", "_colliding", "_specs")

    def __init__(self, catalog: Catalog) -> None:
        names = Counter(class_name(spec.key) for spec in catalog)
        self._catalog_name = catalog.name
        #: The classes handed out, by entry key: the strong references that keep them in
        #: the weak process-wide cache for as long as the catalog lives.
        self._classes: dict[str, type[ProblemError]] = {}
        self._specs: Mapping[str, ErrorSpec] = {
            class_name(spec.key): spec for spec in catalog if names[class_name(spec.key)] == 1
        }
        self._colliding: Mapping[str, tuple[str, ...]] = {
            name: tuple(spec.key for spec in catalog if class_name(spec.key) == name)
            for name, count in names.items()
            if count > 1
        }

    def __getattr__(self, name: str) -> type[ProblemError]:
        if name.startswith("_"):  # no class name does; and a half-built copy must not recurse
            raise AttributeError(name)
        spec = self._specs.get(name)
        if spec is not None:
            return self._class_of(spec)
        raise AttributeError(self._missing(name))

    def _class_of(self, spec: ErrorSpec) -> type[ProblemError]:
        found = self._classes.get(spec.key)
        if found is None:  # setdefault: a racing thread got the same class from _typed
            found = self._classes.setdefault(spec.key, _typed(self._catalog_name, spec))
        return found

    def _missing(self, name: str) -> str:
        text = f"{self._catalog_name!r} has no error class {name!r}"
        if name in self._colliding:
            keys = ", ".join(map(repr, self._colliding[name]))
            return f"{text}: the entries {keys} share that name; use catalog.exception(key)"
        guesses = [class_name(name)] if class_name(name) in self._specs else []
        guesses += difflib.get_close_matches(name, self._specs, n=3)
        guesses = list(dict.fromkeys(guesses))[:3]
        if guesses:
            return f"{text}; did you mean {' or '.join(guesses)}?"
        return text

    def __dir__(self) -> list[str]:
        return sorted(self._specs)

    def __repr__(self) -> str:
        return f"<errors of {self._catalog_name!r}: {len(self._specs)} classes>"
