"""Declarative JSON templates: any vendor's error shape, rendered and parsed from one value.

A catalog writes ``format: {message: $message, code: $code, errors: $fields.nested}`` and
gets a Format whose ``render`` and ``parse`` are both driven by that one value, so a server
and a client that share the catalog cannot disagree about the body.

The template language, in short:

- ``"$var"`` strings are variables: ``$code $message $title $status $status_text
  $status_name $detail $type $instance $request_id $retry_after $ext.NAME $fields.nested``;
  ``$$`` at the start of a string is a literal ``$``. Anything else is a literal.
- An object member rendering to None is left out; ``"...": "$extensions"`` spreads the
  extension members the template does not place elsewhere.
- Array elements may be ``{"$each": "$fields", "item": ...}`` (with ``$field.pointer
  .path .code .message``) or ``{"$if": "$VAR", "then": ...}``.

Templates are checked when the format is built, and every mistake names the JSON path in the
template where it is (``at $.errors[1].item.code: unknown variable $feild.code``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .._errors import FormatError
from .._problem import Problem, fold_fields
from ._base import CARRIABLE, Format
from ._json import encode_json, encode_utf8, render_writable
from ._template_nodes import (
    Arr,
    DynamicObj,
    Each,
    ExtVar,
    FieldVar,
    If,
    Lit,
    Nested,
    Node,
    Obj,
    ProblemVar,
    RetryAfter,
    Spread,
    StatusName,
    StatusText,
    member_path,
)
from ._template_parse import parse_template

__all__ = ["TemplateFormat", "template_format"]

#: Variables read straight from the Problem attribute of the same name.
_PROBLEM_VARS: Final = frozenset(
    {"code", "message", "title", "status", "detail", "type", "instance", "request_id"}
    | {"retry_after"}
)
_FIELD_PARTS: Final = frozenset({"pointer", "path", "code", "message"})
#: A guard that no variable matches: a variable under two different ``$if``s is not carried.
_NEVER: Final = "\x00"


def template_format(
    name: str, template: Mapping[str, Any], *, media_type: str = "application/json"
) -> Format:
    """A Format that renders and parses bodies shaped like ``template``.

    Args:
        name: The format's name, used in parse errors (``not a stripe body: ...``).
        template: The body's shape as a JSON object (written in YAML in catalogs).
        media_type: The Content-Type of rendered bodies.

    Raises:
        FormatError: the template is malformed; the message names the JSON path in it.
    """
    return TemplateFormat(name, template, media_type=media_type)


class TemplateFormat:
    """A Format driven by one template; build it with ``template_format``."""

    def __init__(self, name: str, template: Mapping[str, Any], *, media_type: str) -> None:
        self.name = name
        self.media_type = media_type
        #: The template as given, for docs and OpenAPI schemas to describe the shape.
        self.template = template
        compiler = _Compiler()
        if not isinstance(template, Mapping):
            raise FormatError(f"at $: a template must be an object, not {_kind(template)}")
        root = compiler.compile(template, "$", guard=None, in_each=False)
        compiler.finish()
        assert isinstance(root, Obj)
        self._root: Obj = root
        self._message_path: str = compiler.message_path
        self.carries: frozenset[str] = frozenset(compiler.carried)
        #: A shape with no place for field errors (tape's, symbl's) tells them in the
        #: message instead: their pages send callers to the message to learn what to fix.
        self.folds_fields = "fields" not in self.carries

    def __repr__(self) -> str:
        return f"<template format {self.name!r} ({self.media_type})>"

    def render(self, problem: Problem) -> bytes:
        """The body for ``problem``, shaped by the template.

        Never raises for what the extensions hold: a member JSON cannot carry is left out,
        as problem+json does (see ``render_writable``), and so is a non-finite ``retry_after``.
        """
        if self.folds_fields and problem.fields:
            problem = problem.replace(message=fold_fields(problem.message, problem.fields))
        try:
            return encode_utf8(encode_json(self._root.render(problem, None)))
        except Exception:  # an extension JSON cannot hold; the fallback sorts it out
            return render_writable(self._build, problem)

    def _build(self, problem: Problem) -> Any:
        return self._root.render(problem, None)

    def parse(self, body: bytes, *, status: int | None = None) -> Problem:
        """A Problem from a body shaped by the template; ``status`` when the body has none."""
        return parse_template(self._root, body, self.name, self._message_path, status)


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


class _Compiler:
    """Checks a template and turns it into nodes, noting what it can carry."""

    def __init__(self) -> None:
        self.carried: set[str] = {"status"}  # a body without one takes the response's
        self.placed: set[str] = set()
        self.spreads: list[tuple[Spread, Obj]] = []
        self.message_path = ""
        self.each_parts: set[str] = set()

    def carry(self, member: str, guard: str | None) -> None:
        # Under `$if $X` a variable round-trips only if it is X: anything else is lost
        # whenever X is empty.
        if guard is None or guard == member:
            self.carried.add(member)

    def compile(self, value: Any, path: str, *, guard: str | None, in_each: bool) -> Node:
        if isinstance(value, str):
            return self.variable(value, path, guard=guard, in_each=in_each)
        if value is None or isinstance(value, bool | int | float):
            return Lit(value)
        if isinstance(value, Mapping):
            return self.object(value, path, guard=guard, in_each=in_each)
        if isinstance(value, list | tuple):
            return self.array(value, path, guard=guard, in_each=in_each)
        raise FormatError(f"at {path}: not a JSON value ({type(value).__name__})")

    def variable(self, text: str, path: str, *, guard: str | None, in_each: bool) -> Node:
        if not text.startswith("$"):
            return Lit(text)
        if text.startswith("$$"):
            return Lit(text[1:])
        name = text[1:]
        if name in _PROBLEM_VARS:
            self.carry(name, guard)
            if name == "message" and not self.message_path:
                self.message_path = path
            return RetryAfter() if name == "retry_after" else ProblemVar(name)
        if name in ("status_text", "status_name"):
            return StatusText() if name == "status_text" else StatusName()
        if name.startswith("ext.") and len(name) > 4:
            self.placed.add(name[4:])
            return ExtVar(name[4:])
        if name == "fields.nested":
            self.carry("fields", guard)
            return Nested()
        if name.startswith("field.") and name[6:] in _FIELD_PARTS:
            if not in_each:
                raise FormatError(f"at {path}: {text} is only allowed inside a $each item")
            if guard == "fields":
                self.each_parts.add(name[6:])
            return FieldVar(name[6:])
        if name == "extensions":
            raise FormatError(
                f'at {path}: $extensions is only allowed as the value of a "..." member'
            )
        raise FormatError(f"at {path}: unknown variable {text}")

    def object(
        self, value: Mapping[Any, Any], path: str, *, guard: str | None, in_each: bool
    ) -> Node:
        if "$each" in value or "$if" in value:
            raise FormatError(f"at {path}: $each and $if are only allowed as array elements")
        members: list[tuple[str, Node]] = []
        spread: Spread | None = None
        dynamic = False
        for key, member in value.items():
            if not isinstance(key, str):
                raise FormatError(f"at {path}: member names must be strings, not {_kind(key)}")
            where = member_path(path, key)
            if key == "...":
                if member != "$extensions":
                    raise FormatError(
                        f'at {where}: a "..." member must be "$extensions", not {member!r}'
                    )
                if in_each:
                    raise FormatError(f'at {where}: a "..." member cannot repeat in a $each item')
                if self.spreads:
                    raise FormatError(f'at {where}: a template may have only one "..." member')
                spread = Spread()
                if guard is None or guard == "extensions":
                    self.carried.add("extensions")
                node: Node = spread
            else:
                node = self.compile(member, where, guard=guard, in_each=in_each)
            dynamic = dynamic or node.drop_empty or not isinstance(node, Lit | Obj)
            members.append((key, node))
        obj = (DynamicObj if dynamic else Obj)(tuple(members), spread)
        if spread is not None:
            self.spreads.append((spread, obj))
        return obj

    def array(
        self, value: list[Any] | tuple[Any, ...], path: str, *, guard: str | None, in_each: bool
    ) -> Node:
        elements: list[Node | Each | If] = []
        for index, element in enumerate(value):
            where = f"{path}[{index}]"
            if isinstance(element, Mapping) and "$each" in element:
                elements.append(self.each(element, where, guard=guard, in_each=in_each))
            elif isinstance(element, Mapping) and "$if" in element:
                elements.append(self.if_(element, where, guard=guard, in_each=in_each))
            else:
                elements.append(self.compile(element, where, guard=guard, in_each=in_each))
        return Arr(tuple(elements))

    def each(
        self, value: Mapping[Any, Any], path: str, *, guard: str | None, in_each: bool
    ) -> Each:
        if set(value) != {"$each", "item"}:
            raise FormatError(f"at {path}: a $each element has exactly the members $each and item")
        if value["$each"] != "$fields":
            where = member_path(path, "$each")
            raise FormatError(f"at {where}: only $fields can be iterated, not {value['$each']!r}")
        if in_each:
            raise FormatError(f"at {path}: $each cannot be nested in a $each item")
        # An item renders only when there are field errors, so it is guarded by $fields: a
        # problem variable placed only in it is not carried.
        inner = "fields" if guard is None or guard == "fields" else _NEVER
        item = self.compile(value["item"], member_path(path, "item"), guard=inner, in_each=True)
        return Each(item)

    def if_(self, value: Mapping[Any, Any], path: str, *, guard: str | None, in_each: bool) -> If:
        if set(value) != {"$if", "then"}:
            raise FormatError(f"at {path}: a $if element has exactly the members $if and then")
        test = value["$if"]
        where = member_path(path, "$if")
        if not isinstance(test, str) or not test.startswith("$") or test.startswith("$$"):
            raise FormatError(f"at {where}: $if needs a variable, not {test!r}")
        if test in ("$fields", "$extensions"):
            condition: Node = ProblemVar(test[1:])
            member = test[1:]
        else:
            # Compiled for its checks only; what it would add to carries is its own business.
            condition = _Compiler().variable(test, where, guard=None, in_each=in_each)
            member = test[1:] if test[1:] in _PROBLEM_VARS else _NEVER
        inner = member if guard is None or guard == member else _NEVER
        then = self.compile(value["then"], member_path(path, "then"), guard=inner, in_each=in_each)
        return If(condition, then)

    def finish(self) -> None:
        if not self.message_path:
            raise FormatError("at $: a template must place $message somewhere")
        if {"code", "message"} <= self.each_parts and self.each_parts & {"pointer", "path"}:
            self.carried.add("fields")
        for spread, obj in self.spreads:
            spread.excluded = frozenset(self.placed) | (obj.named - {"..."})
        assert self.carried <= CARRIABLE
