"""Property: every registered format gives back what it says it carries, for hostile input.

Strings mix quotes, markup, ``]]>``, CR/LF, non-ASCII, emoji and 10k-character runs. Lone
surrogates are left out: they are not valid Unicode, and render only promises not to raise
for them. problem+xml gets the full alphabet and is held to its documented loss (characters
XML 1.0 cannot carry become U+FFFD); its extension values are strings and non-empty nested
lists and objects of strings, because XML has no JSON types and no way to tell an empty
array, an empty object and an empty string apart.

Numbers are hostile too. ``retry_after`` may be NaN, an infinity, negative or an int too large
for a float, and render must still write a body that parses back (a delay only when finite,
never below 0). Extensions may hold what no format can write: non-finite floats, cycles,
nesting thousands of levels deep, ints past Python's digit limit, objects whose ``str()``
raises. Render must leave out exactly those members. Parsed bodies get ``NaN``, ``Infinity``,
``1e999``, 400-digit ints, statuses outside 100-599 and 100k-deep nesting. Parse must raise
FormatError or give a Problem with a real status and a finite delay, which renders again as
strict JSON.
"""

from __future__ import annotations

import json
import math
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
from errorbook._problem import FieldError, Problem, fold_fields

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


#: Delays render must tame: NaN, infinities, negatives, and ints past the range of a float.
RETRY_AFTER = st.one_of(
    st.none(),
    st.floats(),
    st.floats(min_value=0, allow_infinity=False),
    st.integers(-(10**6), 10**6),
    st.sampled_from([10**400, -(10**400), 2**1024, 2**1023]),
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
        retry_after=RETRY_AFTER,
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


def _written_retry_after(value: float | None) -> float | None:
    """What a body can say about a delay: nothing unless it is finite, and never below 0."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _strict_json(body: bytes) -> Any:
    """``body`` as JSON, failing on NaN and Infinity, which Python's json would accept."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} is not JSON")

    return json.loads(body, parse_constant=refuse)


def _check(name: str, problem: Problem, expected_problem: Problem | None = None) -> None:
    """parse(render(problem)) equals ``expected_problem`` (default: ``problem``) where carried."""
    fmt = get_format(name)
    body = fmt.render(problem)
    if name != XML:
        _strict_json(body)
    back = fmt.parse(body, status=problem.status)
    assert back.key is None
    want = problem if expected_problem is None else expected_problem
    if getattr(fmt, "folds_fields", False) and want.fields:
        # A shape without field errors tells them in its message; that is what comes back.
        want = want.replace(message=fold_fields(want.message, want.fields))
    for member in sorted(fmt.carries):
        expected, actual = getattr(want, member), getattr(back, member)
        if member == "retry_after":
            expected = _written_retry_after(expected)
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


class _Unprintable:
    def __str__(self) -> str:
        raise KeyError("no text for this one")


def _cyclic_list(inner: Any) -> list[Any]:
    loop = [inner]
    loop.append(loop)
    return loop


def _cyclic_dict(inner: Any) -> dict[str, Any]:
    cycle: dict[str, Any] = {"v": inner}
    cycle["down"] = {"up": [cycle]}
    return cycle


def _deep(inner: Any, depth: int, as_object: bool) -> Any:
    for _ in range(depth):
        inner = {"a": inner} if as_object else [inner]
    return inner


#: Leaves no format can write: they are not numbers JSON has, or they have no text at all.
UNWRITABLE_LEAF = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.just(10**5000),  # str() refuses it: past Python's 4300-digit limit
    st.builds(_Unprintable),
)
#: Extension values that must be left out, whole, by every format's render.
UNWRITABLE = st.one_of(
    UNWRITABLE_LEAF,
    st.builds(lambda good, bad: [*good, bad], st.lists(JSON_VALUE, max_size=2), UNWRITABLE_LEAF),
    st.builds(
        lambda good, bad: {**good, "x": bad},
        st.dictionaries(KEY, SHORT, max_size=2),
        UNWRITABLE_LEAF,
    ),
    st.builds(_cyclic_list, JSON_VALUE),
    st.builds(_cyclic_dict, JSON_VALUE),
    # Far past any interpreter's recursion limit, so no format can write it.
    st.builds(_deep, XML_VALUE, st.just(100_000), st.booleans()),
)
HOSTILE_RENDER = settings(
    max_examples=30,  # every example holds an unwritable member, so each one tests the fallback
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("name", format_names(), ids=format_names())
@HOSTILE_RENDER
@given(data=st.data())
def test_render_leaves_out_only_the_extensions_it_cannot_write(
    name: str, data: st.DataObject
) -> None:
    """Render never raises and never writes NaN; a member it cannot write is left out alone,
    so the body parses back to the same problem with only those members missing."""
    problem = data.draw(_problems(XML_VALUE if name == XML else JSON_VALUE))
    bad = data.draw(st.dictionaries(KEY, UNWRITABLE, min_size=1, max_size=3))
    hostile = problem.replace(extensions={**problem.extensions, **bad})
    clean = problem.replace(
        extensions={k: v for k, v in problem.extensions.items() if k not in bad}
    )
    _check(name, hostile, clean)


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


class Raw:
    """JSON text spliced into a body as it is: what json.dumps would never write."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text[:24]!r})"


def _raw(texts: list[str]) -> st.SearchStrategy[Raw]:
    # Sampled as built objects so that Hypothesis shows Raw's short repr, not 200k brackets.
    return st.sampled_from([Raw(text) for text in texts])


#: Number tokens Python's decoder accepts or chokes on, and nesting deeper than it can go.
RAW_TOKENS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "1e-999",
    "1" + "0" * 400,
    "-1" + "0" * 400,
    "9" * 4000,
    "9" * 5000,
    "-0",
    "4e2",
    "400.0",
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 5_000 + "1" + "}" * 5_000,
]
#: Statuses and numbers that are valid JSON but no HTTP status or delay.
HOSTILE_NUMBER = st.one_of(
    st.integers(),
    st.floats(),
    st.sampled_from([0, 99, 100, 599, 600, -5, -1, 10**30, 2**63, 10**400]),
    st.from_regex(r"-?[0-9]{1,12}", fullmatch=True),
    st.sampled_from(["000000000", "099", "600", "\uff14\uff10\uff10", " 400", "4e2"]),
    _raw(RAW_TOKENS),
)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | HOSTILE_NUMBER | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["_errors", "message", "code", "@type", "a", "0"]), inner)
    ),
    max_leaves=6,
)


def _dump(value: Any) -> bytes:
    """``value`` as JSON text, with each Raw's text spliced in where it stands."""
    raws: list[str] = []

    def placeholder(raw: Any) -> str:
        assert isinstance(raw, Raw)
        raws.append(raw.text)
        return f"\x00raw{len(raws) - 1}\x00"

    text = json.dumps(value, default=placeholder)
    for index, raw in enumerate(raws):
        text = text.replace(f'"\\u0000raw{index}\\u0000"', raw, 1)
    return text.encode()


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
    """A FormatError, or a Problem that holds nothing a later render or header would choke
    on, is a pass; any other exception fails the test."""
    fmt = get_format(name)
    try:
        problem = fmt.parse(body, status=400)
    except FormatError:
        return
    assert type(problem.status) is int
    assert 100 <= problem.status <= 599
    retry_after = problem.retry_after
    if retry_after is not None:
        assert type(retry_after) is float
        assert math.isfinite(retry_after)
        assert retry_after >= 0
        math.ceil(retry_after)  # what the Retry-After header does with it
    again = fmt.render(problem)  # a client may pass on what it parsed
    if name != XML:
        _strict_json(again)


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
    _parse_or_format_error(name, _dump(body))


def _places(name: str, wanted: object) -> list[tuple[Any, ...]]:
    """Where SAMPLE's body holds ``wanted`` (400 or "400" for the status, 1.5 for the delay)."""
    body = json.loads(get_format(name).render(SAMPLE))
    found = []
    for where in _locations(body):
        value = body
        for step in where:
            value = value[step]
        if type(value) is type(wanted) and value == wanted:
            found.append(where)
    return found


def _with(body: Any, where: tuple[Any, ...], value: Any) -> Any:
    parent = body
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = value
    return body


#: Every status that is not one: out of 100-599, or spelled as something other than 3 digits.
BAD_STATUS = st.one_of(
    st.integers().filter(lambda n: not 100 <= n <= 599),
    st.sampled_from([0, 99, 600, -5, 10**30]),
    _raw(["9" * 4000, "-" + "4" * 4000]),
    st.from_regex(r"-?[0-9]{1,12}", fullmatch=True).filter(
        lambda s: not (len(s) == 3 and 100 <= int(s) <= 599)
    ),
    st.sampled_from(["000000000", "0400", "40", "\uff14\uff10\uff10", " 400", "4e2"]),
)
#: Every delay that is not one: negative, not finite, or too large for a float.
BAD_DELAY = st.one_of(
    st.floats(max_value=-5e-324),
    st.integers(max_value=-1),
    _raw(["NaN", "Infinity", "-Infinity", "1e999", "1" + "0" * 400, "-1e-300", "-0.5"]),
)
STATUS_PLACES = {name: _places(name, 400) + _places(name, "400") for name in JSON_NAMES}
DELAY_PLACES = {name: _places(name, 1.5) for name in JSON_NAMES}
STATUS_NAMES = [name for name in JSON_NAMES if STATUS_PLACES[name]]
DELAY_NAMES = [name for name in JSON_NAMES if DELAY_PLACES[name]]


@pytest.mark.parametrize("name", STATUS_NAMES, ids=STATUS_NAMES)
@FUZZ
@given(data=st.data())
def test_a_body_status_outside_100_to_599_is_refused(name: str, data: st.DataObject) -> None:
    """Where a format keeps its status, anything but an HTTP status there is a FormatError."""
    where = data.draw(st.sampled_from(STATUS_PLACES[name]))
    body = _with(json.loads(get_format(name).render(SAMPLE)), where, data.draw(BAD_STATUS))
    with pytest.raises(FormatError):
        get_format(name).parse(_dump(body), status=400)


@pytest.mark.parametrize("name", DELAY_NAMES, ids=DELAY_NAMES)
@FUZZ
@given(data=st.data())
def test_a_body_delay_that_is_not_one_is_refused(name: str, data: st.DataObject) -> None:
    """Where a format keeps retry_after, a negative, non-finite or huge number is refused."""
    where = data.draw(st.sampled_from(DELAY_PLACES[name]))
    body = _with(json.loads(get_format(name).render(SAMPLE)), where, data.draw(BAD_DELAY))
    with pytest.raises(FormatError):
        get_format(name).parse(_dump(body), status=429)


def _xml_number(value: Any) -> str:
    return value.text if isinstance(value, Raw) else str(value)


def _xml_status(value: Any) -> bool:
    """Whether XML reads ``value`` as a status: an integer in 100-599, even ``0400``."""
    text = _xml_number(value)
    return re.fullmatch(r"\s*[+-]?[0-9]+\s*", text) is not None and 100 <= int(text) <= 599


@FUZZ
@given(status=BAD_STATUS.filter(lambda v: not _xml_status(v)), delay=BAD_DELAY, which=st.booleans())
def test_xml_refuses_a_status_or_delay_that_is_not_one(
    status: Any, delay: Any, which: bool
) -> None:
    """problem+xml holds its status and retry_after to the rules of the JSON formats; its
    status is an XML integer, so ``0400`` is 400 there, where JSON:API's "0400" is refused."""
    body = get_format(XML).render(SAMPLE).decode()
    if which:
        body = body.replace("<status>400</status>", f"<status>{_xml_number(status)}</status>")
    else:
        body = body.replace(
            "<retry_after>1.5</retry_after>", f"<retry_after>{_xml_number(delay)}</retry_after>"
        )
    with pytest.raises(FormatError):
        get_format(XML).parse(body.encode(), status=400)


@pytest.mark.parametrize("name", format_names(), ids=format_names())
@FUZZ
@given(data=st.data())
def test_spliced_bytes_raise_only_format_error(name: str, data: st.DataObject) -> None:
    """Cutting and splicing bytes into a real body never escapes as another exception."""
    body = get_format(name).render(SAMPLE)
    start = data.draw(st.integers(0, len(body)))
    end = data.draw(st.integers(start, min(len(body), start + 20)))
    _parse_or_format_error(name, body[:start] + data.draw(st.binary(max_size=8)) + body[end:])
