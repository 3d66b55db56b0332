"""Transfers under rfc9457: create, upload parts, complete, finalise, read, expire, hide."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ._service import JSON, KEY_B, Service, body_of

PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem with ``status`` and ``code``, carrying the request id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = body_of(response)
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"/errors/{code}"
    assert body["request_id"] == response.headers["x-request-id"]
    return body


class TestCreate:
    def test_created_with_location_and_etag(self, service: Service) -> None:
        """201 with the transfer, its Location and a strong ETag of the body."""
        response = service.post_json(
            "/v1/transfers", {"name": "holiday", "files": [{"name": "a.jpg", "size": 3}]}
        )
        assert response.status_code == 201
        body = body_of(response)
        assert body["name"] == "holiday"
        assert body["state"] == "uploading"
        assert body["id"].startswith("tr_")
        assert body["expires_at"] == "2027-01-22T08:00:00Z"  # the clock + 7 days
        [file] = body["files"]
        assert set(file) == {"id", "name", "size", "received", "complete"}
        assert (file["name"], file["size"], file["received"], file["complete"]) == (
            "a.jpg",
            3,
            0,
            False,
        )
        assert response.headers["location"] == f"/v1/transfers/{body['id']}"
        etag = response.headers["etag"]
        assert etag.startswith('"')
        assert not etag.startswith("W/")
        read = service.call("GET", f"/v1/transfers/{body['id']}")
        assert read.headers["etag"] == etag
        assert body_of(read) == body

    def test_every_field_error_at_once(self, service: Service) -> None:
        """validation_failed lists each bad field with its pointer, code and message."""
        response = service.post_json(
            "/v1/transfers",
            {
                "name": "",
                "files": [{"name": "a", "size": -1}, {"size": 2.5}, "x"],
                "expires_in": 0,
                "colour": "red",
            },
        )
        body = problem(response, 422, "validation_failed")
        found = {(error["pointer"], error["code"]) for error in body["errors"]}
        assert found == {
            ("/colour", "unknown"),
            ("/name", "too_short"),
            ("/files/0/size", "too_small"),
            ("/files/1/name", "required"),
            ("/files/1/size", "type"),
            ("/files/2", "type"),
            ("/expires_in", "too_small"),
        }
        assert all(error["detail"] for error in body["errors"])
        assert service.store._db.execute("SELECT COUNT(*) FROM transfers").fetchone()[0] == 0

    @pytest.mark.parametrize(
        ("body", "pointer", "code"),
        [
            ([], "", "type"),
            ({"name": "t"}, "/files", "required"),
            ({"name": "t", "files": []}, "/files", "too_few"),
            ({"name": "t", "files": [{"name": "a", "size": 1}] * 101}, "/files", "too_many"),
            ({"name": "t" * 256, "files": [{"name": "a", "size": 1}]}, "/name", "too_long"),
            ({"name": "t", "files": [{"name": "a", "size": 2**53}]}, "/files/0/size", "too_large"),
            ({"name": "t", "files": [{"name": "a", "size": True}]}, "/files/0/size", "type"),
            ({"name": 5, "files": [{"name": "a", "size": 1}]}, "/name", "type"),
            (
                b'{"name": "t", "files": [{"name": "a", "size": 1}], "expires_in": 1e400}',
                "/expires_in",
                "too_large",
            ),
            (
                {"name": "t", "files": [{"name": "a", "size": 1, "a/b~": 1}]},
                "/files/0/a~1b~0",
                "unknown",
            ),
        ],
        ids=[
            "not-object",
            "missing",
            "no-files",
            "too-many-files",
            "long-name",
            "huge-size",
            "bool-size",
            "number-name",
            "infinite-expiry",
            "escaped-pointer",
        ],
    )
    def test_one_field_error(self, service: Service, body: object, pointer: str, code: str) -> None:
        """Each schema rule answers with its own pointer and code."""
        response = service.post_json("/v1/transfers", body)
        found = problem(response, 422, "validation_failed")
        assert [(e["pointer"], e["code"]) for e in found["errors"]] == [(pointer, code)]

    @pytest.mark.parametrize(
        ("content", "line", "column"),
        [(b'{"name": ', 1, 10), (b'{"name": "a",\n "files" [] }', 2, 10), (b"", 1, 1)],
        ids=["cut", "second-line", "empty"],
    )
    def test_malformed_json_has_a_position(
        self, service: Service, content: bytes, line: int, column: int
    ) -> None:
        """invalid_json says where parsing stopped."""
        body = problem(service.post_json("/v1/transfers", content), 400, "invalid_json")
        assert (body["line"], body["column"]) == (line, column)

    @pytest.mark.parametrize(
        ("content", "reason"),
        [
            (b'{"name": "\xff"}', "not UTF-8"),
            (b'{"name": "t", "files": [{"name": "a", "size": NaN}]}', "NaN"),
            (b'{"size": ' + b"9" * 5000 + b"}", "too long"),
            (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ],
        ids=["latin-1", "nan", "long-number", "deep"],
    )
    def test_unreadable_json_is_invalid_json(
        self, service: Service, content: bytes, reason: str
    ) -> None:
        """Bodies the decoder cannot take are invalid_json with a reason, never a 500."""
        body = problem(service.post_json("/v1/transfers", content), 400, "invalid_json")
        assert reason in str(body["reason"])

    def test_a_body_without_json_content_type_is_415(self, service: Service) -> None:
        """The layer refuses a JSON route's body sent as text."""
        response = service.call(
            "POST", "/v1/transfers", content=b"{}", headers={"Content-Type": "text/plain"}
        )
        problem(response, 415, "unsupported_media_type")

    def test_a_json_body_over_1_mib_is_413(self, service: Service) -> None:
        """JSON routes take at most 1 MiB."""
        response = service.post_json("/v1/transfers", b" " * (1024 * 1024 + 1))
        body = problem(response, 413, "payload_too_large")
        assert "1048576" in str(body["detail"])


