"""The formats every catalog can name without defining them.

Imported by the registry on first use. Besides RFC 9457's two, each entry is a template for a
well-known vendor shape or for one of the five seed APIs; the templates are data, kept here in
``TEMPLATES`` so docs and tests can read the shapes without building the formats.

A name registered before this module loads is left alone, so an application can replace a
built-in format without racing the lazy import.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Final

from ._base import _REGISTRY, Format, register_format
from ._json import ProblemJson
from ._template import template_format
from ._xml import ProblemXml

__all__ = ["TEMPLATES"]

_FIELD_LIST: Final = {
    "$each": "$fields",
    "item": {"pointer": "$field.pointer", "code": "$field.code", "message": "$field.message"},
}

#: Every built-in template format: name -> (media type, template).
TEMPLATES: Final[dict[str, tuple[str, dict[str, Any]]]] = {
    # Stripe's error object. Stripe has no list of field errors (one `param` names the culprit),
    # so `type`, `param` and `decline_code` are extension members, and any other extension
    # (`charge`, `request_log_url`...) sits beside them as Stripe's own extras do.
    "stripe": (
        "application/json",
        {
            "error": {
                "type": "$ext.type",
                "code": "$code",
                "decline_code": "$ext.decline_code",
                "message": "$message",
                "param": "$ext.param",
                "doc_url": "$type",
                "...": "$extensions",
            }
        },
    ),
    # Google AIP-193: the wire code is ErrorInfo.reason, extensions are its metadata.
    "google": (
        "application/json",
        {
            "error": {
                "code": "$status",
                "message": "$message",
                "status": "$status_name",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "$code",
                        "domain": "$ext.domain",
                        "metadata": {"...": "$extensions"},
                    },
                    {
                        "$if": "$fields",
                        "then": {
                            "@type": "type.googleapis.com/google.rpc.BadRequest",
                            "fieldViolations": [
                                {
                                    "$each": "$fields",
                                    "item": {
                                        "field": "$field.path",
                                        "description": "$field.message",
                                        "reason": "$field.code",
                                    },
                                }
                            ],
                        },
                    },
                    {
                        "$if": "$request_id",
                        "then": {
                            "@type": "type.googleapis.com/google.rpc.RequestInfo",
                            "requestId": "$request_id",
                        },
                    },
                ],
            }
        },
    ),
    # Microsoft REST API guidelines: ErrorResponse with details and a service-defined
    # innererror, which holds the request id (as Microsoft Graph does) and the extensions.
    "microsoft": (
        "application/json",
        {
            "error": {
                "code": "$code",
                "message": "$message",
                "target": "$ext.target",
                "details": [
                    {
                        "$each": "$fields",
                        "item": {
                            "code": "$field.code",
                            "message": "$field.message",
                            "target": "$field.path",
                        },
                    }
                ],
                "innererror": {"request-id": "$request_id", "...": "$extensions"},
            }
        },
    ),
    # JSON:API: the problem is the first error object, each field error one more.
    "jsonapi": (
        "application/vnd.api+json",
        {
            "errors": [
                {
                    "id": "$request_id",
                    "status": "$status_text",
                    "code": "$code",
                    "title": "$title",
                    "detail": "$message",
                    "meta": {"...": "$extensions"},
                },
                {
                    "$each": "$fields",
                    "item": {
                        "status": "$status_text",
                        "code": "$field.code",
                        "detail": "$field.message",
                        "source": {"pointer": "$field.pointer"},
                    },
                },
            ]
        },
    ),
    # The seed APIs. Tape's three members, in this order, are the whole body.
    "tape": (
        "application/json",
        {"status": "$status", "error_code": "$code", "error_message": "$message"},
    ),
    # Discord: integer codes, nested `_errors`, `retry_after` in the body; the spread carries
    # the rest of its members, such as the rate limiter's `global`.
    "discord": (
        "application/json",
        {
            "message": "$message",
            "code": "$code",
            "errors": "$fields.nested",
            "retry_after": "$retry_after",
            "...": "$extensions",
        },
    ),
    "symbl": ("application/json", {"message": "$message"}),
    "wetransfer": ("application/json", {"message": "$message"}),
    # The seed only says the body tells what is missing or malformed; this shape is ours.
    "rebuild": (
        "application/json",
        {
            "message": "$message",
            "code": "$code",
            "errors": [_FIELD_LIST],
            "request_id": "$request_id",
            "...": "$extensions",
        },
    ),
}


def _template(name: str) -> Format:
    media_type, template = TEMPLATES[name]
    return template_format(name, template, media_type=media_type)


def _register(name: str, factory: Any) -> None:
    if name not in _REGISTRY:
        register_format(name, factory)


_register("problem+json", ProblemJson)
_register("problem+xml", ProblemXml)
for _name in TEMPLATES:
    _register(_name, partial(_template, _name))
