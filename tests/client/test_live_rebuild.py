"""errorbook.Client against ``errorbook demo --profile rebuild``: seed page 000, typed.

The credential is a JWT sent as a bearer token (the client takes it as ``api_key``).
Rebuild's body carries ``message``, a snake_case ``code``, the ``request_id`` and, for
invalid fields, an ``errors`` list with a JSON pointer each, so field errors come back as
pointers. Its two 403s (bad token, wrong URL) and two 422s (unsupported, damaged) are two
classes each. Every section of the page the service can be made to answer is here (500 is
not provokable).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import jwt
import pytest

from errorbook import Catalog
from errorbook._demo._catalog import service_catalog
from errorbook.client import ProblemError, testing

from ..live._demo import (
    DAMAGED_FILES,
    KEY_A,
    KEY_B,
    OCTET,
    UNSUPPORTED_FILES,
    Demo,
    chunks,
    pdf,
)
from ._live import (
    LIMITED,
    check,
    check_retried,
    check_unidentified,
    client_for,
    retries,
    retry_after,
    serve,
    spend_rate_limit,
)

PROFILE = "rebuild"
REBUILD = Catalog.load(PROFILE)
JSON = {"Content-Type": "application/json"}
LIMIT = 6291456

BAD_REQUEST = "The request is incomplete or malformed."
FORBIDDEN = "Forbidden"
MISSING_TOKEN = "Missing Authentication Token"
TOO_LARGE = f"The body is over the {LIMIT}-byte limit."
UNSUPPORTED = "The file's type is unknown or not supported."
DAMAGED = "The file is too damaged to rebuild safely."
TOO_MANY = "The shared platform's request limit is reached."
MAINTENANCE = "The service is down for scheduled maintenance. Try again later."


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve(PROFILE, tmp_path_factory)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve(PROFILE, tmp_path_factory, *LIMITED)


# -- 403 Forbidden: no JWT, or one that is not valid ---------------------------------------

BAD_TOKENS: dict[str, Callable[[Demo], str | None]] = {
    "absent": lambda demo: None,
    "not-a-jwt": lambda demo: "not-a-jwt",
    "api-key-as-token": lambda demo: KEY_A,
    "expired": lambda demo: demo.sign(demo.good_claims(exp=int(time.time()) - 60)),
    "wrong-audience": lambda demo: demo.sign(demo.good_claims(aud="someone-else")),
    "bad-signature": lambda demo: demo.sign(
        demo.good_claims(), secret="another-secret-" + "x" * 64
    ),
    "alg-none": lambda demo: jwt.encode(demo.good_claims(), "", algorithm="none"),
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_a_missing_or_invalid_jwt_raises_forbidden(demo: Demo, case: str) -> None:
    token = BAD_TOKENS[case](demo)
    with (
        client_for(demo, None, api_key=token) as client,
        pytest.raises(REBUILD.errors.ForbiddenError) as caught,
    ):
        client.post("/v1/rebuild", content=pdf(), headers=OCTET)
    check(caught.value, REBUILD, "forbidden", "forbidden", 403, message=FORBIDDEN)


def test_a_freshly_signed_token_gets_through(demo: Demo) -> None:
    """The control for the 403s: a token signed the way the service wants is accepted."""
    token = demo.sign(demo.good_claims(KEY_B))
    with client_for(demo, None, api_key=token) as client:
        response = client.post("/v1/rebuild", content=pdf(), headers=OCTET)
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")


# -- 403 Missing Authentication Token: the URL is wrong ------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("POST", "/v1/nowhere", KEY_A),
        ("POST", "/v1/nowhere", None),
        ("POST", "/V1/rebuild", KEY_A),
        ("GET", "/v1/rebuild", KEY_A),  # a verb the URL is not routed for
    ],
)
def test_a_wrong_url_raises_missing_authentication_token(
    demo: Demo, method: str, path: str, key: str | None
) -> None:
    with (
        client_for(demo, key) as client,
        pytest.raises(REBUILD.errors.MissingAuthenticationTokenError) as caught,
    ):
        client.request(method, path, content=pdf(), headers=OCTET)
    check(
        caught.value,
        REBUILD,
        "missing_authentication_token",
        "missing_authentication_token",
        403,
        message=MISSING_TOKEN,
    )


def test_the_two_403s_are_two_classes() -> None:
    assert REBUILD.errors.ForbiddenError is not REBUILD.errors.MissingAuthenticationTokenError
    assert not issubclass(
        REBUILD.errors.ForbiddenError, REBUILD.errors.MissingAuthenticationTokenError
    )


# -- 413 above 6 MB ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["content-length", "chunked"])
def test_a_body_over_6_mb_raises_payload_too_large(demo: Demo, kind: str) -> None:
    content: bytes | Iterator[bytes] = (
        chunks(LIMIT + 1) if kind == "chunked" else b"\0" * (LIMIT + 1)
    )
    with (
        client_for(demo) as client,
        pytest.raises(REBUILD.errors.PayloadTooLargeError) as caught,
    ):
        client.post("/v1/rebuild", content=content, headers=OCTET)
    err = check(
        caught.value, REBUILD, "payload_too_large", "payload_too_large", 413, message=TOO_LARGE
    )
    # The entry says the way around the limit.
    spec = type(err).spec
    assert spec is not None
    assert "pre-signed URL" in spec.resolution


# -- 422: unsupported type / too damaged ---------------------------------------------------


@pytest.mark.parametrize("kind", list(UNSUPPORTED_FILES))
def test_a_file_of_an_unsupported_type_raises_unsupported_file_type(demo: Demo, kind: str) -> None:
    with (
        client_for(demo) as client,
        pytest.raises(REBUILD.errors.UnsupportedFileTypeError) as caught,
    ):
        client.post("/v1/rebuild", content=UNSUPPORTED_FILES[kind], headers=OCTET)
    check(
        caught.value,
        REBUILD,
        "unsupported_file_type",
        "unsupported_file_type",
        422,
        message=UNSUPPORTED,
    )


@pytest.mark.parametrize("kind", list(DAMAGED_FILES))
def test_a_file_too_broken_to_rebuild_raises_file_damaged_saying_why(demo: Demo, kind: str) -> None:
    with client_for(demo) as client, pytest.raises(REBUILD.errors.FileDamagedError) as caught:
        client.post("/v1/rebuild", content=DAMAGED_FILES[kind](), headers=OCTET)
    err = check(caught.value, REBUILD, "file_damaged", "file_damaged", 422, message=DAMAGED)
    assert isinstance(err.extensions.get("reason", ""), str)


def test_the_two_422s_are_two_classes() -> None:
    assert REBUILD.errors.UnsupportedFileTypeError is not REBUILD.errors.FileDamagedError


# -- 400 Bad Request: what is missing or malformed -----------------------------------------


@pytest.mark.parametrize("content", [b'{"name": ', b'{"name": "x",}'])
def test_malformed_json_raises_bad_request_saying_where(demo: Demo, content: bytes) -> None:
    with client_for(demo) as client, pytest.raises(REBUILD.errors.BadRequestError) as caught:
        client.post("/v1/trackers", content=content, headers=JSON)
    err = check(caught.value, REBUILD, "bad_request", "bad_request", 400, message=BAD_REQUEST)
    assert err.extensions["line"] == 1
    assert isinstance(err.extensions["column"], int)


@pytest.mark.parametrize(
    ("path", "payload", "fields"),
    [
        ("/v1/trackers", {}, {"/name": "required"}),
        ("/v1/trackers", {"name": 3}, {"/name": "type"}),
        (
            "/v1/transfers",
            {"name": "", "files": [{"name": "a", "size": 1}, {"name": "b", "size": -1}]},
            {"/name": "too_short", "/files/1/size": "too_small"},
        ),
    ],
    ids=["missing-name", "number-name", "two-fields"],
)
def test_invalid_fields_raise_bad_request_with_a_pointer_each(
    demo: Demo, path: str, payload: dict[str, object], fields: dict[str, str]
) -> None:
    with client_for(demo) as client, pytest.raises(REBUILD.errors.BadRequestError) as caught:
        client.post(path, json=payload)
    check(
        caught.value, REBUILD, "bad_request", "bad_request", 400, message=BAD_REQUEST, fields=fields
    )


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {"Accept": "text/html", **OCTET}],
    ids=["wrong-content-type", "unservable-accept"],
)
def test_a_request_in_the_wrong_form_raises_bad_request(
    demo: Demo, headers: dict[str, str]
) -> None:
    with client_for(demo) as client, pytest.raises(REBUILD.errors.BadRequestError) as caught:
        client.post("/v1/rebuild", content=pdf(), headers=headers)
    check(caught.value, REBUILD, "bad_request", "bad_request", 400, message=BAD_REQUEST)


def test_a_mismatched_idempotent_retry_raises_bad_request(demo: Demo) -> None:
    headers = {"Idempotency-Key": f"client-{uuid.uuid4().hex}"}
    with client_for(demo) as client:
        assert client.post("/v1/trackers", json={"name": "a"}, headers=headers).status_code == 201
        with pytest.raises(REBUILD.errors.BadRequestError) as caught:
            client.post("/v1/trackers", json={"name": "b"}, headers=headers)
    check(caught.value, REBUILD, "bad_request", "bad_request", 400, message=BAD_REQUEST)


# -- 429 on the shared platform ------------------------------------------------------------


def test_a_spent_rate_limit_raises_too_many_requests_after_waiting_each_time(
    limited: Demo,
) -> None:
    spend_rate_limit(limited, KEY_A)
    with (
        testing(),
        client_for(limited, KEY_A, policy=retries(3)) as client,
        pytest.raises(REBUILD.errors.TooManyRequestsError) as caught,
    ):
        client.get("/v1/trackers/tk_missing")
    err = check(
        caught.value,
        REBUILD,
        "too_many_requests",
        "too_many_requests",
        429,
        message=TOO_MANY,
        attempts=3,
    )
    check_retried(err, wait=retry_after(err.response))


def test_the_concurrency_limit_raises_too_many_requests_too(limited: Demo) -> None:
    limited.create_job(60, key=KEY_B)
    with (
        client_for(limited, KEY_B) as client,
        pytest.raises(REBUILD.errors.TooManyRequestsError) as caught,
    ):
        client.post("/v1/jobs", json={"seconds": 1})
    check(caught.value, REBUILD, "too_many_requests", "too_many_requests", 429, message=TOO_MANY)


# -- beyond the page -----------------------------------------------------------------------


def test_maintenance_raises_maintenance_after_waiting_retry_after(demo: Demo) -> None:
    with (
        demo.maintenance(),
        testing(),
        client_for(demo, policy=retries(2)) as client,
        pytest.raises(REBUILD.errors.MaintenanceError) as caught,
    ):
        client.get("/v1/teapot")
    err = check(
        caught.value, REBUILD, "maintenance", "maintenance", 503, message=MAINTENANCE, attempts=2
    )
    check_retried(err, wait=60.0, tolerance=0.0)


def test_an_answer_the_profile_does_not_document_is_a_plain_problem_error(demo: Demo) -> None:
    with client_for(demo) as client, pytest.raises(ProblemError) as caught:
        client.get("/v1/teapot")
    check_unidentified(
        caught.value, 418, "teapot", "This server is a teapot; it does not brew coffee."
    )


def test_with_the_services_own_catalog_its_additions_are_typed(demo: Demo) -> None:
    extended = service_catalog(PROFILE).catalog
    with client_for(demo, catalog=extended) as client:
        with pytest.raises(extended.errors.NotFoundError) as caught:
            client.get(f"/v1/trackers/{uuid.uuid4().hex}")
        check(
            caught.value,
            extended,
            "not_found",
            "not_found",
            404,
            message="Nothing with this id is visible to these credentials.",
        )
