"""The five seed profiles reproduce the facts of their APIs' published error pages.

Each expectation here is a fact of a seed page (a status, a wire code or text, a limit, a
column, a front matter key), written out by hand: the project keeps no copy of the pages.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
import yaml

from errorbook._catalog import Catalog
from errorbook._docs import render_markdown
from errorbook._problem import FieldError
from errorbook._profiles import profile_names
from errorbook._spec import ErrorSpec

SEEDS = ("rebuild", "discord", "symbl", "wetransfer", "tape")


@cache
def load(name: str) -> Catalog:
    return Catalog.load(name)


def body(profile: str, key: str, /, **params: Any) -> Any:
    catalog = load(profile)
    return json.loads(catalog.format.render(catalog.problem(key, **params)))


def front_matter(markdown: str) -> dict[str, Any]:
    match = re.match(r"---\n(.*?)\n---\n", markdown, re.DOTALL)
    assert match, "the page has no front matter"
    data = yaml.safe_load(match.group(1))
    assert isinstance(data, dict)
    return data


def table_rows(markdown: str, header: str) -> list[list[str]]:
    """The cells of the table whose header line is ``header``, row by row."""
    lines = markdown.splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def section(markdown: str, heading: str) -> str:
    """The text between ``heading`` and the next heading of any level."""
    start = markdown.index(heading + "\n")
    rest = markdown[start + len(heading) + 1 :]
    end = re.search(r"^#", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


# -- every seed profile ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SEEDS, ids=SEEDS)
def test_profile_loads_with_its_own_format(name: str) -> None:
    """Each seed profile loads and renders bodies in the built-in format of the same name."""
    catalog = load(name)
    assert catalog.format.name == name
    assert catalog.type_base


def own_entries(catalog: Catalog) -> list[ErrorSpec]:
    """The entries a catalog writes itself, without the rfc9457 fallbacks it inherits."""
    fallback_keys = {catalog.for_condition(c).key for c in catalog.fallbacks}
    return [spec for spec in catalog if spec.key not in fallback_keys]


def normalised(text: str) -> str:
    return " ".join(text.split()).casefold()


@pytest.mark.parametrize("name", SEEDS, ids=SEEDS)
def test_prose_is_not_borrowed_from_rfc9457(name: str) -> None:
    """No entry of a seed profile reuses a description of the default profile."""
    defaults = {spec.description for spec in load("rfc9457")}
    catalog = load(name)
    own = own_entries(catalog)
    assert own
    assert all(spec.description and spec.description not in defaults for spec in own)
    assert catalog.description != load("rfc9457").description


def test_descriptions_are_unique_across_profiles() -> None:
    """Each description, in every built-in profile, is written for its own entry.

    A description says what one situation means, so no two entries share one, in the same
    profile or in two. A resolution may repeat within a profile (the gateway errors of one
    API all say to retry), but no profile takes another's. Whitespace and case do not count.
    """
    descriptions: dict[str, str] = {}
    resolutions: dict[str, str] = {}
    catalogs: dict[str, str] = {}
    for name in profile_names():
        catalog = load(name)
        text = normalised(catalog.description)
        assert text, name
        assert text not in catalogs, f"{name} describes itself as {catalogs.get(text)} does"
        catalogs[text] = name
        for spec in own_entries(catalog):
            where = f"{name}: {spec.key}"
            text = normalised(spec.description)
            assert text, f"{where} has no description"
            assert text not in descriptions, f"{where} repeats {descriptions.get(text)}"
            descriptions[text] = where
            text = normalised(spec.resolution)
            if text:
                owner = resolutions.setdefault(text, name)
                assert owner == name, f"{where} repeats a resolution of {owner}"


@pytest.mark.parametrize("name", SEEDS, ids=SEEDS)
def test_every_entry_renders_its_example(name: str) -> None:
    """Every entry's example renders a body that parses back to the entry and its message.

    The body gives back the example message and the status, the wire code where the format
    has room for one, and identifies the entry it came from (by code, else by message).
    """
    catalog = load(name)
    for spec in catalog:
        assert set(spec.example) == set(spec.params), spec.key
        for language in spec.languages:
            where = f"{spec.key} ({language})"
            problem = catalog.problem(spec.key, language=language, **spec.example)
            rendered = catalog.format.render(problem)
            parsed = catalog.format.parse(rendered, status=spec.status)
            assert parsed.message == spec.example_message(language, catalog.language), where
            assert parsed.status == spec.status, where
            if "code" in catalog.format.carries:
                assert parsed.code == spec.code, where
                assert type(parsed.code) is type(spec.code), where
            assert catalog.identify(parsed).key == spec.key, where


CONDITIONS = [
    ("tape", "unknown_route", 400, "invalid_request_url"),
    ("tape", "invalid_json", 400, "invalid_json"),
    ("tape", "validation_failed", 400, "validation_error"),
    ("tape", "unauthenticated", 401, "unauthorized"),
    ("tape", "forbidden", 403, "restricted_resource"),
    ("tape", "rate_limited", 429, "too_many_requets"),
    ("tape", "internal", 500, "internal_server_error"),
    ("discord", "unauthenticated", 401, 50014),
    ("discord", "forbidden", 403, 50013),
    ("discord", "validation_failed", 400, 50035),
    ("discord", "invalid_json", 400, 50109),
    ("discord", "payload_too_large", 413, 40005),
    ("discord", "rate_limited", 429, 429),
    ("discord", "method_not_allowed", 405, 405),
    ("discord", "maintenance", 503, 503),
    ("rebuild", "unauthenticated", 403, "forbidden"),
    ("rebuild", "forbidden", 403, "forbidden"),
    ("rebuild", "unknown_route", 403, "missing_authentication_token"),
    ("rebuild", "payload_too_large", 413, "payload_too_large"),
    ("rebuild", "rate_limited", 429, "too_many_requests"),
    ("rebuild", "concurrency_limited", 429, "too_many_requests"),
    ("rebuild", "invalid_json", 400, "bad_request"),
    ("rebuild", "internal", 500, "internal_server_error"),
    ("symbl", "concurrency_limited", 429, "concurrent_jobs_limit"),
    ("symbl", "rate_limited", 429, "rate_limited"),
    ("symbl", "payload_too_large", 413, "payload_too_large"),
    ("symbl", "unauthenticated", 401, "unauthorized"),
    ("symbl", "unknown_route", 404, "not_found"),
]


@pytest.mark.parametrize(
    ("name", "condition", "status", "code"),
    CONDITIONS,
    ids=[f"{name}-{condition}" for name, condition, _, _ in CONDITIONS],
)
def test_condition_answers(name: str, condition: str, status: int, code: str | int) -> None:
    """Each condition the layer detects gets the status and wire code the seed page gives."""
    spec = load(name).for_condition(condition)
    assert (spec.status, spec.code) == (status, code)


WETRANSFER_CONDITIONS = [
    ("unknown_route", 403, "Missing Authentication Token"),
    ("unauthenticated", 403, "Forbidden"),
    ("forbidden", 403, "Forbidden"),
    ("unsupported_media_type", 415, "Unsupported Media Type"),
    ("method_not_allowed", 405, "Unsupported HTTP method"),
    ("rate_limited", 429, "Limit Exceeded Exception"),
]


@pytest.mark.parametrize(
    ("condition", "status", "message"),
    WETRANSFER_CONDITIONS,
    ids=[condition for condition, _, _ in WETRANSFER_CONDITIONS],
)
def test_wetransfer_gateway_answers(condition: str, status: int, message: str) -> None:
    """WeTransfer's gateway answers carry its exact texts as the body's only member."""
    catalog = load("wetransfer")
    spec = catalog.for_condition(condition)
    assert spec.status == status
    assert body("wetransfer", spec.key) == {"message": message}


# -- tape -----------------------------------------------------------------------------------

TAPE_CODES = {
    "invalid_json": 400,
    "invalid_request_url": 400,
    "invalid_request": 400,
    "validation_error": 400,
    "unauthorized": 401,
    "restricted_resource": 403,
    "not_found": 404,
    "conflict_error": 409,
    "too_many_requets": 429,
    "internal_server_error": 500,
}


def test_tape_body_is_status_code_and_message() -> None:
    """A tape body holds exactly status, error_code and error_message, in that order."""
    catalog = load("tape")
    problem = catalog.problem("invalid_json")
    parsed = json.loads(catalog.format.render(problem))
    assert list(parsed) == ["status", "error_code", "error_message"]
    assert parsed == {"status": 400, "error_code": "invalid_json", "error_message": problem.message}


def test_tape_codes_and_statuses() -> None:
    """Tape's ten wire codes exist with their statuses, the misspelled 429 included."""
    catalog = load("tape")
    for code, status in TAPE_CODES.items():
        assert catalog.by_code(code).status == status
    assert catalog.by_code("too_many_requets").retry == "after"


