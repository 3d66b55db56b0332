"""The service under the other profiles: their entries, codes, body shapes and credentials."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from errorbook import profile_names
from errorbook._demo._catalog import ADDITIONS, REUSED, service_catalog
from errorbook._demo._credentials import AUDIENCE
from errorbook._demo._situations import SITUATIONS

from ._service import ANONYMOUS, KEY_A, KEY_B, SECRET, Service, body_of, start

DOC = Path(__file__).parents[2] / "docs" / "reference-service.md"


@pytest.fixture(name="open_service")
def _open_service() -> Iterator[list[Service]]:
    opened: list[Service] = []
    yield opened
    for service in opened:
        service.store.close()


def under(profile: str, opened: list[Service]) -> Service:
    service = start(profile)
    opened.append(service)
    return service


class TestCatalog:
    @pytest.mark.parametrize("profile", profile_names())
    def test_every_situation_has_an_entry(self, profile: str) -> None:
        """Each situation maps to an entry of the extended catalog, its parameters filled."""
        catalog = service_catalog(profile)
        facts = {"name": "n", "tracker_id": "tk_1", "received": 1, "declared": 2}
        for situation in SITUATIONS:
            problem = catalog.error(situation, **facts)
            assert problem.key == catalog.uses[situation].key
            assert problem.status == catalog.catalog[problem.key].status

    @pytest.mark.parametrize("profile", profile_names())
    def test_reused_entries_are_the_profiles_own(self, profile: str) -> None:
        """What the table says is reused comes from the profile file, unchanged."""
        catalog = service_catalog(profile)
        for situation, use in REUSED[profile].items():
            assert use.key not in catalog.added, situation
        assert set(catalog.added) <= set(ADDITIONS)

    def test_the_contract_table_matches_the_code(self) -> None:
        """docs/reference-service.md's table is what the service really answers with."""
        profiles = ["rfc9457", "tape", "discord", "symbl", "wetransfer", "rebuild"]
        assert sorted(profiles) == sorted(profile_names())
        catalogs = {profile: service_catalog(profile) for profile in profiles}
        rows = []
        for situation in SITUATIONS:
            cells = []
            for profile in profiles:
                catalog = catalogs[profile]
                key = catalog.uses[situation].key
                spec = catalog.catalog[key]
                code = "" if str(spec.code) == key else f" code {spec.code}"
                mine = "" if key in catalog.added else " (profile)"
                cells.append(f"{spec.status} `{key}`{code}{mine}")
            rows.append(f"| {situation} | " + " | ".join(cells) + " |")
        text = DOC.read_text(encoding="utf-8").split("## Which entry answers what", 1)[1]
        table = re.findall(r"^\| (?!situation \|)[a-z_]+ \|.*\|$", text, flags=re.M)
        assert table == rows


class TestWetransfer:
    def test_size_mismatch_reads_expected_received_to_be_declared(
        self, open_service: list[Service]
    ) -> None:
        """The seed's "Expected 1200 to be 3243214": the bytes sent, then the size declared."""
        service = under("wetransfer", open_service)
        transfer = service.new_transfer(3243214)
        file = transfer["files"][0]["id"]
        service.put_part(transfer["id"], file, 1, b"x" * 1200)
        response = service.call("POST", f"/v1/transfers/{transfer['id']}/files/{file}/complete")
        assert response.status_code == 400
        assert body_of(response) == {"message": "Expected 1200 to be 3243214"}

    def test_the_key_goes_in_x_api_key(self, open_service: list[Service]) -> None:
        """X-API-KEY is the credential; a bearer token is not, and the refusal is 403."""
        service = under("wetransfer", open_service)
        assert service.headers[KEY_A] == {"X-API-KEY": KEY_A}
        assert service.call("GET", "/v1/teapot").status_code == 418
        refused = service.call(
            "GET", "/v1/teapot", key=ANONYMOUS, headers={"Authorization": f"Bearer {KEY_A}"}
        )
        assert refused.status_code == 403
        assert body_of(refused) == {"message": "Forbidden"}

    def test_gone_and_locked(self, open_service: list[Service]) -> None:
        """The profile's own 410, and the service's 423 in the profile's shape."""
        service = under("wetransfer", open_service)
        transfer = service.new_transfer(0, expires_in=30)
        tid, file = transfer["id"], transfer["files"][0]["id"]
        service.call("POST", f"/v1/transfers/{tid}/files/{file}/complete")
        service.call("POST", f"/v1/transfers/{tid}/finalize")
        locked = service.call("POST", f"/v1/transfers/{tid}/finalize")
        assert locked.status_code == 423
        assert locked.headers["retry-after"] == "3"
        assert body_of(locked) == {
            "message": "The transfer is being finalised and takes no changes for now."
        }
        service.clock.advance(30)
        gone = service.call("GET", f"/v1/transfers/{tid}")
        assert gone.status_code == 410
        assert body_of(gone) == {"message": "This transfer is no longer available."}


