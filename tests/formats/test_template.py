"""Declarative templates: variables, spreads, $each/$if, paths, validation and parse checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from errorbook._errors import FormatError
from errorbook._formats import Format, template_format
from errorbook._formats._template_nodes import path_to_pointer, pointer_to_path
from errorbook._problem import FieldError, Problem


def _problem(**changes: Any) -> Problem:
    members: dict[str, Any] = {"code": "bad", "status": 400, "message": "Bad."}
    members.update(changes)
    return Problem(**members)


def _render(template: dict[str, Any], problem: Problem) -> Any:
    return json.loads(template_format("t", template).render(problem))


def test_template_format_satisfies_the_protocol() -> None:
    """A built template is a Format with the given name and media type."""
    fmt = template_format("mine", {"m": "$message"}, media_type="application/vnd.x+json")
    assert isinstance(fmt, Format)
    assert (fmt.name, fmt.media_type) == ("mine", "application/vnd.x+json")


def test_variables_render_problem_members() -> None:
    """Each scalar variable renders the Problem member of the same name, types kept."""
    template = {
        "c": "$code",
        "m": "$message",
        "t": "$title",
        "s": "$status",
        "st": "$status_text",
        "sn": "$status_name",
        "d": "$detail",
        "ty": "$type",
        "i": "$instance",
        "r": "$request_id",
        "ra": "$retry_after",
        "x": "$ext.param",
    }
    problem = _problem(
        code=7,
        title="T",
        detail="D",
        type="https://e",
        instance="/i",
        request_id="r1",
        retry_after=2.5,
        extensions={"param": ["a"]},
    )
    assert _render(template, problem) == {
        "c": 7,
        "m": "Bad.",
        "t": "T",
        "s": 400,
        "st": "400",
        "sn": "INVALID_ARGUMENT",
        "d": "D",
        "ty": "https://e",
        "i": "/i",
        "r": "r1",
        "ra": 2.5,
        "x": ["a"],
    }


def test_none_members_and_empty_dynamic_containers_are_left_out() -> None:
    """Members rendering None, arrays rendering empty and variable-only objects are omitted."""
    template = {
        "m": "$message",
        "c": "$title",
        "a": [{"$each": "$fields", "item": {"p": "$field.pointer"}}],
        "o": {"r": "$request_id"},
        "lit": {"kept": True},
        "n": None,
    }
    assert _render(template, _problem()) == {"m": "Bad.", "lit": {"kept": True}}


def test_literals_and_dollar_escape() -> None:
    """Non-variable values render as they are, and $$ at the start writes one literal $."""
    template = {"m": "$message", "price": "$$5.00", "mid": "a$b", "n": 1, "f": False}
    assert _render(template, _problem()) == {
        "m": "Bad.",
        "price": "$5.00",
        "mid": "a$b",
        "n": 1,
        "f": False,
    }


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (400, "INVALID_ARGUMENT"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (409, "ABORTED"),
        (429, "RESOURCE_EXHAUSTED"),
        (499, "CANCELLED"),
        (500, "INTERNAL"),
        (501, "UNIMPLEMENTED"),
        (503, "UNAVAILABLE"),
        (504, "DEADLINE_EXCEEDED"),
        (418, "UNKNOWN"),
        (502, "UNKNOWN"),
    ],
    ids=lambda value: str(value),
)
def test_status_name_is_the_grpc_canonical_name(status: int, name: str) -> None:
    """$status_name maps the HTTP status to AIP-193's gRPC code, UNKNOWN otherwise."""
    assert _render({"m": "$message", "s": "$status_name"}, _problem(status=status))["s"] == name


def test_spread_places_unnamed_extensions_where_the_dots_are() -> None:
    """The spread adds extensions not placed by $ext and not named at its level, in order."""
    template = {
        "first": "$message",
        "...": "$extensions",
        "last": "$ext.placed",
        "meta": "$ext.other",
    }
    problem = _problem(extensions={"placed": 1, "free": 2, "last": 3, "gone": None})
    body = template_format("t", template).render(problem)
    assert body == b'{"first":"Bad.","free":2,"last":1}'


