"""Hostile request bodies and path values at every route of the reference service.

Whatever a client sends, the service answers from the catalog with a 4xx: never a 500 (a
number past float range, a lone surrogate, a body of 100,000 unknown members, deep
nesting, bytes that are not UTF-8), and never an answer that grows with the attack.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from errorbook._demo._app import ROUTES
from errorbook._demo._schema import MAX_FIELD_ERRORS, Checker

from ._service import JSON, Service, body_of, start

PROFILES = ("rfc9457", "discord", "wetransfer", "symbl", "tape", "rebuild")
HUGE = "1" + "0" * 400
#: Bodies no route should answer with a 5xx.
BODIES: dict[str, bytes] = {
    "huge-seconds": f'{{"seconds": {HUGE}}}'.encode(),
    "huge-negative-seconds": f'{{"seconds": -{HUGE}}}'.encode(),
    "infinite-seconds": b'{"seconds": 1e999}',
    "negative-infinite-seconds": b'{"seconds": -1e999}',
    "huge-expires-in": (
        f'{{"name": "t", "files": [{{"name": "a", "size": 1}}], "expires_in": {HUGE}}}'
    ).encode(),
    "huge-size": f'{{"name": "t", "files": [{{"name": "a", "size": {HUGE}}}]}}'.encode(),
    "surrogate-name": b'{"name": "\\ud800"}',
    "surrogate-file-name": b'{"name": "t", "files": [{"name": "\\udfff", "size": 1}]}',
    "surrogate-member": b'{"\\ud800": 1, "name": "x"}',
    "surrogate-on": b'{"on": "\\ud800"}',
    "deep-nesting": b"[" * 100_000,
    "not-utf8": b'{"name": "\xff\xfe"}',
    "array": b"[]",
    "null": b"null",
    "nan": b'{"seconds": NaN}',
}
#: Path values for every parameter; each route is also called with a real transfer.
PATH_VALUES: dict[str, str] = {
    "surrogate": "%ED%A0%80",
    "long": "x" * 5000,
    "dots": "..",
    "nul": "%00",
    "huge-number": HUGE,
}


@pytest.fixture(name="service", params=PROFILES, ids=PROFILES)
def _service(request: pytest.FixtureRequest) -> Iterator[Service]:
    """The service under each profile."""
    service = start(request.param)
    yield service
    service.store.close()


def _paths(template: str, values: dict[str, str]) -> str:
    return template.format(**{name: values.get(name, "x") for name in _params(template)})


def _params(template: str) -> list[str]:
    return [part[1:-1] for part in template.split("/") if part.startswith("{")]


def _assert_client_error(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"


def test_hostile_bodies_at_every_route(service: Service) -> None:
    """Each hostile body, at each route, gets a 4xx (or the route's success), never a 5xx."""
    transfer = service.new_transfer(3)
    real = {
        "transfer_id": transfer["id"],
        "file_id": transfer["files"][0]["id"],
        "n": "1",
        "tracker_id": "x",
        "job_id": "x",
    }
    for method, template, name in ROUTES:
        if name == "set_maintenance":
            continue  # covered below: a valid body would switch the whole service off
        path = _paths(template, real)
        for label, body in BODIES.items():
            response = service.call(method, path, content=body, headers=JSON)
            _assert_client_error(response, f"{method} {template} with {label}")


def test_hostile_bodies_at_maintenance(service: Service) -> None:
    """The maintenance switch refuses hostile bodies as field errors, not with a 500."""
    for label, body in BODIES.items():
        response = service.call("PUT", "/v1/admin/maintenance", content=body, headers=JSON)
        _assert_client_error(response, f"maintenance with {label}")


@pytest.mark.parametrize("value", list(PATH_VALUES.values()), ids=list(PATH_VALUES))
def test_hostile_path_values(value: str) -> None:
    """Made-up, undecodable or huge path values answer 4xx at every route."""
    service = start()
    try:
        for method, template, _ in ROUTES:
            if not _params(template):
                continue
            path = _paths(template, dict.fromkeys(_params(template), value))
            response = service.call(method, path, content=b"{}", headers=JSON)
            _assert_client_error(response, f"{method} {path[:80]}")
    finally:
        service.store.close()


class TestNumbersPastFloatRange:
    def test_huge_seconds_is_too_large(self) -> None:
        """A 400-digit number of seconds is a too_large field error at /seconds."""
        service = start()
        response = service.call("POST", "/v1/jobs", content=BODIES["huge-seconds"], headers=JSON)
        assert response.status_code == 422
        errors = body_of(response)["errors"]
        assert [(e["pointer"], e["code"]) for e in errors] == [("/seconds", "too_large")]

    def test_huge_expires_in_is_too_large(self) -> None:
        """A 400-digit expires_in is a too_large field error at /expires_in."""
        service = start()
        response = service.call(
            "POST", "/v1/transfers", content=BODIES["huge-expires-in"], headers=JSON
        )
        assert response.status_code == 422
        errors = body_of(response)["errors"]
        assert [(e["pointer"], e["code"]) for e in errors] == [("/expires_in", "too_large")]

    def test_checker_number_bounds(self) -> None:
        """Ints past float range compare exactly; -inf is too small, not too large."""
        checker = Checker()
        assert checker.number(10**400, "/a", minimum=0, maximum=60) is None
        assert checker.number(-(10**400), "/b", minimum=0, maximum=60) is None
        assert checker.number(float("-inf"), "/c", minimum=0, maximum=60) is None
        assert checker.number(7, "/d", minimum=0, maximum=60) == 7.0
        assert [(e.pointer, e.code) for e in checker.errors] == [
            ("/a", "too_large"),
            ("/b", "too_small"),
            ("/c", "too_small"),
        ]


class TestLoneSurrogates:
    def test_tracker_name(self) -> None:
        """A name with a lone surrogate is a type field error, not a database failure."""
        service = start()
        response = service.call(
            "POST", "/v1/trackers", content=BODIES["surrogate-name"], headers=JSON
        )
        assert response.status_code == 422
        errors = body_of(response)["errors"]
        assert [(e["pointer"], e["code"]) for e in errors] == [("/name", "type")]

    def test_unknown_member_named_by_a_surrogate(self) -> None:
        """An unknown member whose name is a lone surrogate is named with ? in its place."""
        service = start()
        response = service.call(
            "POST", "/v1/trackers", content=BODIES["surrogate-member"], headers=JSON
        )
        assert response.status_code == 422
        errors = body_of(response)["errors"]
        assert [(e["pointer"], e["code"]) for e in errors] == [("/?", "unknown")]


class TestFieldErrorCap:
    @staticmethod
    def many_members(count: int) -> bytes:
        members = {f"{index:05x}": 0 for index in range(count)}
        return json.dumps(members, separators=(",", ":")).encode()

    def test_unknown_members_are_capped(self) -> None:
        """90,000 unknown members give the first 100 field errors and one saying so."""
        service = start()
        body = self.many_members(90_000)
        assert len(body) < 2**20  # under the route's body limit: the checker sees it all
        response = service.call("POST", "/v1/trackers", content=body, headers=JSON)
        assert response.status_code == 422
        errors = body_of(response)["errors"]
        assert len(errors) == MAX_FIELD_ERRORS + 1
        assert errors[-1]["pointer"] == ""
        assert errors[-1]["code"] == "more_errors"
        assert str(MAX_FIELD_ERRORS) in errors[-1]["detail"]
        assert len(response.content) < 20_000

    def test_exactly_the_cap_says_nothing_more(self) -> None:
        """Exactly 100 errors are all listed, with no note about more."""
        checker = Checker()
        checker.object({f"m{index}": 0 for index in range(MAX_FIELD_ERRORS)}, "")
        assert len(checker.errors) == MAX_FIELD_ERRORS
        assert {error.code for error in checker.errors} == {"unknown"}
        assert not checker.full

    def test_checking_stops_when_full(self) -> None:
        """Once full, later checks record nothing."""
        checker = Checker()
        checker.object({f"m{index}": 0 for index in range(500)}, "")
        checker.string(1, "/late", min_length=1, max_length=3)
        assert checker.full
        assert len(checker.errors) == MAX_FIELD_ERRORS + 1
        assert all(error.pointer != "/late" for error in checker.errors)


class TestEdgeValues:
    @staticmethod
    def completed(service: Service) -> str:
        transfer = service.new_transfer(1)
        tid, file = transfer["id"], transfer["files"][0]["id"]
        assert service.put_part(tid, file, 1, b"x").status_code == 200
        service.call("POST", f"/v1/transfers/{tid}/files/{file}/complete")
        return str(tid)

    def test_tiny_finalize_wait_is_too_small(self) -> None:
        """seconds=1e-9 would answer 202 for a transfer already ready: it is too_small."""
        service = start()
        tid = self.completed(service)
        response = service.call(
            "POST", f"/v1/transfers/{tid}/finalize", content=b'{"seconds": 1e-9}', headers=JSON
        )
        assert response.status_code == 422
        errors = body_of(response)["errors"]
        assert [(e["pointer"], e["code"]) for e in errors] == [("/seconds", "too_small")]

    def test_shortest_wait_is_still_finalizing(self) -> None:
        """The shortest wait allowed answers 202 finalizing with Retry-After: 1."""
        service = start()
        tid = self.completed(service)
        response = service.call(
            "POST", f"/v1/transfers/{tid}/finalize", content=b'{"seconds": 0.001}', headers=JSON
        )
        assert response.status_code == 202
        assert body_of(response)["state"] == "finalizing"
        assert response.headers["retry-after"] == "1"

    @pytest.mark.parametrize("number", ["00001", "01", "0"], ids=["00001", "01", "0"])
    def test_part_number_must_be_canonical(self, number: str) -> None:
        """parts/00001 is not part 1: one URL per part, so leading zeros are refused."""
        service = start()
        transfer = service.new_transfer(1)
        tid, file = transfer["id"], transfer["files"][0]["id"]
        response = service.put_part(tid, file, number, b"x")
        assert response.status_code == 422
        assert [e["pointer"] for e in body_of(response)["errors"]] == ["/n"]
