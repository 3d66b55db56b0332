"""problem+xml (RFC 9457 Appendix B): exact bodies, escaping, typed codes, refused bodies."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from errorbook._errors import FormatError
from errorbook._formats import get_format
from errorbook._problem import FieldError, Problem

FMT = get_format("problem+xml")
NS = "{urn:ietf:rfc:7807}"
HEAD = '<?xml version="1.0" encoding="UTF-8"?><problem xmlns="urn:ietf:rfc:7807">'


def _problem(**changes: object) -> Problem:
    members: dict[str, object] = {"code": "not_found", "status": 404, "message": "No such file."}
    members.update(changes)
    return Problem(**members)  # type: ignore[arg-type]


def test_media_type_and_carries() -> None:
    """The format uses the problem+xml media type and carries what problem+json carries."""
    assert FMT.media_type == "application/problem+xml"
    assert FMT.carries == get_format("problem+json").carries


def test_full_body_is_exact() -> None:
    """Members are namespaced elements in a fixed order; arrays are <i> children."""
    problem = _problem(
        title="Not found",
        type="https://e/not_found",
        instance="/f/1",
        request_id="req_1",
        retry_after=2,
        fields=[FieldError("/id", "unknown", "No file has this id.")],
        extensions={"accounts": ["a", "b"], "owner": {"id": 7}, "shared": False},
    )
    assert FMT.render(problem).decode() == (
        HEAD + "<type>https://e/not_found</type><title>Not found</title><status>404</status>"
        "<detail>No such file.</detail><instance>/f/1</instance><code>not_found</code>"
        "<request_id>req_1</request_id><retry_after>2.0</retry_after>"
        "<errors><i><pointer>/id</pointer><code>unknown</code>"
        "<detail>No file has this id.</detail></i></errors>"
        "<accounts><i>a</i><i>b</i></accounts><owner><id>7</id></owner><shared>false</shared>"
        "</problem>"
    )


def test_body_is_well_formed_and_namespaced() -> None:
    """The body parses with a stock XML parser and every element is in RFC 9457's namespace."""
    root = ET.fromstring(FMT.render(_problem(extensions={"deep": {"a": [{"b": "c"}]}})))
    assert root.tag == f"{NS}problem"
    assert all(element.tag.startswith(NS) for element in root.iter())


@pytest.mark.parametrize(
    "text",
    [
        "</detail><status>999</status><detail>",
        "a & b < c > d",
        "<![CDATA[x]]>",
        "]]>",
        "&amp; stays literal",
        "\"quotes\" and 'apostrophes'",
        "line\r\nbreak\rand\nmore",
        "  leading and trailing  ",
        "<!DOCTYPE x [<!ENTITY a 'b'>]>",
    ],
    ids=[
        "tag-injection",
        "specials",
        "cdata",
        "cdata-end",
        "entity-text",
        "quotes",
        "carriage-returns",
        "whitespace",
        "doctype-text",
    ],
)
def test_hostile_text_round_trips_as_text(text: str) -> None:
    """Markup in a message stays text, and CR survives as &#13; instead of turning into LF."""
    body = FMT.render(_problem(message=text, code=text))
    problem = FMT.parse(body)
    assert (problem.message, problem.code, problem.status) == (text, text, 404)


def test_characters_xml_cannot_carry_become_replacement_character() -> None:
    """C0 controls, U+FFFE/U+FFFF and lone surrogates are the one lossy case: U+FFFD."""
    body = FMT.render(_problem(message="a\x00b\x1fc\ufffed\uffffe\ud800f\tg\nh"))
    assert FMT.parse(body).message == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf\tg\nh"


def test_integer_code_is_typed_and_numeric_string_code_is_not() -> None:
    """An int code carries type="integer" so that "123" and 123 both come back exactly."""
    int_body = FMT.render(_problem(code=50014))
    assert b'<code type="integer">50014</code>' in int_body
    assert FMT.parse(int_body).code == 50014
    str_body = FMT.render(_problem(code="123"))
    assert b"<code>123</code>" in str_body
    assert FMT.parse(str_body).code == "123"


