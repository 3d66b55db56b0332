"""errorbook diff: each kind of breaking change is flagged, harmless ones are not."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from errorbook import Catalog, diff

BASE: dict[str, Any] = {
    "name": "T",
    "errors": {
        "size_mismatch": {
            "status": 400,
            "message": "Expected {expected} to be {actual}",
            "params": {"expected": "int", "actual": "int"},
        },
        "tracker_exists": {"status": 409, "code": 4091, "on": ["idempotency_in_flight"]},
        "gone": {"status": 410},
    },
}


def changed(edit: Callable[[dict[str, Any]], None]) -> Catalog:
    data = copy.deepcopy(BASE)
    edit(data)
    return Catalog.from_dict(data)


def _remove(data: dict[str, Any]) -> None:
    del data["errors"]["gone"]


def _status(data: dict[str, Any]) -> None:
    data["errors"]["gone"]["status"] = 404


def _code(data: dict[str, Any]) -> None:
    data["errors"]["tracker_exists"]["code"] = 4092


def _code_type(data: dict[str, Any]) -> None:
    data["errors"]["tracker_exists"]["code"] = "4091"


def _format(data: dict[str, Any]) -> None:
    data["format"] = "tape"


def _new_param(data: dict[str, Any]) -> None:
    entry = data["errors"]["size_mismatch"]
    entry["message"] = "Expected {expected} to be {actual} in {file}"
    entry["params"]["file"] = "str"


def _param_type(data: dict[str, Any]) -> None:
    data["errors"]["size_mismatch"]["params"]["actual"] = "float"


def _condition(data: dict[str, Any]) -> None:
    data["errors"]["tracker_exists"]["on"] = []


BREAKING = [
    ("removed-entry", _remove, "removed", "gone"),
    ("changed-status", _status, "status", "gone"),
    ("changed-code", _code, "code", "tracker_exists"),
    ("code-int-to-text", _code_type, "code", "tracker_exists"),
    ("changed-format", _format, "format", None),
    ("new-required-param", _new_param, "param", "size_mismatch"),
    ("param-type", _param_type, "param", "size_mismatch"),
    ("condition-answer", _condition, "condition", "idempotency_in_flight"),
]


@pytest.mark.parametrize(
    ("edit", "kind", "key"), [b[1:] for b in BREAKING], ids=[b[0] for b in BREAKING]
)
def test_breaking_changes_are_flagged(
    edit: Callable[[dict[str, Any]], None], kind: str, key: str | None
) -> None:
    """Each breaking change appears once, marked breaking, naming the entry."""
    changes = diff(Catalog.from_dict(BASE), changed(edit))
    matching = [c for c in changes if c.kind == kind and c.key == key]
    assert len(matching) == 1, changes
    assert matching[0].breaking
    assert str(matching[0]).startswith(f"BREAKING {kind}")


def test_additions_and_rewording_are_not_breaking() -> None:
    """A new entry and reworded message text break nobody."""

    def edit(data: dict[str, Any]) -> None:
        data["errors"]["new_one"] = {"status": 422}
        data["errors"]["size_mismatch"]["message"] = "Wanted {expected}, got {actual}"

    changes = diff(Catalog.from_dict(BASE), changed(edit))
    assert {c.kind for c in changes} == {"added", "message"}
    assert not any(c.breaking for c in changes)


def test_rename_keeps_the_wire_but_breaks_servers() -> None:
    """A key renamed with its code kept is one breaking 'renamed' change, not removed+added."""

    def edit(data: dict[str, Any]) -> None:
        data["errors"]["tracker_taken"] = data["errors"].pop("tracker_exists")

    changes = diff(Catalog.from_dict(BASE), changed(edit))
    assert [(c.kind, c.key, c.breaking) for c in changes] == [("renamed", "tracker_exists", True)]
    assert "same wire code" in changes[0].message


def test_code_moved_to_another_key_is_not_a_rename() -> None:
    """When an existing key takes over a removed entry's code, it is a removal and a code change."""

    def edit(data: dict[str, Any]) -> None:
        del data["errors"]["tracker_exists"]
        data["errors"]["gone"]["code"] = 4091
        data["errors"]["gone"]["status"] = 409

    kinds = {(c.kind, c.key) for c in diff(Catalog.from_dict(BASE), changed(edit))}
    assert ("removed", "tracker_exists") in kinds
    assert ("code", "gone") in kinds
    assert not any(kind == "renamed" for kind, _ in kinds)


def test_template_media_type_change_is_breaking() -> None:
    """The same template served under another media type is a format change."""
    template = {"message": "$message", "code": "$code"}
    old = Catalog.from_dict({**BASE, "format": template})
    new = Catalog.from_dict({**BASE, "format": template, "media_type": "application/vnd.x+json"})
    assert [c.kind for c in diff(old, new) if c.breaking] == ["format"]


def test_identical_catalogs_have_no_changes() -> None:
    """Diffing a catalog against itself finds nothing."""
    assert diff(Catalog.load("tape"), Catalog.load("tape")) == []
