"""``application/problem+xml`` (RFC 9457 Appendix B), for clients that ask for XML.

The serializer is written out by hand: it is short, it is fast, and it controls the two
places where a generic one goes wrong for round trips (``\\r`` and characters XML cannot hold).

Decisions a reader of the wire format should know:

- Members are the problem+json ones, as elements of ``<problem xmlns="urn:ietf:rfc:7807">``;
  arrays are ``<i>`` children and objects child elements, as Appendix B says. Field errors
  are ``<errors><i><pointer/><code/><detail/></i></errors>``.
- XML has no integer type, and a code of ``"123"`` must not come back as ``123``, so an
  integer code is written ``<code type="integer">50014</code>``. Readers that ignore the
  attribute still see the code's text; a string code has no attribute.
- ``\\r`` is written ``&#13;`` because a parser turns a literal CR into LF. Characters XML 1.0
  cannot carry at all (C0 controls other than tab, LF and CR; U+FFFE, U+FFFF; lone
  surrogates) become U+FFFD. This is the one lossy case for text.
- Extension leaves come back as strings (``true``, ``5``, ``""`` for null), an empty array or
  object comes back as ``""``, and an object whose only member is named ``i`` comes back as
  an array: XML has no way to tell these apart.
- Extension member names that are not plain ASCII XML names (letters, digits, ``_ - .``, not
  starting with a digit, ``-`` or ``.``) are skipped at render, as are names of standard
  members; colons are refused because they would be read as namespace prefixes.
- Render never raises. As in problem+json, an extension member that cannot be written is
  left out and the rest of the body is written: one holding a non-finite float, a reference
  cycle, an int past Python's digit limit or an object whose ``str()`` raises. Here the
  writer is ours, so the depth rule is exact: a member nested more than 64 levels deep is
  left out (which also stops cycles). ``retry_after`` is written only when finite, and a
  negative one as ``0``.
- Parsing refuses a ``status`` outside 100-599 and a ``retry_after`` that is negative or
  not finite.
- A body with a DOCTYPE or ENTITY declaration is refused before it reaches the parser, so
  entity expansion (billion laughs) and external entities cannot happen.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from typing import Any, Final

from .._errors import FormatError
from .._problem import FieldError, Problem
from ._json import (
    MAX_DEPTH,
    STANDARD_MEMBERS,
    ProblemJson,
    encode_utf8,
    fallback_message,
    retry_after_seconds,
    shorten,
    valid_retry_after,
    valid_status,
)

__all__ = ["ProblemXml"]

_NS: Final = "urn:ietf:rfc:7807"
_ITEM: Final = "{urn:ietf:rfc:7807}i"
_HEAD: Final = '<?xml version="1.0" encoding="UTF-8"?><problem xmlns="urn:ietf:rfc:7807">'
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_UNCARRIABLE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SPECIAL: Final = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_DECLARATION: Final = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_INTEGER: Final = re.compile(r"\s*[+-]?[0-9]+\s*\Z")
_NUMBER: Final = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*\Z")


def _is_name(key: object) -> bool:
    # Typed `object`: a Problem's extensions come from user code, whatever the hints say.
    return isinstance(key, str) and _NAME.match(key) is not None


def _escape(text: str) -> str:
    # Most text needs nothing done; one scan finds out, and only then is it rewritten.
    if not _SPECIAL.search(text):
        return text
    if _UNCARRIABLE.search(text):
        text = _UNCARRIABLE.sub("\ufffd", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _element(out: list[str], name: str, text: str) -> None:
    out.append(f"<{name}>{_escape(text)}</{name}>")


class _Unwritable(Exception):
    """An extension value render leaves out: too deep (or cyclic), or a non-finite float."""


def _value(out: list[str], name: str, value: Any, room: int) -> None:
    """Write one extension value with ``room`` levels of nesting left.

    Raises:
        _Unwritable: or whatever ``str()`` raises; `_extension` leaves the member out.
    """
    if isinstance(value, dict):
        if not room:
            raise _Unwritable
        out.append(f"<{name}>")
        for key, member in value.items():
            if _is_name(key):
                _value(out, key, member, room - 1)
        out.append(f"</{name}>")
    elif isinstance(value, list | tuple):
        if not room:
            raise _Unwritable
        out.append(f"<{name}>")
        for item in value:
            _value(out, "i", item, room - 1)
        out.append(f"</{name}>")
    elif value is None:
        out.append(f"<{name}/>")
    elif value is True or value is False:
        out.append(f"<{name}>{'true' if value else 'false'}</{name}>")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _Unwritable
        out.append(f"<{name}>{value!r}</{name}>")
    else:
        _element(out, name, str(value))


def _extension(out: list[str], name: str, value: Any) -> None:
    """Write one extension member, or nothing if any part of it cannot be written."""
    mark = len(out)
    try:
        _value(out, name, value, MAX_DEPTH)
    except Exception:  # _Unwritable, or a __str__ that raised: only this member is lost
        del out[mark:]


class ProblemXml:
    """``application/problem+xml``, RFC 9457 Appendix B."""

    name: str = "problem+xml"
    media_type: str = "application/problem+xml"
    #: Appendix B maps the JSON members one to one, so XML carries what problem+json does.
    carries: frozenset[str] = ProblemJson.carries

    def render(self, problem: Problem) -> bytes:
        """The problem+xml body, with an XML declaration; None members are left out."""
        out = [_HEAD]
        if problem.type is not None:
            _element(out, "type", problem.type)
        if problem.title is not None:
            _element(out, "title", problem.title)
        out.append(f"<status>{int(problem.status)}</status>")
        _element(out, "detail", problem.message)
        if problem.instance is not None:
            _element(out, "instance", problem.instance)
        code = problem.code
        if isinstance(code, int) and not isinstance(code, bool):
            out.append(f'<code type="integer">{code}</code>')
        elif code is not None:
            _element(out, "code", str(code))
        if problem.request_id is not None:
            _element(out, "request_id", problem.request_id)
        if problem.retry_after is not None:
            retry_after = retry_after_seconds(problem.retry_after)
            if retry_after is not None:
                out.append(f"<retry_after>{float(retry_after)!r}</retry_after>")
        if problem.fields:
            out.append("<errors>")
            for field in problem.fields:
                out.append("<i>")
                _element(out, "pointer", field.pointer)
                _element(out, "code", field.code)
                _element(out, "detail", field.message)
                out.append("</i>")
            out.append("</errors>")
        for key, value in problem.extensions.items():
            if value is not None and key not in STANDARD_MEMBERS and _is_name(key):
                _extension(out, key, value)
        out.append("</problem>")
        return encode_utf8("".join(out))

    def parse(self, body: bytes, *, status: int | None = None) -> Problem:
        """A Problem from a problem+xml body; unknown elements become extensions."""
        root = _load(body, self.name)
        members: dict[str, ET.Element] = {}
        for child in root:
            namespace, _, local = child.tag[1:].partition("}")
            if namespace == _NS:  # elements of other vocabularies are not ours to read
                members[local] = child
        read = _Reader(members, self.name)
        body_status = read.status()
        status = body_status if body_status is not None else status
        if status is None:
            raise FormatError(f"not a {self.name} body: no status in the body or the response")
        title = read.text("title")
        detail = read.text("detail")
        try:
            extensions = {k: _to_json(v) for k, v in members.items() if k not in STANDARD_MEMBERS}
        except RecursionError as exc:
            raise FormatError(f"not a {self.name} body: nested too deeply") from exc
        return Problem(
            code=read.code(),
            status=status,
            message=detail if detail is not None else fallback_message(title, status),
            title=title,
            type=read.text("type"),
            instance=read.text("instance"),
            fields=read.errors(),
            extensions=extensions,
            request_id=read.text("request_id"),
            retry_after=read.retry_after(),
        )


def _load(body: bytes, name: str) -> ET.Element:
    try:
        # Decoding first, and parsing the str, makes the parser ignore the declared encoding:
        # a UTF-16 body whose bytes happen to be valid UTF-8 cannot smuggle a DOCTYPE past
        # the check below.
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not a {name} body: not UTF-8 ({exc.reason})") from exc
    if _DECLARATION.search(text):
        raise FormatError(f"not a {name} body: DOCTYPE and ENTITY declarations are refused")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise FormatError(f"not a {name} body: not well-formed XML ({exc})") from exc
    if root.tag != "{urn:ietf:rfc:7807}problem":
        raise FormatError(
            f'not a {name} body: the root element must be <problem xmlns="{_NS}">, not {root.tag}'
        )
    return root


def _to_json(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    if all(child.tag == _ITEM for child in children):
        return [_to_json(child) for child in children]
    value: dict[str, Any] = {}
    for child in children:
        namespace, _, local = child.tag[1:].partition("}")
        if namespace == _NS:
            value[local] = _to_json(child)
    return value


class _Reader:
    """Reads the standard members as their types, with errors that name the element."""

    __slots__ = ("members", "name")

    def __init__(self, members: dict[str, ET.Element], name: str) -> None:
        self.members = members
        self.name = name

    def _wrong(self, key: str, expected: str) -> FormatError:
        return FormatError(f"not a {self.name} body: <{key}> must be {expected}")

    def text(self, key: str) -> str | None:
        element = self.members.get(key)
        if element is None:
            return None
        if len(element):
            raise self._wrong(key, "text, not elements")
        return element.text or ""

    def integer(self, key: str) -> int | None:
        text = self.text(key)
        if text is None:
            return None
        if not _INTEGER.match(text):
            raise self._wrong(key, "an integer")
        try:
            return int(text)
        except ValueError:  # past the interpreter's limit on digits
            raise self._wrong(key, "an integer of sensible size") from None

    def status(self) -> int | None:
        value = self.integer("status")
        if value is None or valid_status(value):
            return value
        raise self._wrong("status", f"an HTTP status from 100 to 599, not {shorten(str(value))}")

    def retry_after(self) -> float | None:
        text = self.text("retry_after")
        if text is None:
            return None
        if not _NUMBER.match(text):
            raise self._wrong("retry_after", "a number")
        value = valid_retry_after(float(text))
        if value is None:
            raise self._wrong("retry_after", "a finite number >= 0")
        return value

    def code(self) -> str | int | None:
        kind = self.members["code"].get("type") if "code" in self.members else None
        if kind is None:
            return self.text("code")
        if kind != "integer":
            raise self._wrong("code", 'typed "integer" or untyped')
        return self.integer("code")

    def errors(self) -> list[FieldError]:
        element = self.members.get("errors")
        if element is None:
            return []
        fields = []
        for item in element:
            if item.tag != _ITEM:
                raise self._wrong("errors", "a list of <i> elements")
            parts = {child.tag.rpartition("}")[2]: child for child in item}
            strings = []
            for key in ("pointer", "code", "detail"):
                child = parts.get(key)
                if child is None and key == "code":
                    strings.append("")
                    continue
                if child is None or len(child):
                    raise self._wrong("errors", f"items with a text <{key}>")
                strings.append(child.text or "")
            fields.append(FieldError(*strings))
        return fields
