"""The reference service's OpenAPI 3.1 document.

The success half (paths, parameters, request bodies, 2xx and 304 responses, schemas) is
written here by hand, as a service's authors would; the error half comes from the catalog,
so it can never disagree with what the layer answers.
"""

from __future__ import annotations

from typing import Any, Final

from ._catalog import ServiceCatalog
from ._credentials import AUDIENCE

__all__ = ["openapi_document"]

_JSON: Final = "application/json"
_OCTETS: Final = "application/octet-stream"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {_JSON: {"schema": schema}}}


def _ok(description: str, schema: dict[str, Any], **headers: str) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {_JSON: {"schema": schema}}}
    if headers:
        response["headers"] = {
            name.replace("_", "-"): {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return response


def _path_params(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in names
    ]


def _schemas() -> dict[str, Any]:
    string = {"type": "string"}
    wait = {"type": "number", "minimum": 0.001, "maximum": 60}
    file = {
        "type": "object",
        "required": ["id", "name", "size", "received", "complete"],
        "properties": {
            "id": string,
            "name": string,
            "size": {"type": "integer", "minimum": 0},
            "received": {"type": "integer", "minimum": 0},
            "complete": {"type": "boolean"},
        },
    }
    pending = {
        "type": "object",
        "required": ["id", "state", "retry_after"],
        "properties": {
            "id": string,
            "state": string,
            "retry_after": {"type": "integer", "minimum": 0},
        },
    }
    return {
        "File": file,
        "Transfer": {
            "type": "object",
            "required": ["id", "name", "state", "expires_at", "files"],
            "properties": {
                "id": string,
                "name": string,
                "state": {"enum": ["uploading", "finalizing", "ready"]},
                "expires_at": {"type": "string", "format": "date-time"},
                "files": {"type": "array", "items": _ref("File")},
            },
        },
        "NewTransfer": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "files"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 255},
                "files": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 100,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "size"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1, "maxLength": 255},
                            "size": {"type": "integer", "minimum": 0},
                        },
                    },
                },
                "expires_in": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "maximum": 365 * 24 * 3600,
                    "default": 7 * 24 * 3600,
                },
            },
        },
        "Part": {
            "type": "object",
            "required": ["file_id", "part", "received"],
            "properties": {
                "file_id": string,
                "part": {"type": "integer", "minimum": 1, "maximum": 10000},
                "received": {"type": "integer", "minimum": 0},
            },
        },
        "Wait": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"seconds": wait},
        },
        "Pending": pending,
        "Tracker": {
            "type": "object",
            "required": ["id", "name"],
            "properties": {"id": string, "name": string},
        },
        "NewTracker": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100}},
        },
        "DoneJob": {
            "type": "object",
            "required": ["id", "state", "result"],
            "properties": {"id": string, "state": {"const": "done"}, "result": {"type": "object"}},
        },
        "Maintenance": {
            "type": "object",
            "additionalProperties": False,
            "required": ["on"],
            "properties": {"on": {"type": "boolean"}},
        },
    }


def _security(profile: str) -> dict[str, Any]:
    if profile == "wetransfer":
        return {"type": "apiKey", "in": "header", "name": "X-API-KEY"}
    if profile == "rebuild":
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": f"HS256, `aud` = `{AUDIENCE}`, `sub` = the key, `exp` required.",
        }
    return {"type": "http", "scheme": "bearer"}


