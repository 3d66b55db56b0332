"""errorbook.Client against ``errorbook demo`` (the default ``rfc9457`` profile), typed.

Not a seed page, but the profile every other one falls back to: each condition the layer
answers raises its entry's class from problem+json, and from problem+xml when the client
asks for XML. The service's own situations are not in the bare profile, so they come back
as a plain `ProblemError` with the code; under the service's catalog they are typed.
"""

from __future__ import annotations

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
    retries,
    retry_after,
    serve,
    spend_rate_limit,
    tracker_call_in_progress,
)

PROFILE = "rfc9457"
RFC9457 = Catalog.load(PROFILE)
JSON = {"Content-Type": "application/json"}
LIMIT = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve(PROFILE, tmp_path_factory)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve(PROFILE, tmp_path_factory, *LIMITED)


@pytest.mark.parametrize("accept", [None, "application/problem+xml"], ids=["json", "xml"])
def test_an_unknown_route_raises_unknown_route_in_either_format(
    demo: Demo, accept: str | None
) -> None:
    headers = {} if accept is None else {"Accept": accept}
    with client_for(demo) as client, pytest.raises(RFC9457.errors.UnknownRouteError) as caught:
        client.get("/v1/nowhere", headers=headers)
    err = check(
        caught.value,
        RFC9457,
        "unknown_route",
        "unknown_route",
        404,
        message="No resource lives at this URL.",
    )
    media = err.response.headers["content-type"].split(";")[0]
    assert media == (accept or "application/problem+json")


def test_a_german_answer_is_identified_by_its_code(demo: Demo) -> None:
    with client_for(demo) as client, pytest.raises(RFC9457.errors.UnknownRouteError) as caught:
        client.get("/v1/nowhere", headers={"Accept-Language": "de"})
    check(
        caught.value,
        RFC9457,
        "unknown_route",
        "unknown_route",
        404,
        message="Unter dieser URL gibt es keine Ressource.",
    )


def test_a_wrong_method_raises_method_not_allowed(demo: Demo) -> None:
    with (
        client_for(demo) as client,
        pytest.raises(RFC9457.errors.MethodNotAllowedError) as caught,
    ):
        client.get("/v1/trackers")
    err = check(caught.value, RFC9457, "method_not_allowed", "method_not_allowed", 405)
    assert "POST" in err.response.headers["allow"]


@pytest.mark.parametrize("api_key", [None, "wrong"], ids=["absent", "unknown"])
def test_missing_or_wrong_credentials_raise_unauthenticated(
    demo: Demo, api_key: str | None
) -> None:
    with (
        client_for(demo, None, api_key=api_key) as client,
        pytest.raises(RFC9457.errors.UnauthenticatedError) as caught,
    ):
        client.get("/v1/teapot")
    check(caught.value, RFC9457, "unauthenticated", "unauthenticated", 401)


def test_a_body_of_another_media_type_raises_unsupported_media_type(demo: Demo) -> None:
    with (
        client_for(demo) as client,
        pytest.raises(RFC9457.errors.UnsupportedMediaTypeError) as caught,
    ):
        client.post(
            "/v1/trackers", content=b'{"name": "x"}', headers={"Content-Type": "text/plain"}
        )
    check(caught.value, RFC9457, "unsupported_media_type", "unsupported_media_type", 415)


def test_an_accept_nothing_satisfies_raises_not_acceptable(demo: Demo) -> None:
    tracker = demo.create_tracker()
    with (
        client_for(demo) as client,
        pytest.raises(RFC9457.errors.NotAcceptableError) as caught,
    ):
        client.get(f"/v1/trackers/{tracker['id']}", headers={"Accept": "text/csv"})
    check(caught.value, RFC9457, "not_acceptable", "not_acceptable", 406)


def test_a_body_over_the_limit_raises_payload_too_large(demo: Demo) -> None:
    with (
        client_for(demo) as client,
        pytest.raises(RFC9457.errors.PayloadTooLargeError) as caught,
    ):
        client.post("/v1/rebuild", content=b"\0" * (LIMIT + 1), headers=OCTET)
    err = check(caught.value, RFC9457, "payload_too_large", "payload_too_large", 413)
    assert str(LIMIT) in err.message


def test_malformed_json_raises_invalid_json_with_its_position(demo: Demo) -> None:
    with client_for(demo) as client, pytest.raises(RFC9457.errors.InvalidJsonError) as caught:
        client.post("/v1/trackers", content=b'{"name": "a"\n  "b": 1}', headers=JSON)
    err = check(caught.value, RFC9457, "invalid_json", "invalid_json", 400)
    assert err.extensions["line"] == 2
    assert isinstance(err.extensions["column"], int)


