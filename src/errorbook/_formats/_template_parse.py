"""Parsing a body back through the template that rendered it.

The walk follows the compiled template, not the body: a member the template does not name is
ignored (or becomes an extension at the level of a ``"..."`` spread), and a member it names but
the body lacks is simply absent. JSON ``null`` counts as absent everywhere, since render leaves
None members out rather than writing them.

Array elements are matched in order. A plain or ``$if`` element consumes the next body item
only if every literal member of its template (recursively, such as Google's ``@type``) is
equal in the item; a ``$each`` element consumes every following item that matches its item
template. That is what lets one ``details`` array carry an ErrorInfo, a BadRequest and a
RequestInfo without the parser confusing them.
"""

from __future__ import annotations

from typing import Any, Final

from .._errors import FormatError
from .._problem import FieldError, Problem
from ._json import describe, load_json, shorten, valid_retry_after, valid_status
from ._template_nodes import (
    Arr,
    Each,
    ExtVar,
    FieldVar,
    If,
    Lit,
    Nested,
    Node,
    Obj,
    ProblemVar,
    StatusText,
    member_path,
    parts_to_pointer,
    path_to_pointer,
)

__all__ = ["parse_template"]

_STRING_VARS: Final = frozenset({"message", "title", "detail", "type", "instance", "request_id"})


def parse_template(
    root: Obj, body: bytes, name: str, message_path: str, status: int | None
) -> Problem:
    """The Problem in ``body``, read through the compiled template ``root``.

    Raises:
        FormatError: the body is not JSON, not shaped like the template where it matters,
            holds a member of the wrong type, or has no message.
    """
    data = load_json(body, name)
    reader = _Reader(name)
    try:
        reader.walk(root, data, "$", None)
    except RecursionError as exc:
        raise FormatError(f"not a {name} body: nested too deeply") from exc
    values = reader.values
    if "message" not in values:
        raise FormatError(f"not a {name} body: no message at {message_path}")
    status = values.get("status", status)
    if status is None:
        raise FormatError(f"not a {name} body: no status in the body or the response")
    return Problem(
        code=values.get("code"),
        status=status,
        message=values["message"],
        title=values.get("title"),
        detail=values.get("detail"),
        type=values.get("type"),
        instance=values.get("instance"),
        fields=reader.fields,
        extensions=reader.extensions,
        request_id=values.get("request_id"),
        retry_after=values.get("retry_after"),
    )