def _paths(rebuild_limit: int) -> dict[str, Any]:
    transfer = "/v1/transfers/{transfer_id}"
    file = transfer + "/files/{file_id}"
    pending = _ref("Pending")
    wait_body = _json_body(_ref("Wait"), required=False)
    return {
        "/v1/transfers": {
            "post": {
                "operationId": "createTransfer",
                "summary": "Create a transfer and declare its files",
                "requestBody": _json_body(_ref("NewTransfer")),
                "responses": {
                    "201": _ok(
                        "The transfer, uploading.",
                        _ref("Transfer"),
                        Location="The transfer's URL.",
                        ETag="The representation's strong tag.",
                    )
                },
            }
        },
        transfer: {
            "parameters": _path_params("transfer_id"),
            "get": {
                "operationId": "getTransfer",
                "summary": "Read a transfer",
                "parameters": [
                    {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": _ok("The transfer.", _ref("Transfer"), ETag="A strong tag."),
                    "304": {"description": "The tag in If-None-Match is still current."},
                },
            },
        },
        file + "/parts/{n}": {
            "parameters": [
                *_path_params("transfer_id", "file_id"),
                {
                    "name": "n",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 10000},
                },
            ],
            "put": {
                "operationId": "putPart",
                "summary": "Upload one part (at most 5 MiB); sending it again replaces it",
                "requestBody": {
                    "required": True,
                    "content": {_OCTETS: {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {"200": _ok("The file's bytes so far.", _ref("Part"))},
            },
        },
        file + "/complete": {
            "parameters": _path_params("transfer_id", "file_id"),
            "post": {
                "operationId": "completeFile",
                "summary": "Check a file's received bytes against its declared size",
                "responses": {"200": _ok("The complete file.", _ref("File"))},
            },
        },
        transfer + "/finalize": {
            "parameters": _path_params("transfer_id"),
            "post": {
                "operationId": "finalizeTransfer",
                "summary": "Finalise a transfer whose files are all complete",
                "requestBody": wait_body,
                "responses": {
                    "202": _ok("Finalising; locked until then.", pending, Retry_After="Seconds.")
                },
            },
        },
        "/v1/trackers": {
            "post": {
                "operationId": "createTracker",
                "summary": "Create a named tracker",
                "requestBody": _json_body(_ref("NewTracker")),
                "responses": {
                    "201": _ok("The tracker.", _ref("Tracker"), Location="The tracker's URL.")
                },
            }
        },
        "/v1/trackers/{tracker_id}": {
            "parameters": _path_params("tracker_id"),
            "get": {
                "operationId": "getTracker",
                "summary": "Read a tracker",
                "responses": {"200": _ok("The tracker.", _ref("Tracker"))},
            },
        },
        "/v1/jobs": {
            "post": {
                "operationId": "createJob",
                "summary": "Start an asynchronous job",
                "requestBody": wait_body,
                "responses": {
                    "202": _ok("Running.", pending, Retry_After="Seconds.", Location="The job.")
                },
            }
        },
        "/v1/jobs/{job_id}": {
            "parameters": _path_params("job_id"),
            "get": {
                "operationId": "getJob",
                "summary": "Poll a job",
                "responses": {
                    "200": _ok("Done.", _ref("DoneJob")),
                    "202": _ok("Still running.", pending, Retry_After="Seconds."),
                },
            },
        },
        "/v1/rebuild": {
            "post": {
                "operationId": "rebuildFile",
                "summary": f"Rebuild a PDF, PNG or ZIP file of at most {rebuild_limit} bytes",
                "requestBody": {
                    "required": True,
                    "content": {
                        _OCTETS: {"schema": {"type": "string", "format": "binary"}},
                    },
                },
                "responses": {
                    "200": {
                        "description": "The rebuilt file.",
                        "headers": {
                            "X-Detected-Type": {
                                "description": "The media type the file was read as.",
                                "schema": {"type": "string"},
                            }
                        },
                        "content": {_OCTETS: {"schema": {"type": "string", "format": "binary"}}},
                    }
                },
            }
        },
        "/v1/admin/maintenance": {
            "put": {
                "operationId": "setMaintenance",
                "summary": "Switch maintenance mode on or off",
                "requestBody": _json_body(_ref("Maintenance")),
                "responses": {
                    "200": _ok(
                        "The new mode.",
                        {"type": "object", "properties": {"maintenance": {"type": "boolean"}}},
                    )
                },
            }
        },
        "/v1/teapot": {
            "get": {
                "operationId": "teapot",
                "summary": "Always refuses, with 418",
                "responses": {},
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {"200": _ok("The OpenAPI document.", {"type": "object"})},
            }
        },
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "Liveness",
                "security": [],
                "responses": {
                    "200": _ok("Up.", {"type": "object", "properties": {"status": {"const": "ok"}}})
                },
            }
        },
    }


def openapi_document(catalog: ServiceCatalog, *, rebuild_limit: int) -> dict[str, Any]:
    """The service's OpenAPI document under ``catalog``'s profile."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"errorbook reference service ({catalog.profile})",
            "version": "1",
            "description": (
                "Transfers with chunked uploads, named trackers, asynchronous jobs and file "
                f"rebuilds, answering errors the way the `{catalog.profile}` profile does. "
                "The error glossary is at `/errors`."
            ),
        },
        "paths": _paths(rebuild_limit),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"credential": _security(catalog.profile)},
        },
        "security": [{"credential": []}],
    }
