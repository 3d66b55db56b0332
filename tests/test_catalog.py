"""Catalog lookups and Problems: built at the call, checked at the call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from errorbook import CONDITIONS, Catalog, FieldError, ParamError, Problem, UnknownEntryError

CATALOG = """
name: Transfers API
type_base: https://api.example.com/errors/
language: en
errors:
  size_mismatch:
    status: 400
    message:
      en: "Expected {expected} to be {actual}"
      de: "Erwartet wurde {expected} statt {actual}"
    params: {expected: int, actual: int}
    example: {expected: 1200, actual: 3243214}
  tracker_exists:
    status: 409
    code: 4091
    title: {en: Tracker exists, de: Tracker existiert}
    message: "A tracker named {name} already exists."
    params: {name: str}
    on: [idempotency_in_flight]
  boom:
    status: 500
    on: [internal]
  busy:
    status: 503
    retry: after
    retry_after: 30
    headers: {Cache-Control: no-store}
    extensions: {maintenance_window: "02:00-03:00"}
    on: [maintenance]
"""


@pytest.fixture(name="catalog")
def _catalog(write_catalog: Callable[..., Path]) -> Catalog:
    return Catalog.load(write_catalog(CATALOG))


def test_problem_renders_message_and_carries_entry_facts(catalog: Catalog) -> None:
    """problem() fills code, status, title, type and the rendered message from the entry."""
    problem = catalog.problem("size_mismatch", expected=1200, actual=3243214)
    assert isinstance(problem, Problem)
    assert (problem.key, problem.code, problem.status) == ("size_mismatch", "size_mismatch", 400)
    assert problem.message == "Expected 1200 to be 3243214"
    assert problem.title == "Bad Request"
    assert problem.type == "https://api.example.com/errors/size_mismatch"
    assert problem.params == {"expected": 1200, "actual": 3243214}


def test_error_is_raisable(catalog: Catalog) -> None:
    """error() gives the same Problem, ready to raise and catch."""
    with pytest.raises(Problem) as info:
        raise catalog.error("tracker_exists", name="weekly")
    assert info.value.code == 4091
    assert str(info.value) == "409 4091: A tracker named weekly already exists."


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"expected": 1}, "missing parameter(s) actual"),
        ({"expected": 1, "actual": 2, "extra": 3}, "unknown parameter(s) extra"),
        ({"expected": "1", "actual": 2}, "'expected' must be int, got str '1'"),
        ({"expected": True, "actual": 2}, "'expected' must be int, got bool True"),
    ],
    ids=["missing", "unknown", "wrong-type", "bool-is-not-int"],
)
def test_bad_params_fail_at_the_call(
    catalog: Catalog, params: dict[str, object], expected: str
) -> None:
    """Missing, unknown or mistyped params raise ParamError (a TypeError) naming the entry."""
    with pytest.raises(ParamError, match="size_mismatch") as info:
        catalog.problem("size_mismatch", **params)
    assert expected in str(info.value)
    assert isinstance(info.value, TypeError)


def test_unknown_key_is_a_lookup_error(catalog: Catalog) -> None:
    """An unknown key raises UnknownEntryError, a LookupError."""
    with pytest.raises(UnknownEntryError, match="no entry 'nope'"):
        catalog.problem("nope")
    with pytest.raises(LookupError):
        catalog.by_code(99)


def test_language_falls_back_to_the_default(catalog: Catalog) -> None:
    """Messages render in the asked language, its base language, or else the default."""
    german = catalog.problem("size_mismatch", expected=1, actual=2, language="de-CH")
    assert german.message == "Erwartet wurde 1 statt 2"
    assert german.language == "de"
    french = catalog.problem("size_mismatch", expected=1, actual=2, language="fr")
    assert french.message == "Expected 1 to be 2"
    assert french.language == "en"
    assert catalog.problem("tracker_exists", name="x", language="de").title == "Tracker existiert"


def test_detail_is_hidden_where_the_entry_does_not_expose_it(catalog: Catalog) -> None:
    """A 5xx entry drops detail text, so exception messages cannot leak to clients."""
    assert catalog.problem("boom", detail="secret at /srv/db").detail is None
    assert catalog.problem("tracker_exists", name="x", detail="see field").detail == "see field"


def test_entry_headers_extensions_and_retry_after(catalog: Catalog) -> None:
    """Static headers, extension members and the retry hint come from the entry."""
    problem = catalog.problem("busy", extensions={"region": "eu"})
    assert problem.retry_after == 30
    assert problem.headers == {"Cache-Control": "no-store"}
    assert problem.extensions == {"maintenance_window": "02:00-03:00", "region": "eu"}


def test_field_errors_are_kept(catalog: Catalog) -> None:
    """Field errors passed to problem() are kept in order."""
    fields = [FieldError("/files/0/size", "too_small", "Must be positive.")]
    problem = catalog.problem("size_mismatch", expected=1, actual=2, fields=fields)
    assert problem.fields == tuple(fields)


def test_lookups(catalog: Catalog) -> None:
    """Entries are found by key, by wire code (int or text) and by condition."""
    assert catalog.by_code(4091).key == "tracker_exists"
    assert catalog.by_code("4091").key == "tracker_exists"
    assert catalog.for_condition("maintenance").key == "busy"
    assert "busy" in catalog
    assert catalog.keys[:2] == ("size_mismatch", "tracker_exists")
    with pytest.raises(UnknownEntryError):
        catalog.for_condition("not_a_condition")


def test_unanswered_conditions_fall_back_to_rfc9457(catalog: Catalog) -> None:
    """Every condition is answered; the ones the catalog leaves out come from rfc9457."""
    for condition in CONDITIONS:
        assert condition in catalog.for_condition(condition).on
    assert "unknown_route" in catalog.fallbacks
    assert "maintenance" not in catalog.fallbacks
    assert catalog.for_condition("unknown_route").status == 404
    base = Catalog.load("rfc9457")
    assert base.fallbacks == ()
    assert set(base.keys) == set(CONDITIONS)


def test_fallback_never_collides_with_catalog_codes() -> None:
    """A fallback whose key or code is taken gets a namespaced key and code."""
    catalog = Catalog.from_dict({"name": "T", "errors": {"unknown_route": {"status": 400}}})
    spec = catalog.for_condition("unknown_route")
    assert spec.key == spec.code == "errorbook.unknown_route"
    assert catalog["unknown_route"].status == 400


def test_identify_matches_by_code_or_message(catalog: Catalog) -> None:
    """A parsed problem is matched to its entry by wire code, else by status and message."""
    by_code = catalog.identify(Problem(code="4091", status=409, message="whatever"))
    assert by_code.key == "tracker_exists"
    assert by_code.code == 4091
    by_message = catalog.identify(Problem(code=None, status=400, message="Expected 1 to be 2"))
    assert by_message.key == "size_mismatch"
    unknown = Problem(code=None, status=418, message="teapot")
    assert catalog.identify(unknown) is unknown


def test_every_profile_loads() -> None:
    """Every built-in profile loads and answers every condition."""
    from errorbook import profile_names

    assert {"rfc9457", "tape", "discord", "symbl", "wetransfer", "rebuild"} <= set(profile_names())
    for name in profile_names():
        catalog = Catalog.load(name)
        for condition in CONDITIONS:
            catalog.for_condition(condition)


def test_fallback_names_stay_unique() -> None:
    """Fallback keys and codes never replace or duplicate what the catalog already has."""
    catalog = Catalog.from_dict(
        {
            "name": "T",
            "errors": {
                "internal": {"status": 418},
                "errorbook.internal": {"status": 418, "code": "teapot2"},
                "other": {"status": 400, "code": "errorbook.internal_2"},
            },
        }
    )
    spec = catalog.for_condition("internal")
    assert spec.status == 500
    assert spec.key == spec.code == "errorbook.internal_3"
    assert catalog["errorbook.internal"].status == 418
    codes = [str(s.code) for s in catalog]
    assert len(codes) == len(set(codes))


def test_type_uri_is_percent_encoded() -> None:
    """A code with URI-special characters makes a valid type URI."""
    catalog = Catalog.from_dict(
        {
            "name": "T",
            "type_base": "https://e.test/errors/",
            "errors": {"a": {"status": 400, "code": "bad code/#x?y"}},
        }
    )
    assert catalog.problem("a").type == "https://e.test/errors/bad%20code%2F%23x%3Fy"