@pytest.mark.parametrize(
    ("path", "payload", "fields"),
    [
        ("/v1/transfers", {"name": "t", "files": []}, {"/files": "too_few"}),
        (
            "/v1/transfers",
            {"name": "", "files": [{"name": "a", "size": -1}]},
            {"/name": "too_short", "/files/0/size": "too_small"},
        ),
        ("/v1/jobs", {"seconds": 600}, {"/seconds": "too_large"}),
    ],
    ids=["no-files", "two-fields", "job-too-long"],
)
def test_invalid_fields_raise_validation_failed_with_a_pointer_each(
    demo: Demo, path: str, payload: dict[str, object], fields: dict[str, str]
) -> None:
    with (
        client_for(demo) as client,
        pytest.raises(RFC9457.errors.ValidationFailedError) as caught,
    ):
        client.post(path, json=payload)
    check(caught.value, RFC9457, "validation_failed", "validation_failed", 422, fields=fields)


def test_a_mismatched_idempotent_retry_raises_idempotency_mismatch(demo: Demo) -> None:
    headers = {"Idempotency-Key": f"client-{uuid.uuid4().hex}"}
    with client_for(demo) as client:
        assert client.post("/v1/trackers", json={"name": "a"}, headers=headers).status_code == 201
        with pytest.raises(RFC9457.errors.IdempotencyMismatchError) as caught:
            client.post("/v1/trackers", json={"name": "b"}, headers=headers)
    check(caught.value, RFC9457, "idempotency_mismatch", "idempotency_mismatch", 422)


def test_maintenance_raises_maintenance_after_waiting_the_hint(demo: Demo) -> None:
    with (
        demo.maintenance(),
        testing(),
        client_for(demo, policy=retries(2)) as client,
        pytest.raises(RFC9457.errors.MaintenanceError) as caught,
    ):
        client.get("/v1/teapot")
    err = check(caught.value, RFC9457, "maintenance", "maintenance", 503, attempts=2)
    assert err.retry_after == 60
    check_retried(err, wait=60.0, tolerance=0.0)


def test_a_spent_rate_limit_raises_rate_limited(limited: Demo) -> None:
    spend_rate_limit(limited, KEY_A)
    with (
        testing(),
        client_for(limited, KEY_A, policy=retries(3)) as client,
        pytest.raises(RFC9457.errors.RateLimitedError) as caught,
    ):
        client.get("/v1/trackers/tk_missing")
    err = check(caught.value, RFC9457, "rate_limited", "rate_limited", 429, attempts=3)
    check_retried(err, wait=retry_after(err.response))


def test_one_job_too_many_raises_concurrency_limited(limited: Demo) -> None:
    limited.create_job(60, key=KEY_B)
    with (
        client_for(limited, KEY_B) as client,
        pytest.raises(RFC9457.errors.ConcurrencyLimitedError) as caught,
    ):
        client.post("/v1/jobs", json={"seconds": 1})
    check(caught.value, RFC9457, "concurrency_limited", "concurrency_limited", 429)


def test_a_tracker_call_while_another_runs_raises_concurrency_limited(demo: Demo) -> None:
    with (
        tracker_call_in_progress(demo, KEY_A),
        client_for(demo, KEY_A) as client,
        pytest.raises(RFC9457.errors.ConcurrencyLimitedError) as caught,
    ):
        client.post("/v1/trackers", json={"name": f"second-{uuid.uuid4().hex[:6]}"})
    check(caught.value, RFC9457, "concurrency_limited", "concurrency_limited", 429)


# -- the service's own situations ----------------------------------------------------------


def test_the_services_own_situations_are_plain_problem_errors_under_the_profile(
    demo: Demo,
) -> None:
    with client_for(demo, KEY_B) as client, pytest.raises(ProblemError) as caught:
        client.get(f"/v1/trackers/{demo.create_tracker(key=KEY_A)['id']}")
    check_unidentified(
        caught.value, 404, "not_found", "Nothing with this id is visible to these credentials."
    )


def test_under_the_services_catalog_a_locked_transfer_is_typed_and_retried(demo: Demo) -> None:
    extended = service_catalog(PROFILE).catalog
    tid, fid = finalizing_transfer(demo, 30)
    with (
        testing(),
        client_for(demo, catalog=extended, policy=retries(2)) as client,
        pytest.raises(extended.errors.LockedError) as caught,
    ):
        client.put(f"/v1/transfers/{tid}/files/{fid}/parts/1", content=b"ab", headers=OCTET)
    err = check(caught.value, extended, "locked", "locked", 423, attempts=2)
    check_retried(err, wait=retry_after(err.response))
