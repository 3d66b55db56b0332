"""errorbook.Client against ``errorbook demo --profile discord``: seed page 001, typed.

Discord's codes are integers (50014, 50035, 40005...), and must stay ints on the error; a
rejected form's nested ``errors`` tree comes back as field errors with JSON pointers. The
page's retry rules are the catalog's: 429 and 503 wait for the server's hint (the body's
``retry_after`` and the headers), 423 is a transient lock worth retrying. The successes the
status table lists (202, 304) are not errors. Every status and JSON code the service can be
made to answer is here (500, 501, 502, 504, 507, 522-524 and the channel/guild codes have
no route that answers them).
"""

from __future__ import annotations

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
    finalizing_transfer,
    retries,
    retry_after,
    serve,
    spend_rate_limit,
    tracker_call_in_progress,
)

PROFILE = "discord"
DISCORD = Catalog.load(PROFILE)
JSON = {"Content-Type": "application/json"}
LIMIT = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve(PROFILE, tmp_path_factory)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve(PROFILE, tmp_path_factory, *LIMITED)


# -- 400: 50109, 50035 ---------------------------------------------------------------------


@pytest.mark.parametrize("content", [b'{"name": ', b"{'name': 'x'}", b'{"name": "x"} {}'])
def test_invalid_json_raises_invalid_json_50109(demo: Demo, content: bytes) -> None:
    with client_for(demo) as client, pytest.raises(DISCORD.errors.InvalidJsonError) as caught:
        client.post("/v1/trackers", content=content, headers=JSON)
    check(
        caught.value,
        DISCORD,
        "invalid_json",
        50109,
        400,
        message="The request body contains invalid JSON.",
    )


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"name": "t", "files": [{"name": "a", "size": -1}]}, {"/files/0/size": "too_small"}),
        (
            {"name": "", "files": [{"name": "a", "size": 1}, {"name": "b", "size": -5}]},
            {"/name": "too_short", "/files/1/size": "too_small"},
        ),
    ],
    ids=["one-field", "two-fields"],
)
def test_an_invalid_form_raises_invalid_form_body_50035_with_pointers(
    demo: Demo, payload: dict[str, object], fields: dict[str, str]
) -> None:
    """The nested ``_errors`` tree comes back flat, one pointer per rejected field."""
    with (
        client_for(demo) as client,
        pytest.raises(DISCORD.errors.InvalidFormBodyError) as caught,
    ):
        client.post("/v1/transfers", json=payload)
    check(
        caught.value,
        DISCORD,
        "invalid_form_body",
        50035,
        400,
        message="Invalid Form Body",
        fields=fields,
    )


# -- 401: 50014 ----------------------------------------------------------------------------


@pytest.mark.parametrize("api_key", [None, "not-a-token", KEY_A + "x"])
def test_a_missing_or_invalid_token_raises_invalid_token_50014(
    demo: Demo, api_key: str | None
) -> None:
    with (
        client_for(demo, None, api_key=api_key) as client,
        pytest.raises(DISCORD.errors.InvalidTokenError) as caught,
    ):
        client.get("/v1/teapot")
    err = check(
        caught.value, DISCORD, "invalid_token", 50014, 401, message="Invalid authentication token"
    )
    assert err.response.headers["www-authenticate"].startswith("Bearer")


# -- 404, 405, 409, 410, 413, 415, 422 -----------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/nowhere", "/api/v9/x"])
def test_an_unknown_location_raises_not_found(demo: Demo, path: str) -> None:
    with client_for(demo) as client, pytest.raises(DISCORD.errors.NotFoundError) as caught:
        client.get(path)
    check(caught.value, DISCORD, "not_found", 404, 404, message="404: Not Found")


@pytest.mark.parametrize("kind", ["transfers", "trackers", "jobs"])
def test_an_unknown_or_foreign_resource_raises_not_found(demo: Demo, kind: str) -> None:
    if kind == "transfers":
        own = demo.create_transfer()["id"]
    elif kind == "trackers":
        own = demo.create_tracker()["id"]
    else:
        own = demo.create_job(0.1)["id"]
    with client_for(demo, KEY_B) as client:
        for path in (f"/v1/{kind}/{own}", f"/v1/{kind}/{uuid.uuid4().hex}"):
            with pytest.raises(DISCORD.errors.NotFoundError) as caught:
                client.get(path)
            check(caught.value, DISCORD, "not_found", 404, 404, message="404: Not Found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("GET", "/v1/trackers", "POST"), ("PATCH", "/v1/jobs/abc", "GET")],
)
def test_a_method_the_location_does_not_take_raises_method_not_allowed(
    demo: Demo, method: str, path: str, allowed: str
) -> None:
    with (
        client_for(demo, None) as client,
        pytest.raises(DISCORD.errors.MethodNotAllowedError) as caught,
    ):
        client.request(method, path)
    err = check(
        caught.value, DISCORD, "method_not_allowed", 405, 405, message="405: Method Not Allowed"
    )
    assert allowed in err.response.headers["allow"]