def test_tape_glossary_is_one_table() -> None:
    """Tape's glossary has its front matter and one Status/error_code/Description table."""
    markdown = render_markdown(load("tape"))
    assert front_matter(markdown) == {"id": "errors", "title": "Errors", "sidebar_label": "Errors"}
    rows = table_rows(markdown, "| Status | error_code | Description |")
    seen = {row[1].strip("`"): int(row[0]) for row in rows}
    assert seen == TAPE_CODES


# -- wetransfer -----------------------------------------------------------------------------


def test_wetransfer_size_mismatch() -> None:
    """The size check answers 'Expected X to be Y' on the file completion endpoint."""
    catalog = load("wetransfer")
    spec = catalog["size_mismatch"]
    assert spec.endpoints == ("POST /v1/transfers/{transfer_id}/files/{file_id}/complete",)
    assert body("wetransfer", "size_mismatch", received=1200, declared=3243214) == {
        "message": "Expected 1200 to be 3243214"
    }
    assert catalog.problem("size_mismatch", **spec.example).message == "Expected 1200 to be 3243214"


def test_wetransfer_other_statuses() -> None:
    """WeTransfer has entries for 400, 404, 406, 410, 418, 500 and 503 (maintenance)."""
    catalog = load("wetransfer")
    statuses = {spec.status for spec in catalog}
    assert {400, 404, 406, 410, 418, 500, 503} <= statuses
    assert catalog.for_condition("not_acceptable").status == 406
    maintenance = catalog.for_condition("maintenance")
    assert (maintenance.status, maintenance.retry) == (503, "after")


