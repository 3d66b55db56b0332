"""Property: what a server renders, the client parses back to the same error.

For every built-in profile and every format its catalog serves (the primary one and the
alternates, problem+xml included), a problem is built with ``catalog.problem(key, ...)`` for
any entry: parameters of the declared types, field errors with any pointers, extension
members, a request id and a delay. The format renders it as the server would, and
``parse(catalog, body, status=..., content_type=...)`` must give back the same key, code,
status, message, field errors and extensions, and every other member the format carries.

Only the losses each format documents are allowed, each stated where it is checked:

- A member outside ``fmt.carries`` has no place in the body (tape carries no extensions).
  The request id then comes from the ``X-Request-Id`` header, which the layer echoes.
- Shapes without a member for field errors (``folds_fields``: tape, symbl, wetransfer) write
  them into the message with `fold_fields`; the client gets that message and no fields.
  The entry is still identified, by code or, for message-only shapes, by the message the
  folded one starts with.
- Discord nests field errors by pointer, which keeps their order only within one pointer.
- problem+xml turns characters XML 1.0 cannot hold into U+FFFD; its extension values are
  strings and non-empty lists and objects of strings (XML has no other types).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from errorbook import Catalog, Format, Problem, profile_names
from errorbook._problem import fold_fields
from errorbook.client._parse import parse
from tests.formats.test_roundtrip import (
    FIELD,
    JSON_VALUE,
    KEY,
    NESTED,
    SHORT,
    XML_VALUE,
    _xml_text,
)

CATALOGS = {name: Catalog.load(name) for name in profile_names()}
CASES = [(profile, fmt.name) for profile, cat in CATALOGS.items() for fmt in cat.formats]
XML = "problem+xml"

PARAM_VALUES = {
    "str": SHORT,
    "int": st.integers(),
    "float": st.floats(allow_nan=False) | st.integers(),
    "bool": st.booleans(),
}
#: A request id the layer would accept and echo in X-Request-Id: a printable ASCII token.
TOKEN = st.from_regex(r"[\x21-\x7e]{1,40}", fullmatch=True)
TOKEN_RE = re.compile(r"[\x21-\x7e]{1,200}")
DELAY = st.none() | st.floats(min_value=0, max_value=1e6) | st.integers(0, 86_400)


def _format(catalog: Catalog, name: str) -> Format:
    return next(fmt for fmt in catalog.formats if fmt.name == name)


@st.composite
def _problems(draw: st.DrawFn, catalog: Catalog, fmt: Format) -> Problem:
    spec = draw(st.sampled_from(list(catalog)))
    params: dict[str, Any] = {n: draw(PARAM_VALUES[kind]) for n, kind in spec.params.items()}
    values = XML_VALUE if fmt.name == XML else JSON_VALUE
    return catalog.problem(
        spec.key,
        fields=draw(st.lists(FIELD, max_size=3)),
        extensions=draw(st.dictionaries(KEY, values, max_size=3)),
        request_id=draw(st.none() | TOKEN | SHORT),
        instance=draw(st.none() | SHORT),
        retry_after=draw(DELAY),
        language=draw(st.sampled_from(spec.languages)),
        **params,
    )


def _expected(fmt: Format, problem: Problem, member: str) -> Any:
    """What the format promises to give back for ``member``."""
    value = getattr(problem, member)
    if member == "retry_after" and value is not None:
        value = float(value)
    if fmt.name == XML:
        value = _xml_text(value)
    return value


ROUND_TRIP = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize(("profile", "format_name"), CASES, ids=[f"{p}-{f}" for p, f in CASES])
@ROUND_TRIP
@given(data=st.data())
def test_client_parses_what_the_server_rendered(
    profile: str, format_name: str, data: st.DataObject
) -> None:
    """parse(render(problem)) gives the same key, code, status, message, fields and
    extensions, and the same value for every other member the format carries."""
    catalog = CATALOGS[profile]
    fmt = _format(catalog, format_name)
    problem = data.draw(_problems(catalog, fmt))
    assert problem.key is not None
    spec = catalog[problem.key]
    body = fmt.render(problem)
    headers = {"Content-Type": fmt.media_type}
    sent_id = problem.request_id
    header_id = sent_id is not None and TOKEN_RE.fullmatch(sent_id) is not None
    if header_id:
        headers["X-Request-Id"] = sent_id or ""

    back = parse(catalog, body, status=problem.status, content_type=fmt.media_type, headers=headers)

    want = problem
    if getattr(fmt, "folds_fields", False):
        # The documented loss: the message tells the field errors; no fields come back.
        want = problem.replace(message=fold_fields(problem.message, problem.fields), fields=())
    # Identified: the entry's key and code, whether the body carries the code or not.
    assert (back.key, back.code, back.status) == (spec.key, spec.code, spec.status)
    assert type(back.code) is type(spec.code)
    assert back.message == _expected(fmt, want, "message")
    assert back.title == problem.title  # carried, or filled in from the entry
    assert back.type == problem.type == catalog.type_uri(spec)
    if "fields" in fmt.carries or getattr(fmt, "folds_fields", False):
        expected_fields = _expected(fmt, want, "fields")
        if fmt.name in NESTED:
            assert Counter(back.fields) == Counter(expected_fields)
        else:
            assert back.fields == expected_fields
    if "extensions" in fmt.carries:
        assert back.extensions == _expected(fmt, want, "extensions")
    standard = {"code", "status", "message", "fields", "extensions", "request_id"}
    for member in sorted(fmt.carries - standard):
        assert getattr(back, member) == _expected(fmt, want, member), member
    # In the body or not, a request id comes back only when it is a clean token (one that is
    # not would forge log lines); when the body has no place for it, the header the layer
    # echoes stands in.
    assert back.request_id == (sent_id if header_id else None)


def test_every_profile_format_is_covered() -> None:
    """XML is among the cases, and every catalog format of every profile is one."""
    assert ("rfc9457", XML) in CASES
    assert len(CASES) == sum(len(cat.formats) for cat in CATALOGS.values())
