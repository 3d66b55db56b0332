"""The catalog: a named set of entries and the API-wide facts they share."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ._conditions import CONDITIONS
from ._docs_config import DocsConfig
from ._errors import CatalogError, ParamError, UnknownEntryError
from ._formats._base import Format
from ._problem import FieldError, Problem
from ._source import Source, read_catalog_file
from ._spec import PARAM_TYPES, ErrorSpec
from ._validate import CatalogData, validate

if TYPE_CHECKING:
    from .client._errors import Errors, ProblemError

__all__ = ["Catalog"]


class Catalog:
    """A validated error catalog.

    Build one with `Catalog.load` (a built-in profile name, a YAML or TOML file, or a dict).
    Every condition the layer detects is answered: entries the catalog leaves out come from
    the ``rfc9457`` profile, rendered in this catalog's format, and are listed in
    `fallbacks` so ``errorbook lint`` can say so.
    """

    def __init__(self, data: CatalogData, *, source: Source, fallbacks: Iterable[str] = ()) -> None:
        self.name = data.name
        self.description = data.description
        self.format: Format = data.format
        #: The format as written in the catalog: a name or a template mapping (for diff).
        self.format_spec = data.format_spec
        self.alternates: tuple[Format, ...] = data.alternates
        self.type_base = data.type_base
        self.language = data.language
        self.docs: DocsConfig = data.docs
        self.statuses: Mapping[str, str] = data.statuses
        self.endpoints: Mapping[str, str] = data.endpoints
        self.source = source
        #: Conditions this catalog does not answer itself, answered by rfc9457's entries.
        self.fallbacks: tuple[str, ...] = tuple(fallbacks)
        self._entries: dict[str, ErrorSpec] = dict(data.entries)
        self._by_code = {str(spec.code): spec for spec in self._entries.values()}
        self._by_condition = {c: spec for spec in self._entries.values() for c in spec.on}

    # -- loading -------------------------------------------------------------------------

    @classmethod
    def load(cls, source: str | os.PathLike[str] | Mapping[str, Any] | Catalog) -> Catalog:
        """Load a catalog from a profile name, a ``.yaml``/``.yml``/``.toml`` file or a dict.

        A bare name without a suffix or a path separator is a built-in profile
        (``Catalog.load("tape")``); anything else is a file.

        Raises:
            CatalogError: the catalog is invalid, located by file, line and key.
        """
        if isinstance(source, Catalog):
            return source
        if isinstance(source, Mapping):
            return cls.from_dict(source)
        text = os.fspath(source)
        from ._profiles import profile_names, profile_path

        if isinstance(source, str) and text in profile_names():
            return cls._from_file(profile_path(text), display=f"{text} (built-in profile)")
        path = Path(text)
        if not path.suffix and os.sep not in text and not path.exists():
            raise CatalogError(
                f"no built-in profile or file named {text!r}; profiles: "
                f"{', '.join(profile_names())}",
                file=text,
            )
        return cls._from_file(path)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str = "<dict>") -> Catalog:
        """A catalog from plain data, as a YAML file would give it."""
        return cls._build(data, Source(name))

    @classmethod
    def _from_file(cls, path: Path, display: str | None = None) -> Catalog:
        data, source = read_catalog_file(path, display)
        return cls._build(data, source)

    @classmethod
    def _build(cls, data: Any, source: Source) -> Catalog:
        validated = validate(data, source)
        answered = {c for spec in validated.entries.values() for c in spec.on}
        missing = [c for c in CONDITIONS if c not in answered]
        if not missing:
            return cls(validated, source=source)
        base = _rfc9457()
        entries = dict(validated.entries)
        codes = {str(spec.code) for spec in entries.values()}
        for condition in missing:
            spec = base.for_condition(condition)
            key: str = spec.key
            code: str | int = spec.code
            if key in entries or str(code) in codes:
                # The catalog uses the name for something else; a namespaced one, made
                # unique, keeps both the catalog's entry and the fallback reachable.
                key = code = _unused(f"errorbook.{condition}", entries.keys() | codes)
            entries[key] = replace(spec, key=key, code=code, on=(condition,))
            codes.add(str(code))
        return cls(replace(validated, entries=entries), source=source, fallbacks=missing)

    # -- lookup --------------------------------------------------------------------------

    def __getitem__(self, key: str) -> ErrorSpec:
        try:
            return self._entries[key]
        except KeyError:
            raise UnknownEntryError(f"{self.name} has no entry {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[ErrorSpec]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<Catalog {self.name!r}: {len(self)} entries, format {self.format.name!r}>"

    @property
    def keys(self) -> tuple[str, ...]:
        """Entry keys in catalog order."""
        return tuple(self._entries)

    def by_code(self, code: str | int) -> ErrorSpec:
        """The entry with this wire code (``50014`` and ``"50014"`` are the same code)."""
        try:
            return self._by_code[str(code)]
        except KeyError:
            raise UnknownEntryError(f"{self.name} has no entry with code {code!r}") from None

    def for_condition(self, condition: str) -> ErrorSpec:
        """The entry that answers a condition the layer detects (``unknown_route``...)."""
        try:
            return self._by_condition[condition]
        except KeyError:
            raise UnknownEntryError(
                f"{condition!r} is not a condition; expected one of {', '.join(CONDITIONS)}"
            ) from None

    def type_uri(self, spec: ErrorSpec) -> str | None:
        """Where the entry is documented: ``type_base`` plus its code, or None."""
        if not self.type_base:
            return None
        return self.type_base + quote(str(spec.code), safe="")

    # -- problems ------------------------------------------------------------------------

    def problem(
        self,
        key: str,
        /,
        *,
        detail: str | None = None,
        fields: Iterable[FieldError] = (),
        extensions: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        instance: str | None = None,
        language: str | None = None,
        retry_after: float | None = None,
        **params: Any,
    ) -> Problem:
        """One occurrence of entry ``key``, its message rendered from ``params``.

        ``detail`` is kept only where the entry exposes details (not 5xx, by default), so a
        handler may pass an exception's text without leaking it.

        Raises:
            UnknownEntryError: no entry has that key.
            ParamError: a declared parameter is missing, an undeclared one is given, or a
                value has the wrong type.
        """
        spec = self[key]
        self._check_params(spec, params)
        resolved = spec.resolve_language(language, self.language)
        template = spec.message[resolved]
        members = dict(spec.extensions)
        if extensions:
            members.update(extensions)
        merged_headers = dict(spec.headers)
        if headers:
            merged_headers.update(headers)
        if retry_after is None:
            retry_after = spec.retry_after
        return Problem(
            key=spec.key,
            code=spec.code,
            status=spec.status,
            title=spec.title_in(language, self.language),
            message=template.render(params),
            detail=detail if spec.expose else None,
            type=self.type_uri(spec),
            instance=instance,
            fields=fields,
            extensions=members,
            headers=merged_headers,
            request_id=request_id,
            retry_after=retry_after,
            params=params,
            language=resolved,
        )

    def error(self, key: str, /, **kwargs: Any) -> Problem:
        """The same as `problem`; reads better after ``raise``."""
        return self.problem(key, **kwargs)

    # -- client exceptions ---------------------------------------------------------------

    def exception(self, key: str, /) -> type[ProblemError]:
        """The exception class a client raises for entry ``key``: ``except
        catalog.exception("validation_error")`` catches exactly that error.

        One class is made for each catalog name and entry content (every field of the
        entry), so catalogs loaded twice (in two modules, say) hand out the same class, and
        ``except``, which compares classes by identity, still catches; an entry that differs
        in anything (status, code, ``retry``...) gets a class of its own. The catalog keeps
        the classes it handed out alive; once no catalog or caller uses one, it is freed.
        httpx is imported here, on first use, so that ``import errorbook`` stays free of it.

        Raises:
            UnknownEntryError: no entry has that key.
        """
        from .client._errors import exception_class

        return exception_class(self, key)

    @cached_property
    def errors(self) -> Errors:
        """Every entry's exception class as an attribute named after its key in CamelCase:
        ``catalog.errors.ValidationError is catalog.exception("validation_error")``.

        ``dir()`` lists them and a misspelt name suggests the closest ones. Keys that give
        the same name are left out rather than guessed; reach them by `exception`.
        """
        from .client._errors import Errors

        return Errors(self)

    def _check_params(self, spec: ErrorSpec, params: Mapping[str, Any]) -> None:
        unknown = sorted(set(params) - set(spec.params))
        if unknown:
            declared = ", ".join(spec.params) or "none"
            raise ParamError(
                f"{spec.key}: unknown parameter(s) {', '.join(unknown)}; declared: {declared}"
            )
        missing = sorted(set(spec.params) - set(params))
        if missing:
            raise ParamError(f"{spec.key}: missing parameter(s) {', '.join(missing)}")
        for name, value in params.items():
            type_name = spec.params[name]
            ok = isinstance(value, PARAM_TYPES[type_name]) and (
                type_name == "bool" or not isinstance(value, bool)
            )
            if not ok:
                raise ParamError(
                    f"{spec.key}: parameter {name!r} must be {type_name}, got "
                    f"{type(value).__name__} {value!r}"
                )

    # -- formats -------------------------------------------------------------------------

    @property
    def formats(self) -> tuple[Format, ...]:
        """The primary format first, then the alternates a client may ask for."""
        return (self.format, *self.alternates)

    def identify(self, problem: Problem) -> Problem:
        """Fill in a parsed Problem's key, title and type from the entry it matches.

        Matches by wire code; for formats without a code (``{"message": ...}``), by status
        and message template. A problem no entry matches comes back unchanged.
        """
        spec = self._match(problem)
        if spec is None:
            return problem
        return problem.replace(
            key=spec.key,
            code=spec.code,
            title=problem.title or spec.title_in(problem.language, self.language),
            type=problem.type or self.type_uri(spec),
        )

    def _match(self, problem: Problem) -> ErrorSpec | None:
        if problem.code is not None:
            return self._by_code.get(str(problem.code))
        for spec in self._entries.values():
            if spec.status != problem.status:
                continue
            for template in spec.message.values():
                if template.matches(problem.message):
                    return spec
        return None


def _unused(name: str, taken: AbstractSet[str]) -> str:
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    return candidate


_RFC9457: Catalog | None = None


def _rfc9457() -> Catalog:
    global _RFC9457
    if _RFC9457 is None:
        from ._profiles import profile_path

        _RFC9457 = Catalog._from_file(profile_path("rfc9457"), display="rfc9457 (built-in profile)")
        if _RFC9457.fallbacks:  # pragma: no cover - guarded by the profile tests
            raise CatalogError(f"rfc9457 must answer every condition, misses {_RFC9457.fallbacks}")
    return _RFC9457