def test_if_renders_only_for_non_empty_variables() -> None:
    """$if drops its element when the variable is None or an empty list, keeps it otherwise."""
    template = {
        "m": "$message",
        "d": [
            {"$if": "$request_id", "then": {"rid": "$request_id"}},
            {"$if": "$fields", "then": "has fields"},
            {"$if": "$extensions", "then": "has extensions"},
        ],
    }
    assert _render(template, _problem()) == {"m": "Bad."}
    full = _problem(request_id="", fields=[FieldError("", "c", "m")], extensions={"a": 1})
    assert _render(template, full)["d"] == [{"rid": ""}, "has fields", "has extensions"]


def test_each_renders_one_item_per_field_error() -> None:
    """$each repeats its item per field error, with field and problem variables both usable."""
    template = {
        "m": "$message",
        "e": [
            {
                "$each": "$fields",
                "item": {
                    "p": "$field.pointer",
                    "path": "$field.path",
                    "c": "$field.code",
                    "msg": "$field.message",
                    "s": "$status",
                },
            }
        ],
    }
    fields = [FieldError("/a/0", "c1", "m1"), FieldError("", "c2", "m2")]
    assert _render(template, _problem(fields=fields))["e"] == [
        {"p": "/a/0", "path": "a[0]", "c": "c1", "msg": "m1", "s": 400},
        {"p": "", "path": "", "c": "c2", "msg": "m2", "s": 400},
    ]


@pytest.mark.parametrize(
    ("pointer", "path"),
    [
        ("", ""),
        ("/files/0/size", "files[0].size"),
        ("/0", "[0]"),
        ("/a b/c", '["a b"].c'),
        ("/a~1b", '["a/b"]'),
        ("/t~0x", '["t~x"]'),
        ("/", '[""]'),
        ('/q"uote/]', '["q\\"uote"]["]"]'),
        ("/größe/_x9", "größe._x9"),
        ("/01", "[01]"),
        ("/\u0661", '["\u0661"]'),
        ("/a.b/c[0]", '["a.b"]["c[0]"]'),
    ],
    ids=[
        "root",
        "dotted",
        "index-first",
        "space",
        "escaped-slash",
        "escaped-tilde",
        "empty-segment",
        "quote-bracket",
        "unicode-identifier",
        "leading-zero",
        "non-ascii-digit",
        "dot-and-bracket",
    ],
)
def test_pointer_and_path_convert_both_ways(pointer: str, path: str) -> None:
    """A pointer becomes the documented dotted path, and the path gives the pointer back."""
    assert pointer_to_path(pointer) == path
    assert path_to_pointer(path) == pointer


def test_vendor_paths_with_other_characters_parse() -> None:
    """Bare segments may hold any character but . and [, so vendor paths parse too."""
    assert path_to_pointer("metadata.labels.app-name") == "/metadata/labels/app-name"


@pytest.mark.parametrize(
    "path",
    ["a.", ".a", "a..b", "a[", "a[x]", '["open', "a[0", "a]b.[0]", "[0]b"],
    ids=[
        "trailing-dot",
        "leading-dot",
        "double-dot",
        "open",
        "letters",
        "quote",
        "unclosed",
        "dot-bracket",
        "no-dot",
    ],
)
def test_malformed_paths_raise(path: str) -> None:
    """A path that no pointer could have produced is a FormatError."""
    with pytest.raises(FormatError, match="not a field path"):
        path_to_pointer(path)


def test_nested_fields_build_a_discord_tree() -> None:
    """$fields.nested nests pointer segments and puts the root's _errors at the top."""
    fields = [
        FieldError("/files/0/size", "too_big", "Too big."),
        FieldError("", "whole", "Whole body."),
        FieldError("/files/0/size", "odd", "Odd."),
        FieldError("/a~1b", "c", "m"),
    ]
    body = _render({"message": "$message", "errors": "$fields.nested"}, _problem(fields=fields))
    assert body["errors"] == {
        "files": {
            "0": {
                "size": {
                    "_errors": [
                        {"code": "too_big", "message": "Too big."},
                        {"code": "odd", "message": "Odd."},
                    ]
                }
            }
        },
        "_errors": [{"code": "whole", "message": "Whole body."}],
        "a/b": {"_errors": [{"code": "c", "message": "m"}]},
    }


