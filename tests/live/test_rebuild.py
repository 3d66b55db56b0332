"""The `rebuild` profile, live: every section of seed page 000 over a real socket.

Error bodies carry ``message``, a snake_case ``code`` and the ``request_id`` (plus ``errors``
for invalid fields). Authentication is a JWT bearer token: the tests sign good and bad
tokens themselves with the secret the service was started with, and also use the tokens
the service printed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ._demo import (
    DAMAGED_FILES,
    JWT_AUDIENCE,
    KEY_A,
    KEY_B,
    NONE,
    OCTET,
    SIGNATURES,
    UNSUPPORTED_FILES,
    VALID_FILES,
    Demo,
    chunks,
    head_only,
    json_body,
    pdf,
)

PROFILE = "rebuild"
LIMIT = 6291456  # 6 MB, what the function behind the API can receive


def refused(
    response: httpx.Response,
    status: int,
    code: str,
    message: str | None,
    *,
    extra: Iterable[str] = (),
    optional: Iterable[str] = (),
) -> dict[str, Any]:
    """``status`` with a rebuild error body: message, code and the echoed request id.

    ``extra`` members must be there too; ``optional`` ones (extension members, which the
    format carries beside its own) may be.
    """
    assert response.status_code == status, response.text
    body = json_body(response)
    required = {"message", "code", "request_id", *extra}
    assert required <= set(body) <= required | set(optional), body
    assert body["code"] == code, body
    assert body["request_id"] == response.headers["x-request-id"]
    assert isinstance(body["message"], str)
    assert body["message"]
    if message is not None:
        assert body["message"] == message, body
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rebuild(demo: Demo, content: Any, **kwargs: Any) -> httpx.Response:
    headers = {**OCTET, **kwargs.pop("headers", {})}
    return demo.call("POST", "/v1/rebuild", content=content, headers=headers, **kwargs)


# -- 403 Forbidden: no JWT, or one that is not valid -----------------------------------------


def _rsa_token(demo: Demo) -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(demo.good_claims(), private, algorithm="RS256")


BAD_TOKENS: dict[str, Callable[[Demo], dict[str, str]]] = {
    "absent": lambda demo: {},
    "not-a-jwt": lambda demo: bearer("not-a-jwt"),
    "api-key-as-token": lambda demo: bearer(KEY_A),
    "expired": lambda demo: bearer(demo.sign(demo.good_claims(exp=int(time.time()) - 60))),
    "wrong-audience": lambda demo: bearer(demo.sign(demo.good_claims(aud="someone-else"))),
    "no-audience": lambda demo: bearer(demo.sign(demo.good_claims(aud=None))),
    "bad-signature": lambda demo: bearer(
        demo.sign(demo.good_claims(), secret="another-secret-" + "x" * 64)
    ),
    "tampered": lambda demo: bearer(_tamper(demo.sign(demo.good_claims()))),
    "hs512": lambda demo: bearer(demo.sign(demo.good_claims(), algorithm="HS512")),
    "alg-none": lambda demo: bearer(jwt.encode(demo.good_claims(), None, algorithm="none")),
    "rs256": lambda demo: bearer(_rsa_token(demo)),
    "wrong-scheme": lambda demo: {"Authorization": f"Token {demo.sign(demo.good_claims())}"},
    "no-scheme": lambda demo: {"Authorization": demo.sign(demo.good_claims())},
    "wrong-header": lambda demo: {"X-API-KEY": demo.sign(demo.good_claims())},
}


def _tamper(token: str) -> str:
    """The token with its payload swapped for another subject's, signature kept."""
    head, _, signature = token.split(".")
    other = jwt.encode({"sub": KEY_B, "aud": JWT_AUDIENCE, "exp": 4102444800}, "k" * 64)
    return f"{head}.{other.split('.')[1]}.{signature}"


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_a_missing_or_invalid_jwt_is_forbidden(demo: Demo, case: str) -> None:
    """Every resource needs a valid JWT; without one the answer is 403 Forbidden."""
    response = rebuild(demo, pdf(), key=NONE, headers=BAD_TOKENS[case](demo))
    refused(response, 403, "forbidden", "Forbidden")


