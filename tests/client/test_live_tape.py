"""errorbook.Client against ``errorbook demo --profile tape``: seed page 004, typed.

Every row of Tape's table that the service can be made to answer (all but 403
``restricted_resource`` and 500, which no request provokes) raises the entry's own class
with Tape's string code, misspelt ``too_many_requets`` included, and the profile's fixed
message. Tape's body has no member for field errors, so a ``validation_error`` names its
pointers in the message. Situations the page does not document (413, 503) come from
errorbook's defaults and are typed all the same; the service's own additions (418) are a
plain `ProblemError` under the bare profile, and typed under the service's catalog.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from errorbook import Catalog
from errorbook._demo._catalog import service_catalog
from errorbook.client import ProblemError, testing

from ..live._demo import KEY_A, KEY_B, OCTET, Demo
from ._live import (
    LIMITED,
    check,
    check_retried,
    check_unidentified,
    client_for,
    finalizing_transfer,
    names_fields,
    retries,
    retry_after,
    serve,
    spend_rate_limit,
    tracker_call_in_progress,
)

PROFILE = "tape"
TAPE = Catalog.load(PROFILE)
JSON = {"Content-Type": "application/json"}
LIMIT = 5 * 1024 * 1024

INVALID_JSON = "The body of the request is not well-formed JSON."
INVALID_URL = "No API operation lives at this URL."
INVALID_REQUEST = "The API does not support this kind of request."
VALIDATION = "The request parameters do not match the expected schema."
UNAUTHORIZED = "The bearer token is missing or not valid."
NOT_FOUND = "No such resource is visible to this token."
CONFLICT = "The operation collided with a concurrent change and was not applied."
TOO_MANY = "The request rate limit is exceeded. Slow down and retry later."
MAINTENANCE = "The service is down for scheduled maintenance. Try again later."


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve(PROFILE, tmp_path_factory)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve(PROFILE, tmp_path_factory, *LIMITED)


# -- 400 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b'{"name": ', b"{name: 'x'}", b'{"name": "x"}}'])
def test_a_body_that_is_not_json_raises_invalid_json(demo: Demo, content: bytes) -> None:
    with client_for(demo) as client, pytest.raises(TAPE.errors.InvalidJsonError) as caught:
        client.post("/v1/trackers", content=content, headers=JSON)
    check(caught.value, TAPE, "invalid_json", "invalid_json", 400, message=INVALID_JSON)


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [("GET", "/v1/nowhere", KEY_A), ("POST", "/trackers", KEY_A), ("GET", "/v1/nowhere", None)],
)
def test_an_unknown_url_raises_invalid_request_url(
    demo: Demo, method: str, path: str, key: str | None
) -> None:
    with client_for(demo, key) as client, pytest.raises(TAPE.errors.InvalidRequestUrlError) as c:
        client.request(method, path)
    check(c.value, TAPE, "invalid_request_url", "invalid_request_url", 400, message=INVALID_URL)


def test_a_wrong_method_raises_invalid_request_with_allow(demo: Demo) -> None:
    with client_for(demo) as client, pytest.raises(TAPE.errors.InvalidRequestError) as caught:
        client.delete("/v1/trackers/abc")
    err = check(caught.value, TAPE, "invalid_request", "invalid_request", 400)
    assert err.message == INVALID_REQUEST
    assert "GET" in err.response.headers["allow"]


def test_a_body_of_another_media_type_raises_invalid_request(demo: Demo) -> None:
    headers = {"Content-Type": "text/plain"}
    with client_for(demo) as client, pytest.raises(TAPE.errors.InvalidRequestError) as caught:
        client.post("/v1/trackers", content=b'{"name": "x"}', headers=headers)
    check(caught.value, TAPE, "invalid_request", "invalid_request", 400, message=INVALID_REQUEST)


def test_an_accept_that_rules_out_json_raises_invalid_request(demo: Demo) -> None:
    tracker = demo.create_tracker()
    with client_for(demo) as client, pytest.raises(TAPE.errors.InvalidRequestError) as caught:
        client.get(f"/v1/trackers/{tracker['id']}", headers={"Accept": "application/xml"})
    check(caught.value, TAPE, "invalid_request", "invalid_request", 400, message=INVALID_REQUEST)


def test_a_schema_violation_raises_validation_error_naming_each_field(demo: Demo) -> None:
    body = {"name": "", "files": [{"name": "a", "size": -1}]}
    with client_for(demo) as client, pytest.raises(TAPE.errors.ValidationError) as caught:
        client.post("/v1/transfers", json=body)
    err = check(caught.value, TAPE, "validation_error", "validation_error", 400)
    names_fields(err, VALIDATION, {"/name", "/files/0/size"})


def test_a_mismatched_idempotent_retry_raises_conflict_error(demo: Demo) -> None:
    """The same Idempotency-Key with another body: Tape's page answers it as a conflict."""
    headers = {"Idempotency-Key": f"client-{uuid.uuid4().hex}"}
    with client_for(demo) as client:
        created = client.post("/v1/trackers", json={"name": "first"}, headers=headers)
        assert created.status_code == 201
        with pytest.raises(TAPE.errors.ConflictError) as caught:
            client.post("/v1/trackers", json={"name": "second"}, headers=headers)
    check(caught.value, TAPE, "conflict_error", "conflict_error", 409, message=CONFLICT)


