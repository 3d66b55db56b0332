"""``errorbook lint``: a catalog's errors and the things worth a second look."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._catalog import Catalog
from ._errors import CatalogError

__all__ = ["LintFinding", "LintReport", "lint"]


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One located remark: ``file:line: key: message``."""

    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None
    severity: str = "warning"

    def __str__(self) -> str:
        return CatalogError(self.message, file=self.file, line=self.line, key=self.key).located()


@dataclass(frozen=True, slots=True)
class LintReport:
    """Errors make a catalog unusable; warnings are advice, and do not fail the lint."""

    catalog: Catalog | None
    errors: tuple[LintFinding, ...] = ()
    warnings: tuple[LintFinding, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors


def lint(source: str | os.PathLike[str] | Mapping[str, Any]) -> LintReport:
    """Load a catalog and collect what is wrong or doubtful about it."""
    try:
        catalog = Catalog.load(source)
    except CatalogError as exc:
        finding = LintFinding(exc.problem, exc.file, exc.line, exc.key, "error")
        return LintReport(None, errors=(finding,))
    warnings: list[LintFinding] = []
    file = catalog.source.name
    if catalog.fallbacks:
        answers = ", ".join(
            f"{condition} ({catalog.for_condition(condition).status})"
            for condition in catalog.fallbacks
        )
        warnings.append(
            LintFinding(
                f"no entry answers {answers}; these fall back to the rfc9457 profile's "
                "entries, rendered in this catalog's format",
                file,
                None,
                "conditions",
            )
        )
    for spec in catalog:
        if spec.on and set(spec.on) <= set(catalog.fallbacks):
            continue
        if not spec.description:
            warnings.append(
                LintFinding(
                    "no description: the glossary will show an empty row", file, spec.line, spec.key
                )
            )
        if spec.status >= 500 and spec.expose:
            warnings.append(
                LintFinding(
                    "expose is true on a 5xx: exception details may reach clients",
                    file,
                    spec.line,
                    spec.key,
                )
            )
        for operation in spec.endpoints:
            if catalog.endpoints and operation not in catalog.endpoints:
                warnings.append(
                    LintFinding(
                        f"endpoint {operation!r} is not declared under 'endpoints'; the "
                        "glossary has no section for it",
                        file,
                        spec.line,
                        spec.key,
                    )
                )
    return LintReport(catalog, warnings=tuple(warnings))
