"""The built-in formats: names, media types, exact bodies, carries and registry behaviour."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import errorbook._formats as formats
from errorbook._errors import FormatError
from errorbook._formats import CARRIABLE, Format, format_names, get_format
from errorbook._problem import FieldError, Problem

NAMES = [
    "discord",
    "google",
    "jsonapi",
    "microsoft",
    "problem+json",
    "problem+xml",
    "rebuild",
    "stripe",
    "symbl",
    "tape",
    "wetransfer",
]

PROBLEM = Problem(
    code="size_mismatch",
    status=400,
    message="Expected 1200 to be 3243214",
    title="Size mismatch",
    type="https://api.example.com/errors/size_mismatch",
    request_id="req_1",
    fields=[FieldError("/files/0/size", "too_small", "Must be 3243214.")],
    extensions={"param": "size"},
)

BODIES = {
    "discord": (
        '{"message":"Expected 1200 to be 3243214","code":"size_mismatch","errors":{"files":'
        '{"0":{"size":{"_errors":[{"code":"too_small","message":"Must be 3243214."}]}}}},'
        '"param":"size"}'
    ),
    "google": (
        '{"error":{"code":400,"message":"Expected 1200 to be 3243214","status":"INVALID_ARGUMENT",'
        '"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"size_mismatch",'
        '"metadata":{"param":"size"}},{"@type":"type.googleapis.com/google.rpc.BadRequest",'
        '"fieldViolations":[{"field":"files[0].size","description":"Must be 3243214.",'
        '"reason":"too_small"}]},{"@type":"type.googleapis.com/google.rpc.RequestInfo",'
        '"requestId":"req_1"}]}}'
    ),
    "jsonapi": (
        '{"errors":[{"id":"req_1","status":"400","code":"size_mismatch","title":"Size mismatch",'
        '"detail":"Expected 1200 to be 3243214","meta":{"param":"size"}},{"status":"400",'
        '"code":"too_small","detail":"Must be 3243214.","source":{"pointer":"/files/0/size"}}]}'
    ),
    "microsoft": (
        '{"error":{"code":"size_mismatch","message":"Expected 1200 to be 3243214","details":'
        '[{"code":"too_small","message":"Must be 3243214.","target":"files[0].size"}],'
        '"innererror":{"request-id":"req_1","param":"size"}}}'
    ),
    "problem+json": (
        '{"type":"https://api.example.com/errors/size_mismatch","title":"Size mismatch",'
        '"status":400,"detail":"Expected 1200 to be 3243214","code":"size_mismatch",'
        '"request_id":"req_1","errors":[{"pointer":"/files/0/size","code":"too_small",'
        '"detail":"Must be 3243214."}],"param":"size"}'
    ),
    "problem+xml": (
        '<?xml version="1.0" encoding="UTF-8"?><problem xmlns="urn:ietf:rfc:7807">'
        "<type>https://api.example.com/errors/size_mismatch</type><title>Size mismatch</title>"
        "<status>400</status><detail>Expected 1200 to be 3243214</detail>"
        "<code>size_mismatch</code><request_id>req_1</request_id><errors><i>"
        "<pointer>/files/0/size</pointer><code>too_small</code><detail>Must be 3243214.</detail>"
        "</i></errors><param>size</param></problem>"
    ),
    "rebuild": (
        '{"message":"Expected 1200 to be 3243214","code":"size_mismatch","errors":'
        '[{"pointer":"/files/0/size","code":"too_small","message":"Must be 3243214."}],'
        '"request_id":"req_1","param":"size"}'
    ),
    "stripe": (
        '{"error":{"code":"size_mismatch",'
        '"message":"Expected 1200 to be 3243214 /files/0/size: Must be 3243214.","param":"size",'
        '"doc_url":"https://api.example.com/errors/size_mismatch"}}'
    ),
    # Shapes with no member for field errors tell them in the message.
    "symbl": '{"message":"Expected 1200 to be 3243214 /files/0/size: Must be 3243214."}',
    "tape": (
        '{"status":400,"error_code":"size_mismatch",'
        '"error_message":"Expected 1200 to be 3243214 /files/0/size: Must be 3243214."}'
    ),
    "wetransfer": '{"message":"Expected 1200 to be 3243214 /files/0/size: Must be 3243214."}',
}

MEDIA_TYPES = {
    "problem+json": "application/problem+json",
    "problem+xml": "application/problem+xml",
    "jsonapi": "application/vnd.api+json",
}

BASE = {"message", "status"}
CARRIES = {
    "problem+json": CARRIABLE - {"detail"},
    "problem+xml": CARRIABLE - {"detail"},
    "stripe": BASE | {"code", "type", "extensions"},
    "google": BASE | {"code", "fields", "extensions", "request_id"},
    "microsoft": BASE | {"code", "fields", "extensions", "request_id"},
    "jsonapi": BASE | {"code", "title", "fields", "extensions", "request_id"},
    "tape": BASE | {"code"},
    "discord": BASE | {"code", "fields", "retry_after", "extensions"},
    "symbl": BASE,
    "wetransfer": BASE,
    "rebuild": BASE | {"code", "fields", "request_id", "extensions"},
}


def test_format_names_are_exactly_the_built_ins() -> None:
    """Every built-in format is registered under its documented name."""
    assert set(NAMES) <= set(format_names())
    assert sorted(NAMES) == NAMES


def test_package_exports_the_documented_names() -> None:
    """The formats package re-exports exactly its public names."""
    assert sorted(formats.__all__) == [
        "CARRIABLE",
        "Format",
        "format_names",
        "get_format",
        "register_format",
        "template_format",
    ]


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_built_in_is_a_format_with_its_media_type(name: str) -> None:
    """Each built-in satisfies the Format protocol and is built once."""
    fmt = get_format(name)
    assert isinstance(fmt, Format)
    assert fmt.name == name
    assert fmt.media_type == MEDIA_TYPES.get(name, "application/json")
    assert get_format(name) is fmt


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_built_in_renders_the_exact_body(name: str) -> None:
    """The same problem renders as each vendor's shape, byte for byte, member order included."""
    assert get_format(name).render(PROBLEM).decode() == BODIES[name]


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_built_in_carries(name: str) -> None:
    """Each built-in says exactly which members survive a round trip through it."""
    assert get_format(name).carries == CARRIES[name]


