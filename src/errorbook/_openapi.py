"""The catalog's errors in an OpenAPI document: per-operation responses, schemas, examples.

Pure functions over data, like the glossary: a document goes in as plain dicts (from
FastAPI's ``app.openapi()``, Litestar's schema, Starlette's ``SchemaGenerator``, a YAML
file) and a new document comes out; nothing here imports a web framework.

Which errors an operation lists follows what `ErrorLayer` can answer for a request to it,
keyed on the catalog's conditions (`Catalog.for_condition`), so a catalog that answers an
unknown route with 400 documents a 400:

====================================  ===================================================
condition                             listed for
====================================  ===================================================
``maintenance``, ``internal``,        every operation
``not_acceptable``
``unknown_route``                     operations whose path has parameters (a value that
                                      names nothing is the app's 404, which maps here),
                                      and every authenticated operation when
                                      ``hide_forbidden`` answers it instead of 403
``unauthenticated``                   operations that are not public, when ``auth`` is set,
                                      and operations whose ``security`` (or the
                                      document's) requires credentials: the app's own
                                      check (FastAPI's security dependencies) raises 401
``forbidden``                         the same, when ``authorize`` is set (and
                                      ``hide_forbidden`` is not)
``unsupported_media_type``            operations with a ``requestBody`` (the layer also
                                      answers 415 to a body of an unsupported type sent
                                      where none is declared, a GET with a body; that
                                      request is outside every operation's contract, so
                                      it is not listed)
``payload_too_large``                 the same, when a body limit applies to the route;
                                      its example names the route's limit
``invalid_json``                      operations whose ``requestBody`` is JSON
``validation_failed``                 operations with a ``requestBody`` or parameters
``timeout``                           every operation, when ``deadline`` is set
====================================  ===================================================

``method_not_allowed`` is listed nowhere: it answers the methods a path does not have, and
OpenAPI has no operation to hang those on. Entries whose ``endpoints`` name an operation are
listed for it too, and so are the keys the caller gives in ``errors``.

Response bodies are described once per format, in ``components/schemas``:

- ``problem+json`` and ``problem+xml`` share ``ProblemDetails``: RFC 9457's members, the
  catalog's ``code`` (string, integer or either, as its entries use), ``request_id``,
  ``retry_after`` and ``errors`` (one ``pointer``, ``code``, ``detail`` per field), with
  ``xml`` hints for Appendix B; other members are extensions and allowed.
- A template format gets a schema derived from its template: literals are ``enum``s,
  variables take their type, ``$each`` and ``$if`` elements become array items, and a
  member is required only when the template always writes it. A spread allows any member.
- A format errorbook cannot see into (a registered class without a template) is an
  object whose description names the members it carries.

Examples are rendered by the catalog's own formats from each entry, with the entry's
``example`` parameters, so they are exactly what the layer sends.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from ._catalog import Catalog
from ._errors import ErrorbookError
from ._formats._base import Format
from ._problem import FieldError
from ._spec import ErrorSpec

__all__ = ["OpenAPIError", "add_error_responses", "error_responses"]

_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAM: Final = re.compile(r"\{[^{}/]*\}")
_NAME_PART: Final = re.compile(r"[A-Za-z0-9]+")
#: The request id every example carries (the layer makes 32 hex digits).
EXAMPLE_REQUEST_ID: Final = "5f0c6a8e2b9d4e71a3c8f41d07b2e695"
_PLACEHOLDERS: Final[Mapping[str, Any]] = {"int": 0, "float": 0.0, "bool": False}
_RETRY_AFTER_HEADER: Final = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 0},
}
#: What the layer writes for a 503 when the maintenance entry names no delay of its own.
_MAINTENANCE_RETRY: Final = 60.0


class OpenAPIError(ErrorbookError, ValueError):
    """`add_error_responses` was given a document or options it cannot use.

    The message names what is wrong: the operation, the entry key or the member.

    .. versionadded:: 0.1.0
    """


def add_error_responses(
    document: Mapping[str, Any],
    catalog: Catalog | str | Mapping[str, Any],
    *,
    errors: Mapping[str, Iterable[str]] | None = None,
    auth: object = None,
    authorize: object = None,
    public: Iterable[str] = (),
    hide_forbidden: bool = False,
    max_body: int | None = None,
    route_options: Mapping[str, Mapping[str, Any]] | None = None,
    deadline: float | None = None,
    request_id_header: str = "x-request-id",
) -> dict[str, Any]:
    """A copy of ``document`` in which every operation lists the errors it can answer.

    The keyword arguments mean what they mean to `ErrorLayer`, so the same values can be
    passed to both; the rule that turns them into responses is in this module's
    docstring. A status the operation already documents is left as it is.

    Args:
        document: An OpenAPI 3.0 or 3.1 document as plain data; it is not changed.
        catalog: A `Catalog`, a profile name or catalog data.
        errors: More entry keys per operation, ``{"POST /v1/trackers": ["tracker_exists"]}``;
            the path is written as in the document (parameter names do not matter).
        auth: The layer's authenticator (or True): non-public operations list
            ``unauthenticated``, with ``WWW-Authenticate`` when it has a ``challenge``.
        authorize: The layer's ``authorize`` callable (or True): operations list
            ``forbidden``.
        public: Routes that skip authentication, as for `ErrorLayer`.
        hide_forbidden: ``forbidden`` is answered as ``unknown_route``.
        max_body: The body limit; operations with a body then list ``payload_too_large``.
        route_options: Per-route options as for `ErrorLayer`; ``public`` and ``max_body``
            are read.
        deadline: The layer's deadline; every operation then lists ``timeout``.
        request_id_header: The header the layer echoes the request id in.

    Raises:
        OpenAPIError: the document has no usable ``paths``, or ``errors`` names an
            operation the document does not have or an entry the catalog does not have.

    .. versionadded:: 0.1.0
    """
    book = Catalog.load(catalog)
    if not isinstance(document, Mapping):
        raise OpenAPIError(f"expected an OpenAPI document (a mapping), got {type(document)}")
    result: dict[str, Any] = copy.deepcopy(dict(document))
    paths = result.get("paths")
    if paths is None:
        paths = {}
    if not isinstance(paths, dict):
        raise OpenAPIError(f"the document's paths must be an object, got {type(paths).__name__}")
    operations = dict(_operations(paths))
    extra = _named_errors(errors or {}, operations, book)
    for spec in book:
        for endpoint in spec.endpoints:
            method, _, path = endpoint.partition(" ")
            found = operations.get((method.upper(), _shape(path.strip())))
            if found is not None:
                extra.setdefault((method.upper(), _shape(path.strip())), []).append(spec.key)

    components = result.setdefault("components", {})
    if not isinstance(components, dict):
        raise OpenAPIError("the document's components must be an object")
    schemas = components.setdefault("schemas", {})
    if not isinstance(schemas, dict):
        raise OpenAPIError("the document's components.schemas must be an object")
    builder = _Builder(book, schemas, "#/components/schemas/{name}", request_id_header)
    challenge = getattr(auth, "challenge", None)
    rules = _Rules(
        auth=bool(auth),
        authorize=bool(authorize),
        public=list(public),
        hide_forbidden=hide_forbidden,
        max_body=max_body,
        route_options=route_options or {},
        deadline=deadline is not None,
    )
    for key, (path, operation, path_item) in operations.items():
        conditions = rules.conditions(key[0], path, operation, path_item, result)
        keys = [book.for_condition(c).key for c in conditions] + extra.get(key, [])
        responses = operation.setdefault("responses", {})
        if not isinstance(responses, dict):
            raise OpenAPIError(f"{key[0]} {path}: responses must be an object")
        limit = rules.body_limit(key[0], path)
        for status, response in builder.responses(keys, challenge=challenge, limit=limit).items():
            # A status the document already describes is the document's to describe.
            responses.setdefault(status, response)
    return result


def error_responses(
    catalog: Catalog | str | Mapping[str, Any],
    keys: Iterable[str],
    *,
    ref_template: str = "#/components/schemas/{name}",
    challenge: str | None = None,
    request_id_header: str = "x-request-id",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """OpenAPI response objects for some catalog entries, and the schemas they reference.

    For documents errorbook does not walk itself: put the first dict in an operation's
    ``responses`` and the second in ``components/schemas`` (or wherever ``ref_template``
    points). Entries that share a status become one response with several examples.

    Args:
        catalog: A `Catalog`, a profile name or catalog data.
        keys: Entry keys, in the order their examples should appear.
        ref_template: How a schema is referenced; ``{name}`` is its name.
        challenge: A ``WWW-Authenticate`` value to document on a 401 ``unauthenticated``.
        request_id_header: The header the request id is echoed in.

    Raises:
        OpenAPIError: a key names no entry.

    .. versionadded:: 0.1.0
    """
    book = Catalog.load(catalog)
    keys = list(keys)
    for key in keys:
        if key not in book:
            raise OpenAPIError(f"the catalog {book.name!r} has no entry {key!r}")
    schemas: dict[str, Any] = {}
    builder = _Builder(book, schemas, ref_template, request_id_header)
    return builder.responses(keys, challenge=challenge), schemas


# -- operations ----------------------------------------------------------------------------

Operations = dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any]]]


def _operations(paths: dict[str, Any]) -> Iterator[tuple[tuple[str, str], Any]]:
    # Each path item, operation and responses object is copied on the way: a document built
    # in Python may share one dict between operations (deepcopy keeps the sharing), and
    # one operation's errors must not appear under another.
    for path, item in list(paths.items()):
        if not isinstance(item, dict):
            continue
        item = paths[path] = dict(item)
        for method in _METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                operation = item[method] = dict(operation)
                responses = operation.get("responses")
                if isinstance(responses, dict):
                    operation["responses"] = dict(responses)
                yield (method.upper(), _shape(str(path))), (str(path), operation, item)


def _shape(path: str) -> str:
    """The path with every parameter written ``{}``, so ``{id}`` and ``{tracker_id}`` agree."""
    return _PARAM.sub("{}", path)


def _named_errors(
    errors: Mapping[str, Iterable[str]], operations: Operations, catalog: Catalog
) -> dict[tuple[str, str], list[str]]:
    named: dict[tuple[str, str], list[str]] = {}
    for operation, keys in errors.items():
        method, _, path = operation.partition(" ")
        key = (method.upper(), _shape(path.strip()))
        if not path.strip().startswith("/") or key not in operations:
            known = ", ".join(f"{m} {p}" for (m, _), (p, _, _) in operations.items()) or "none"
            raise OpenAPIError(
                f"errors: {operation!r} is not an operation of the document "
                f"(expected 'METHOD /path'; operations: {known})"
            )
        if isinstance(keys, str):
            raise OpenAPIError(f"errors[{operation!r}]: expected a list of entry keys, not a str")
        for entry in keys:
            if entry not in catalog:
                raise OpenAPIError(
                    f"errors[{operation!r}]: the catalog {catalog.name!r} has no entry {entry!r}"
                )
            named.setdefault(key, []).append(entry)
    return named


class _Rules:
    """Which conditions a request to one operation can meet (the module docstring's table)."""

    def __init__(
        self,
        *,
        auth: bool,
        authorize: bool,
        public: list[str],
        hide_forbidden: bool,
        max_body: int | None,
        route_options: Mapping[str, Mapping[str, Any]],
        deadline: bool,
    ) -> None:
        self.auth = auth
        self.authorize = authorize
        self.hide_forbidden = hide_forbidden
        self.max_body = max_body
        self.deadline = deadline
        self.options: dict[tuple[str | None, str], dict[str, Any]] = {}
        for route in public:
            self._option(route, {"public": True})
        for route, value in route_options.items():
            self._option(route, dict(value))

    def _option(self, route: str, value: dict[str, Any]) -> None:
        method: str | None = None
        path = route.strip()
        if not path.startswith("/"):
            method, _, path = path.partition(" ")
            method = method.upper()
            path = path.strip()
        self.options.setdefault((method, _shape(path)), {}).update(value)

    def _setting(self, method: str, path: str, name: str, default: Any) -> Any:
        shape = _shape(path)
        for key in ((method, shape), (None, shape)):
            options = self.options.get(key)
            if options is not None and name in options:
                return options[name]
        return default

    def body_limit(self, method: str, path: str) -> int | None:
        """The body limit that applies to the route, if any."""
        limit: int | None = self._setting(method, path, "max_body", self.max_body)
        return limit

    def conditions(
        self,
        method: str,
        path: str,
        operation: Mapping[str, Any],
        path_item: Mapping[str, Any],
        document: Mapping[str, Any],
    ) -> list[str]:
        found = ["maintenance"]
        guarded = self.auth and not self._setting(method, path, "public", False)
        if "{" in path or (guarded and self.authorize and self.hide_forbidden):
            found.append("unknown_route")
        if guarded:
            found.append("unauthenticated")
            if self.authorize and not self.hide_forbidden:
                found.append("forbidden")
        elif _requires_credentials(operation, document):
            found.append("unauthenticated")
        body = _resolve(operation.get("requestBody"), document)
        if body is not None:
            found.append("unsupported_media_type")
            if self.body_limit(method, path) is not None:
                found.append("payload_too_large")
            content = body.get("content") if isinstance(body, Mapping) else None
            if isinstance(content, Mapping) and any(_is_json(media) for media in content):
                found.append("invalid_json")
        if body is not None or operation.get("parameters") or path_item.get("parameters"):
            found.append("validation_failed")
        found.append("not_acceptable")
        found.append("internal")
        if self.deadline:
            found.append("timeout")
        return found


def _requires_credentials(operation: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    """Whether the operation's security requirement (or the document's) needs credentials.

    An empty requirement object (``{}``) in the list makes credentials optional.
    """
    security = operation.get("security", document.get("security"))
    if not isinstance(security, list) or not security:
        return False
    return all(isinstance(requirement, Mapping) and requirement for requirement in security)


def _resolve(value: Any, document: Mapping[str, Any]) -> Any:
    """``value``, or what its local ``$ref`` points at (None when it points nowhere)."""
    seen = 0
    while isinstance(value, Mapping) and isinstance(value.get("$ref"), str) and seen < 16:
        ref: str = value["$ref"]
        if not ref.startswith("#/"):
            return value
        target: Any = document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, Mapping) else None
        value = target
        seen += 1
    return value


def _is_json(media_type: str) -> bool:
    essence = media_type.split(";", 1)[0].strip().lower()
    return essence == "application/json" or essence.endswith("+json")


# -- responses ---------------------------------------------------------------------------


class _Builder:
    """Builds response objects, registering each format's schema once in ``schemas``."""

    def __init__(
        self, catalog: Catalog, schemas: dict[str, Any], ref_template: str, rid_header: str
    ) -> None:
        self.catalog = catalog
        self.schemas = schemas
        self.ref_template = ref_template
        self.rid_header = "-".join(part.capitalize() for part in rid_header.split("-"))
        self.refs: dict[str, dict[str, str]] = {}
        self.code_schema = _code_schema(catalog)

    def ref(self, fmt: Format) -> dict[str, str]:
        ref = self.refs.get(fmt.name)
        if ref is None:
            schema = format_schema(fmt, self.code_schema)
            name = _free_name(_schema_name(fmt), schema, self.schemas)
            self.schemas[name] = schema
            ref = self.refs[fmt.name] = {"$ref": self.ref_template.format(name=name)}
        return ref

    def responses(
        self, keys: Iterable[str], *, challenge: str | None, limit: int | None = None
    ) -> dict[str, Any]:
        by_status: dict[int, list[ErrorSpec]] = {}
        for key in dict.fromkeys(keys):
            spec = self.catalog[key]
            by_status.setdefault(spec.status, []).append(spec)
        return {
            str(status): self.response(specs, challenge, limit)
            for status, specs in sorted(by_status.items())
        }

    def response(
        self, specs: list[ErrorSpec], challenge: str | None, limit: int | None = None
    ) -> dict[str, Any]:
        language = self.catalog.language
        titles = dict.fromkeys(spec.title_in(None, language) for spec in specs)
        headers: dict[str, Any] = {
            self.rid_header: {
                "description": "The request's id, also in the body where the format has room.",
                "schema": {"type": "string"},
            }
        }
        if any(spec.retry == "after" or spec.retry_after is not None for spec in specs) or any(
            "maintenance" in spec.on for spec in specs
        ):
            headers["Retry-After"] = dict(_RETRY_AFTER_HEADER)
        if challenge and any(s.status == 401 and "unauthenticated" in s.on for s in specs):
            headers["WWW-Authenticate"] = {
                "description": "How to authenticate.",
                "schema": {"type": "string", "example": challenge},
            }
        for spec in specs:
            for name, value in spec.headers.items():
                headers.setdefault(name, {"schema": {"type": "string", "example": value}})
        content: dict[str, Any] = {}
        for fmt in self.catalog.formats:
            if fmt.media_type in content:
                continue
            examples = {
                spec.key: {
                    "summary": spec.title_in(None, language),
                    "value": _example(self.catalog, spec, fmt, limit),
                }
                for spec in specs
            }
            content[fmt.media_type] = {"schema": self.ref(fmt), "examples": examples}
        return {"description": "; ".join(titles), "headers": headers, "content": content}


def _example(catalog: Catalog, spec: ErrorSpec, fmt: Format, limit: int | None = None) -> Any:
    """The body the layer sends for ``spec``, with its example parameters.

    ``payload_too_large`` names the route's own body ``limit`` when it is known, as the
    layer does, rather than the entry's example.
    """
    params = {
        name: spec.example.get(name, _PLACEHOLDERS.get(kind, f"{{{name}}}"))
        for name, kind in spec.params.items()
    }
    if limit is not None and "payload_too_large" in spec.on and "limit" in spec.params:
        params["limit"] = limit
    fields: list[FieldError] = []
    extensions: dict[str, Any] = {}
    if "validation_failed" in spec.on:
        fields.append(FieldError("/name", "missing", "Field required"))
    if "invalid_json" in spec.on:
        extensions = {"line": 1, "column": 10}
    retry_after = spec.retry_after
    if retry_after is None and "maintenance" in spec.on:
        retry_after = _MAINTENANCE_RETRY
    problem = catalog.problem(
        spec.key,
        request_id=EXAMPLE_REQUEST_ID,
        fields=fields,
        extensions=extensions,
        retry_after=retry_after,
        **params,
    )
    body = fmt.render(problem)
    if _is_json(fmt.media_type):
        return json.loads(body)
    return body.decode("utf-8")


# -- schemas -----------------------------------------------------------------------------


def _code_schema(catalog: Catalog) -> dict[str, Any]:
    kinds = {isinstance(spec.code, int) for spec in catalog}
    if kinds == {True}:
        return {"type": "integer"}
    if kinds == {False}:
        return {"type": "string"}
    return {"oneOf": [{"type": "string"}, {"type": "integer"}]}


def format_schema(fmt: Format, code_schema: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON Schema for ``fmt``'s bodies (see the module docstring for how it is made)."""
    if fmt.name in ("problem+json", "problem+xml"):
        return _problem_schema(code_schema)
    template = getattr(fmt, "template", None)
    if isinstance(template, Mapping):
        schema, _ = _template_schema(template, code_schema)
        schema["description"] = f"An error in the {fmt.name} format."
        return schema
    carried = ", ".join(sorted(fmt.carries))
    return {
        "type": "object",
        "description": f"An error in the {fmt.name} format; it carries {carried}.",
    }


def _problem_schema(code_schema: Mapping[str, Any]) -> dict[str, Any]:
    uri = {"type": "string", "format": "uri-reference"}
    return {
        "type": "object",
        "description": (
            "An RFC 9457 problem document. Members not listed here are extension members."
        ),
        "properties": {
            "type": {**uri, "description": "Where this kind of error is documented."},
            "title": {"type": "string", "description": "A short summary of the kind."},
            "status": {"type": "integer", "minimum": 100, "maximum": 599},
            "detail": {"type": "string", "description": "What went wrong this time."},
            "instance": uri,
            "code": {**code_schema, "description": "The code clients switch on."},
            "request_id": {"type": "string"},
            "retry_after": {"type": "number", "minimum": 0},
            "errors": {
                "type": "array",
                "description": "What is wrong with each part of the request.",
                "items": {
                    "type": "object",
                    "properties": {
                        "pointer": {
                            "type": "string",
                            "description": "An RFC 6901 JSON pointer into the request body.",
                        },
                        "code": {"type": "string"},
                        "detail": {"type": "string"},
                    },
                    "required": ["pointer", "code", "detail"],
                    "xml": {"name": "i"},
                },
                "xml": {"wrapped": True},
            },
        },
        "required": ["status", "detail"],
        "xml": {"name": "problem", "namespace": "urn:ietf:rfc:7807"},
    }


_STRINGS: Final = frozenset(
    {"message", "title", "detail", "type", "instance", "request_id", "status_text", "status_name"}
)
_ALWAYS: Final = frozenset({"message", "status", "status_text", "status_name"})


def _template_schema(value: Any, code: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The schema of one template value, and whether a render always writes it."""
    if isinstance(value, str):
        if not value.startswith("$") or value.startswith("$$"):
            return {"enum": [value[1:] if value.startswith("$$") else value]}, True
        name = value[1:]
        if name.startswith("field."):
            return {"type": "string"}, True
        if name == "code":
            return dict(code), False
        if name == "status":
            return {"type": "integer"}, True
        if name == "retry_after":
            return {"type": "number", "minimum": 0}, False
        if name == "fields.nested":
            return {"type": "object"}, False
        if name in _STRINGS:
            return {"type": "string"}, name in _ALWAYS
        return {}, False  # $ext.NAME: any JSON value
    if isinstance(value, Mapping):
        properties: dict[str, Any] = {}
        required: list[str] = []
        schema: dict[str, Any] = {"type": "object"}
        for key, member in value.items():
            if key == "...":
                schema["additionalProperties"] = True
                continue
            if member is None:
                continue  # a member rendering None is left out
            properties[key], always = _template_schema(member, code)
            if always:
                required.append(key)
        schema["properties"] = properties
        if required:
            schema["required"] = required
        return schema, bool(required)
    if isinstance(value, list | tuple):
        items: list[dict[str, Any]] = []
        always = False
        for element in value:
            if isinstance(element, Mapping) and "$each" in element:
                item, _ = _template_schema(element["item"], code)
            elif isinstance(element, Mapping) and "$if" in element:
                item, _ = _template_schema(element["then"], code)
            else:
                item, always_there = _template_schema(element, code)
                always = always or always_there
            if item not in items:
                items.append(item)
        array: dict[str, Any] = {"type": "array"}
        if len(items) == 1:
            array["items"] = items[0]
        elif items:
            array["items"] = {"anyOf": items}
        return array, always
    return {"enum": [value]}, True


def _schema_name(fmt: Format) -> str:
    if fmt.name in ("problem+json", "problem+xml"):
        return "ProblemDetails"
    words = _NAME_PART.findall(fmt.name) or ["Custom"]
    return "".join(word[:1].upper() + word[1:] for word in words) + "Error"


def _free_name(name: str, schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> str:
    """``name``, or ``name2``... when the document already holds a different schema by it."""
    candidate, number = name, 1
    while candidate in schemas and schemas[candidate] != schema:
        number += 1
        candidate = f"{name}{number}"
    return candidate
