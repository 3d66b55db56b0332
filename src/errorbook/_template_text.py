"""Message templates: ``Expected {received} to be {declared}``.

Parsed once when the catalog loads, so rendering a message is a join over pre-split parts,
and a message cannot reach attributes or indexes of its arguments the way ``str.format``
would let ``{value.__class__}`` do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MessageTemplate", "TemplateSyntaxError"]

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class TemplateSyntaxError(ValueError):
    """A message template is malformed (the catalog loader locates it)."""


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    """A message with ``{name}`` placeholders; ``{{`` and ``}}`` stand for literal braces."""

    source: str
    #: Literal text and parameter names, alternating: text, name, text, name, ..., text.
    parts: tuple[str, ...]

    @classmethod
    def parse(cls, source: str) -> MessageTemplate:
        parts: list[str] = []
        text: list[str] = []
        position = 0
        for match in _PLACEHOLDER.finditer(source):
            text.append(source[position : match.start()])
            position = match.end()
            token = match.group(0)
            if token in ("{{", "}}"):
                text.append(token[0])
            elif token in ("{", "}"):
                raise TemplateSyntaxError(
                    f"a lone {token!r} at offset {match.start()}; write {token * 2!r} for a "
                    "literal brace"
                )
            else:
                name = match.group(1).strip()
                if not _NAME.match(name):
                    raise TemplateSyntaxError(
                        f"placeholder {token!r} is not a plain parameter name like {{received}}"
                    )
                parts.append("".join(text))
                parts.append(name)
                text = []
        text.append(source[position:])
        parts.append("".join(text))
        return cls(source, tuple(parts))

    @property
    def names(self) -> tuple[str, ...]:
        """The parameter names, in order of appearance (repeats included)."""
        return self.parts[1::2]

    def render(self, params: Mapping[str, Any]) -> str:
        """The message with every placeholder replaced by ``str()`` of its parameter."""
        if len(self.parts) == 1:
            return self.parts[0]
        pieces = list(self.parts)
        for index in range(1, len(pieces), 2):
            pieces[index] = str(params[pieces[index]])
        return "".join(pieces)

    def matches(self, text: str) -> bool:
        """Whether ``text`` could be a rendering of this template, with any parameters.

        Used on bodies that come from the network, so it runs in linear time: the literal
        parts are found left to right, which is exact for patterns whose only wildcards are
        the placeholders (a regex would backtrack polynomially on crafted input).
        """
        literals = self.parts[::2]
        first, last = literals[0], literals[-1]
        if len(literals) == 1:
            return text == first
        if not text.startswith(first) or len(text) < len(first) + len(last):
            return False
        end = len(text) - len(last)
        if not text.endswith(last):
            return False
        position = len(first)
        for middle in literals[1:-1]:
            found = text.find(middle, position, end)
            if found < 0:
                return False
            position = found + len(middle)
        return True