def test_tape_is_exactly_three_members_in_order() -> None:
    """Tape's body is status, error_code and error_message and nothing else, ever (field
    errors are told in the message)."""
    problem = Problem(
        code="invalid_json",
        status=400,
        message="The request body could not be decoded as JSON.",
        request_id="req_1",
        extensions={"x": 1},
        fields=[FieldError("", "c", "m")],
    )
    assert get_format("tape").render(problem) == (
        b'{"status":400,"error_code":"invalid_json",'
        b'"error_message":"The request body could not be decoded as JSON. m"}'
    )


def test_discord_keeps_integer_codes_and_nests_field_errors() -> None:
    """Discord's code stays a JSON number and /files/0/size nests as files.0.size._errors."""
    problem = Problem(
        code=50014,
        status=401,
        message="Invalid authentication token",
        fields=[FieldError("/files/0/size", "NUMBER_TYPE_MAX", "Too big.")],
    )
    fmt = get_format("discord")
    body = fmt.render(problem)
    assert json.loads(body) == {
        "message": "Invalid authentication token",
        "code": 50014,
        "errors": {
            "files": {
                "0": {"size": {"_errors": [{"code": "NUMBER_TYPE_MAX", "message": "Too big."}]}}
            }
        },
    }
    assert fmt.parse(body, status=401).code == 50014


def test_discord_parses_the_seed_example_and_rate_limit_bodies() -> None:
    """The seed's example body parses, and a 429's retry_after and global come back."""
    fmt = get_format("discord")
    seed = fmt.parse(b'{"message": "Invalid authentication token","code": 50014}', status=401)
    assert (seed.code, seed.message, seed.status) == (50014, "Invalid authentication token", 401)
    limited = fmt.parse(
        b'{"message":"You are being rate limited.","retry_after":64.57,"global":false}',
        status=429,
    )
    assert limited.retry_after == 64.57
    assert limited.extensions == {"global": False}


@pytest.mark.parametrize("name", ["symbl", "wetransfer"], ids=["symbl", "wetransfer"])
def test_message_only_formats_parse_without_a_code(name: str) -> None:
    """Bodies that carry only a message parse with code None and the response status."""
    problem = get_format(name).parse(b'{"message":"Missing Authentication Token"}', status=403)
    assert (problem.code, problem.status, problem.message) == (
        None,
        403,
        "Missing Authentication Token",
    )


def test_stripe_places_named_extensions_in_the_error_object() -> None:
    """Stripe's type, param and decline_code come from extensions, and parse back there."""
    problem = Problem(
        code="card_declined",
        status=402,
        message="Your card was declined.",
        extensions={"type": "card_error", "decline_code": "insufficient_funds", "charge": "ch_1"},
    )
    fmt = get_format("stripe")
    body = fmt.render(problem)
    assert json.loads(body) == {
        "error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card was declined.",
            "charge": "ch_1",
        }
    }
    assert fmt.parse(body, status=402).extensions == problem.extensions