def test_a_duplicate_tracker_name_raises_conflict(demo: Demo) -> None:
    name = f"dup-{uuid.uuid4().hex[:6]}"
    demo.create_tracker(name)
    with client_for(demo) as client, pytest.raises(DISCORD.errors.ConflictError) as caught:
        client.post("/v1/trackers", json={"name": name})
    check(caught.value, DISCORD, "conflict", 409, 409, message="409: Conflict")


def test_finalizing_an_incomplete_transfer_raises_conflict(demo: Demo) -> None:
    transfer = demo.create_transfer(sizes=(3,))
    with client_for(demo) as client, pytest.raises(DISCORD.errors.ConflictError) as caught:
        client.post(f"/v1/transfers/{transfer['id']}/finalize")
    err = check(caught.value, DISCORD, "conflict", 409, 409, message="409: Conflict")
    assert isinstance(err.extensions["reason"], str)


def test_an_expired_transfer_raises_gone(demo: Demo) -> None:
    tid, fid = expired_transfer(demo)
    with client_for(demo) as client:
        with pytest.raises(DISCORD.errors.GoneError) as caught:
            client.get(f"/v1/transfers/{tid}")
        check(caught.value, DISCORD, "gone", 410, 410, message="410: Gone")
        with pytest.raises(DISCORD.errors.GoneError) as caught_post:
            client.post(f"/v1/transfers/{tid}/files/{fid}/complete")
        check(caught_post.value, DISCORD, "gone", 410, 410, message="410: Gone")


def test_a_body_over_the_limit_raises_payload_too_large_40005(demo: Demo) -> None:
    with (
        client_for(demo) as client,
        pytest.raises(DISCORD.errors.PayloadTooLargeError) as caught,
    ):
        client.post("/v1/rebuild", content=b"\0" * (LIMIT + 1), headers=OCTET)
    check(
        caught.value,
        DISCORD,
        "payload_too_large",
        40005,
        413,
        message=f"Request entity too large. Keep it under {LIMIT} bytes.",
    )


@pytest.mark.parametrize("case", ["content-type", "accept"])
def test_a_media_type_it_cannot_read_or_serve_raises_unsupported_media_type(
    demo: Demo, case: str
) -> None:
    tracker = demo.create_tracker()
    if case == "content-type":
        method, path, content = "POST", "/v1/trackers", b'{"name": "x"}'
        headers = {"Content-Type": "text/plain"}
    else:
        method, path, content = "GET", f"/v1/trackers/{tracker['id']}", None
        headers = {"Accept": "application/xml"}
    with (
        client_for(demo) as client,
        pytest.raises(DISCORD.errors.UnsupportedMediaTypeError) as caught,
    ):
        client.request(method, path, content=content, headers=headers)
    check(
        caught.value,
        DISCORD,
        "unsupported_media_type",
        415,
        415,
        message="415: Unsupported Media Type",
    )


def test_a_mismatched_idempotent_retry_raises_unprocessable(demo: Demo) -> None:
    headers = {"Idempotency-Key": f"client-{uuid.uuid4().hex}"}
    with client_for(demo) as client:
        assert client.post("/v1/trackers", json={"name": "a"}, headers=headers).status_code == 201
        with pytest.raises(DISCORD.errors.UnprocessableError) as caught:
            client.post("/v1/trackers", json={"name": "b"}, headers=headers)
    check(caught.value, DISCORD, "unprocessable", 422, 422, message="422: Unprocessable Content")


# -- 423: retried, it is a transient lock --------------------------------------------------


def test_a_locked_transfer_raises_locked_after_the_retries_the_page_asks_for(
    demo: Demo,
) -> None:
    """A PUT is retried, waiting the seconds the service says are left; a POST is not."""
    tid, fid = finalizing_transfer(demo, 30)
    with testing(), client_for(demo, policy=retries(3)) as client:
        with pytest.raises(DISCORD.errors.LockedError) as caught:
            client.put(f"/v1/transfers/{tid}/files/{fid}/parts/1", content=b"ab", headers=OCTET)
        err = check(caught.value, DISCORD, "locked", 423, 423, message="423: Locked", attempts=3)
        check_retried(err, wait=retry_after(err.response))
        with pytest.raises(DISCORD.errors.LockedError) as caught_post:
            client.post(f"/v1/transfers/{tid}/files/{fid}/complete")
        check(caught_post.value, DISCORD, "locked", 423, 423, message="423: Locked")


# -- 429: rate limited, body retry_after and global ----------------------------------------


