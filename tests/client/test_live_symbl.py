"""errorbook.Client against ``errorbook demo --profile symbl``: seed page 002, typed.

Symbl's bodies are ``{"message": ...}``: one status can mean several things (three 429s,
two 404s), and only the message tells them apart, so the client must find the entry by
status and message, parameters included ("A tracker named X already exists."). Every row
of the global and per-operation tables the service can be made to answer is here (403,
500, 502 and 504 are not provokable).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from errorbook import Catalog
from errorbook._demo._catalog import service_catalog
from errorbook.client import ProblemError, testing

from ..live._demo import KEY_A, KEY_B, OCTET, Demo, chunks
from ._live import (
    LIMITED,
    check,
    check_retried,
    check_unidentified,
    client_for,
    names_fields,
    retries,
    retry_after,
    serve,
    spend_rate_limit,
    tracker_call_in_progress,
)

PROFILE = "symbl"
SYMBL = Catalog.load(PROFILE)
JSON = {"Content-Type": "application/json"}
LIMIT = 1024 * 1024

BAD_REQUEST = "The request body or parameters are not valid."
UNAUTHORIZED = "Token validation failed for provided token."
NOT_FOUND = "Nothing exists at this path."
METHOD = "This operation does not accept the HTTP method used."
RATE_LIMITED = "Too many requests arrived in a short time."
JOBS_LIMIT = "The account already runs as many jobs at once as it may."
IN_PROGRESS = "Another call to this operation is still in progress."
TOO_LARGE = f"The body is over the {LIMIT}-byte limit."
MAINTENANCE = "The service is down for scheduled maintenance. Try again later."


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve(PROFILE, tmp_path_factory)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve(PROFILE, tmp_path_factory, *LIMITED)


# -- 400 Bad Request -----------------------------------------------------------------------


@pytest.mark.parametrize("content", [b'{"name": ', b"name=x"], ids=["cut-json", "not-json"])
def test_a_body_that_is_not_json_raises_bad_request(demo: Demo, content: bytes) -> None:
    with client_for(demo) as client, pytest.raises(SYMBL.errors.BadRequestError) as caught:
        client.post("/v1/trackers", content=content, headers=JSON)
    check(caught.value, SYMBL, "bad_request", "bad_request", 400, message=BAD_REQUEST)


@pytest.mark.parametrize(
    ("body", "pointers"),
    [({"name": 7}, {"/name"}), ({"name": "", "pad": 1}, {"/name", "/pad"})],
    ids=["wrong-type", "two-fields"],
)
def test_a_schema_violation_raises_bad_request_naming_each_field(
    demo: Demo, body: dict[str, object], pointers: set[str]
) -> None:
    """The service adds what to fix after the entry's message; the entry must still be
    recognised."""
    with client_for(demo) as client, pytest.raises(SYMBL.errors.BadRequestError) as caught:
        client.post("/v1/trackers", json=body)
    err = check(caught.value, SYMBL, "bad_request", "bad_request", 400)
    names_fields(err, BAD_REQUEST, pointers)


def test_a_body_of_another_media_type_raises_bad_request(demo: Demo) -> None:
    headers = {"Content-Type": "text/plain"}
    with client_for(demo) as client, pytest.raises(SYMBL.errors.BadRequestError) as caught:
        client.post("/v1/trackers", content=b'{"name": "x"}', headers=headers)
    check(caught.value, SYMBL, "bad_request", "bad_request", 400, message=BAD_REQUEST)


def test_an_accept_that_rules_out_json_raises_bad_request(demo: Demo) -> None:
    tracker = demo.create_tracker()
    with client_for(demo) as client, pytest.raises(SYMBL.errors.BadRequestError) as caught:
        client.get(f"/v1/trackers/{tracker['id']}", headers={"Accept": "application/xml"})
    check(caught.value, SYMBL, "bad_request", "bad_request", 400, message=BAD_REQUEST)


def test_a_mismatched_idempotent_retry_raises_bad_request(demo: Demo) -> None:
    headers = {"Idempotency-Key": f"client-{uuid.uuid4().hex}"}
    with client_for(demo) as client:
        assert client.post("/v1/trackers", json={"name": "a"}, headers=headers).status_code == 201
        with pytest.raises(SYMBL.errors.BadRequestError) as caught:
            client.post("/v1/trackers", json={"name": "b"}, headers=headers)
    check(caught.value, SYMBL, "bad_request", "bad_request", 400, message=BAD_REQUEST)


# -- 401, 404, 405 -------------------------------------------------------------------------


@pytest.mark.parametrize("api_key", [None, "expired-or-made-up"], ids=["absent", "unknown"])
def test_a_token_that_fails_validation_raises_unauthorized(demo: Demo, api_key: str | None) -> None:
    with (
        client_for(demo, None, api_key=api_key) as client,
        pytest.raises(SYMBL.errors.UnauthorizedError) as caught,
    ):
        client.post("/v1/trackers", json={"name": "x"})
    err = check(caught.value, SYMBL, "unauthorized", "unauthorized", 401, message=UNAUTHORIZED)
    assert err.response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [("GET", "/v1/nowhere", KEY_A), ("POST", "/v1/async/text", KEY_A), ("GET", "/v2", None)],
)
def test_an_unknown_path_raises_not_found(
    demo: Demo, method: str, path: str, key: str | None
) -> None:
    with client_for(demo, key) as client, pytest.raises(SYMBL.errors.NotFoundError) as caught:
        client.request(method, path)
    check(caught.value, SYMBL, "not_found", "not_found", 404, message=NOT_FOUND)


def test_an_unknown_transfer_raises_not_found(demo: Demo) -> None:
    with client_for(demo) as client, pytest.raises(SYMBL.errors.NotFoundError) as caught:
        client.get(f"/v1/transfers/{uuid.uuid4().hex}")
    check(caught.value, SYMBL, "not_found", "not_found", 404, message=NOT_FOUND)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("GET", "/v1/trackers", "POST"), ("PUT", "/v1/trackers/abc", "GET")],
)
def test_an_invalid_method_raises_method_not_allowed(
    demo: Demo, method: str, path: str, allowed: str
) -> None:
    with (
        client_for(demo) as client,
        pytest.raises(SYMBL.errors.MethodNotAllowedError) as caught,
    ):
        client.request(method, path)
    err = check(
        caught.value, SYMBL, "method_not_allowed", "method_not_allowed", 405, message=METHOD
    )
    assert allowed in err.response.headers["allow"]


# -- Create Trackers: 409, 413, 429; Get Tracker: 404 --------------------------------------


def test_a_tracker_name_that_exists_raises_tracker_exists_naming_it(demo: Demo) -> None:
    name = f"Pricing questions {uuid.uuid4().hex[:6]}"
    demo.create_tracker(name)
    with client_for(demo) as client, pytest.raises(SYMBL.errors.TrackerExistsError) as caught:
        client.post("/v1/trackers", json={"name": name})
    check(
        caught.value,
        SYMBL,
        "tracker_exists",
        "tracker_exists",
        409,
        message=f"A tracker named {name} already exists.",
    )


@pytest.mark.parametrize("owner", [None, KEY_B], ids=["unknown", "another-key"])
def test_a_tracker_this_key_cannot_see_raises_tracker_not_found_naming_the_id(
    demo: Demo, owner: str | None
) -> None:
    tracker_id = uuid.uuid4().hex if owner is None else demo.create_tracker(key=owner)["id"]
    with (
        client_for(demo, KEY_A) as client,
        pytest.raises(SYMBL.errors.TrackerNotFoundError) as caught,
    ):
        client.get(f"/v1/trackers/{tracker_id}")
    check(
        caught.value,
        SYMBL,
        "tracker_not_found",
        "tracker_not_found",
        404,
        message=f"No tracker has the id {tracker_id}.",
    )


def test_a_tracker_call_while_another_runs_raises_tracker_call_in_progress(
    demo: Demo,
) -> None:
    with (
        tracker_call_in_progress(demo, KEY_A),
        client_for(demo, KEY_A) as client,
        pytest.raises(SYMBL.errors.TrackerCallInProgressError) as caught,
    ):
        client.post("/v1/trackers", json={"name": f"second-{uuid.uuid4().hex[:6]}"})
    check(
        caught.value,
        SYMBL,
        "tracker_call_in_progress",
        "tracker_call_in_progress",
        429,
        message=IN_PROGRESS,
    )


@pytest.mark.parametrize(("path", "kind"), [("/v1/trackers", "json"), ("/v1/rebuild", "stream")])
def test_a_body_over_1_mb_raises_payload_too_large(demo: Demo, path: str, kind: str) -> None:
    if kind == "json":
        head, tail = b'{"name": "big", "pad": "', b'"}'
        content: bytes | Iterator[bytes] = head + b"x" * (LIMIT + 1 - len(head) - len(tail)) + tail
        headers = JSON
    else:
        content, headers = chunks(LIMIT + 1), OCTET
    with (
        client_for(demo) as client,
        pytest.raises(SYMBL.errors.PayloadTooLargeError) as caught,
    ):
        client.post(path, content=content, headers=headers)
    check(caught.value, SYMBL, "payload_too_large", "payload_too_large", 413, message=TOO_LARGE)


# -- 429: the account's rate and its running jobs ------------------------------------------


def test_a_spent_rate_limit_raises_rate_limited_after_waiting_each_time(limited: Demo) -> None:
    spend_rate_limit(limited, KEY_A)
    with (
        testing(),
        client_for(limited, KEY_A, policy=retries(3)) as client,
        pytest.raises(SYMBL.errors.RateLimitedError) as caught,
    ):
        client.get("/v1/trackers/tk_missing")
    err = check(
        caught.value, SYMBL, "rate_limited", "rate_limited", 429, message=RATE_LIMITED, attempts=3
    )
    check_retried(err, wait=retry_after(err.response))


def test_one_job_too_many_raises_concurrent_jobs_limit(limited: Demo) -> None:
    """A third kind of 429, told apart by its message; a POST is not retried."""
    limited.create_job(60, key=KEY_B)
    with (
        client_for(limited, KEY_B) as client,
        pytest.raises(SYMBL.errors.ConcurrentJobsLimitError) as caught,
    ):
        client.post("/v1/jobs", json={"seconds": 1})
    check(
        caught.value,
        SYMBL,
        "concurrent_jobs_limit",
        "concurrent_jobs_limit",
        429,
        message=JOBS_LIMIT,
    )


def test_the_three_429s_are_three_classes() -> None:
    classes = {
        SYMBL.errors.RateLimitedError,
        SYMBL.errors.ConcurrentJobsLimitError,
        SYMBL.errors.TrackerCallInProgressError,
    }
    assert len(classes) == 3
    assert all(cls.spec is not None and cls.spec.status == 429 for cls in classes)


# -- beyond the page -----------------------------------------------------------------------


def test_maintenance_raises_maintenance_after_waiting_retry_after(demo: Demo) -> None:
    with (
        demo.maintenance(),
        testing(),
        client_for(demo, policy=retries(2)) as client,
        pytest.raises(SYMBL.errors.MaintenanceError) as caught,
    ):
        client.get("/v1/teapot")
    err = check(
        caught.value, SYMBL, "maintenance", "maintenance", 503, message=MAINTENANCE, attempts=2
    )
    check_retried(err, wait=60.0, tolerance=0.0)


def test_an_answer_the_profile_does_not_document_is_a_plain_problem_error(demo: Demo) -> None:
    with client_for(demo) as client, pytest.raises(ProblemError) as caught:
        client.get("/v1/teapot")
    check_unidentified(caught.value, 418, None, "This server is a teapot; it does not brew coffee.")


def test_with_the_services_own_catalog_its_additions_are_typed_by_message(demo: Demo) -> None:
    extended = service_catalog(PROFILE).catalog
    transfer = demo.create_transfer(sizes=(3,))
    with client_for(demo, catalog=extended) as client:
        with pytest.raises(extended.errors.TeapotError) as caught:
            client.get("/v1/teapot")
        check(caught.value, extended, "teapot", "teapot", 418)
        with pytest.raises(extended.errors.StateConflictError) as caught_state:
            client.post(f"/v1/transfers/{transfer['id']}/finalize")
        check(caught_state.value, extended, "state_conflict", "state_conflict", 409)