def test_google_without_fields_or_request_id_has_only_error_info() -> None:
    """AIP-193's optional details are left out when there is nothing to put in them."""
    problem = Problem(code="QUOTA", status=429, message="Quota exceeded.")
    body = json.loads(get_format("google").render(problem))
    assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert body["error"]["details"] == [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA"}
    ]


HOSTILE_BODIES = [
    ("tape", b'{"status":-5,"error_code":"c","error_message":"m"}', "HTTP status"),
    ("tape", b'{"status":0,"error_code":"c","error_message":"m"}', "HTTP status"),
    ("jsonapi", b'{"errors":[{"status":"000000000","detail":"m"}]}', "string of 3 digits"),
    ("jsonapi", b'{"errors":[{"status":"999","detail":"m"}]}', "HTTP status"),
    ("google", b'{"error":{"code":' + b"4" * 4000 + b',"message":"m"}}', "HTTP status"),
    ("problem+json", b'{"status":429,"retry_after":1' + b"0" * 400 + b"}", "fits a float"),
    ("discord", b'{"message":"m","retry_after":1' + b"0" * 400 + b"}", "fits a float"),
    ("discord", b'{"message":"m","retry_after":NaN}', "NaN is not JSON"),
    ("discord", b'{"message":"m","retry_after":1e999}', "too large for a float"),
    ("discord", b'{"message":"m","retry_after":-2}', "fits a float"),
    ("discord", b'{"message":"m","global":Infinity}', "Infinity is not JSON"),
    ("symbl", b'{"message":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    ("stripe", b'{"error":{"message":"m","x":' + b"[" * 5000 + b"]" * 5000 + b"}}", "deeply"),
]


@pytest.mark.parametrize(
    ("name", "body", "match"),
    HOSTILE_BODIES,
    ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(HOSTILE_BODIES)],
)
def test_hostile_numbers_and_nesting_raise_format_error(name: str, body: bytes, match: str) -> None:
    """Statuses outside 100-599, delays that are not finite or negative, and deep nesting are
    FormatErrors; never an OverflowError, a RecursionError or a Problem holding them."""
    with pytest.raises(FormatError, match=match):
        get_format(name).parse(body, status=429)


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_every_format_renders_hostile_extensions_and_retry_after(name: str) -> None:
    """Render never raises, and what it writes parses back with the sound members intact."""
    loop: list[object] = []
    loop.append(loop)
    deep: object = "leaf"
    for _ in range(100_000):
        deep = [deep]
    problem = PROBLEM.replace(
        retry_after=float("nan"),
        extensions={"param": "size", "loop": loop, "deep": deep, "nan": float("nan")},
    )
    fmt = get_format(name)
    back = fmt.parse(fmt.render(problem), status=400)
    assert back.retry_after is None
    if "extensions" in fmt.carries:
        assert back.extensions == {"param": "size"}


def test_a_format_registered_before_first_use_is_not_replaced() -> None:
    """An application can replace a built-in before the lazy import without losing the race."""
    script = (
        "from errorbook._formats import get_format, register_format\n"
        "mine = object()\n"
        "register_format('tape', lambda: mine)\n"
        "assert get_format('tape') is mine\n"
        "assert get_format('discord').name == 'discord'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


@pytest.mark.parametrize("name", ["tape", "symbl", "wetransfer"])
def test_shapes_without_field_errors_tell_them_in_the_message(name: str) -> None:
    """Tape's and Symbl's pages send callers to the message to learn which field is wrong."""
    fmt = get_format(name)
    problem = Problem(
        status=400,
        code="validation_error",
        message="The request parameters do not match the expected schema.",
        fields=[
            FieldError("/name", "type", "expected a string"),
            FieldError("", "shape", "expected an object"),
        ],
    )
    message = fmt.parse(fmt.render(problem), status=400).message
    assert message == (
        "The request parameters do not match the expected schema. "
        "/name: expected a string; expected an object"
    )
    # Without field errors the message is the entry's own, word for word.
    plain = problem.replace(fields=())
    assert fmt.parse(fmt.render(plain), status=400).message == problem.message


@pytest.mark.parametrize("name", ["discord", "rebuild", "jsonapi", "problem+json"])
def test_shapes_with_field_errors_keep_the_message_as_is(name: str) -> None:
    problem = Problem(
        status=400, code="x", message="Invalid.", fields=[FieldError("/a", "t", "bad")]
    )
    fmt = get_format(name)
    back = fmt.parse(fmt.render(problem), status=400)
    assert back.message == "Invalid."
    assert [field.pointer for field in back.fields] == ["/a"]
