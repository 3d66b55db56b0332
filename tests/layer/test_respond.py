"""Refusals come from a cache of rendered answers that must equal a full render, byte for byte."""

from __future__ import annotations

import json

import pytest

from errorbook import Catalog, Problem, profile_names, register_format
from errorbook._layer._respond import Responder

CONDITIONS = ["unknown_route", "payload_too_large", "maintenance", "unauthenticated"]
ACCEPTS = [None, b"application/problem+xml", b"text/html", b"application/json"]


@pytest.mark.parametrize("profile", profile_names(), ids=str)
@pytest.mark.parametrize("condition", CONDITIONS, ids=str)
def test_cached_answer_equals_full_render(profile: str, condition: str) -> None:
    """For every profile, a cached answer is exactly what rendering the problem gives."""
    responder = Responder(Catalog.load(profile), request_id_header="x-request-id")
    for accept in ACCEPTS:
        for language in (None, b"de"):
            for rid in (b"first-id", b"an-id-of-another.length:1"):
                start, body = responder.answer(
                    condition, rid, accept, language, given=(("limit", 10),)
                )
                problem = responder.problem(
                    condition,
                    request_id=rid.decode(),
                    accept_language=None if language is None else language.decode(),
                    given={"limit": 10},
                )
                want_start, want_body = responder.messages(
                    problem, accept=None if accept is None else accept.decode()
                )
                assert body == want_body
                assert sorted(start["headers"]) == sorted(want_start["headers"])
                assert start["status"] == want_start["status"]


class UpperIds:
    """A format that shouts request ids, so joining an id into a cached body would be wrong."""

    name = "upper-ids-test"
    media_type = "application/json"
    carries = frozenset({"message", "status", "request_id"})

    def render(self, problem: Problem) -> bytes:
        return json.dumps(
            {"message": problem.message, "id": (problem.request_id or "").upper()}
        ).encode()

    def parse(self, body: bytes, *, status: int | None = None) -> Problem:
        data = json.loads(body)
        return Problem(code=None, status=status or 0, message=data["message"])


def test_format_that_transforms_ids_is_rendered_in_full() -> None:
    """A format that does not write the id verbatim is rendered per request, still correct."""
    register_format(UpperIds.name, UpperIds)
    catalog = Catalog.from_dict(
        {"name": "U", "format": UpperIds.name, "errors": {"e": {"status": 400}}}
    )
    responder = Responder(catalog, request_id_header="x-request-id")
    for rid in (b"abc", b"xyz"):
        _, body = responder.answer("unknown_route", rid, None, None)
        assert json.loads(body["body"])["id"] == rid.decode().upper()
    assert responder._formats_checked == {UpperIds.name: False}


def test_cache_is_bounded() -> None:
    """Distinct Accept values cannot grow the cache without limit."""
    responder = Responder(Catalog.load("rfc9457"), request_id_header="x-request-id")
    for index in range(3000):
        responder.answer("unknown_route", b"r", f"application/x-{index}".encode(), None)
    assert len(responder._prepared) <= 1024