@pytest.mark.parametrize("case", ["absent", "expired", "wrong-audience"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", "/v1/teapot", None), ("POST", "/v1/trackers", {"name": "x"})],
)
def test_every_resource_needs_the_jwt(
    demo: Demo, case: str, method: str, path: str, body: dict[str, Any] | None
) -> None:
    """Not only the rebuild route: any route under /v1 refuses a bad token with 403."""
    response = demo.call(method, path, key=NONE, headers=BAD_TOKENS[case](demo), json=body)
    refused(response, 403, "forbidden", "Forbidden")


def test_the_printed_tokens_and_a_freshly_signed_one_are_accepted(demo: Demo) -> None:
    """The control for the 403s: the banner's token for each key, and a well-made new one."""
    for key in demo.keys:
        header, value = demo.credential(key)
        assert header.lower() == "authorization"
        assert value.startswith("Bearer ")
        claims = jwt.decode(
            value.removeprefix("Bearer "),
            demo.jwt_secret,
            algorithms=["HS256"],
            audience=JWT_AUDIENCE,
        )
        assert claims["sub"] == key
        assert claims["exp"] > time.time() + 23 * 3600
        assert rebuild(demo, pdf(), key=key).status_code == 200
    fresh = bearer(demo.sign(demo.good_claims(KEY_B)))
    assert rebuild(demo, pdf(), key=NONE, headers=fresh).status_code == 200


# -- 403 Missing Authentication Token: the URL is wrong --------------------------------------

MISSING_TOKEN = "Missing Authentication Token"


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("POST", "/v1/nowhere", KEY_A),
        ("POST", "/v1/nowhere", NONE),
        ("POST", "/rebuild", KEY_A),  # no version prefix
        ("POST", "/V1/rebuild", KEY_A),  # letter case
        ("POST", "/v1/Rebuild", KEY_A),
        ("GET", "/v1/rebuild", KEY_A),  # a verb the URL is not routed for
        ("PUT", "/v1/rebuild", NONE),
    ],
)
def test_a_wrong_url_is_missing_authentication_token(
    demo: Demo, method: str, path: str, key: str | None
) -> None:
    """An unknown URL (or case, or verb) gets 403 with its own code, token or not."""
    response = demo.call(method, path, key=key, content=pdf(), headers=OCTET)
    refused(response, 403, "missing_authentication_token", MISSING_TOKEN)


def test_the_two_403s_can_be_told_apart(demo: Demo) -> None:
    """A client must know whether to fix its token or its URL: the codes differ."""
    no_token = rebuild(demo, pdf(), key=NONE)
    bad_url = demo.call("POST", "/v1/rebuilt", key=KEY_A, content=pdf(), headers=OCTET)
    assert no_token.status_code == bad_url.status_code == 403
    assert no_token.json()["code"] != bad_url.json()["code"]
    assert no_token.json()["message"] != bad_url.json()["message"]


# -- 413 Payload Too Large: above 6 MB -------------------------------------------------------

TOO_LARGE = f"The body is over the {LIMIT}-byte limit."


def test_a_body_over_6_mb_is_refused_before_it_is_read(demo: Demo) -> None:
    """An honest Content-Length over the limit is answered from the head alone."""
    token = demo.credential(KEY_A)[1]
    head = (
        "POST /v1/rebuild HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {token}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {LIMIT + 1}\r\nX-Request-Id: live-rebuild-head\r\n\r\n"
    ).encode()
    answer = head_only(demo.base_url, head)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body == {
        "message": TOO_LARGE,
        "code": "payload_too_large",
        "request_id": "live-rebuild-head",
    }


@pytest.mark.parametrize("kind", ["content-length", "chunked"])
def test_a_body_over_6_mb_is_413(demo: Demo, kind: str) -> None:
    """The whole body sent, with Content-Length or streamed without one: 413 either way."""
    content: Any = chunks(LIMIT + 1) if kind == "chunked" else b"\0" * (LIMIT + 1)
    refused(rebuild(demo, content), 413, "payload_too_large", TOO_LARGE)


def test_a_file_of_exactly_6_mb_is_rebuilt(demo: Demo) -> None:
    """The limit is inclusive: a 6291456-byte PDF is processed."""
    response = rebuild(demo, pdf(LIMIT))
    assert response.status_code == 200, response.text[:300]
    assert response.content.startswith(b"%PDF-")


