"""Property: every registered format gives back what it says it carries, for hostile input.

Strings mix quotes, markup, ``]]>``, CR/LF, non-ASCII, emoji and 10k-character runs. Lone
surrogates are left out: they are not valid Unicode, and render only promises not to raise
for them. problem+xml gets the full alphabet and is held to its documented loss (characters
XML 1.0 cannot carry become U+FFFD); its extension values are strings and non-empty nested
lists and objects of strings, because XML has no JSON types and no way to tell an empty
array, an empty object and an empty string apart.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonpointer import JsonPointer

from errorbook._errors import FormatError
from errorbook._formats import format_names, get_format
from errorbook._formats._builtin import TEMPLATES
from errorbook._formats._json import STANDARD_MEMBERS
from errorbook._problem import FieldError, Problem

#: Formats that nest field errors by pointer, which keeps the order only within one pointer.
NESTED = {"discord"}
XML = "problem+xml"


def _template_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(_template_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_template_keys(v) for v in value))
    return set()


#: Names an extension may not have, since some format gives them a meaning of its own.
RESERVED = STANDARD_MEMBERS | _template_keys([t for _, t in TEMPLATES.values()]) | {"i"}

SAMPLES = [
    '"',
    "'",
    "<",
    ">",
    "&",
    "]]>",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "\\",
    "é",
    "日本語",
    "😀",
    "\u2028",
    "</detail>",
    "<![CDATA[",
    "&amp;",
    "$message",
    "~0~1/",
    " ",
    "",
]
CHARS = st.characters(codec="utf-8")  # every code point but the surrogates
SHORT = st.one_of(
    st.text(CHARS, max_size=12),
    st.sampled_from(SAMPLES),
    st.lists(st.one_of(st.sampled_from(SAMPLES), st.text(CHARS, max_size=4)), max_size=5).map(
        "".join
    ),
)
LONG = st.text(CHARS, min_size=1, max_size=4).map(lambda s: (s * 10_000)[:10_000])
HOSTILE = st.one_of(SHORT, SHORT, SHORT, LONG)

SEGMENT = st.one_of(SHORT, st.integers(0, 30).map(str)).filter(lambda s: s != "_errors")
POINTER = st.lists(SEGMENT, max_size=4).map(lambda parts: JsonPointer.from_parts(parts).path)
FIELD = st.builds(FieldError, POINTER, HOSTILE, HOSTILE)
KEY = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda k: k not in RESERVED)

JSON_VALUE = st.recursive(
    st.one_of(SHORT, st.integers(), st.booleans()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(SHORT, inner, max_size=3)),
    max_leaves=8,
)
XML_VALUE = st.recursive(
    SHORT,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3), st.dictionaries(KEY, inner, min_size=1, max_size=3)
    ),
    max_leaves=8,
)


def _problems(extension_values: st.SearchStrategy[Any]) -> st.SearchStrategy[Problem]:
    optional = st.none() | HOSTILE
    return st.builds(
        Problem,
        code=st.one_of(st.none(), HOSTILE, st.integers()),
        status=st.integers(100, 599),
        message=HOSTILE,
        title=optional,
        detail=optional,
        type=optional,
        instance=optional,
        fields=st.lists(FIELD, max_size=4),
        extensions=st.dictionaries(KEY, extension_values, max_size=4),
        request_id=optional,
        retry_after=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    )


_UNCARRIABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: Any) -> Any:
    """What problem+xml promises to give back: the text, with uncarriable characters U+FFFD."""
    if isinstance(value, str):
        return _UNCARRIABLE.sub("\ufffd", value)
    if isinstance(value, FieldError):
        return FieldError(*(_xml_text(part) for part in (value.pointer, value.code, value.message)))
    if isinstance(value, tuple | list):
        return type(value)(_xml_text(item) for item in value)
    if isinstance(value, dict):
        return {key: _xml_text(item) for key, item in value.items()}
    return value


def _check(name: str, problem: Problem) -> None:
    fmt = get_format(name)
    back = fmt.parse(fmt.render(problem), status=problem.status)
    assert back.key is None
    for member in sorted(fmt.carries):
        expected, actual = getattr(problem, member), getattr(back, member)
        if name == XML:
            expected = _xml_text(expected)
        if member == "fields" and name in NESTED:
            assert Counter(actual) == Counter(expected), member
        else:
            assert actual == expected, member
            assert type(actual) is type(expected), member


ROUND_TRIP = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
JSON_NAMES = [name for name in format_names() if name != XML]


@pytest.mark.parametrize("name", JSON_NAMES, ids=JSON_NAMES)
@ROUND_TRIP
@given(problem=_problems(JSON_VALUE))
def test_json_formats_round_trip(name: str, problem: Problem) -> None:
    """parse(render(p)) gives back every member the format carries, exactly and typed."""
    _check(name, problem)


@ROUND_TRIP
@given(problem=_problems(XML_VALUE))
def test_xml_round_trips_with_only_the_documented_loss(problem: Problem) -> None:
    """problem+xml gives back what it carries; only XML-uncarriable characters become U+FFFD."""
    _check(XML, problem)


@ROUND_TRIP
@given(problem=_problems(JSON_VALUE))
def test_nested_fields_keep_their_order_within_one_pointer(problem: Problem) -> None:
    """Discord's tree groups by pointer, but errors at one pointer keep their order."""
    back = get_format("discord").parse(get_format("discord").render(problem), status=400)
    for pointer in {field.pointer for field in problem.fields}:
        assert [f for f in back.fields if f.pointer == pointer] == [
            f for f in problem.fields if f.pointer == pointer
        ]


SAMPLE = Problem(
    code=50014,
    status=400,
    message="m",
    title="t",
    type="https://e/t",
    instance="/i",
    request_id="r",
    retry_after=1.5,
    fields=[FieldError("/a/0", "c", "m"), FieldError("", "c2", "m2")],
    extensions={"x": {"y": ["1", "2"]}},
)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["_errors", "message", "code", "@type", "a", "0"]), inner)
    ),
    max_leaves=6,
)


def _locations(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _locations(child, (*here, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _locations(child, (*here, index))
    return found


def _parse_or_format_error(name: str, body: bytes) -> None:
    # Any other exception fails the test; a FormatError, or a Problem, is a pass.
    with contextlib.suppress(FormatError):
        get_format(name).parse(body, status=400)


FUZZ = settings(max_examples=60, deadline=None)


@pytest.mark.parametrize("name", JSON_NAMES, ids=JSON_NAMES)
@FUZZ
@given(data=st.data())
def test_any_json_in_any_place_raises_only_format_error(name: str, data: st.DataObject) -> None:
    """Replacing any part of a real body with any JSON never escapes as another exception."""
    body = json.loads(get_format(name).render(SAMPLE))
    where = data.draw(st.sampled_from(_locations(body)))
    value = data.draw(ANY_JSON)
    if where:
        parent = body
        for step in where[:-1]:
            parent = parent[step]
        parent[where[-1]] = value
    else:
        body = value
    _parse_or_format_error(name, json.dumps(body).encode())


@pytest.mark.parametrize("name", format_names(), ids=format_names())
@FUZZ
@given(data=st.data())
def test_spliced_bytes_raise_only_format_error(name: str, data: st.DataObject) -> None:
    """Cutting and splicing bytes into a real body never escapes as another exception."""
    body = get_format(name).render(SAMPLE)
    start = data.draw(st.integers(0, len(body)))
    end = data.draw(st.integers(start, min(len(body), start + 20)))
    _parse_or_format_error(name, body[:start] + data.draw(st.binary(max_size=8)) + body[end:])
