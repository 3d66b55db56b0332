"""errorbook.Client against ``errorbook demo --profile wetransfer``: seed page 003, typed.

WeTransfer's bodies are ``{"message": ...}`` with no machine code, so the client finds the
entry by status and message: the two 403s ("Missing Authentication Token" for a wrong path,
"Forbidden" for a missing or wrong key) must come out as two classes, and "Expected X to be
Y" must be recognised with any X and Y. The key goes raw in ``X-API-KEY``. Every situation
the page documents and the service can be made to answer is here (500 is not provokable).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from errorbook import Catalog
from errorbook._demo._catalog import service_catalog
from errorbook.client import ProblemError, RetryPolicy, testing

from ..live._demo import KEY_A, KEY_B, OCTET, UNSUPPORTED_FILES, Demo
from ._live import (
    LIMITED,
    check,
    check_retried,
    check_unidentified,
    client_for,
    expired_transfer,
    names_fields,
    retries,
    retry_after,
    serve,
    spend_rate_limit,
    tracker_call_in_progress,
)

PROFILE = "wetransfer"
WETRANSFER = Catalog.load(PROFILE)
JSON = {"Content-Type": "application/json"}
LIMIT = 5 * 1024 * 1024

MISSING_TOKEN = "Missing Authentication Token"
FORBIDDEN = "Forbidden"
UNSUPPORTED_MEDIA = "Unsupported Media Type"
UNSUPPORTED_METHOD = "Unsupported HTTP method"
LIMIT_EXCEEDED = "Limit Exceeded Exception"
BAD_REQUEST = "The request could not be processed as sent."
NOT_FOUND = "The requested resource was not found."
NOT_ACCEPTABLE = "Only JSON responses are available."
GONE = "This transfer is no longer available."
TEAPOT = "I'm a teapot."
MAINTENANCE = "The API is down for scheduled maintenance."


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve(PROFILE, tmp_path_factory)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve(PROFILE, tmp_path_factory, *LIMITED)


def a_transfer() -> dict[str, object]:
    return {"name": f"t-{uuid.uuid4().hex[:6]}", "files": [{"name": "a.bin", "size": 4}]}


# -- 403 Missing Authentication Token / 403 Forbidden --------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("GET", "/v1/nowhere", KEY_A),
        ("POST", "/transfers", KEY_A),
        ("GET", "/v1/nowhere", None),
        ("DELETE", "/v1/transfers/abc/files/def/parts/1/extra", KEY_A),
    ],
)
def test_an_unknown_path_raises_missing_authentication_token(
    demo: Demo, method: str, path: str, key: str | None
) -> None:
    with (
        client_for(demo, key) as client,
        pytest.raises(WETRANSFER.errors.MissingAuthenticationTokenError) as caught,
    ):
        client.request(method, path)
    check(
        caught.value,
        WETRANSFER,
        "missing_authentication_token",
        "missing_authentication_token",
        403,
        message=MISSING_TOKEN,
    )


@pytest.mark.parametrize(
    ("api_key", "header"),
    [
        (None, "X-API-KEY"),
        ("not-a-key", "X-API-KEY"),
        (KEY_A.upper(), "X-API-KEY"),
        (KEY_A, "Authorization"),  # the right key in the wrong header
    ],
    ids=["absent", "unknown", "wrong-case", "authorization-header"],
)
def test_a_missing_or_wrong_api_key_raises_forbidden(
    demo: Demo, api_key: str | None, header: str
) -> None:
    with (
        client_for(demo, None, api_key=api_key, api_key_header=header) as client,
        pytest.raises(WETRANSFER.errors.ForbiddenError) as caught,
    ):
        client.post("/v1/transfers", json=a_transfer())
    check(caught.value, WETRANSFER, "forbidden", "forbidden", 403, message=FORBIDDEN)


def test_the_two_403s_are_two_classes(demo: Demo) -> None:
    """Same status, no code on the wire: only the message tells them apart."""
    missing = WETRANSFER.errors.MissingAuthenticationTokenError
    forbidden = WETRANSFER.errors.ForbiddenError
    assert missing is not forbidden
    assert not issubclass(missing, forbidden)
    assert not issubclass(forbidden, missing)


# -- 415, 405, 406 -------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/xml"])
def test_a_body_without_a_json_content_type_raises_unsupported_media_type(
    demo: Demo, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    with (
        client_for(demo) as client,
        pytest.raises(WETRANSFER.errors.UnsupportedMediaTypeError) as caught,
    ):
        client.post("/v1/transfers", content=json.dumps(a_transfer()), headers=headers)
    check(
        caught.value,
        WETRANSFER,
        "unsupported_media_type",
        "unsupported_media_type",
        415,
        message=UNSUPPORTED_MEDIA,
    )


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("GET", "/v1/transfers", "POST"), ("POST", "/v1/teapot", "GET")],
)
def test_the_wrong_verb_raises_unsupported_http_method(
    demo: Demo, method: str, path: str, allowed: str
) -> None:
    with (
        client_for(demo) as client,
        pytest.raises(WETRANSFER.errors.UnsupportedHttpMethodError) as caught,
    ):
        client.request(method, path)
    err = check(
        caught.value,
        WETRANSFER,
        "unsupported_http_method",
        "unsupported_http_method",
        405,
        message=UNSUPPORTED_METHOD,
    )
    assert allowed in err.response.headers["allow"]


def test_asking_for_xml_raises_not_acceptable(demo: Demo) -> None:
    transfer = demo.create_transfer()
    with (
        client_for(demo) as client,
        pytest.raises(WETRANSFER.errors.NotAcceptableError) as caught,
    ):
        client.get(f"/v1/transfers/{transfer['id']}", headers={"Accept": "application/xml"})
    check(caught.value, WETRANSFER, "not_acceptable", "not_acceptable", 406, message=NOT_ACCEPTABLE)


# -- 400: Expected X to be Y, Bad Request --------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "parts"),
    [(10, [b"abcd"]), (3, [b"abc", b"de"]), (3243214, [])],
    ids=["fewer-bytes", "more-bytes", "nothing-uploaded"],
)
def test_completing_a_file_of_the_wrong_size_raises_size_mismatch(
    demo: Demo, declared: int, parts: list[bytes]
) -> None:
    transfer = demo.create_transfer(sizes=(declared,))
    tid, fid = transfer["id"], transfer["files"][0]["id"]
    for n, data in enumerate(parts, start=1):
        assert demo.put_part(tid, fid, n, data).status_code == 200
    received = sum(len(data) for data in parts)
    with (
        client_for(demo) as client,
        pytest.raises(WETRANSFER.errors.SizeMismatchError) as caught,
    ):
        client.post(f"/v1/transfers/{tid}/files/{fid}/complete")
    check(
        caught.value,
        WETRANSFER,
        "size_mismatch",
        "size_mismatch",
        400,
        message=f"Expected {received} to be {declared}",
    )


@pytest.mark.parametrize(
    "content",
    [b'{"name": "t", "files": [', b"{'name': 't'}", b'{"name": "t"} trailing'],
    ids=["truncated", "single-quotes", "trailing-text"],
)
def test_malformed_json_raises_bad_request(demo: Demo, content: bytes) -> None:
    with client_for(demo) as client, pytest.raises(WETRANSFER.errors.BadRequestError) as caught:
        client.post("/v1/transfers", content=content, headers=JSON)
    check(caught.value, WETRANSFER, "bad_request", "bad_request", 400, message=BAD_REQUEST)


def test_a_schema_violation_raises_bad_request_naming_each_field(demo: Demo) -> None:
    """The service adds the fields to fix after the entry's message; the entry must still
    be recognised."""
    body = {"name": "", "files": [{"name": "a", "size": -1}]}
    with client_for(demo) as client, pytest.raises(WETRANSFER.errors.BadRequestError) as caught:
        client.post("/v1/transfers", json=body)
    err = check(caught.value, WETRANSFER, "bad_request", "bad_request", 400)
    names_fields(err, BAD_REQUEST, {"/name", "/files/0/size"})


def test_a_mismatched_idempotent_retry_raises_bad_request(demo: Demo) -> None:
    headers = {"Idempotency-Key": f"client-{uuid.uuid4().hex}"}
    with client_for(demo) as client:
        assert client.post("/v1/transfers", json=a_transfer(), headers=headers).status_code == 201
        with pytest.raises(WETRANSFER.errors.BadRequestError) as caught:
            client.post("/v1/transfers", json=a_transfer(), headers=headers)
    check(caught.value, WETRANSFER, "bad_request", "bad_request", 400, message=BAD_REQUEST)


# -- 404, 410, 418 -------------------------------------------------------------------------


def test_another_keys_transfer_raises_not_found_like_an_unknown_one(demo: Demo) -> None:
    transfer = demo.create_transfer(key=KEY_A)
    with client_for(demo, KEY_B) as client:
        for path in (f"/v1/transfers/{transfer['id']}", f"/v1/transfers/{uuid.uuid4().hex}"):
            with pytest.raises(WETRANSFER.errors.NotFoundError) as caught:
                client.get(path)
            check(caught.value, WETRANSFER, "not_found", "not_found", 404, message=NOT_FOUND)


def test_an_expired_transfer_raises_gone_on_every_route(demo: Demo) -> None:
    tid, fid = expired_transfer(demo)
    with client_for(demo) as client:
        with pytest.raises(WETRANSFER.errors.GoneError) as caught:
            client.get(f"/v1/transfers/{tid}")
        check(caught.value, WETRANSFER, "gone", "gone", 410, message=GONE)
        with pytest.raises(WETRANSFER.errors.GoneError) as caught_put:
            client.put(f"/v1/transfers/{tid}/files/{fid}/parts/1", content=b"ab", headers=OCTET)
        check(caught_put.value, WETRANSFER, "gone", "gone", 410, message=GONE)


def test_the_teapot_raises_teapot(demo: Demo) -> None:
    with client_for(demo) as client, pytest.raises(WETRANSFER.errors.TeapotError) as caught:
        client.get("/v1/teapot")
    check(caught.value, WETRANSFER, "teapot", "teapot", 418, message=TEAPOT)


# -- 429: Limit Exceeded Exception ----------------------------------------------------------


def test_a_spent_rate_limit_raises_limit_exceeded_after_waiting_each_time(limited: Demo) -> None:
    spend_rate_limit(limited, KEY_A)
    with (
        testing(),
        client_for(limited, KEY_A, policy=retries(3)) as client,
        pytest.raises(WETRANSFER.errors.LimitExceededError) as caught,
    ):
        client.get("/v1/trackers/tk_missing")
    err = check(
        caught.value,
        WETRANSFER,
        "limit_exceeded",
        "limit_exceeded",
        429,
        message=LIMIT_EXCEEDED,
        attempts=3,
    )
    check_retried(err, wait=retry_after(err.response))


def test_one_job_too_many_raises_limit_exceeded_retried_only_with_an_idempotency_key(
    limited: Demo,
) -> None:
    """A POST is not retried; with ``idempotency_keys`` the client adds a key and retries,
    waiting the seconds until the running job ends."""
    limited.create_job(60, key=KEY_B)
    with testing():
        with (
            client_for(limited, KEY_B) as client,
            pytest.raises(WETRANSFER.errors.LimitExceededError) as caught,
        ):
            client.post("/v1/jobs", json={"seconds": 1})
        check(caught.value, WETRANSFER, "limit_exceeded", "limit_exceeded", 429)
        policy = RetryPolicy(attempts=2, timeout=None, budget=None, idempotency_keys=True)
        with (
            client_for(limited, KEY_B, policy=policy) as client,
            pytest.raises(WETRANSFER.errors.LimitExceededError) as caught_keyed,
        ):
            client.post("/v1/jobs", json={"seconds": 1})
    err = check(
        caught_keyed.value,
        WETRANSFER,
        "limit_exceeded",
        "limit_exceeded",
        429,
        message=LIMIT_EXCEEDED,
        attempts=2,
    )
    assert err.request.headers.get("idempotency-key")
    check_retried(err, wait=retry_after(err.response))


def test_a_tracker_call_while_another_runs_raises_limit_exceeded(demo: Demo) -> None:
    with (
        tracker_call_in_progress(demo, KEY_A),
        client_for(demo, KEY_A) as client,
        pytest.raises(WETRANSFER.errors.LimitExceededError) as caught,
    ):
        client.post("/v1/trackers", json={"name": f"second-{uuid.uuid4().hex[:6]}"})
    check(caught.value, WETRANSFER, "limit_exceeded", "limit_exceeded", 429, message=LIMIT_EXCEEDED)


# -- 503 maintenance, 413 ------------------------------------------------------------------


def test_maintenance_raises_service_unavailable_after_waiting_retry_after(demo: Demo) -> None:
    with (
        demo.maintenance(),
        testing(),
        client_for(demo, policy=retries(2)) as client,
        pytest.raises(WETRANSFER.errors.ServiceUnavailableError) as caught,
    ):
        client.get("/v1/teapot")
    err = check(
        caught.value,
        WETRANSFER,
        "service_unavailable",
        "service_unavailable",
        503,
        message=MAINTENANCE,
        attempts=2,
    )
    check_retried(err, wait=300.0, tolerance=0.0)


def test_maintenance_longer_than_the_default_policy_allows_is_raised_at_once(
    demo: Demo,
) -> None:
    """Retry-After 300 is past the default 120 s total: the first 503 is the answer."""
    with (
        demo.maintenance(),
        testing(),
        client_for(demo) as client,
        pytest.raises(WETRANSFER.errors.ServiceUnavailableError) as caught,
    ):
        client.get("/v1/teapot")
    check(
        caught.value,
        WETRANSFER,
        "service_unavailable",
        "service_unavailable",
        503,
        message=MAINTENANCE,
        reasons={"timeout"},
    )


def test_a_body_over_the_limit_raises_payload_too_large(demo: Demo) -> None:
    with (
        client_for(demo) as client,
        pytest.raises(WETRANSFER.errors.PayloadTooLargeError) as caught,
    ):
        client.post("/v1/rebuild", content=b"\0" * (LIMIT + 1), headers=OCTET)
    err = check(caught.value, WETRANSFER, "payload_too_large", "payload_too_large", 413)
    assert str(LIMIT) in err.message


# -- the service's own additions -----------------------------------------------------------


def test_an_answer_the_profile_does_not_document_is_a_plain_problem_error(demo: Demo) -> None:
    """No code and no matching message: a ProblemError with the status and the message."""
    with client_for(demo) as client, pytest.raises(ProblemError) as caught:
        client.post("/v1/rebuild", content=UNSUPPORTED_FILES["gif"], headers=OCTET)
    check_unidentified(caught.value, 422, None, "The service does not rebuild files of this type.")


def test_with_the_services_own_catalog_its_additions_are_typed_by_message(demo: Demo) -> None:
    extended = service_catalog(PROFILE).catalog
    name = f"taken-{uuid.uuid4().hex[:6]}"
    demo.create_tracker(name)
    with client_for(demo, catalog=extended) as client:
        with pytest.raises(extended.errors.UnsupportedFileTypeError) as caught:
            client.post("/v1/rebuild", content=UNSUPPORTED_FILES["gif"], headers=OCTET)
        check(caught.value, extended, "unsupported_file_type", "unsupported_file_type", 422)
        with pytest.raises(extended.errors.NameTakenError) as caught_name:
            client.post("/v1/trackers", json={"name": name})
        check(
            caught_name.value,
            extended,
            "name_taken",
            "name_taken",
            409,
            message=f"You already have a tracker named {name}.",
        )
