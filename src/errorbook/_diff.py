"""``errorbook diff``: what changed between two versions of a catalog, and what breaks clients.

A client switches on wire codes and statuses, parses the body's shape, and a server calls
``catalog.problem(key, **params)``; any change that invalidates one of those is breaking.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._catalog import Catalog
from ._conditions import CONDITIONS

__all__ = ["Change", "diff"]


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two catalogs."""

    kind: str
    key: str | None
    message: str
    breaking: bool

    def __str__(self) -> str:
        mark = "BREAKING" if self.breaking else "change"
        where = f"{self.key}: " if self.key else ""
        return f"{mark} {self.kind}: {where}{self.message}"


def diff(old: Catalog, new: Catalog) -> list[Change]:
    """Every change from ``old`` to ``new``, breaking ones first."""
    changes: list[Change] = []
    if (old.format_spec, old.format.media_type) != (new.format_spec, new.format.media_type):
        changes.append(
            Change("format", None, f"body format {_name(old)} became {_name(new)}", True)
        )
    new_codes = {str(spec.code): spec for spec in new}
    renamed: set[str] = set()
    for spec in old:
        if spec.key in new:
            changes.extend(_entry_changes(spec.key, old, new))
            continue
        same_code = new_codes.get(str(spec.code))
        if same_code is not None and same_code.status == spec.status and same_code.key not in old:
            renamed.add(same_code.key)
            changes.append(
                Change(
                    "renamed",
                    spec.key,
                    f"entry renamed to {same_code.key!r}: clients see the same wire code, "
                    f"but servers calling problem({spec.key!r}) must change",
                    True,
                )
            )
        else:
            changes.append(
                Change(
                    "removed",
                    spec.key,
                    f"entry removed (code {spec.code!r}, status {spec.status})",
                    True,
                )
            )
    for spec in new:
        if spec.key not in old and spec.key not in renamed:
            changes.append(
                Change(
                    "added",
                    spec.key,
                    f"new entry (code {spec.code!r}, status {spec.status})",
                    False,
                )
            )
    for condition in CONDITIONS:
        before, after = old.for_condition(condition), new.for_condition(condition)
        if (before.status, str(before.code)) != (after.status, str(after.code)):
            changes.append(
                Change(
                    "condition",
                    condition,
                    f"answered with {after.status} {after.code!r} instead of "
                    f"{before.status} {before.code!r}",
                    True,
                )
            )
    changes.sort(key=lambda c: not c.breaking)
    return changes


def _entry_changes(key: str, old: Catalog, new: Catalog) -> list[Change]:
    before, after = old[key], new[key]
    changes = []
    if before.status != after.status:
        changes.append(Change("status", key, f"status {before.status} became {after.status}", True))
    if str(before.code) != str(after.code) or type(before.code) is not type(after.code):
        changes.append(
            Change("code", key, f"wire code {before.code!r} became {after.code!r}", True)
        )
    for name, type_name in after.params.items():
        if name not in before.params:
            changes.append(
                Change("param", key, f"new required parameter {name!r} ({type_name})", True)
            )
        elif before.params[name] != type_name:
            changes.append(
                Change(
                    "param",
                    key,
                    f"parameter {name!r} changed type from {before.params[name]} to {type_name}",
                    True,
                )
            )
    for name in before.params:
        if name not in after.params:
            changes.append(
                Change(
                    "param",
                    key,
                    f"parameter {name!r} removed; servers passing it get a ParamError",
                    True,
                )
            )
    if before.retry != after.retry:
        changes.append(
            Change("retry", key, f"retry hint {before.retry!r} became {after.retry!r}", False)
        )
    old_message = before.message_in(None, old.language).source
    new_message = after.message_in(None, new.language).source
    if old_message != new_message:
        changes.append(
            Change("message", key, "message text changed (clients should not match on it)", False)
        )
    return changes


def _name(catalog: Catalog) -> str:
    spec = catalog.format_spec
    if isinstance(spec, str):
        return repr(spec)
    return f"a custom template ({catalog.format.media_type})"
