"""The compiled form of a template: a small tree of nodes that render themselves.

A template is checked and compiled once, when its format is built; afterwards rendering is a
walk over these nodes with no string inspection left, because it runs on every refused
request. Parsing walks the same nodes (see ``_template_parse``), so render and parse cannot
disagree about the shape.

Field pointers and dotted paths are converted here too: both directions live side by side so
the path syntax is defined in one place.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, ClassVar, Final

from jsonpointer import JsonPointer, JsonPointerException

from .._errors import FormatError
from .._problem import FieldError, Problem
from ._json import retry_after_seconds

__all__ = [
    "GRPC_STATUS_NAMES",
    "Arr",
    "DynamicObj",
    "Each",
    "ExtVar",
    "FieldVar",
    "If",
    "Lit",
    "Nested",
    "Node",
    "Obj",
    "ProblemVar",
    "RetryAfter",
    "Spread",
    "StatusName",
    "StatusText",
    "member_path",
    "parts_to_pointer",
    "path_to_pointer",
    "pointer_parts",
    "pointer_to_path",
]

#: The gRPC canonical code AIP-193 pairs with each HTTP status; every other status is UNKNOWN.
GRPC_STATUS_NAMES: Final = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class Node:
    """One position in a template."""

    __slots__ = ()
    #: Whether an object member holding this node is left out when it renders empty. True
    #: for containers built from variables: an empty ``meta`` or ``details`` says nothing.
    drop_empty: ClassVar[bool] = False

    def render(self, problem: Problem, field: FieldError | None) -> Any:
        raise NotImplementedError


class Lit(Node):
    """A literal value, rendered as it is and compared at parse to tell array items apart."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def render(self, problem: Problem, field: FieldError | None) -> Any:
        return self.value


class ProblemVar(Node):
    """A Problem attribute of the same name (``$code``, ``$message``, ``$status``...)."""

    __slots__ = ("attr",)

    def __init__(self, attr: str) -> None:
        self.attr = attr

    def render(self, problem: Problem, field: FieldError | None) -> Any:
        return getattr(problem, self.attr)


class RetryAfter(ProblemVar):
    """``$retry_after``: left out when not finite, and 0 when negative, so it parses back."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("retry_after")

    def render(self, problem: Problem, field: FieldError | None) -> Any:
        return retry_after_seconds(problem.retry_after)


class StatusText(Node):
    """``$status_text``: the status as a string, as JSON:API writes it."""

    __slots__ = ()

    def render(self, problem: Problem, field: FieldError | None) -> Any:
        return str(problem.status)


class StatusName(Node):
    """``$status_name``: the gRPC canonical name for the status (render only)."""

    __slots__ = ()

    def render(self, problem: Problem, field: FieldError | None) -> Any:
        return GRPC_STATUS_NAMES.get(problem.status, "UNKNOWN")


class ExtVar(Node):
    """``$ext.NAME``: one extension member, placed where the vendor shape wants it."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def render(self, problem: Problem, field: FieldError | None) -> Any:
        return problem.extensions.get(self.name)


class FieldVar(Node):
    """``$field.pointer``, ``.path``, ``.code`` or ``.message`` of the current field error."""

    __slots__ = ("part",)

    def __init__(self, part: str) -> None:
        self.part = part

    def render(self, problem: Problem, field: FieldError | None) -> Any:
        assert field is not None  # compile refuses $field.* outside $each
        if self.part == "path":
            return pointer_to_path(field.pointer)
        return getattr(field, self.part)


class Nested(Node):
    """``$fields.nested``: field errors as a tree keyed by pointer segment (Discord's shape).

    A segment spelled ``_errors`` cannot be told apart from the error list at the same level;
    if one field error needs both at one node, the later one replaces the earlier.
    """

    __slots__ = ()

    def render(self, problem: Problem, field: FieldError | None) -> Any:
        if not problem.fields:
            return None
        tree: dict[str, Any] = {}
        for error in problem.fields:
            node = tree
            for segment in pointer_parts(error.pointer):
                child = node.get(segment)
                if not isinstance(child, dict):
                    child = node[segment] = {}
                node = child
            errors = node.get("_errors")
            if not isinstance(errors, list):
                errors = node["_errors"] = []
            errors.append({"code": error.code, "message": error.message})
        return tree


class Spread(Node):
    """``"...": "$extensions"``: every extension member the template does not name."""

    __slots__ = ("excluded",)

    def __init__(self) -> None:
        # Filled in once the whole template is compiled: names placed by $ext.NAME anywhere,
        # and the keys the enclosing object names itself (those always win).
        self.excluded: frozenset[str] = frozenset()

    def render(self, problem: Problem, field: FieldError | None) -> Any:
        excluded = self.excluded
        return {k: v for k, v in problem.extensions.items() if v is not None and k not in excluded}