# -- 401 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("api_key", [None, "not-a-token"], ids=["absent", "unknown"])
def test_a_missing_or_unknown_token_raises_unauthorized(demo: Demo, api_key: str | None) -> None:
    with (
        client_for(demo, None, api_key=api_key) as client,
        pytest.raises(TAPE.errors.UnauthorizedError) as caught,
    ):
        client.get("/v1/teapot")
    err = check(caught.value, TAPE, "unauthorized", "unauthorized", 401, message=UNAUTHORIZED)
    assert err.response.headers["www-authenticate"].startswith("Bearer")


# -- 404: unknown, or not shared with this token ------------------------------------------


@pytest.mark.parametrize("kind", ["trackers", "transfers", "jobs"])
def test_another_tokens_resource_raises_the_same_not_found_as_an_unknown_one(
    demo: Demo, kind: str
) -> None:
    if kind == "trackers":
        own = demo.create_tracker(key=KEY_A)["id"]
    elif kind == "transfers":
        own = demo.create_transfer(key=KEY_A)["id"]
    else:
        own = demo.create_job(0.1, key=KEY_A)["id"]
    errors = []
    with client_for(demo, KEY_B) as client:
        for path in (f"/v1/{kind}/{own}", f"/v1/{kind}/{uuid.uuid4().hex}"):
            with pytest.raises(TAPE.errors.NotFoundError) as caught:
                client.get(path)
            errors.append(check(caught.value, TAPE, "not_found", "not_found", 404))
    assert errors[0].message == errors[1].message == NOT_FOUND


# -- 409 ---------------------------------------------------------------------------------


def test_a_tracker_name_in_use_raises_conflict_error(demo: Demo) -> None:
    name = f"taken-{uuid.uuid4().hex[:6]}"
    demo.create_tracker(name)
    with client_for(demo) as client, pytest.raises(TAPE.errors.ConflictError) as caught:
        client.post("/v1/trackers", json={"name": name})
    check(caught.value, TAPE, "conflict_error", "conflict_error", 409, message=CONFLICT)


def test_finalizing_an_incomplete_transfer_raises_conflict_error(demo: Demo) -> None:
    transfer = demo.create_transfer(sizes=(3,))
    with client_for(demo) as client, pytest.raises(TAPE.errors.ConflictError) as caught:
        client.post(f"/v1/transfers/{transfer['id']}/finalize")
    check(caught.value, TAPE, "conflict_error", "conflict_error", 409, message=CONFLICT)


# -- 429 too_many_requets: the rate, the running jobs, one tracker call at a time ---------


def test_a_spent_rate_limit_raises_too_many_requets_after_waiting_each_time(
    limited: Demo,
) -> None:
    """A GET is retried as the entry says (``retry: after``), waiting Retry-After each time;
    the 429 that is left is typed with the misspelt code clients depend on."""
    spend_rate_limit(limited, KEY_A)
    with (
        testing(),
        client_for(limited, KEY_A, policy=retries(3)) as client,
        pytest.raises(TAPE.errors.TooManyRequetsError) as caught,
    ):
        client.get("/v1/trackers/tk_missing")
    err = check(
        caught.value,
        TAPE,
        "too_many_requets",
        "too_many_requets",
        429,
        message=TOO_MANY,
        attempts=3,
    )
    check_retried(err, wait=retry_after(err.response))


def test_a_wait_longer_than_the_policy_allows_is_not_taken(limited: Demo) -> None:
    """The hint (minutes) is past the default total time (120 s): no retry, no sleep."""
    spend_rate_limit(limited, KEY_A)
    with (
        testing(),
        client_for(limited, KEY_A) as client,
        pytest.raises(TAPE.errors.TooManyRequetsError) as caught,
    ):
        client.get("/v1/trackers/tk_missing")
    assert retry_after(caught.value.response) > 120
    check(caught.value, TAPE, "too_many_requets", "too_many_requets", 429, reasons={"timeout"})