@pytest.mark.parametrize(
    "name",
    ["has space", "1digit", "ns:colon", "", "-dash", "ünïcode", "status", "errors"],
    ids=["space", "digit-first", "colon", "empty", "dash-first", "non-ascii", "status", "errors"],
)
def test_extension_names_that_cannot_be_elements_are_skipped(name: str) -> None:
    """Names that are not plain XML names, or are standard members, are left out of the body."""
    problem = FMT.parse(FMT.render(_problem(extensions={name: "x", "kept": "y"})))
    assert problem.extensions == {"kept": "y"}
    assert problem.status == 404


def test_extension_leaves_come_back_as_strings() -> None:
    """XML has no JSON types: numbers, booleans and null leaves parse back as strings."""
    body = FMT.render(_problem(extensions={"n": 5, "f": 0.5, "t": True, "z": [None, 1]}))
    assert FMT.parse(body).extensions == {"n": "5", "f": "0.5", "t": "true", "z": ["", "1"]}


def test_rfc_appendix_b_example_parses() -> None:
    """The pretty-printed example of RFC 9457 Appendix B parses, extensions included."""
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<problem xmlns="urn:ietf:rfc:7807">
  <type>https://example.com/probs/out-of-credit</type>
  <title>You do not have enough credit.</title>
  <detail>Your current balance is 30, but that costs 50.</detail>
  <instance>https://example.net/account/12345/msgs/abc</instance>
  <balance>30</balance>
  <accounts>
    <i>https://example.net/account/12345</i>
    <i>https://example.net/account/67890</i>
  </accounts>
</problem>"""
    problem = FMT.parse(body, status=403)
    assert problem.message == "Your current balance is 30, but that costs 50."
    assert problem.status == 403
    assert problem.code is None
    assert problem.extensions == {
        "balance": "30",
        "accounts": ["https://example.net/account/12345", "https://example.net/account/67890"],
    }


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<problem xmlns="urn:ietf:rfc:7807"><status>400</status><detail>&lol2;</detail></problem>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<problem xmlns="urn:ietf:rfc:7807"><status>400</status><detail>&xxe;</detail></problem>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        b'<!DOCTYPE problem><problem xmlns="urn:ietf:rfc:7807"/>',
        b'<!doctype problem><problem xmlns="urn:ietf:rfc:7807"/>',
        b'<problem xmlns="urn:ietf:rfc:7807"><!ENTITY x "y"></problem>',
        # UTF-16 without a BOM is valid UTF-8 byte for byte; it must not smuggle a DOCTYPE.
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE p><problem/>'.encode("utf-16-le"),
    ],
    ids=["billion-laughs", "external-entity", "doctype", "lowercase", "entity", "utf16-smuggle"],
)
def test_doctype_and_entity_declarations_are_refused(body: bytes) -> None:
    """Declarations are refused before parsing, so no entity can ever be expanded."""
    with pytest.raises(FormatError):
        FMT.parse(body, status=400)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"", "not well-formed"),
        (b"{}", "not well-formed"),
        (b"<problem", "not well-formed"),
        (b"\xff<problem/>", "not UTF-8"),
        (b"<problem/>", "root element"),
        (b'<error xmlns="urn:ietf:rfc:7807"/>', "root element"),
        (b'<p:problem xmlns:p="urn:other"/>', "root element"),
        (b'<problem xmlns="urn:ietf:rfc:7807"><detail>x</detail></problem>', "no status"),
        (
            b'<problem xmlns="urn:ietf:rfc:7807"><status>four</status></problem>',
            "<status> must be an integer",
        ),
        (
            b'<problem xmlns="urn:ietf:rfc:7807"><status>400</status>'
            b"<detail><b>x</b></detail></problem>",
            "<detail> must be text",
        ),
        (
            b'<problem xmlns="urn:ietf:rfc:7807"><status>400</status>'
            b'<code type="float">1.5</code></problem>',
            "<code> must be typed",
        ),
        (
            b'<problem xmlns="urn:ietf:rfc:7807"><status>400</status>'
            b'<code type="integer">x</code></problem>',
            "<code> must be an integer",
        ),
        (
            b'<problem xmlns="urn:ietf:rfc:7807"><status>400</status>'
            b"<retry_after>nan</retry_after></problem>",
            "<retry_after> must be a number",
        ),
        (
            b'<problem xmlns="urn:ietf:rfc:7807"><status>400</status>'
            b"<retry_after>1e999</retry_after></problem>",
            "finite",
        ),
        (
            b'<problem xmlns="urn:ietf:rfc:7807"><status>400</status>'
            b"<errors><x/></errors></problem>",
            "<errors> must be a list",
        ),
        (
            b'<problem xmlns="urn:ietf:rfc:7807"><status>400</status>'
            b"<errors><i><code>c</code></i></errors></problem>",
            "text <pointer>",
        ),
    ],
    ids=[
        "empty",
        "json",
        "truncated",
        "not-utf8",
        "no-namespace",
        "wrong-root",
        "wrong-namespace",
        "no-status",
        "status-text",
        "detail-element",
        "code-unknown-type",
        "code-not-integer",
        "retry-after-nan",
        "retry-after-infinite",
        "errors-not-items",
        "errors-no-pointer",
    ],
)
def test_garbage_raises_format_error(body: bytes, match: str) -> None:
    """Anything that is not a problem+xml body raises FormatError, never a ParseError."""
    with pytest.raises(FormatError, match=match):
        FMT.parse(body)


def test_elements_of_other_namespaces_are_ignored() -> None:
    """Foreign-namespace children are not this vocabulary's members, so they are skipped."""
    problem = FMT.parse(
        b'<problem xmlns="urn:ietf:rfc:7807" xmlns:o="urn:other"><status>400</status>'
        b"<detail>x</detail><o:detail>forged</o:detail><o:extra>y</o:extra></problem>"
    )
    assert problem.message == "x"
    assert problem.extensions == {}