class TestTape:
    def test_hidden_404_and_conflict(self, open_service: list[Service]) -> None:
        """Tape's not_found hides other keys' trackers; a taken name is conflict_error."""
        service = under("tape", open_service)
        tracker = body_of(service.post_json("/v1/trackers", {"name": "Mine"}))
        hidden = service.call("GET", f"/v1/trackers/{tracker['id']}", key=KEY_B)
        assert hidden.status_code == 404
        assert list(body_of(hidden)) == ["status", "error_code", "error_message"]
        assert body_of(hidden)["error_code"] == "not_found"
        taken = service.post_json("/v1/trackers", {"name": "Mine"})
        assert taken.status_code == 409
        assert body_of(taken)["error_code"] == "conflict_error"


class TestDiscord:
    def test_integer_codes_and_field_tree(self, open_service: list[Service]) -> None:
        """Added entries carry integer codes; invalid forms nest `_errors` by field."""
        service = under("discord", open_service)
        teapot = body_of(service.call("GET", "/v1/teapot"))
        assert (teapot["code"], teapot["message"]) == (
            418,
            "This server is a teapot; it does not brew coffee.",
        )
        unsupported = service.call(
            "POST",
            "/v1/rebuild",
            content=b"GIF89a",
            headers={"Content-Type": "application/octet-stream"},
        )
        assert unsupported.status_code == 422
        assert body_of(unsupported)["code"] == 910002
        invalid = service.post_json(
            "/v1/transfers", {"name": "t", "files": [{"name": "a", "size": -1}]}
        )
        assert invalid.status_code == 400
        body = body_of(invalid)
        assert body["code"] == 50035
        assert body["errors"]["files"]["0"]["size"]["_errors"][0]["code"] == "too_small"


class TestSymbl:
    def test_tracker_entries_name_the_tracker(self, open_service: list[Service]) -> None:
        """tracker_exists names the tracker, tracker_not_found the id."""
        service = under("symbl", open_service)
        service.post_json("/v1/trackers", {"name": "Pricing questions"})
        taken = service.post_json("/v1/trackers", {"name": "Pricing questions"})
        assert taken.status_code == 409
        assert body_of(taken) == {"message": "A tracker named Pricing questions already exists."}
        missing = service.call("GET", "/v1/trackers/tk_gone")
        assert missing.status_code == 404
        assert body_of(missing) == {"message": "No tracker has the id tk_gone."}


class TestRebuild:
    def token(self, **claims: object) -> dict[str, str]:
        now = int(time.time())
        payload = {"sub": KEY_A, "aud": AUDIENCE, "exp": now + 60, **claims}
        return {"Authorization": f"Bearer {jwt.encode(payload, SECRET, algorithm='HS256')}"}

    def test_the_printed_token_works_and_scopes_by_subject(
        self, open_service: list[Service]
    ) -> None:
        """The signed token is accepted; its `sub` is the owner."""
        service = under("rebuild", open_service)
        assert service.headers[KEY_A]["Authorization"].startswith("Bearer ey")
        tracker = body_of(service.post_json("/v1/trackers", {"name": "t"}))
        mine = service.call(
            "GET", f"/v1/trackers/{tracker['id']}", key=ANONYMOUS, headers=self.token()
        )
        assert mine.status_code == 200
        theirs = service.call(
            "GET", f"/v1/trackers/{tracker['id']}", key=ANONYMOUS, headers=self.token(sub=KEY_B)
        )
        assert theirs.status_code == 404
        assert body_of(theirs)["code"] == "not_found"

    @pytest.mark.parametrize(
        "claims",
        [
            {"exp": int(time.time()) - 10},
            {"aud": "someone-else"},
            {"sub": "not-a-key"},
        ],
        ids=["expired", "audience", "subject"],
    )
    def test_bad_tokens_are_403(
        self, open_service: list[Service], claims: dict[str, object]
    ) -> None:
        """Expired, for another audience or for an unknown subject: the profile's 403."""
        service = under("rebuild", open_service)
        response = service.call("GET", "/v1/teapot", key=ANONYMOUS, headers=self.token(**claims))
        assert response.status_code == 403
        assert body_of(response)["code"] == "forbidden"

    def test_another_secret_or_algorithm_is_403(self, open_service: list[Service]) -> None:
        """A token signed with another key, or with HS512, is refused."""
        service = under("rebuild", open_service)
        payload = {"sub": KEY_A, "aud": AUDIENCE, "exp": int(time.time()) + 60}
        for token in (
            jwt.encode(payload, "x" * 64, algorithm="HS256"),
            jwt.encode(payload, SECRET + "x" * 30, algorithm="HS512"),
        ):
            response = service.call(
                "GET", "/v1/teapot", key=ANONYMOUS, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 403