def test_pointers_that_are_not_pointers_still_render() -> None:
    """A hand-made pointer like #/age is kept whole as one segment instead of raising."""
    fmt = template_format(
        "t",
        {
            "m": "$message",
            "n": "$fields.nested",
            "e": [{"$each": "$fields", "item": "$field.path"}],
        },
    )
    body = json.loads(fmt.render(_problem(fields=[FieldError("#/age", "c", "m")])))
    assert body["n"] == {"#/age": {"_errors": [{"code": "c", "message": "m"}]}}
    assert body["e"] == ['["#/age"]']


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            {
                "m": "$message",
                "errors": [
                    {"$each": "$fields", "item": {"code": "$field.code"}},
                    {"$each": "$fields", "item": {"code": "$feild.code"}},
                ],
            },
            "at $.errors[1].item.code: unknown variable $feild.code",
        ),
        ({"m": "$message", "c": "$field.code"}, "at $.c: $field.code is only allowed inside"),
        (
            {"m": "$message", "meta": {"...": "$ext"}},
            'at $.meta["..."]: a "..." member must be "$extensions"',
        ),
        ({"m": "$message", "meta": "$extensions"}, "at $.meta: $extensions is only allowed"),
        (
            {"m": "$message", "a": {"$each": "$fields", "item": 1}},
            "at $.a: $each and $if are only allowed as array elements",
        ),
        ({"m": "$message", "a": [{"$each": "$fields"}]}, "at $.a[0]: a $each element has"),
        (
            {"m": "$message", "a": [{"$each": "$problems", "item": 1}]},
            'at $.a[0]["$each"]: only $fields can be iterated',
        ),
        (
            {"m": "$message", "a": [{"$if": "request_id", "then": 1}]},
            'at $.a[0]["$if"]: $if needs a variable',
        ),
        (
            {"m": "$message", "a": [{"$if": "$nope", "then": 1}]},
            'at $.a[0]["$if"]: unknown variable $nope',
        ),
        ({"m": "$message", "a": [{"$if": "$code"}]}, "at $.a[0]: a $if element has exactly"),
        ({"code": "$code"}, "at $: a template must place $message"),
        (
            {"m": "$message", "x": {"...": "$extensions"}, "y": {"...": "$extensions"}},
            'at $.y["..."]: a template may have only one "..." member',
        ),
        (
            {"m": "$message", "e": [{"$each": "$fields", "item": {"...": "$extensions"}}]},
            'at $.e[0].item["..."]: a "..." member cannot repeat',
        ),
        (
            {
                "m": "$message",
                "e": [{"$each": "$fields", "item": [{"$each": "$fields", "item": 1}]}],
            },
            "at $.e[0].item[0]: $each cannot be nested",
        ),
        ({"m": "$message", 1: 2}, "at $: member names must be strings"),
        ({"m": "$message", "d": {1, 2}}, "at $.d: not a JSON value"),
        ({"m": "$message", "a b": {"c": "$"}}, 'at $["a b"].c: unknown variable $'),
        ({"m": "$message", "x": "$ext."}, "at $.x: unknown variable $ext."),
        (["$message"], "at $: a template must be an object"),
    ],
    ids=[
        "typo-in-each",
        "field-outside-each",
        "spread-not-extensions",
        "extensions-as-value",
        "each-outside-array",
        "each-without-item",
        "each-over-other",
        "if-without-dollar",
        "if-unknown",
        "if-without-then",
        "no-message",
        "two-spreads",
        "spread-in-each",
        "nested-each",
        "int-key",
        "set-value",
        "bare-dollar",
        "empty-ext-name",
        "root-array",
    ],
)
def test_malformed_templates_name_the_path(template: Any, message: str) -> None:
    """A template mistake is refused when the format is built, naming where it is."""
    with pytest.raises(FormatError) as info:
        template_format("t", template)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("template", "carries"),
    [
        ({"m": "$message"}, {"message", "status"}),
        ({"m": "$message", "s": "$status_text", "c": "$code"}, {"message", "status", "code"}),
        ({"m": "$message", "x": "$ext.a", "n": "$status_name"}, {"message", "status"}),
        ({"m": "$message", "...": "$extensions"}, {"message", "status", "extensions"}),
        ({"m": "$message", "e": "$fields.nested"}, {"message", "status", "fields"}),
        (
            {
                "m": "$message",
                "e": [
                    {
                        "$each": "$fields",
                        "item": {"p": "$field.path", "c": "$field.code", "m": "$field.message"},
                    }
                ],
            },
            {"message", "status", "fields"},
        ),
        (
            {"m": "$message", "e": [{"$each": "$fields", "item": {"p": "$field.pointer"}}]},
            {"message", "status"},
        ),
        (
            {"m": "$message", "d": [{"$if": "$request_id", "then": {"r": "$request_id"}}]},
            {"message", "status", "request_id"},
        ),
        (
            {"m": "$message", "d": [{"$if": "$request_id", "then": {"t": "$title"}}]},
            {"message", "status"},
        ),
    ],
    ids=[
        "message-only",
        "status-text-and-code",
        "ext-and-status-name",
        "spread",
        "nested",
        "each-complete",
        "each-incomplete",
        "if-guards-itself",
        "if-guards-another",
    ],
)
def test_carries_is_computed_from_the_template(template: dict[str, Any], carries: set[str]) -> None:
    """carries lists exactly the members whose variables the template places unconditionally."""
    assert template_format("t", template).carries == carries


