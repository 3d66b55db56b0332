"""add_error_responses: each operation lists the catalog's errors, with valid schemas."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

import errorbook
from errorbook import Catalog, OpenAPIError, add_error_responses, bearer, error_responses


def document() -> dict[str, Any]:
    """A small valid OpenAPI 3.1 document with a body, a path parameter and a public route."""
    ok = {"200": {"description": "OK"}}
    body = {"content": {"application/json": {"schema": {"type": "object"}}}}
    param = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Trackers", "version": "1"},
        "paths": {
            "/v1/trackers": {"post": {"requestBody": body, "responses": {"201": ok["200"]}}},
            "/v1/trackers/{id}": {
                "get": {"parameters": param, "responses": ok},
                "delete": {"parameters": param, "responses": {"204": {"description": "Gone"}}},
            },
            "/health": {"get": {"responses": ok}},
        },
    }


def refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            else:
                yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def resolve(doc: dict[str, Any], ref: str) -> Any:
    target: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def statuses(doc: dict[str, Any], path: str, method: str) -> list[str]:
    return sorted(doc["paths"][path][method]["responses"])


@pytest.mark.parametrize("profile", errorbook.profile_names(), ids=str)
def test_every_profile_gives_a_valid_document(profile: str) -> None:
    """For every profile the result passes the OpenAPI validator and every $ref resolves."""
    out = add_error_responses(
        document(), profile, auth=True, authorize=True, max_body=1024, deadline=5
    )
    validate(out)
    for ref in refs(out):
        assert resolve(out, ref)


@pytest.mark.parametrize("profile", errorbook.profile_names(), ids=str)
def test_examples_match_their_schema(profile: str) -> None:
    """Each JSON example, rendered by the catalog's format, is valid against its schema."""
    out = add_error_responses(document(), profile, auth=True, max_body=1024, deadline=5)
    checked = 0
    for item in out["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    if "examples" not in content or not media.endswith("json"):
                        continue
                    schema = resolve(out, content["schema"]["$ref"])
                    for example in content["examples"].values():
                        Draft202012Validator(schema).validate(example["value"])
                        if "status" in example["value"]:
                            assert str(example["value"]["status"]) == status
                        checked += 1
    assert checked > 10


def test_rule_for_guards() -> None:
    """Guard errors follow the documented rule: auth unless public, body errors, params."""
    out = add_error_responses(
        document(), "rfc9457", auth=True, public=["/health"], max_body=10, deadline=3
    )
    assert statuses(out, "/v1/trackers", "post") == [
        "201", "400", "401", "406", "413", "415", "422", "500", "503", "504"
    ]  # fmt: skip
    assert statuses(out, "/v1/trackers/{id}", "get") == [
        "200", "401", "404", "406", "422", "500", "503", "504"
    ]  # fmt: skip
    assert statuses(out, "/health", "get") == ["200", "406", "500", "503", "504"]


def test_without_options_only_what_always_applies() -> None:
    """No auth, limit or deadline: no 401, 413 or 504; 405 is never listed."""
    out = add_error_responses(document(), "rfc9457")
    assert statuses(out, "/v1/trackers", "post") == [
        "201", "400", "406", "415", "422", "500", "503"
    ]  # fmt: skip
    assert "405" not in json.dumps(out["paths"])


def test_forbidden_and_hidden_forbidden() -> None:
    """authorize lists 403; hide_forbidden lists the unknown_route answer instead."""
    shown = add_error_responses(document(), "rfc9457", auth=True, authorize=True)
    assert "403" in statuses(shown, "/health", "get")
    hidden = add_error_responses(
        document(), "rfc9457", auth=True, authorize=True, hide_forbidden=True
    )
    assert "403" not in statuses(hidden, "/health", "get")
    assert "404" in statuses(hidden, "/health", "get")


def test_route_options_read() -> None:
    """route_options may make a route public and lift its body limit."""
    out = add_error_responses(
        document(),
        "rfc9457",
        auth=True,
        max_body=10,
        route_options={"POST /v1/trackers": {"public": True, "max_body": None}},
    )
    assert "401" not in statuses(out, "/v1/trackers", "post")
    assert "413" not in statuses(out, "/v1/trackers", "post")
    assert "401" in statuses(out, "/v1/trackers/{id}", "get")


def test_entries_sharing_a_status_are_all_examples() -> None:
    """tape answers several conditions with 400: each entry is one example under 400."""
    out = add_error_responses(document(), "tape")
    response = out["paths"]["/v1/trackers"]["post"]["responses"]["400"]
    examples = response["content"]["application/json"]["examples"]
    assert set(examples) == {"invalid_request", "invalid_json", "validation_error"}
    assert examples["invalid_json"]["value"] == {
        "status": 400,
        "error_code": "invalid_json",
        "error_message": "The body of the request is not well-formed JSON.",
    }
    assert response["description"] == "Invalid request; Invalid JSON; Validation error"
    assert response["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TapeError"
    }
    assert out["components"]["schemas"]["TapeError"]["required"] == ["status", "error_message"]


def test_problem_json_and_xml() -> None:
    """rfc9457 documents both media types; XML examples are the XML text itself."""
    out = add_error_responses(document(), "rfc9457")
    content = out["paths"]["/v1/trackers"]["post"]["responses"]["422"]["content"]
    assert set(content) == {"application/problem+json", "application/problem+xml"}
    example = content["application/problem+json"]["examples"]["validation_failed"]["value"]
    assert example["code"] == "validation_failed"
    assert example["errors"][0]["pointer"] == "/name"
    assert example["request_id"]
    xml = content["application/problem+xml"]["examples"]["validation_failed"]["value"]
    assert xml.startswith("<?xml")
    assert "<code>validation_failed</code>" in xml
    schema = out["components"]["schemas"]["ProblemDetails"]
    assert schema["xml"]["namespace"] == "urn:ietf:rfc:7807"
    assert {"type", "title", "status", "detail", "code", "errors"} <= set(schema["properties"])


def test_headers() -> None:
    """Retry-After where the entry says when to retry, WWW-Authenticate on the 401."""
    out = add_error_responses(document(), "rfc9457", auth=bearer(keys={"k"}), deadline=1)
    responses = out["paths"]["/v1/trackers"]["post"]["responses"]
    assert "Retry-After" in responses["503"]["headers"]
    assert "Retry-After" not in responses["500"]["headers"]
    assert responses["401"]["headers"]["WWW-Authenticate"]["schema"]["example"] == "Bearer"
    assert "X-Request-Id" in responses["500"]["headers"]


def test_no_challenge_when_unauthenticated_is_not_401() -> None:
    """wetransfer answers unauthenticated with 403: no WWW-Authenticate there."""
    out = add_error_responses(document(), "wetransfer", auth=bearer(keys={"k"}))
    assert "WWW-Authenticate" not in json.dumps(out)


def test_input_is_not_changed_and_existing_responses_kept() -> None:
    """The document given is left alone, and a status it documents is not overwritten."""
    doc = document()
    doc["paths"]["/v1/trackers"]["post"]["responses"]["500"] = {"description": "Ours"}
    before = copy.deepcopy(doc)
    out = add_error_responses(doc, "rfc9457")
    assert doc == before
    assert out["paths"]["/v1/trackers"]["post"]["responses"]["500"] == {"description": "Ours"}


def test_named_errors_and_catalog_endpoints() -> None:
    """Keys named per operation and entries whose endpoints name it are both listed."""
    catalog = Catalog.from_dict(
        {
            "name": "Trackers",
            "errors": {
                "tracker_exists": {
                    "status": 409,
                    "message": "A tracker named {name} exists.",
                    "params": {"name": "str"},
                    "example": {"name": "inbox"},
                },
                "tracker_locked": {
                    "status": 423,
                    "message": "The tracker is locked.",
                    "endpoints": ["DELETE /v1/trackers/{tracker_id}"],
                },
            },
        }
    )
    out = add_error_responses(document(), catalog, errors={"post /v1/trackers": ["tracker_exists"]})
    conflict = out["paths"]["/v1/trackers"]["post"]["responses"]["409"]
    example = conflict["content"]["application/problem+json"]["examples"]["tracker_exists"]
    assert example["value"]["detail"] == "A tracker named inbox exists."
    assert "423" in statuses(out, "/v1/trackers/{id}", "delete")
    assert "423" not in statuses(out, "/v1/trackers/{id}", "get")


@pytest.mark.parametrize(
    ("errors", "message"),
    [
        ({"POST /v1/nope": ["internal"]}, "'POST /v1/nope' is not an operation"),
        ({"/v1/trackers": ["internal"]}, "is not an operation"),
        ({"POST /v1/trackers": ["no_such_entry"]}, "has no entry 'no_such_entry'"),
        ({"POST /v1/trackers": "internal"}, "expected a list of entry keys"),
    ],
    ids=["unknown-operation", "no-method", "unknown-entry", "str-not-list"],
)
def test_bad_options(errors: dict[str, Any], message: str) -> None:
    """A wrong operation or entry key is an OpenAPIError that names it."""
    with pytest.raises(OpenAPIError, match=message):
        add_error_responses(document(), "rfc9457", errors=errors)


def test_bad_document() -> None:
    """A document whose paths are not an object is refused by name."""
    with pytest.raises(OpenAPIError, match="paths must be an object"):
        add_error_responses({"openapi": "3.1.0", "paths": []}, "rfc9457")
    assert issubclass(OpenAPIError, errorbook.ErrorbookError)


def test_schema_name_taken_by_the_document() -> None:
    """A different schema already named ProblemDetails is kept; ours takes another name."""
    doc = document()
    doc["components"] = {"schemas": {"ProblemDetails": {"type": "string"}}}
    out = add_error_responses(doc, "rfc9457")
    assert out["components"]["schemas"]["ProblemDetails"] == {"type": "string"}
    assert "ProblemDetails2" in out["components"]["schemas"]
    validate(out)


def test_ref_in_request_body_resolved() -> None:
    """A requestBody given by $ref counts as a JSON body."""
    doc = document()
    body = doc["paths"]["/v1/trackers"]["post"].pop("requestBody")
    doc["components"] = {"requestBodies": {"Tracker": body}}
    doc["paths"]["/v1/trackers"]["post"]["requestBody"] = {
        "$ref": "#/components/requestBodies/Tracker"
    }
    out = add_error_responses(doc, "rfc9457")
    examples = out["paths"]["/v1/trackers"]["post"]["responses"]["400"]["content"]
    assert "invalid_json" in examples["application/problem+json"]["examples"]


def test_error_responses_helper() -> None:
    """error_responses gives response objects and the schemas they use, for any document."""
    responses, schemas = error_responses(
        "discord", ["rate_limited"], ref_template="#/definitions/{name}"
    )
    (status,) = responses
    assert status == "429"
    content = responses[status]["content"]["application/json"]
    assert content["schema"] == {"$ref": "#/definitions/DiscordError"}
    assert "Retry-After" in responses[status]["headers"]
    assert set(schemas) == {"DiscordError"}
    with pytest.raises(OpenAPIError, match="no entry 'nope'"):
        error_responses("discord", ["nope"])


def example_detail(doc: dict[str, Any], path: str, method: str, status: str) -> str:
    content = doc["paths"][path][method]["responses"][status]["content"]
    (example,) = content["application/problem+json"]["examples"].values()
    return str(example["value"]["detail"])


def test_payload_too_large_example_names_the_route_limit() -> None:
    """The 413 example says the limit that applies to the route, not the entry's example."""
    doc = add_error_responses(
        document(),
        "rfc9457",
        max_body=2048,
        route_options={"POST /v1/trackers": {"max_body": 512}},
    )
    assert "512 bytes" in example_detail(doc, "/v1/trackers", "post", "413")
    plain = add_error_responses(document(), "rfc9457", max_body=2048)
    assert "2048 bytes" in example_detail(plain, "/v1/trackers", "post", "413")
    validate(doc)


@pytest.mark.parametrize(
    ("security", "listed"),
    [
        ([{"HTTPBearer": []}], True),
        ([{}], False),
        ([{"HTTPBearer": []}, {}], False),
        ([], False),
    ],
    ids=["required", "optional", "bearer-or-none", "explicitly-none"],
)
def test_security_requirement_lists_unauthenticated(
    security: list[dict[str, Any]], listed: bool
) -> None:
    """Without auth, an operation whose security needs credentials still lists 401: the
    app's own check (a FastAPI security dependency) raises it."""
    doc = document()
    doc["paths"]["/health"]["get"]["security"] = security
    result = add_error_responses(doc, "rfc9457")
    assert ("401" in statuses(result, "/health", "get")) is listed


def test_document_level_security_applies() -> None:
    """The document's security applies to operations that do not set their own."""
    doc = document()
    doc["security"] = [{"HTTPBearer": []}]
    doc["paths"]["/health"]["get"]["security"] = []
    result = add_error_responses(doc, "rfc9457")
    assert "401" in statuses(result, "/v1/trackers/{id}", "get")
    assert "401" not in statuses(result, "/health", "get")


def test_operation_without_body_lists_no_415() -> None:
    """415 is listed where a body is declared; a GET with a body is outside the contract."""
    result = add_error_responses(document(), "rfc9457")
    assert "415" not in statuses(result, "/health", "get")
    assert "415" in statuses(result, "/v1/trackers", "post")