class Obj(Node):
    """A JSON object; members rendering to None (or empty, when built from variables) go."""

    __slots__ = ("members", "named", "spread")

    def __init__(self, members: tuple[tuple[str, Node], ...], spread: Spread | None) -> None:
        self.members = members
        self.named = frozenset(key for key, _ in members)
        self.spread = spread

    def render(self, problem: Problem, field: FieldError | None) -> Any:
        out: dict[str, Any] = {}
        for key, node in self.members:
            value = node.render(problem, field)
            if value is None or (node.drop_empty and not value):
                continue
            if node is self.spread:
                out.update(value)
            else:
                out[key] = value
        return out


class DynamicObj(Obj):
    """An object holding at least one variable, so it may render empty and be left out."""

    __slots__ = ()
    drop_empty = True


class Each:
    """``{"$each": "$fields", "item": ...}``: one item per field error."""

    __slots__ = ("item",)

    def __init__(self, item: Node) -> None:
        self.item = item

    def render_into(self, out: list[Any], problem: Problem, field: FieldError | None) -> None:
        item = self.item
        for error in problem.fields:
            value = item.render(problem, error)
            if value is not None:
                out.append(value)


class If:
    """``{"$if": "$VAR", "then": ...}``: rendered only when VAR is neither None nor empty."""

    __slots__ = ("condition", "then")

    def __init__(self, condition: Node, then: Node) -> None:
        self.condition = condition
        self.then = then

    def render_into(self, out: list[Any], problem: Problem, field: FieldError | None) -> None:
        value = self.condition.render(problem, field)
        if value is None or (isinstance(value, list | tuple | dict) and not value):
            return
        rendered = self.then.render(problem, field)
        if rendered is not None:
            out.append(rendered)


class Arr(Node):
    """A JSON array of plain, ``$each`` and ``$if`` elements; left out of its parent if empty."""

    __slots__ = ("elements",)
    drop_empty = True

    def __init__(self, elements: tuple[Node | Each | If, ...]) -> None:
        self.elements = elements

    def render(self, problem: Problem, field: FieldError | None) -> Any:
        out: list[Any] = []
        for element in self.elements:
            if isinstance(element, Node):
                value = element.render(problem, field)
                if value is not None:
                    out.append(value)
            else:
                element.render_into(out, problem, field)
        return out


_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def member_path(path: str, key: str) -> str:
    """``path`` extended by an object member, in the ``$.a["b c"]`` notation errors use."""
    if _IDENTIFIER.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


@lru_cache(maxsize=1024)
def pointer_parts(pointer: str) -> tuple[str, ...]:
    """The unescaped segments of an RFC 6901 pointer.

    A string that is not a pointer (``#/age``, ``age``) becomes one segment holding all of
    it, so that render never raises on a field error built by hand. Cached because the same
    few pointers come back on request after request.
    """
    try:
        return tuple(JsonPointer(pointer).parts)
    except JsonPointerException:
        return (pointer,)


def parts_to_pointer(parts: list[str]) -> str:
    """The RFC 6901 pointer for ``parts``, escaped by jsonpointer."""
    return JsonPointer.from_parts(parts).path


@lru_cache(maxsize=1024)
def pointer_to_path(pointer: str) -> str:
    """A dotted path such as ``files[0].size`` for a pointer such as ``/files/0/size``.

    Identifier segments are joined by dots, all-digit segments are ``[n]``, and any other
    segment is ``["json-quoted"]``; that is what makes the conversion reversible.
    """
    out: list[str] = []
    for segment in pointer_parts(pointer):
        if segment.isascii() and segment.isdigit():
            out.append(f"[{segment}]")
        elif segment.isidentifier():
            out.append(f".{segment}" if out else segment)
        else:
            out.append(f"[{json.dumps(segment, ensure_ascii=False)}]")
    return "".join(out)


_DECODE_STRING: Final = json.JSONDecoder().raw_decode


@lru_cache(maxsize=1024)
def path_to_pointer(path: str) -> str:
    """The pointer for a dotted path, the inverse of ``pointer_to_path``.

    Bare segments may hold any character but ``.`` and ``[``, a superset of what render writes,
    so vendor paths such as ``metadata.labels.app-name`` parse too.

    Raises:
        FormatError: an unclosed bracket or a bracket that holds neither digits nor a JSON
            string.
    """
    parts: list[str] = []
    index, end = 0, len(path)
    while index < end:
        if path[index] == "[":
            if path.startswith('"', index + 1):
                try:
                    segment, index = _DECODE_STRING(path, index + 1)
                except ValueError:
                    raise FormatError(f"not a field path: {path!r}") from None
            else:
                close = path.find("]", index)
                segment = path[index + 1 : close]
                if close < 0 or not (segment.isascii() and segment.isdigit()):
                    raise FormatError(f"not a field path: {path!r}")
                index = close
            if not path.startswith("]", index):
                raise FormatError(f"not a field path: {path!r}")
            index += 1
        else:
            if parts:
                if path[index] != ".":
                    raise FormatError(f"not a field path: {path!r}")
                index += 1
            start = index
            while index < end and path[index] not in ".[":
                index += 1
            if index == start:
                raise FormatError(f"not a field path: {path!r}")
            segment = path[start:index]
        parts.append(segment)
    return parts_to_pointer(parts)