NESTED = template_format(
    "n",
    {
        "error": {"message": "$message", "code": "$code", "s": "$status", "st": "$status_text"},
        "errors": "$fields.nested",
    },
)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b'{"error":{"code":"c"}}', "not a n body: no message at \\$.error.message"),
        (b'{"error":{"message":5}}', "expected a string at \\$.error.message, got a number"),
        (b'{"error":{"message":"m","code":true}}', "a string or an integer at \\$.error.code"),
        (b'{"error":{"message":"m","code":[1]}}', "a string or an integer at \\$.error.code"),
        (b'{"error":{"message":"m","s":"400"}}', "an integer at \\$.error.s, got a string"),
        (b'{"error":{"message":"m","st":"four"}}', "string of 3 digits at \\$.error.st"),
        (
            b'{"error":{"message":"m","st":"' + b"9" * 5000 + b'"}}',
            "string of 3 digits at \\$.error.st",
        ),
        (b'{"error":"m"}', "expected an object at \\$.error, got a string"),
        (b"[]", "expected an object at \\$, got an array"),
        (b'{"error":{"message":"m"},"errors":[]}', "object of field errors at \\$.errors"),
        (
            b'{"error":{"message":"m"},"errors":{"a":{"_errors":[{"code":1}]}}}',
            "a string at \\$.errors.a._errors\\[0\\].code",
        ),
        (b'{"error":{"message":"m"},"errors":{"_errors":["x"]}}', "an object at"),
        (b"", "empty"),
        (b"\xc3\x28", "not UTF-8"),
        (b"{nope}", "not JSON"),
        (b'{"error":{"message":"m"}}', "no status"),
    ],
    ids=[
        "no-message",
        "message-number",
        "code-bool",
        "code-array",
        "status-string",
        "status-text-letters",
        "status-text-huge",
        "object-expected",
        "root-array",
        "tree-array",
        "tree-code-number",
        "tree-error-string",
        "empty",
        "not-utf8",
        "not-json",
        "no-status",
    ],
)
def test_parse_refuses_bodies_not_in_the_template(body: bytes, match: str) -> None:
    """Wrong JSON types, missing messages and non-JSON are FormatErrors naming the place."""
    with pytest.raises(FormatError, match=match):
        NESTED.parse(body)


def test_parse_takes_status_from_body_then_argument() -> None:
    """The body's status wins, $status_text parses as a number, the argument fills the gap."""
    assert NESTED.parse(b'{"error":{"message":"m","s":404}}', status=400).status == 404
    assert NESTED.parse(b'{"error":{"message":"m","st":"409"}}').status == 409
    assert NESTED.parse(b'{"error":{"message":"m"}}', status=418).status == 418


def test_parse_walks_the_tree_back_into_escaped_pointers() -> None:
    """Tree keys become pointer segments again, escaped by RFC 6901 rules."""
    problem = NESTED.parse(
        b'{"error":{"message":"m","code":50014},"errors":{"_errors":[{"code":"r","message":"R"}],'
        b'"a/b":{"~":{"_errors":[{"code":"c","message":"M"}]}}}}',
        status=400,
    )
    assert problem.code == 50014
    assert problem.fields == (FieldError("", "r", "R"), FieldError("/a~1b/~0", "c", "M"))