def test_one_job_too_many_raises_too_many_requets_and_a_post_is_not_retried(
    limited: Demo,
) -> None:
    limited.create_job(60, key=KEY_B)
    with (
        testing(),
        client_for(limited, KEY_B) as client,
        pytest.raises(TAPE.errors.TooManyRequetsError) as caught,
    ):
        client.post("/v1/jobs", json={"seconds": 1})
    check(caught.value, TAPE, "too_many_requets", "too_many_requets", 429, message=TOO_MANY)


def test_a_tracker_call_while_another_runs_raises_too_many_requets(demo: Demo) -> None:
    with (
        tracker_call_in_progress(demo, KEY_A),
        client_for(demo, KEY_A) as client,
        pytest.raises(TAPE.errors.TooManyRequetsError) as caught,
    ):
        client.post("/v1/trackers", json={"name": f"second-{uuid.uuid4().hex[:6]}"})
    check(caught.value, TAPE, "too_many_requets", "too_many_requets", 429, message=TOO_MANY)


# -- beyond the page: errorbook's defaults in Tape's shape ---------------------------------


def test_a_body_over_the_limit_raises_payload_too_large(demo: Demo) -> None:
    with client_for(demo) as client, pytest.raises(TAPE.errors.PayloadTooLargeError) as caught:
        client.post("/v1/rebuild", content=b"\0" * (LIMIT + 1), headers=OCTET)
    err = check(caught.value, TAPE, "payload_too_large", "payload_too_large", 413)
    assert str(LIMIT) in err.message


def test_maintenance_raises_maintenance_after_waiting_retry_after(demo: Demo) -> None:
    with (
        demo.maintenance(),
        testing(),
        client_for(demo, policy=retries(2)) as client,
        pytest.raises(TAPE.errors.MaintenanceError) as caught,
    ):
        client.get("/v1/teapot")
    err = check(
        caught.value, TAPE, "maintenance", "maintenance", 503, message=MAINTENANCE, attempts=2
    )
    check_retried(err, wait=60.0, tolerance=0.0)


# -- the service's own additions -----------------------------------------------------------


def test_an_answer_the_profile_does_not_document_is_a_plain_problem_error(demo: Demo) -> None:
    """418 is not on Tape's page: a ProblemError with the status and the wire code."""
    with client_for(demo) as client, pytest.raises(ProblemError) as caught:
        client.get("/v1/teapot")
    check_unidentified(
        caught.value, 418, "teapot", "This server is a teapot; it does not brew coffee."
    )


def test_with_the_services_own_catalog_its_additions_are_typed(demo: Demo) -> None:
    """The catalog the service answers with (the profile plus its additions) types them."""
    extended = service_catalog(PROFILE).catalog
    with client_for(demo, catalog=extended) as client:
        with pytest.raises(extended.errors.TeapotError) as caught:
            client.get("/v1/teapot")
        check(caught.value, extended, "teapot", "teapot", 418)
        transfer = demo.create_transfer(sizes=(10,))
        tid, fid = transfer["id"], transfer["files"][0]["id"]
        with pytest.raises(extended.errors.SizeMismatchError) as caught_size:
            client.post(f"/v1/transfers/{tid}/files/{fid}/complete")
        check(
            caught_size.value,
            extended,
            "size_mismatch",
            "size_mismatch",
            400,
            message="Received 0 bytes, but the file was declared with 10.",
        )


def test_a_locked_transfer_is_retried_as_the_services_catalog_says(demo: Demo) -> None:
    """``locked`` is ``retry: after``: a PUT waits Retry-After between attempts, a POST is
    not retried at all."""
    extended = service_catalog(PROFILE).catalog
    tid, fid = finalizing_transfer(demo, 30)
    with testing(), client_for(demo, catalog=extended, policy=retries(3)) as client:
        with pytest.raises(extended.errors.LockedError) as caught:
            client.put(f"/v1/transfers/{tid}/files/{fid}/parts/1", content=b"ab", headers=OCTET)
        err = check(caught.value, extended, "locked", "locked", 423, attempts=3)
        check_retried(err, wait=retry_after(err.response))
        with pytest.raises(extended.errors.LockedError) as caught_post:
            client.post(f"/v1/transfers/{tid}/finalize", content=json.dumps({}), headers=JSON)
        check(caught_post.value, extended, "locked", "locked", 423)