class TestUpload:
    def test_parts_then_complete(self, service: Service) -> None:
        """Each part answers the bytes so far; completing at the right size answers the file."""
        transfer = service.new_transfer(5)
        file = transfer["files"][0]["id"]
        first = service.put_part(transfer["id"], file, 1, b"abc")
        assert first.status_code == 200
        assert body_of(first) == {"file_id": file, "part": 1, "received": 3}
        assert body_of(service.put_part(transfer["id"], file, 2, b"de"))["received"] == 5
        done = service.call("POST", f"/v1/transfers/{transfer['id']}/files/{file}/complete")
        assert done.status_code == 200
        assert body_of(done) == {
            "id": file,
            "name": "file-0.bin",
            "size": 5,
            "received": 5,
            "complete": True,
        }

    def test_a_size_mismatch_is_400_with_both_sizes(self, service: Service) -> None:
        """Completing short of the declared size names the bytes received and declared."""
        transfer = service.new_transfer(3243214)
        file = transfer["files"][0]["id"]
        service.put_part(transfer["id"], file, 1, b"x" * 1200)
        response = service.call("POST", f"/v1/transfers/{transfer['id']}/files/{file}/complete")
        body = problem(response, 400, "size_mismatch")
        assert body["detail"] == "Received 1200 bytes, but the file was declared with 3243214."

    @pytest.mark.parametrize("number", ["0", "10001", "x", "-1", "1.5", "٣"])
    def test_a_bad_part_number_is_a_field_error(self, service: Service, number: str) -> None:
        """Part numbers are integers from 1 to 10000; anything else points at /n."""
        transfer = service.new_transfer(1)
        response = service.put_part(transfer["id"], transfer["files"][0]["id"], number, b"x")
        body = problem(response, 422, "validation_failed")
        assert [(e["pointer"], e["code"]) for e in body["errors"]] == [("/n", "out_of_range")]

    def test_a_part_over_5_mib_is_413(self, service: Service) -> None:
        """Parts are limited to 5 MiB, announced or not."""
        transfer = service.new_transfer(1)
        response = service.put_part(
            transfer["id"], transfer["files"][0]["id"], 1, b"x" * (5 * 1024 * 1024 + 1)
        )
        body = problem(response, 413, "payload_too_large")
        assert "5242880" in str(body["detail"])

    def test_a_part_sent_as_json_is_415(self, service: Service) -> None:
        """Parts are bytes: a JSON content type is refused."""
        transfer = service.new_transfer(1)
        path = f"/v1/transfers/{transfer['id']}/files/{transfer['files'][0]['id']}/parts/1"
        response = service.call("PUT", path, content=b"{}", headers=JSON)
        problem(response, 415, "unsupported_media_type")

    def test_a_part_for_a_complete_file_is_409(self, service: Service) -> None:
        """A complete file takes no more parts; detail says why."""
        transfer = service.new_transfer(0)
        file = transfer["files"][0]["id"]
        service.call("POST", f"/v1/transfers/{transfer['id']}/files/{file}/complete")
        body = problem(service.put_part(transfer["id"], file, 1, b"x"), 409, "state_conflict")
        assert body["reason"] == f"File {file} is complete; it takes no more parts."

    def test_an_unknown_file_is_404(self, service: Service) -> None:
        """A file id the transfer does not have is not_found."""
        transfer = service.new_transfer(1)
        problem(service.put_part(transfer["id"], "fi_nope", 1, b"x"), 404, "not_found")