def test_parse_treats_null_as_absent() -> None:
    """JSON null means absent: it is neither a type error nor a value."""
    problem = NESTED.parse(b'{"error":{"message":"m","code":null},"errors":null}', status=400)
    assert (problem.code, problem.fields) == (None, ())


def test_parse_collects_spread_members_as_extensions() -> None:
    """Members the template does not name at the spread's level become extensions."""
    fmt = template_format(
        "s", {"m": "$message", "p": "$ext.param", "...": "$extensions", "o": {"x": "$title"}}
    )
    problem = fmt.parse(b'{"m":"M","p":"amount","o":{"x":"T","y":1},"z":[1]}', status=400)
    assert problem.extensions == {"param": "amount", "z": [1]}
    assert problem.title == "T"


GOOGLE_LIKE = template_format(
    "g",
    {
        "m": "$message",
        "details": [
            {"@type": "info", "reason": "$code"},
            {
                "$if": "$fields",
                "then": {
                    "@type": "bad",
                    "v": [
                        {"$each": "$fields", "item": {"f": "$field.path", "d": "$field.message"}}
                    ],
                },
            },
            {"$if": "$request_id", "then": {"@type": "req", "id": "$request_id"}},
        ],
    },
)


def test_array_elements_match_on_their_literals() -> None:
    """Absent elements are skipped by their @type, so later ones still find their items."""
    problem = GOOGLE_LIKE.parse(b'{"m":"M","details":[{"@type":"req","id":"r1"}]}', status=400)
    assert (problem.code, problem.request_id, problem.fields) == (None, "r1", ())


def test_array_items_that_match_nothing_are_ignored() -> None:
    """A vendor's extra detail kinds are passed over rather than misread."""
    problem = GOOGLE_LIKE.parse(
        b'{"m":"M","details":[{"@type":"info","reason":"R"},{"@type":"help"},'
        b'{"@type":"req","id":"r1"}]}',
        status=400,
    )
    assert (problem.code, problem.request_id) == ("R", None)


def test_each_parses_field_paths_and_defaults_missing_parts() -> None:
    """$each items give FieldErrors, with the path turned back into a pointer."""
    problem = GOOGLE_LIKE.parse(
        b'{"m":"M","details":[{"@type":"bad","v":[{"f":"a[0].b","d":"D"},{"d":"E"}]}]}',
        status=400,
    )
    assert problem.fields == (FieldError("/a/0/b", "", "D"), FieldError("", "", "E"))


def test_each_refuses_a_malformed_path() -> None:
    """A field path that no pointer produced is a FormatError that says where it is."""
    with pytest.raises(FormatError, match=r"not a field path: 'a\[' at \$\.details\[0\]\.v"):
        GOOGLE_LIKE.parse(b'{"m":"M","details":[{"@type":"bad","v":[{"f":"a["}]}]}', status=1)


def test_literal_discriminators_compare_types_too() -> None:
    """A literal 1 does not match true or 1.0, because vendors tell kinds apart by value."""
    fmt = template_format(
        "l", {"m": "$message", "a": [{"k": 1, "v": "$code"}, {"k": True, "v": "$title"}]}
    )
    problem = fmt.parse(b'{"m":"M","a":[{"k":true,"v":"T"},{"k":1.0,"v":"x"}]}', status=400)
    assert (problem.code, problem.title) == (None, "T")
    problem = fmt.parse(b'{"m":"M","a":[{"k":1,"v":"C"},{"k":true,"v":"T"}]}', status=400)
    assert (problem.code, problem.title) == ("C", "T")


def test_render_replaces_lone_surrogates() -> None:
    """Render never raises on text that cannot be UTF-8; it writes U+FFFD instead."""
    fmt = template_format("t", {"m": "$message"})
    assert fmt.parse(fmt.render(_problem(message="x\udc80")), status=400).message == "x\ufffd"


def test_problem_variables_only_in_each_items_are_not_carried() -> None:
    """An item renders only when there are field errors, so what it alone holds is not carried."""
    fmt = template_format(
        "t", {"m": "$message", "e": [{"$each": "$fields", "item": {"c": "$code", "t": "$title"}}]}
    )
    assert fmt.carries == {"message", "status"}