def test_wetransfer_glossary_tables() -> None:
    """WeTransfer's glossary has its four columns and a status table of ten statuses."""
    markdown = render_markdown(load("wetransfer"))
    assert markdown.startswith("# Errors\n")
    rows = table_rows(markdown, "| Error | Message | Explanation | Solution |")
    messages = {row[1] for row in rows}
    assert '`{"message":"Missing Authentication Token"}`' in messages
    assert '`{"message":"Expected 1200 to be 3243214"}`' in messages
    statuses = [row[0] for row in table_rows(markdown, "| Code | Meaning |")]
    expected = [400, 403, 404, 405, 406, 410, 418, 429, 500, 503]
    assert statuses == [f"`{status}`" for status in expected]


# -- rebuild --------------------------------------------------------------------------------


def test_rebuild_payload_limit() -> None:
    """Rebuild's 413 names its 6 MB limit and points at the URL-based route."""
    spec = load("rebuild")["payload_too_large"]
    assert spec.example == {"limit": 6 * 1024 * 1024}
    assert "pre-signed URL" in spec.resolution
    assert "6291456" in body("rebuild", "payload_too_large", limit=6291456)["message"]


def test_rebuild_422_bodies_say_which() -> None:
    """Rebuild's two 422 answers differ in their body's code."""
    catalog = load("rebuild")
    unprocessable = [spec for spec in catalog if spec.status == 422]
    codes = {body("rebuild", spec.key)["code"] for spec in unprocessable}
    assert codes == {"unsupported_file_type", "file_damaged"}


def test_rebuild_glossary_sections() -> None:
    """Rebuild's glossary has its front matter and a section per status, in status order."""
    markdown = render_markdown(load("rebuild"))
    assert list(front_matter(markdown)) == ["title", "id", "sidebar_label"]
    assert front_matter(markdown)["id"] == "rebuild-errors"
    own = markdown.split("\n## ")[0]
    headings = re.findall(r"^### (\d{3}) (.+)$", own, re.MULTILINE)
    assert [status for status, _ in headings] == [
        "400",
        "403",
        "403",
        "413",
        "422",
        "422",
        "429",
        "500",
    ]
    assert ("403", "Forbidden") in headings
    assert ("403", "Missing Authentication Token") in headings
    assert ("413", "Payload Too Large") in headings
    assert "6 MB" in section(markdown, "### 413 Payload Too Large")


# -- symbl ----------------------------------------------------------------------------------


def test_symbl_tracker_errors() -> None:
    """Creating a tracker can conflict, be too large or overlap another call."""
    catalog = load("symbl")
    create = [spec for spec in catalog if "POST /v1/trackers" in spec.endpoints]
    assert sorted(spec.status for spec in create) == [400, 409, 413, 429, 500, 502, 504]
    assert body("symbl", "tracker_exists", name="Pricing") == {
        "message": "A tracker named Pricing already exists."
    }
    assert catalog["payload_too_large"].example == {"limit": 1024 * 1024}
    assert catalog["tracker_not_found"].endpoints == ("GET /v1/trackers/{tracker_id}",)