def test_the_413_entry_points_to_the_url_based_route(demo: Demo) -> None:
    """Where the 413's code is documented, the way around the limit is given."""
    response = demo.call(
        "GET", "/errors/payload_too_large", key=NONE, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    entry = response.json()
    assert entry["status"] == 413
    assert "pre-signed URL" in entry["resolution"]


# -- 422 Unprocessable Entity: unsupported type, or too damaged ------------------------------


@pytest.mark.parametrize("kind", list(UNSUPPORTED_FILES))
def test_a_file_of_an_unsupported_type_is_422_unsupported(demo: Demo, kind: str) -> None:
    """A type the engine does not rebuild: 422 ``unsupported_file_type``."""
    response = rebuild(demo, UNSUPPORTED_FILES[kind])
    refused(response, 422, "unsupported_file_type", "The file's type is unknown or not supported.")


@pytest.mark.parametrize("kind", list(DAMAGED_FILES))
def test_a_supported_file_too_broken_to_rebuild_is_422_damaged(demo: Demo, kind: str) -> None:
    """A supported type whose structure is broken: 422 ``file_damaged``, a different body."""
    response = rebuild(demo, DAMAGED_FILES[kind]())
    body = refused(
        response,
        422,
        "file_damaged",
        "The file is too damaged to rebuild safely.",
        optional=("reason",),
    )
    assert isinstance(body.get("reason", ""), str)


@pytest.mark.parametrize("kind", list(VALID_FILES))
def test_a_small_valid_file_is_rebuilt(demo: Demo, kind: str) -> None:
    """200 with the rebuilt file: bytes of the same type back."""
    response = rebuild(demo, VALID_FILES[kind]())
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].split(";")[0] == "application/octet-stream"
    assert response.content.startswith(SIGNATURES[kind])


# -- 400 Bad Request: the body says what is missing or malformed -----------------------------

BAD_REQUEST = "The request is incomplete or malformed."


@pytest.mark.parametrize("content", [b'{"name": ', b'{"name": "x",}'])
def test_malformed_json_is_400_saying_where(demo: Demo, content: bytes) -> None:
    """Malformed JSON: 400 ``bad_request``, with the line and column where parsing stopped."""
    response = demo.call(
        "POST", "/v1/trackers", content=content, headers={"Content-Type": "application/json"}
    )
    body = refused(response, 400, "bad_request", BAD_REQUEST, extra=("line", "column"))
    assert isinstance(body["line"], int)
    assert isinstance(body["column"], int)


@pytest.mark.parametrize(
    ("path", "payload", "pointers"),
    [
        ("/v1/trackers", {}, {"/name"}),
        ("/v1/trackers", {"name": 3}, {"/name"}),
        ("/v1/transfers", {"name": "t", "files": [{"name": "a", "size": -1}]}, {"/files/0/size"}),
        (
            "/v1/transfers",
            {"name": "", "files": [{"name": "a", "size": 1}, {"name": "b", "size": "x"}]},
            {"/name", "/files/1/size"},
        ),
    ],
    ids=["missing-name", "number-name", "negative-size", "two-fields"],
)
def test_invalid_fields_are_400_naming_each_one(
    demo: Demo, path: str, payload: dict[str, Any], pointers: set[str]
) -> None:
    """Fields that break the schema: 400 ``bad_request`` with one entry per field in errors."""
    response = demo.call("POST", path, json=payload)
    body = refused(response, 400, "bad_request", BAD_REQUEST, extra=("errors",))
    assert {error["pointer"] for error in body["errors"]} == pointers
    for error in body["errors"]:
        assert set(error) == {"pointer", "code", "message"}
        assert error["code"]
        assert error["message"]


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {"Content-Type": "application/pdf"}, {}],
    ids=["text", "pdf", "absent"],
)
def test_a_file_sent_with_the_wrong_content_type_is_400(
    demo: Demo, headers: dict[str, str]
) -> None:
    """The rebuild route reads ``application/octet-stream``; anything else is a bad request."""
    response = demo.call("POST", "/v1/rebuild", content=pdf(), headers=headers)
    refused(response, 400, "bad_request", BAD_REQUEST)


def test_asking_for_a_response_type_it_cannot_give_is_400(demo: Demo) -> None:
    """An Accept that rules out every answer the route has is a bad request here."""
    response = rebuild(demo, pdf(), headers={"Accept": "text/html"})
    refused(response, 400, "bad_request", BAD_REQUEST)


# -- the other resources answer with the same profile ----------------------------------------


def test_another_keys_tracker_is_hidden(demo: Demo) -> None:
    """The principal is the token's subject: KEY_B's token cannot read KEY_A's tracker."""
    tracker = demo.create_tracker(f"t-{uuid.uuid4().hex[:6]}", key=KEY_A)
    assert demo.call("GET", f"/v1/trackers/{tracker['id']}", key=KEY_A).status_code == 200
    hidden = demo.call("GET", f"/v1/trackers/{tracker['id']}", key=KEY_B)
    assert hidden.status_code == 404, hidden.text
    assert {"message", "code", "request_id"} <= set(hidden.json())