STATUSES = template_format("s", {"m": "$message", "s": "$status", "st": "$status_text"})


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("s", "-5"),
        ("s", "0"),
        ("s", "99"),
        ("s", "600"),
        ("s", "9" * 4000),
        ("st", '"000000000"'),
        ("st", '"099"'),
        ("st", '"600"'),
        ("st", '"40"'),
        ("st", '"4000"'),
        ("st", '"-50"'),
        ("st", '" 400"'),
        ("st", '"\uff14\uff10\uff10"'),
        ("st", "700"),
        ("st", "-400"),
    ],
    ids=repr,
)
def test_parse_refuses_a_status_outside_100_to_599(member: str, value: str) -> None:
    """$status must be an integer from 100 to 599, and $status_text three ASCII digits too."""
    with pytest.raises(FormatError, match=f"at \\$.{member}"):
        STATUSES.parse(f'{{"m":"M","{member}":{value}}}'.encode(), status=400)


def test_parse_takes_a_status_text_of_three_digits_or_an_integer() -> None:
    """JSON:API writes "409"; a plain 409 is just as unambiguous and is taken too."""
    assert STATUSES.parse(b'{"m":"M","st":"409"}').status == 409
    assert STATUSES.parse(b'{"m":"M","st":409}').status == 409
    assert STATUSES.parse(b'{"m":"M","s":100}').status == 100
    assert STATUSES.parse(b'{"m":"M","s":599}').status == 599


RETRY = template_format("r", {"m": "$message", "ra": "$retry_after", "...": "$extensions"})


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("1" + "0" * 400, "seconds >= 0 that fits a float at \\$.ra"),
        ("-1", "seconds >= 0 that fits a float at \\$.ra"),
        ("-0.5", "seconds >= 0 that fits a float at \\$.ra"),
        ("1e999", "too large for a float"),
        ("NaN", "NaN is not JSON"),
        ("Infinity", "Infinity is not JSON"),
        ("-Infinity", "-Infinity is not JSON"),
    ],
    ids=["int-past-float", "negative", "negative-float", "1e999", "nan", "inf", "minus-inf"],
)
def test_parse_refuses_a_retry_after_that_is_not_a_delay(value: str, match: str) -> None:
    """retry_after is a finite float >= 0 after parse, or the body is a FormatError."""
    with pytest.raises(FormatError, match=match):
        RETRY.parse(f'{{"m":"M","ra":{value}}}'.encode(), status=429)


def test_parse_refuses_non_finite_numbers_anywhere() -> None:
    """NaN and 1e999 are refused even in a member the template does not name."""
    for value in ("NaN", "-Infinity", "1e999"):
        with pytest.raises(FormatError, match="not JSON"):
            RETRY.parse(f'{{"m":"M","x":[{value}]}}'.encode(), status=429)


@pytest.mark.parametrize(
    ("retry_after", "written"),
    [
        (float("nan"), None),
        (float("inf"), None),
        (float("-inf"), None),
        (10**400, None),
        (-3.0, 0.0),
        (2, 2),
        (2.5, 2.5),
    ],
    ids=repr,
)
def test_render_writes_only_a_finite_retry_after(retry_after: float, written: object) -> None:
    """A non-finite retry_after is left out and a negative one is 0, so it parses back."""
    body = RETRY.render(_problem(retry_after=retry_after))
    assert json.loads(body, parse_constant=_no_constant).get("ra") == written
    assert RETRY.parse(body, status=429).retry_after == written


def _no_constant(name: str) -> Any:
    raise AssertionError(f"render wrote {name}, which is not JSON")


def test_render_leaves_out_only_the_extensions_json_cannot_hold() -> None:
    """A NaN or cyclic extension is left out, placed by $ext.NAME or spread; the rest stays."""
    loop: list[Any] = []
    loop.append(loop)
    fmt = template_format("e", {"m": "$message", "a": "$ext.a", "...": "$extensions"})
    problem = _problem(extensions={"a": [float("nan")], "b": loop, "c": {"d": [1, "x"]}})
    body = json.loads(fmt.render(problem), parse_constant=_no_constant)
    assert body == {"m": "Bad.", "c": {"d": [1, "x"]}}
    problem = _problem(extensions={"a": {"ok": True}, "b": float("inf")})
    assert json.loads(fmt.render(problem), parse_constant=_no_constant) == {
        "m": "Bad.",
        "a": {"ok": True},
    }