def test_a_spent_rate_limit_raises_rate_limited_after_waiting_retry_after(
    limited: Demo,
) -> None:
    spend_rate_limit(limited, KEY_A)
    with (
        testing(),
        client_for(limited, KEY_A, policy=retries(3)) as client,
        pytest.raises(DISCORD.errors.RateLimitedError) as caught,
    ):
        client.get("/v1/trackers/tk_missing")
    err = check(
        caught.value,
        DISCORD,
        "rate_limited",
        429,
        429,
        message="You are being rate limited.",
        attempts=3,
    )
    wait = retry_after(err.response)
    assert err.retry_after == wait
    assert err.extensions["global"] is False
    check_retried(err, wait=wait)


def test_one_job_too_many_raises_rate_limited_and_a_post_waits_only_with_a_key(
    limited: Demo,
) -> None:
    limited.create_job(60, key=KEY_B)
    with testing():
        with (
            client_for(limited, KEY_B) as client,
            pytest.raises(DISCORD.errors.RateLimitedError) as caught,
        ):
            client.post("/v1/jobs", json={"seconds": 1})
        check(caught.value, DISCORD, "rate_limited", 429, 429)
        policy = RetryPolicy(attempts=3, timeout=None, budget=None, idempotency_keys=True)
        with (
            client_for(limited, KEY_B, policy=policy) as client,
            pytest.raises(DISCORD.errors.RateLimitedError) as caught_keyed,
        ):
            client.post("/v1/jobs", json={"seconds": 1})
    err = check(caught_keyed.value, DISCORD, "rate_limited", 429, 429, attempts=3)
    assert err.request.headers.get("idempotency-key")
    assert err.retry_after is not None
    assert 50 <= err.retry_after <= 60
    check_retried(err, wait=err.retry_after)


def test_a_tracker_call_while_another_runs_raises_rate_limited(demo: Demo) -> None:
    with (
        tracker_call_in_progress(demo, KEY_A),
        client_for(demo, KEY_A) as client,
        pytest.raises(DISCORD.errors.RateLimitedError) as caught,
    ):
        client.post("/v1/trackers", json={"name": f"second-{uuid.uuid4().hex[:6]}"})
    check(caught.value, DISCORD, "rate_limited", 429, 429, message="You are being rate limited.")


# -- 503 -----------------------------------------------------------------------------------


def test_maintenance_raises_service_unavailable_after_the_default_retries(demo: Demo) -> None:
    """Retry-After 30 fits the default policy: four attempts, 30 s waited before each retry."""
    with (
        demo.maintenance(),
        testing(),
        client_for(demo) as client,
        pytest.raises(DISCORD.errors.ServiceUnavailableError) as caught,
    ):
        client.get("/v1/teapot")
    err = check(
        caught.value,
        DISCORD,
        "service_unavailable",
        503,
        503,
        message="503: Service Unavailable",
        attempts=4,
    )
    assert err.retry_after == 30
    check_retried(err, wait=30.0, tolerance=0.0)


# -- successes the table lists are not errors ----------------------------------------------


def test_202_and_304_are_returned_not_raised(demo: Demo) -> None:
    with client_for(demo) as client:
        accepted = client.post("/v1/jobs", json={"seconds": 0.5})
        assert accepted.status_code == 202
        assert accepted.json()["state"] == "running"
        created = client.post(
            "/v1/transfers", json={"name": "t", "files": [{"name": "a", "size": 1}]}
        )
        assert created.status_code == 201
        location = created.headers["location"]
        etag = client.get(location).headers["etag"]
        unchanged = client.get(location, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304
        assert unchanged.content == b""


# -- the service's own additions -----------------------------------------------------------


def test_an_answer_the_profile_does_not_document_is_a_plain_problem_error(demo: Demo) -> None:
    """A code the profile does not list (the service's 910002) still comes back, as an int."""
    with client_for(demo) as client, pytest.raises(ProblemError) as caught:
        client.post("/v1/rebuild", content=UNSUPPORTED_FILES["gif"], headers=OCTET)
    check_unidentified(
        caught.value, 422, 910002, "The service does not rebuild files of this type."
    )


def test_with_the_services_own_catalog_its_additions_are_typed(demo: Demo) -> None:
    extended = service_catalog(PROFILE).catalog
    with client_for(demo, catalog=extended) as client:
        with pytest.raises(extended.errors.UnsupportedFileTypeError) as caught:
            client.post("/v1/rebuild", content=UNSUPPORTED_FILES["gif"], headers=OCTET)
        check(caught.value, extended, "unsupported_file_type", 910002, 422)
        with pytest.raises(extended.errors.TeapotError) as caught_teapot:
            client.get("/v1/teapot")
        check(caught_teapot.value, extended, "teapot", 418, 418)