class TestFinalize:
    def test_finalize_locks_then_ready(self, service: Service) -> None:
        """202 with retry_after and Retry-After; 423 while finalising; then ready and read-only."""
        transfer = service.new_transfer(1)
        tid, file = transfer["id"], transfer["files"][0]["id"]
        service.put_part(tid, file, 1, b"x")
        service.call("POST", f"/v1/transfers/{tid}/files/{file}/complete")
        started = service.call(
            "POST", f"/v1/transfers/{tid}/finalize", content=b'{"seconds": 4}', headers=JSON
        )
        assert started.status_code == 202
        assert body_of(started) == {"id": tid, "state": "finalizing", "retry_after": 4}
        assert started.headers["retry-after"] == "4"
        service.clock.advance(1.5)
        for response in (
            service.put_part(tid, file, 2, b"y"),
            service.call("POST", f"/v1/transfers/{tid}/files/{file}/complete"),
            service.call("POST", f"/v1/transfers/{tid}/finalize"),
        ):
            problem(response, 423, "locked")
            assert response.headers["retry-after"] == "3"
        assert body_of(service.call("GET", f"/v1/transfers/{tid}"))["state"] == "finalizing"
        service.clock.advance(2.5)
        assert body_of(service.call("GET", f"/v1/transfers/{tid}"))["state"] == "ready"
        problem(service.put_part(tid, file, 2, b"y"), 409, "state_conflict")

    def test_finalize_needs_every_file_complete(self, service: Service) -> None:
        """409 naming the first incomplete file."""
        transfer = service.new_transfer(1, 2)
        body = problem(
            service.call("POST", f"/v1/transfers/{transfer['id']}/finalize"), 409, "state_conflict"
        )
        assert transfer["files"][0]["id"] in str(body["reason"])

    def test_a_bad_wait_is_a_field_error(self, service: Service) -> None:
        """`seconds` is above 0 and at most 60."""
        transfer = service.new_transfer(0)
        response = service.call(
            "POST",
            f"/v1/transfers/{transfer['id']}/finalize",
            content=b'{"seconds": 61}',
            headers=JSON,
        )
        body = problem(response, 422, "validation_failed")
        assert [(e["pointer"], e["code"]) for e in body["errors"]] == [("/seconds", "too_large")]


class TestRead:
    def test_if_none_match_answers_304(self, service: Service) -> None:
        """The current tag (alone, in a list, weak or *) gives 304 with the tag and no body."""
        transfer = service.new_transfer(1)
        path = f"/v1/transfers/{transfer['id']}"
        etag = service.call("GET", path).headers["etag"]
        for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
            response = service.call("GET", path, headers={"If-None-Match": header})
            assert response.status_code == 304, header
            assert response.content == b""
            assert response.headers["etag"] == etag
        stale = service.call("GET", path, headers={"If-None-Match": '"stale"'})
        assert stale.status_code == 200

    def test_the_etag_follows_the_state(self, service: Service) -> None:
        """A new part changes the representation and its tag."""
        transfer = service.new_transfer(2)
        path = f"/v1/transfers/{transfer['id']}"
        before = service.call("GET", path).headers["etag"]
        service.put_part(transfer["id"], transfer["files"][0]["id"], 1, b"x")
        after = service.call("GET", path, headers={"If-None-Match": before})
        assert after.status_code == 200
        assert after.headers["etag"] != before

    def test_expired_transfers_answer_410_everywhere(self, service: Service) -> None:
        """After expires_in, reads and every write answer gone."""
        transfer = service.new_transfer(1, expires_in=60)
        tid, file = transfer["id"], transfer["files"][0]["id"]
        service.clock.advance(60)
        for response in (
            service.call("GET", f"/v1/transfers/{tid}"),
            service.put_part(tid, file, 1, b"x"),
            service.call("POST", f"/v1/transfers/{tid}/files/{file}/complete"),
            service.call("POST", f"/v1/transfers/{tid}/finalize"),
        ):
            problem(response, 410, "gone")

    def test_another_keys_transfer_is_hidden(self, service: Service) -> None:
        """Another key's transfer answers exactly like an unknown one."""
        transfer = service.new_transfer(1)
        tid, file = transfer["id"], transfer["files"][0]["id"]
        unknown = problem(service.call("GET", "/v1/transfers/tr_0000"), 404, "not_found")
        for response in (
            service.call("GET", f"/v1/transfers/{tid}", key=KEY_B),
            service.put_part(tid, file, 1, b"x", key=KEY_B),
            service.call("POST", f"/v1/transfers/{tid}/finalize", key=KEY_B),
        ):
            hidden = problem(response, 404, "not_found")
            assert hidden["detail"] == unknown["detail"]
        assert body_of(service.call("GET", f"/v1/transfers/{tid}"))["files"][0]["received"] == 0
