"""problem+json (RFC 9457): exact bodies, collisions, lenient parsing and refused bodies."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from errorbook._errors import FormatError
from errorbook._formats import get_format
from errorbook._formats._json import render_writable
from errorbook._problem import FieldError, Problem

FMT = get_format("problem+json")


def _problem(**changes: object) -> Problem:
    members: dict[str, object] = {
        "code": "size_mismatch",
        "status": 400,
        "message": "Expected 1200 to be 3243214",
    }
    members.update(changes)
    return Problem(**members)  # type: ignore[arg-type]


def test_media_type_and_name() -> None:
    """The format is registered under RFC 9457's media type."""
    assert FMT.name == "problem+json"
    assert FMT.media_type == "application/problem+json"


def test_carries_everything_but_detail() -> None:
    """Problem.detail has no member of its own, so carries leaves it out and nothing else."""
    assert "detail" not in FMT.carries
    assert FMT.carries == {
        "code",
        "message",
        "status",
        "title",
        "type",
        "instance",
        "fields",
        "extensions",
        "request_id",
        "retry_after",
    }


def test_full_body_is_exact() -> None:
    """Every member renders in a fixed order, compact, with non-ASCII kept as UTF-8."""
    problem = _problem(
        title="Size mismatch",
        type="https://api.example.com/errors/size_mismatch",
        instance="/v1/transfers/t1",
        request_id="req_1",
        retry_after=1.5,
        fields=[FieldError("/files/0/size", "too_small", "Größe")],
        extensions={"expected": 1200},
    )
    assert (
        FMT.render(problem)
        == (
            '{"type":"https://api.example.com/errors/size_mismatch","title":"Size mismatch",'
            '"status":400,"detail":"Expected 1200 to be 3243214","instance":"/v1/transfers/t1",'
            '"code":"size_mismatch","request_id":"req_1","retry_after":1.5,'
            '"errors":[{"pointer":"/files/0/size","code":"too_small","detail":"Größe"}],'
            '"expected":1200}'
        ).encode()
    )


def test_none_members_are_left_out() -> None:
    """A minimal problem renders only status and detail: type is absent, not about:blank."""
    body = FMT.render(_problem(code=None))
    assert body == b'{"status":400,"detail":"Expected 1200 to be 3243214"}'


def test_integer_code_stays_an_integer() -> None:
    """A numeric wire code is written as a JSON number and parsed back as an int."""
    body = FMT.render(_problem(code=50014))
    assert json.loads(body)["code"] == 50014
    assert FMT.parse(body).code == 50014


@pytest.mark.parametrize(
    "name",
    [
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "code",
        "request_id",
        "retry_after",
        "errors",
    ],
    ids=lambda name: name,
)
def test_extension_named_like_a_standard_member_is_skipped(name: str) -> None:
    """An extension can never overwrite a standard member, even one that is absent."""
    body = json.loads(FMT.render(_problem(extensions={name: "forged", "ok": 1})))
    assert body.get(name) != "forged"
    assert body["ok"] == 1


def test_none_extension_is_left_out() -> None:
    """An extension whose value is None is not rendered, like every other None member."""
    assert "gone" not in json.loads(FMT.render(_problem(extensions={"gone": None})))


def test_render_never_raises_on_odd_extension_values() -> None:
    """Values JSON has no type for are written as their str(), and odd keys are skipped."""
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    body = json.loads(FMT.render(_problem(extensions={"at": when, "bad": {(1, 2): "x"}})))
    assert body["at"] == str(when)
    assert body["bad"] == {}


def test_lone_surrogate_becomes_replacement_character() -> None:
    """A lone surrogate cannot be UTF-8, so render writes U+FFFD instead of raising."""
    body = FMT.render(_problem(message="bad \udcff here"))
    assert json.loads(body)["detail"] == "bad \ufffd here"


def test_parse_gives_back_members_and_extensions() -> None:
    """Parsing maps detail to message, keeps unknown members as extensions, and key is None."""
    problem = FMT.parse(
        b'{"type":"https://e/x","title":"T","status":409,"detail":"D","instance":"/i",'
        b'"code":"conflict","request_id":"r","retry_after":3,"balance":30,"accounts":["a"]}'
    )
    assert (problem.key, problem.code, problem.status, problem.message) == (
        None,
        "conflict",
        409,
        "D",
    )
    assert (problem.title, problem.type, problem.instance) == ("T", "https://e/x", "/i")
    assert problem.request_id == "r"
    assert problem.retry_after == 3.0
    assert problem.detail is None
    assert problem.extensions == {"balance": 30, "accounts": ["a"]}