class _Reader:
    """Collects what a walk finds; the first occurrence of a variable wins."""

    __slots__ = ("extensions", "fields", "name", "values")

    def __init__(self, name: str) -> None:
        self.name = name
        self.values: dict[str, Any] = {}
        self.extensions: dict[str, Any] = {}
        self.fields: list[FieldError] = []

    def wrong(self, path: str, expected: str, value: object) -> FormatError:
        return FormatError(
            f"not a {self.name} body: expected {expected} at {path}, got {describe(value)}"
        )

    def walk(self, node: Node, value: Any, path: str, field: dict[str, str] | None) -> None:
        if value is None or isinstance(node, Lit):
            return
        if isinstance(node, ProblemVar):
            self.problem_var(node.attr, value, path)
        elif isinstance(node, StatusText):
            # JSON:API writes "422"; an integer is taken too, being as unambiguous.
            if isinstance(value, str) and len(value) == 3 and value.isascii() and value.isdigit():
                self.status(int(value), path)
            elif isinstance(value, int) and not isinstance(value, bool):
                self.status(value, path)
            else:
                raise self.wrong(path, "a status as a string of 3 digits", value)
        elif isinstance(node, ExtVar):
            self.extensions.setdefault(node.name, value)
        elif isinstance(node, FieldVar):
            assert field is not None  # compile refuses $field.* outside $each
            self.field_var(node.part, value, path, field)
        elif isinstance(node, Nested):
            self.tree(value, path, [])
        elif isinstance(node, Obj):
            self.object(node, value, path, field)
        elif isinstance(node, Arr):
            self.array(node, value, path, field)
        # StatusName is render-only, and a Spread is read by its object.

    def problem_var(self, attr: str, value: Any, path: str) -> None:
        if attr in _STRING_VARS:
            if not isinstance(value, str):
                raise self.wrong(path, "a string", value)
        elif isinstance(value, bool):
            raise self.wrong(
                path, "a number" if attr != "code" else "a string or an integer", value
            )
        elif attr == "code":
            if not isinstance(value, str | int):
                raise self.wrong(path, "a string or an integer", value)
        elif attr == "status":
            if not isinstance(value, int):
                raise self.wrong(path, "an integer", value)
            self.status(value, path)
            return
        elif attr == "retry_after":
            if not isinstance(value, int | float):
                raise self.wrong(path, "a number", value)
            seconds = valid_retry_after(value)
            if seconds is None:
                raise self.wrong(path, "a number of seconds >= 0 that fits a float", value)
            value = seconds
        self.values.setdefault(attr, value)

    def status(self, value: int, path: str) -> None:
        if not valid_status(value):
            raise FormatError(
                f"not a {self.name} body: expected an HTTP status from 100 to 599 at {path}, "
                f"got {shorten(str(value))}"
            )
        self.values.setdefault("status", value)

    def field_var(self, part: str, value: Any, path: str, field: dict[str, str]) -> None:
        if not isinstance(value, str):
            raise self.wrong(path, "a string", value)
        if part == "path":
            try:
                value = path_to_pointer(value)
            except FormatError as exc:
                raise FormatError(f"not a {self.name} body: {exc} at {path}") from None
            part = "pointer"
        field.setdefault(part, value)

    def object(self, node: Obj, value: Any, path: str, field: dict[str, str] | None) -> None:
        if not isinstance(value, dict):
            raise self.wrong(path, "an object", value)
        for key, child in node.members:
            if child is not node.spread and key in value:
                self.walk(child, value[key], member_path(path, key), field)
        if node.spread is not None:
            named = node.named
            for key, member in value.items():
                if key not in named:
                    self.extensions.setdefault(key, member)

    def array(self, node: Arr, value: Any, path: str, field: dict[str, str] | None) -> None:
        if not isinstance(value, list):
            raise self.wrong(path, "an array", value)
        index, end = 0, len(value)
        for element in node.elements:
            if isinstance(element, Each):
                while index < end and _matches(element.item, value[index]):
                    self.field_item(element.item, value[index], f"{path}[{index}]")
                    index += 1
                continue
            template = element.then if isinstance(element, If) else element
            if isinstance(template, Lit) and template.value is None:
                continue  # rendered as nothing, so it stands for no item
            if index < end and _matches(template, value[index]):
                self.walk(template, value[index], f"{path}[{index}]", field)
                index += 1

    def field_item(self, item: Node, value: Any, path: str) -> None:
        field: dict[str, str] = {}
        self.walk(item, value, path, field)
        self.fields.append(
            FieldError(field.get("pointer", ""), field.get("code", ""), field.get("message", ""))
        )

    def tree(self, value: Any, path: str, parts: list[str]) -> None:
        if not isinstance(value, dict):
            raise self.wrong(path, "an object of field errors", value)
        for key, child in value.items():
            where = member_path(path, key)
            if key == "_errors" and isinstance(child, list):
                pointer = parts_to_pointer(parts)
                for index, error in enumerate(child):
                    self.tree_error(error, f"{where}[{index}]", pointer)
            elif child is not None:
                self.tree(child, where, [*parts, key])

    def tree_error(self, error: Any, path: str, pointer: str) -> None:
        if not isinstance(error, dict):
            raise self.wrong(path, "an object", error)
        strings = []
        for key in ("code", "message"):
            member = error.get(key, "")
            if not isinstance(member, str):
                raise self.wrong(member_path(path, key), "a string", member)
            strings.append(member)
        self.fields.append(FieldError(pointer, *strings))


def _matches(node: Node, value: Any) -> bool:
    """Whether ``value`` has every literal of ``node`` (the test that picks array items)."""
    if isinstance(node, Lit):
        return node.value is None or _same(node.value, value)
    if isinstance(node, Obj):
        if not isinstance(value, dict):
            return False
        for key, child in node.members:
            if _has_literal(child) and (key not in value or not _matches(child, value[key])):
                return False
        return True
    if isinstance(node, Arr):
        return isinstance(value, list)
    return True


def _has_literal(node: Node) -> bool:
    if isinstance(node, Lit):
        return node.value is not None
    if isinstance(node, Obj):
        return any(_has_literal(child) for _, child in node.members)
    return False


def _same(literal: object, value: object) -> bool:
    # 1 == True and 1 == 1.0 in Python, but not in a vendor's discriminator.
    return type(literal) is type(value) and literal == value
