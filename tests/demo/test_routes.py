"""Trackers, jobs, maintenance, the teapot, health and the layer's own answers, under rfc9457."""

from __future__ import annotations

from ._service import ANONYMOUS, JSON, KEY_B, Service, body_of
from .test_transfers import problem


class TestTrackers:
    def test_create_then_read(self, service: Service) -> None:
        """201 with the tracker and its Location; the Location reads it back."""
        created = service.post_json("/v1/trackers", {"name": "Pricing questions"})
        assert created.status_code == 201
        body = body_of(created)
        assert set(body) == {"id", "name"}
        assert body["name"] == "Pricing questions"
        read = service.call("GET", created.headers["location"])
        assert read.status_code == 200
        assert body_of(read) == body

    def test_a_name_in_use_is_409_for_this_key_only(self, service: Service) -> None:
        """name_taken names the tracker; another key may use the same name."""
        service.post_json("/v1/trackers", {"name": "Weekly"})
        body = problem(service.post_json("/v1/trackers", {"name": "Weekly"}), 409, "name_taken")
        assert body["detail"] == "You already have a tracker named Weekly."
        assert service.post_json("/v1/trackers", {"name": "Weekly"}, key=KEY_B).status_code == 201

    def test_another_keys_tracker_is_hidden(self, service: Service) -> None:
        """404 not_found, the same as for an id that never existed."""
        tracker = body_of(service.post_json("/v1/trackers", {"name": "Mine"}))
        problem(service.call("GET", f"/v1/trackers/{tracker['id']}", key=KEY_B), 404, "not_found")
        problem(service.call("GET", "/v1/trackers/tk_none"), 404, "not_found")

    def test_a_bad_name_is_a_field_error(self, service: Service) -> None:
        """Names are strings of 1 to 100 characters."""
        body = problem(
            service.post_json("/v1/trackers", {"name": "x" * 101}), 422, "validation_failed"
        )
        assert [(e["pointer"], e["code"]) for e in body["errors"]] == [("/name", "too_long")]


class TestJobs:
    def test_running_then_done(self, service: Service) -> None:
        """202 with retry_after in the body and Retry-After while running; 200 when done."""
        created = service.call("POST", "/v1/jobs", content=b'{"seconds": 2.5}', headers=JSON)
        assert created.status_code == 202
        job = body_of(created)
        assert job["state"] == "running"
        assert job["retry_after"] == 3
        assert created.headers["retry-after"] == "3"
        assert created.headers["location"] == f"/v1/jobs/{job['id']}"
        service.clock.advance(2)
        polled = service.call("GET", f"/v1/jobs/{job['id']}")
        assert polled.status_code == 202
        assert body_of(polled) == {"id": job["id"], "state": "running", "retry_after": 1}
        assert polled.headers["retry-after"] == "1"
        service.clock.advance(0.5)
        done = service.call("GET", f"/v1/jobs/{job['id']}")
        assert done.status_code == 200
        assert "retry-after" not in done.headers
        assert body_of(done) == {"id": job["id"], "state": "done", "result": {"seconds": 2.5}}

    def test_no_body_runs_two_seconds(self, service: Service) -> None:
        """The body is optional; the default job takes 2 seconds."""
        created = service.call("POST", "/v1/jobs")
        assert created.status_code == 202
        assert body_of(created)["retry_after"] == 2

    def test_bad_seconds_and_unknown_jobs(self, service: Service) -> None:
        """seconds above 0 and at most 60; another key's job is hidden."""
        for content, code in ((b'{"seconds": 0}', "too_small"), (b'{"seconds": "2"}', "type")):
            response = service.call("POST", "/v1/jobs", content=content, headers=JSON)
            body = problem(response, 422, "validation_failed")
            assert [(e["pointer"], e["code"]) for e in body["errors"]] == [("/seconds", code)]
        job = body_of(service.call("POST", "/v1/jobs"))
        problem(service.call("GET", f"/v1/jobs/{job['id']}", key=KEY_B), 404, "not_found")


class TestMaintenance:
    def test_maintenance_closes_all_but_its_switch_and_the_glossary(self, service: Service) -> None:
        """While on: 503 with Retry-After everywhere, the switch and /errors stay open."""
        on = service.call("PUT", "/v1/admin/maintenance", content=b'{"on": true}', headers=JSON)
        assert on.status_code == 200
        assert body_of(on) == {"maintenance": True}
        for response in (
            service.call("GET", "/health"),
            service.call("GET", "/v1/teapot"),
            service.call("GET", "/v1/nowhere"),
        ):
            problem(response, 503, "maintenance")
            assert response.headers["retry-after"] == "60"
        assert service.call("GET", "/errors").status_code == 200
        # The switch still needs a credential.
        refused = service.call(
            "PUT", "/v1/admin/maintenance", key=ANONYMOUS, content=b'{"on": false}', headers=JSON
        )
        problem(refused, 401, "unauthenticated")
        off = service.call("PUT", "/v1/admin/maintenance", content=b'{"on": false}', headers=JSON)
        assert body_of(off) == {"maintenance": False}
        assert service.call("GET", "/health").status_code == 200

    def test_the_switch_takes_a_boolean(self, service: Service) -> None:
        """`on` is required and must be true or false."""
        response = service.call("PUT", "/v1/admin/maintenance", content=b'{"on": 1}', headers=JSON)
        body = problem(response, 422, "validation_failed")
        assert [(e["pointer"], e["code"]) for e in body["errors"]] == [("/on", "type")]
        assert service.layer.maintenance is False


class TestOddsAndEnds:
    def test_teapot(self, service: Service) -> None:
        """GET /v1/teapot is 418 in the catalog's format."""
        problem(service.call("GET", "/v1/teapot"), 418, "teapot")

    def test_health_is_public(self, service: Service) -> None:
        """/health answers without a credential."""
        response = service.call("GET", "/health", key=ANONYMOUS)
        assert response.status_code == 200
        assert body_of(response) == {"status": "ok"}

    def test_v1_needs_a_credential(self, service: Service) -> None:
        """No credential, or an unknown one, is 401 with a Bearer challenge."""
        missing = service.call("GET", "/v1/teapot", key=ANONYMOUS)
        problem(missing, 401, "unauthenticated")
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = service.call(
            "GET", "/v1/teapot", key=ANONYMOUS, headers={"Authorization": "Bearer nope"}
        )
        problem(wrong, 401, "unauthenticated")
        assert wrong.headers["www-authenticate"] == 'Bearer error="invalid_token"'

    def test_unknown_routes_and_methods_come_before_auth(self, service: Service) -> None:
        """The layer answers 404 and 405 (with Allow) from the declared routes."""
        problem(service.call("GET", "/v1/nowhere", key=ANONYMOUS), 404, "unknown_route")
        wrong = service.call("DELETE", "/v1/trackers", key=ANONYMOUS)
        problem(wrong, 405, "method_not_allowed")
        assert wrong.headers["allow"] == "OPTIONS, POST"

    def test_an_unanswerable_accept_is_406(self, service: Service) -> None:
        """A JSON route asked for CSV answers not_acceptable."""
        response = service.call("GET", "/health", headers={"Accept": "text/csv"})
        problem(response, 406, "not_acceptable")
