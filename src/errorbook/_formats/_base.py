"""What a format is, and the registry that finds one by name.

A format turns a Problem into bytes and bytes back into a Problem. One object does both so a
server and a client that share a catalog can never disagree about a body's shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .._problem import Problem

__all__ = ["CARRIABLE", "Format", "format_names", "get_format", "register_format"]

#: The Problem members a format may carry through a render/parse round trip. ``message``
#: and ``status`` are always given back (``status`` from the HTTP status line when the body
#: has none); ``code`` and the rest only where the format has a place for them (a
#: ``{"message": ...}`` body has no code: `Catalog.identify` finds the entry by message).
CARRIABLE = frozenset(
    {
        "code",
        "message",
        "status",
        "title",
        "detail",
        "type",
        "instance",
        "fields",
        "extensions",
        "request_id",
        "retry_after",
    }
)


@runtime_checkable
class Format(Protocol):
    """Renders Problems as response bodies and parses bodies back into Problems."""

    #: The name a catalog uses for it (``problem+json``, ``tape``...).
    name: str
    #: The Content-Type of rendered bodies.
    media_type: str
    #: Which members of CARRIABLE survive ``parse(render(p))``; ``extensions`` means every
    #: extension member, not only the ones the format names.
    carries: frozenset[str]

    def render(self, problem: Problem) -> bytes:
        """The body for ``problem``, encoded as UTF-8 (XML declares it).

        Never raises for what ``extensions`` and ``retry_after`` hold, so the layer can always
        answer. Built-in formats leave out an extension member they cannot write (a
        non-finite float, a reference cycle, nesting too deep, an int past Python's digit
        limit, an object whose ``str()`` raises) and write the rest of the body; JSON bodies
        never contain ``NaN`` or ``Infinity``, which are not JSON. A non-finite
        ``retry_after`` is left out and a negative one written as 0. The other members are
        trusted to have their annotated types.
        """
        ...

    def parse(self, body: bytes, *, status: int | None = None) -> Problem:
        """A Problem from ``body``; ``status`` is the HTTP status, for bodies without one.

        A status read from the body is an int from 100 to 599, and ``retry_after`` is None
        or a finite float >= 0. The ``status`` argument is taken as given.

        Raises:
            FormatError: the body is not in this format, or holds a status, retry_after or
                number that breaks the above. Never a JSON or XML decode error, an
                OverflowError or a RecursionError.
        """
        ...


_REGISTRY: dict[str, Callable[[], Format]] = {}
_CACHE: dict[str, Format] = {}


def register_format(name: str, factory: Callable[[], Format]) -> None:
    """Make a format available by name; the factory runs once, on first use."""
    _REGISTRY[name] = factory
    _CACHE.pop(name, None)


def format_names() -> list[str]:
    """Every registered format name, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def get_format(name: str) -> Format:
    """The format registered as ``name``.

    Raises:
        KeyError: no format has that name (the catalog loader turns this into a located
            CatalogError listing the names that exist).
    """
    _load_builtins()
    if name not in _CACHE:
        _CACHE[name] = _REGISTRY[name]()
    return _CACHE[name]


def _load_builtins() -> None:
    # Imported lazily so `import errorbook` stays cheap and the modules can import this one.
    from . import _builtin  # noqa: F401