def test_body_status_wins_over_the_response_status() -> None:
    """The body's status is the problem's; the argument only fills in for a missing one."""
    assert FMT.parse(b'{"status":404,"detail":"x"}', status=400).status == 404
    assert FMT.parse(b'{"detail":"x"}', status=400).status == 400


def test_message_falls_back_to_title_then_status_phrase() -> None:
    """A body without detail still has a message: its title, else the status phrase."""
    assert FMT.parse(b'{"title":"Out of credit","status":403}').message == "Out of credit"
    assert FMT.parse(b'{"type":"about:blank","status":404}').message == "Not Found"
    assert FMT.parse(b"{}", status=599).message == ""


def test_rfc_example_errors_without_code_parse() -> None:
    """RFC 9457's own validation example (no code, fragment pointers) parses as given."""
    problem = FMT.parse(
        b'{"type":"https://example.net/validation-error","title":"Your request is not valid.",'
        b'"errors":[{"detail":"must be a positive integer","pointer":"#/age"}]}',
        status=422,
    )
    assert problem.fields == (FieldError("#/age", "", "must be a positive integer"),)
    assert problem.message == "Your request is not valid."


def test_null_standard_members_count_as_absent() -> None:
    """A JSON null in a standard member means the member is absent, not a type error."""
    problem = FMT.parse(b'{"status":400,"detail":"x","code":null,"title":null}')
    assert (problem.code, problem.title) == (None, None)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b"not json", "not JSON"),
        (b'{"detail": "x"', "not JSON"),
        (b"[1, 2]", "expected an object at \\$, got an array"),
        (b'"text"', "expected an object"),
        (b"\xff\xfe{}", "not UTF-8"),
        ('{"detail":"x","status":400}'.encode("utf-16"), "not UTF-8"),
        (b'{"status":400,"detail":5}', "expected a string at \\$.detail, got a number"),
        (b'{"status":"400","detail":"x"}', "expected an integer at \\$.status"),
        (b'{"status":true,"detail":"x"}', "expected an integer at \\$.status, got a boolean"),
        (b'{"status":400,"detail":"x","code":1.5}', "a string or an integer at \\$.code"),
        (b'{"status":400,"detail":"x","code":false}', "a string or an integer at \\$.code"),
        (b'{"status":400,"detail":"x","retry_after":"soon"}', "a number at \\$.retry_after"),
        (b'{"status":400,"detail":"x","errors":{}}', "an array at \\$.errors"),
        (b'{"status":400,"detail":"x","errors":["e"]}', "an object at \\$.errors\\[0\\]"),
        (
            b'{"status":400,"detail":"x","errors":[{"pointer":1,"detail":"d"}]}',
            "a string at \\$.errors\\[0\\].pointer",
        ),
        (b'{"status":400,"detail":"x","errors":[{"pointer":""}]}', "\\$.errors\\[0\\].detail"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
        (b'{"detail":"no status anywhere"}', "no status"),
        (b'{"status":-5,"detail":"x"}', "HTTP status from 100 to 599 at \\$.status, got -5"),
        (b'{"status":0,"detail":"x"}', "HTTP status from 100 to 599"),
        (b'{"status":99,"detail":"x"}', "HTTP status from 100 to 599"),
        (b'{"status":600,"detail":"x"}', "HTTP status from 100 to 599"),
        (b'{"status":' + b"9" * 4000 + b',"detail":"x"}', "HTTP status.*got 9{20}\\.\\.\\.$"),
        (b'{"status":' + b"9" * 5000 + b',"detail":"x"}', "not JSON"),
        (
            b'{"status":429,"retry_after":1' + b"0" * 400 + b"}",
            "seconds >= 0 that fits a float at \\$.retry_after",
        ),
        (b'{"status":429,"retry_after":-1}', "seconds >= 0 that fits a float at \\$.retry_after"),
        (b'{"status":429,"retry_after":NaN}', "not JSON \\(NaN is not JSON\\)"),
        (b'{"status":429,"retry_after":Infinity}', "Infinity is not JSON"),
        (b'{"status":429,"retry_after":-Infinity}', "-Infinity is not JSON"),
        (b'{"status":429,"retry_after":1e999}', "the number 1e999 is too large for a float"),
        (b'{"status":400,"detail":"x","balance":[NaN]}', "NaN is not JSON"),
        (b'{"status":400,"detail":"x","balance":-1e400}', "too large for a float"),
    ],
    ids=[
        "empty",
        "whitespace",
        "not-json",
        "truncated",
        "array",
        "string",
        "not-utf8",
        "utf16",
        "detail-number",
        "status-string",
        "status-bool",
        "code-float",
        "code-bool",
        "retry-after-string",
        "errors-object",
        "errors-item-string",
        "errors-pointer-number",
        "errors-detail-missing",
        "deep-nesting",
        "deep-objects",
        "no-status",
        "status-negative",
        "status-zero",
        "status-99",
        "status-600",
        "status-4000-digits",
        "status-past-digit-limit",
        "retry-after-int-past-float",
        "retry-after-negative",
        "retry-after-nan",
        "retry-after-infinity",
        "retry-after-minus-infinity",
        "retry-after-1e999",
        "nan-in-extension",
        "huge-float-in-extension",
    ],
)
def test_garbage_raises_format_error(body: bytes, match: str) -> None:
    """Anything that is not a problem+json body raises FormatError, never a decode error."""
    with pytest.raises(FormatError, match=match):
        FMT.parse(body)


