"""The reference service's limits: ``rate`` per credential on /v1, trackers one call at a
time, at most N running jobs, and Idempotency-Key on every POST, under each profile."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from errorbook._demo._app import ENVIRONMENT, app_from_environment, store_of
from tests.demo._service import KEY_A, KEY_B, Service, body_of, start

PROFILES = ["rfc9457", "tape", "discord", "symbl", "wetransfer", "rebuild"]

#: What each profile's rate-limit 429 looks like: the body's identifying members.
RATE_LIMITED: dict[str, dict[str, Any]] = {
    "rfc9457": {"status": 429, "code": "rate_limited"},
    "tape": {"status": 429, "error_code": "too_many_requets"},
    "discord": {"code": 429, "message": "You are being rate limited.", "global": False},
    "symbl": {"message": "Too many requests arrived in a short time."},
    "wetransfer": {"message": "Limit Exceeded Exception"},
    "rebuild": {"code": "too_many_requests"},
}


def services(profile: str, **options: Any) -> Service:
    return start(profile, **options)


@pytest.mark.parametrize("profile", PROFILES)
def test_rate_per_credential(profile: str) -> None:
    """``rate`` counts per credential on every /v1 route: the third call in the minute is
    the profile's 429 with Retry-After and RateLimit headers; the other key and the public
    routes are not affected."""
    service = services(profile, rate=["2/minute"])
    try:
        assert service.call("GET", "/v1/trackers/tk_nope").status_code == 404
        assert service.call("GET", "/v1/jobs/jb_nope").status_code == 404
        refused = service.call("GET", "/v1/trackers/tk_nope")
        assert refused.status_code == 429, refused.text
        body = body_of(refused)
        for name, value in RATE_LIMITED[profile].items():
            assert body[name] == value, body
        assert refused.headers["retry-after"] == "30"
        assert refused.headers["ratelimit-policy"] == '"2/minute";q=2;w=60'
        assert refused.headers["ratelimit"] == '"2/minute";r=0;t=30'
        if profile == "discord":
            assert body["retry_after"] == 30
        assert service.call("GET", "/v1/trackers/tk_nope", key=KEY_B).status_code == 404
        for _ in range(5):
            assert service.call("GET", "/health").status_code == 200
        service.clock.advance(30)
        assert service.call("GET", "/v1/trackers/tk_nope").status_code == 404
    finally:
        service.store.close()


def test_no_rate_by_default() -> None:
    """Without ``rate`` nothing is counted and no RateLimit header is sent."""
    service = start()
    try:
        for _ in range(20):
            response = service.call("GET", "/v1/trackers/tk_nope")
            assert response.status_code == 404
            assert "ratelimit" not in response.headers
    finally:
        service.store.close()


def held_tracker_slot(service: Service, key: str = KEY_A) -> None:
    """Take the trackers' one slot for ``key``, as a call still running would hold it."""
    store = service.layer.store
    assert store is not None
    lease = asyncio.run(store.acquire(f"cPOST /v1/trackers|p:{key}", 1, ttl=60))
    assert lease is not None


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("symbl", {"message": "Another call to this operation is still in progress."}),
        ("rfc9457", {"code": "concurrency_limited"}),
        ("tape", {"error_code": "too_many_requets"}),
        ("wetransfer", {"message": "Limit Exceeded Exception"}),
    ],
    ids=["symbl", "rfc9457", "tape", "wetransfer"],
)
def test_trackers_one_call_at_a_time(profile: str, expected: dict[str, Any]) -> None:
    """A tracker call while another of the same credential runs is a 429 (symbl: its
    tracker_call_in_progress entry); another credential is served."""
    service = services(profile)
    try:
        held_tracker_slot(service)
        refused = service.post_json("/v1/trackers", {"name": "t"})
        assert refused.status_code == 429
        body = body_of(refused)
        for name, value in expected.items():
            assert body[name] == value
        assert refused.headers["retry-after"].isdigit()
        assert service.post_json("/v1/trackers", {"name": "t"}, key=KEY_B).status_code == 201
    finally:
        service.store.close()


@pytest.mark.parametrize("profile", ["symbl", "rfc9457"])
def test_running_jobs_limit(profile: str) -> None:
    """At most ``max_jobs`` running jobs per credential: the next is the concurrency entry
    (symbl: concurrent_jobs_limit) with Retry-After until the first job ends."""
    service = services(profile, max_jobs=2)
    try:
        for seconds in (10, 20):
            assert service.post_json("/v1/jobs", {"seconds": seconds}).status_code == 202
        service.clock.advance(4)
        refused = service.post_json("/v1/jobs", {"seconds": 1})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "6"
        body = body_of(refused)
        if profile == "symbl":
            assert body == {"message": "The account already runs as many jobs at once as it may."}
        else:
            assert body["code"] == "concurrency_limited"
            assert body["retry_after"] == 6
        assert service.post_json("/v1/jobs", {}, key=KEY_B).status_code == 202
        service.clock.advance(6)
        assert service.post_json("/v1/jobs", {"seconds": 1}).status_code == 202
    finally:
        service.store.close()


@pytest.mark.parametrize("profile", PROFILES)
def test_idempotency_key_on_posts(profile: str) -> None:
    """Every POST honours Idempotency-Key: a retry replays the first answer (one tracker
    made), another body under the same key is the profile's mismatch answer."""
    service = services(profile)
    try:
        headers = {"Idempotency-Key": "retry-1", "Content-Type": "application/json"}
        first = service.call("POST", "/v1/trackers", content=b'{"name":"a"}', headers=headers)
        assert first.status_code == 201
        again = service.call("POST", "/v1/trackers", content=b'{"name":"a"}', headers=headers)
        assert again.status_code == 201
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        other = service.call("POST", "/v1/trackers", content=b'{"name":"b"}', headers=headers)
        assert other.status_code in (409, 400, 422)  # the profile's idempotency_mismatch entry
        assert (
            other.status_code == service.layer.catalog.for_condition("idempotency_mismatch").status
        )
        # Another credential's same key is its own.
        theirs = service.call(
            "POST", "/v1/trackers", key=KEY_B, content=b'{"name":"a"}', headers=headers
        )
        assert theirs.status_code == 201
        assert "idempotent-replayed" not in theirs.headers
    finally:
        service.store.close()


def test_app_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers' factory builds the service from the settings the CLI left."""
    monkeypatch.setenv(
        ENVIRONMENT,
        '{"profile": "tape", "api_keys": ["k"], "db": ":memory:", "rate": ["5/minute"]}',
    )
    layer = app_from_environment()
    assert layer.catalog.format.name == "tape"
    store_of(layer).close()
    monkeypatch.setenv(ENVIRONMENT, "not json")
    with pytest.raises(RuntimeError, match=ENVIRONMENT):
        app_from_environment()
