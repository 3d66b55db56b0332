"""Rate limits, the running-jobs limit and Idempotency-Key, live, under every seed profile.

Each profile's service is started with ``--rate 5/10seconds --max-jobs 1`` (its own
fixture, not the profile modules', whose tests must not run into a limit). The rate test
spends KEY_A's budget; the others use KEY_B and stay inside it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ._demo import KEY_A, KEY_B, Demo, json_body, retry_after, start_demo

PROFILES = ["rfc9457", "tape", "discord", "symbl", "wetransfer", "rebuild"]

#: Each profile's rate-limit 429: the whole body (without the request id) where the format
#: is fixed, else the members that identify the entry.
RATE_LIMITED: dict[str, dict[str, Any]] = {
    "rfc9457": {"status": 429, "code": "rate_limited", "title": "Too many requests"},
    "tape": {
        "status": 429,
        "error_code": "too_many_requets",
        "error_message": "The request rate limit is exceeded. Slow down and retry later.",
    },
    "discord": {"code": 429, "message": "You are being rate limited.", "global": False},
    "symbl": {"message": "Too many requests arrived in a short time."},
    "wetransfer": {"message": "Limit Exceeded Exception"},
    "rebuild": {"code": "too_many_requests"},
}
#: Each profile's answer to a second running job.
JOBS_LIMITED: dict[str, dict[str, Any]] = {
    "rfc9457": {"status": 429, "code": "concurrency_limited"},
    "tape": {"status": 429, "error_code": "too_many_requets"},
    "discord": {"code": 429, "global": False},
    "symbl": {"message": "The account already runs as many jobs at once as it may."},
    "wetransfer": {"message": "Limit Exceeded Exception"},
    "rebuild": {"code": "too_many_requests"},
}
FIXED_BODIES = {"tape", "symbl", "wetransfer"}


@pytest.fixture(scope="module", params=PROFILES, name="demo")
def _demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    profile: str = request.param
    directory = tmp_path_factory.mktemp(f"limits-{profile}")
    args = ("--rate", "5/10seconds", "--max-jobs", "1")
    with start_demo(profile, directory, extra_args=args) as demo:
        yield demo


def test_rate_limit(demo: Demo) -> None:
    """Five calls in ten seconds per credential: the sixth is the profile's 429 with
    Retry-After and RateLimit headers (and discord's body retry_after), and waiting
    Retry-After seconds lets the next one through."""
    path = "/v1/trackers/tk_missing"
    statuses = []
    refused = None
    for _ in range(8):
        response = demo.call("GET", path, key=KEY_A)
        statuses.append(response.status_code)
        if response.status_code == 429:
            refused = response
            break
        assert response.headers["ratelimit-policy"] == '"5/10seconds";q=5;w=10'
    assert statuses == [404] * 5 + [429]
    assert refused is not None
    body = json_body(refused)
    for name, value in RATE_LIMITED[demo.profile].items():
        assert body[name] == value, body
    if demo.profile in FIXED_BODIES:
        assert set(body) == set(RATE_LIMITED[demo.profile])
    wait = retry_after(refused)
    assert 1 <= wait <= 2  # one unit per 2 seconds comes back
    assert refused.headers["ratelimit"] == f'"5/10seconds";r=0;t={wait}'
    if demo.profile == "discord":
        assert body["retry_after"] == wait
    assert demo.call("GET", path, key=KEY_B).status_code == 404  # another credential
    time.sleep(wait)
    assert demo.call("GET", path, key=KEY_A).status_code == 404


def test_running_jobs_limit(demo: Demo) -> None:
    """With --max-jobs 1 a second running job is the profile's concurrency 429."""
    demo.create_job(30, key=KEY_B)
    refused = demo.call("POST", "/v1/jobs", key=KEY_B, json={"seconds": 1})
    assert refused.status_code == 429, refused.text
    body = json_body(refused)
    for name, value in JOBS_LIMITED[demo.profile].items():
        assert body[name] == value, body
    assert 25 <= retry_after(refused) <= 30


def test_idempotent_post(demo: Demo) -> None:
    """A POST retried with its Idempotency-Key is replayed: one tracker, the same body."""
    key = {"Idempotency-Key": f"live-{uuid.uuid4().hex}"}
    body = {"name": f"tracker-{uuid.uuid4().hex[:8]}"}
    first = demo.call("POST", "/v1/trackers", key=KEY_B, json=body, headers=key)
    assert first.status_code == 201, first.text
    again = demo.call("POST", "/v1/trackers", key=KEY_B, json=body, headers=key)
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