def _strict(body: bytes) -> Any:
    """``body`` as JSON, failing on NaN and Infinity, which Python would accept."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"render wrote {name}, which is not JSON")

    return json.loads(body, parse_constant=refuse)


class _Unprintable:
    def __str__(self) -> str:
        raise KeyError("no text for this one")


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def _hostile_extensions() -> dict[Any, Any]:
    loop: list[Any] = []
    loop.append(loop)
    cycle: dict[str, Any] = {"a": [1]}
    cycle["self"] = {"up": cycle}
    return {
        "nan": float("nan"),
        "inf": [1, {"x": float("inf")}],
        "loop": loop,
        "cycle": cycle,
        "deep": _nested(100_000),
        "huge": 10**5000,  # str() refuses it: past Python's 4300-digit limit
        "unprintable": {"x": _Unprintable()},
        float("nan"): "a NaN key",
    }


def test_render_leaves_out_the_extensions_json_cannot_hold_and_keeps_the_rest() -> None:
    """Render never raises and never writes NaN: a member it cannot write is left out alone."""
    kept = {"ok": [1, "two", {"three": 3.0}], "when": dt.date(2024, 5, 1), "deep64": _nested(64)}
    problem = _problem(retry_after=2.0, extensions={**_hostile_extensions(), **kept})
    body = _strict(FMT.render(problem))
    assert body == {
        "status": 400,
        "detail": "Expected 1200 to be 3243214",
        "code": "size_mismatch",
        "retry_after": 2.0,
        "ok": [1, "two", {"three": 3.0}],
        "when": "2024-05-01",
        "deep64": _nested(64),
    }
    assert FMT.parse(FMT.render(problem)).extensions == {
        "ok": [1, "two", {"three": 3.0}],
        "when": "2024-05-01",
        "deep64": _nested(64),
    }


@pytest.mark.parametrize(
    ("retry_after", "written"),
    [
        (float("nan"), None),
        (float("inf"), None),
        (float("-inf"), None),
        (10**400, None),
        (-3.5, 0.0),
        (-0.0, -0.0),
        (0, 0),
        (64.57, 64.57),
    ],
    ids=repr,
)
def test_render_writes_only_a_finite_retry_after(retry_after: float, written: object) -> None:
    """A non-finite retry_after is left out and a negative one written as 0, so it parses."""
    body = FMT.render(_problem(retry_after=retry_after))
    assert _strict(body).get("retry_after") == written
    assert FMT.parse(body).retry_after == written


def test_deep_extensions_are_written_while_the_encoder_copes() -> None:
    """Past 64 levels nothing is promised, but the usual render does not walk to check."""
    body = _strict(FMT.render(_problem(extensions={"deep": _nested(100)})))
    assert body["deep"] == _nested(100)


def test_render_writable_leaves_out_deep_members_when_the_body_still_recurses() -> None:
    """A member that encodes alone but tips the whole body over the limit goes too, last."""
    seen: list[set[str]] = []

    def build(problem: Problem) -> dict[str, Any]:
        seen.append(set(problem.extensions))
        if "deep" in problem.extensions:  # as the encoder would, a few levels further down
            raise RecursionError("maximum recursion depth exceeded")
        return {"detail": problem.message, **problem.extensions}

    problem = _problem(extensions={"deep": _nested(65), "fine": _nested(64), "nan": float("nan")})
    assert _strict(render_writable(build, problem)) == {
        "detail": "Expected 1200 to be 3243214",
        "fine": _nested(64),
    }
    assert seen == [{"deep", "fine"}, {"fine"}]


def test_render_writable_raises_what_is_not_the_extensions_fault() -> None:
    """Only extensions are sorted out; a broken body builder still shows its error."""

    def build(problem: Problem) -> dict[str, Any]:
        raise TypeError("a bug in the format")

    with pytest.raises(TypeError, match="a bug in the format"):
        render_writable(build, _problem(extensions={"a": 1}))
