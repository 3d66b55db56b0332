"""One entry of a catalog: everything errorbook knows about one kind of error."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeVar

from ._template_text import MessageTemplate

_T = TypeVar("_T")

__all__ = ["PARAM_TYPES", "RETRY_HINTS", "ErrorSpec", "Retry"]

Retry = Literal["never", "after", "backoff"]

#: Whether and how a client may retry: ``after`` waits for the server's hint (Retry-After,
#: a body ``retry_after``), ``backoff`` backs off exponentially, ``never`` does not retry.
RETRY_HINTS: Final[tuple[Retry, ...]] = ("never", "after", "backoff")

#: The types a template parameter may declare, and the Python types that satisfy each.
PARAM_TYPES: Final[Mapping[str, tuple[type, ...]]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorSpec:
    """A catalog entry.

    Texts shown to clients (``title``, ``message``) are kept per language; ``description``
    and ``resolution`` are Markdown for the glossary and stay in the catalog's language.
    """

    key: str
    code: str | int
    status: int
    title: Mapping[str, str]
    message: Mapping[str, MessageTemplate]
    description: str = ""
    resolution: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    example: Mapping[str, Any] = field(default_factory=dict)
    retry: Retry = "never"
    retry_after: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    extensions: Mapping[str, Any] = field(default_factory=dict)
    endpoints: tuple[str, ...] = ()
    on: tuple[str, ...] = ()
    expose: bool = True
    #: Where the entry came from, for located messages (``None`` for dict catalogs).
    file: str | None = None
    line: int | None = None

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages this entry's message is written in."""
        return tuple(self.message)

    def resolve_language(self, language: str | None, default: str) -> str:
        """The language a problem is rendered in: ``language``, its base, else ``default``."""
        return _resolve(self.message, language, default)

    def title_in(self, language: str | None, default: str) -> str:
        """The title in ``language``, else in the catalog's ``default`` language."""
        return _pick(self.title, language, default)

    def message_in(self, language: str | None, default: str) -> MessageTemplate:
        """The message template in ``language``, else in the ``default`` language."""
        return _pick(self.message, language, default)

    def example_message(self, language: str | None, default: str) -> str:
        """The message rendered with the entry's example parameters (for docs)."""
        template = self.message_in(language, default)
        values = {name: self.example.get(name, f"{{{name}}}") for name in template.names}
        return template.render(values)


def _resolve(texts: Mapping[str, object], language: str | None, default: str) -> str:
    """Which of ``texts``' languages serves ``language``; "de-CH" falls back to "de"."""
    if language is not None:
        if language in texts:
            return language
        base = language.split("-", 1)[0]
        if base in texts:
            return base
    return default if default in texts else next(iter(texts))


def _pick(texts: Mapping[str, _T], language: str | None, default: str) -> _T:
    return texts[_resolve(texts, language, default)]