def test_huge_integers_raise_format_error() -> None:
    """An integer past the interpreter's digit limit is refused, not a ValueError."""
    digits = b"9" * 5000
    with pytest.raises(FormatError, match="sensible size"):
        FMT.parse(
            b'<problem xmlns="urn:ietf:rfc:7807"><status>400</status><code type="integer">'
            + digits
            + b"</code></problem>"
        )


def _body(members: str) -> bytes:
    return f'<problem xmlns="urn:ietf:rfc:7807">{members}</problem>'.encode()


@pytest.mark.parametrize("status", ["-5", "0", "99", "600", "000000000", "9" * 4000])
def test_status_outside_100_to_599_raises_format_error(status: str) -> None:
    """A body's status is an HTTP status or the body is refused."""
    with pytest.raises(FormatError, match="<status> must be an HTTP status from 100 to 599"):
        FMT.parse(_body(f"<status>{status}</status>"))


@pytest.mark.parametrize("seconds", ["-1", "-0.5", "1" + "0" * 400, "inf", "-1e999"])
def test_retry_after_that_is_not_a_delay_raises_format_error(seconds: str) -> None:
    """retry_after is a finite number >= 0, or the body is refused."""
    with pytest.raises(FormatError, match="<retry_after> must be"):
        FMT.parse(_body(f"<status>429</status><retry_after>{seconds}</retry_after>"))


def _nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


class _Unprintable:
    def __str__(self) -> str:
        raise KeyError("no text for this one")


def test_render_leaves_out_extensions_it_cannot_write_and_keeps_the_rest() -> None:
    """Cycles, non-finite floats, nesting past 64 levels and failing str() lose the member."""
    loop: list[object] = []
    loop.append(loop)
    cycle: dict[str, object] = {}
    cycle["self"] = cycle
    problem = _problem(
        extensions={
            "loop": loop,
            "cycle": cycle,
            "nan": [1, float("nan")],
            "inf": {"x": float("-inf")},
            "deep65": _nested(65),
            "deep100k": _nested(100_000),
            "huge": 10**5000,
            "unprintable": _Unprintable(),
            "ok": {"a": ["1", "2"]},
            "deep64": _nested(64),
        }
    )
    body = FMT.render(problem)
    ET.fromstring(body)
    back = FMT.parse(body)
    assert set(back.extensions) == {"ok", "deep64"}
    assert back.extensions["ok"] == {"a": ["1", "2"]}
    assert back.extensions["deep64"] == _nested(64)


@pytest.mark.parametrize(
    ("retry_after", "written"),
    [(float("nan"), None), (float("inf"), None), (10**400, None), (-3, 0.0), (2.5, 2.5)],
    ids=repr,
)
def test_render_writes_only_a_finite_retry_after(retry_after: float, written: object) -> None:
    """A non-finite retry_after is left out and a negative one is 0, so it parses back."""
    assert FMT.parse(FMT.render(_problem(retry_after=retry_after))).retry_after == written