def test_symbl_auth_message() -> None:
    """Symbl's 401 body carries the text its token check sends."""
    parsed = body("symbl", "unauthorized")
    assert list(parsed) == ["message"]
    assert parsed["message"] == "Token validation failed for provided token."


def test_symbl_glossary_per_endpoint_tables() -> None:
    """Symbl's glossary has its front matter, the status table and one table per operation."""
    markdown = render_markdown(load("symbl"))
    assert list(front_matter(markdown)) == ["id", "title", "sidebar_label", "slug"]
    assert front_matter(markdown)["slug"] == "/developer-tools/errors/"
    statuses = [row[0] for row in table_rows(markdown, "| Error Code | Meaning |")]
    assert statuses == ["200", "201", "400", "401", "403", "404", "405", "429", "500"]
    header = "| Error Code | Description | Resolution |"
    jobs = section(markdown, "### Async Text API - POST")
    create = section(markdown, "### Create Trackers")
    get = section(markdown, "### Get Tracker")
    for text in (jobs, create, get):
        assert header in text
    assert [row[0] for row in table_rows(create, header)] == [
        "400 - Bad Request",
        "409 - Conflict",
        "413 - Request Entity Too Large",
        "429 - Too many requests",
        "500 - Internal Server Error",
        "502 - Bad Gateway",
        "504 - Gateway Timeout",
    ]
    assert [row[0] for row in table_rows(jobs, header)] == ["429 - Too Many Requests"]
    assert [row[0] for row in table_rows(get, header)] == ["404 - Not Found"]


# -- discord --------------------------------------------------------------------------------

DISCORD_STATUSES = [
    200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 423, 429,
    501, 502, 503, 504,
]  # fmt: skip


def test_discord_invalid_token_body() -> None:
    """Discord's invalid-token answer has the integer code 50014 and its message."""
    parsed = body("discord", "invalid_token")
    assert parsed == {"message": "Invalid authentication token", "code": 50014}
    assert type(parsed["code"]) is int


def test_discord_form_errors_are_nested() -> None:
    """Field errors of an invalid form land in a nested tree of _errors lists."""
    catalog = load("discord")
    problem = catalog.problem(
        "invalid_form_body",
        fields=[FieldError("/embeds/0/title", "BASE_TYPE_REQUIRED", "This field is required")],
    )
    parsed = json.loads(catalog.format.render(problem))
    assert parsed["code"] == 50035
    assert parsed["errors"]["embeds"]["0"]["title"]["_errors"][0]["code"] == "BASE_TYPE_REQUIRED"


def test_discord_retry_hints() -> None:
    """Gateway errors back off, 429 and 503 wait for the server, 423 is retried, 501 is not."""
    catalog = load("discord")
    retry = {spec.status: spec.retry for spec in catalog}
    for status in (502, 504, 507, 522, 523, 524):
        assert retry[status] == "backoff", status
    assert (retry[429], retry[503], retry[501]) == ("after", "after", "never")
    assert retry[423] != "never"
    assert "retry_after" in body("discord", "rate_limited")


def test_discord_error_statuses_have_entries() -> None:
    """Every error status on Discord's table, and each gateway status retried, has an entry."""
    statuses = {spec.status for spec in load("discord")}
    wanted = {s for s in DISCORD_STATUSES if s >= 400} | {500, 507, 522, 523, 524}
    assert wanted <= statuses


def test_discord_glossary_tables() -> None:
    """Discord's glossary lists every status as 'NNN (Phrase)' and every JSON code."""
    catalog = load("discord")
    markdown = render_markdown(catalog)
    assert markdown.startswith("# Errors\n")
    labels = [row[0] for row in table_rows(markdown, "| Code | Description |")]
    assert [label.split(" ")[0] for label in labels] == [*map(str, DISCORD_STATUSES), "5xx"]
    assert "202 (Accepted)" in labels
    assert "retry_after" in section(markdown, "## HTTP response codes")
    codes = {row[0] for row in table_rows(markdown, "| Code | Status | Message | Description |")}
    assert {f"`{spec.code}`" for spec in catalog} == codes
    assert {"`50014`", "`50035`", "`0`"} <= codes
