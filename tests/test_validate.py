"""Catalog validation: every flaw is refused with its file, line, key and what was expected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from errorbook import Catalog, CatalogError

GOOD_ENTRY = """
name: Transfers API
errors:
  size_mismatch:
    status: 400
    message: "Expected {expected} to be {actual}"
    params: {expected: int, actual: int}
"""


def load_error(
    write_catalog: Callable[..., Path], text: str, name: str = "errors.yaml"
) -> CatalogError:
    path = write_catalog(text, name)
    with pytest.raises(CatalogError) as info:
        Catalog.load(path)
    return info.value


BROKEN = [
    (
        "undeclared-param",
        """
        name: T
        errors:
          size_mismatch:
            status: 400
            message: "Expected {expected} to be {actual}"
            params: {expected: int}
        """,
        5,
        "size_mismatch.message",
        "does not declare 'actual'",
    ),
    (
        "status-out-of-range",
        """
        name: T
        errors:
          teapot:
            status: 700
        """,
        4,
        "teapot.status",
        "from 400 to 599",
    ),
    (
        "status-not-an-error",
        """
        name: T
        errors:
          ok:
            status: 200
        """,
        4,
        "ok.status",
        "from 400 to 599",
    ),
    (
        "duplicate-code",
        """
        name: T
        errors:
          one:
            status: 400
            code: bad
          two:
            status: 409
            code: bad
        """,
        8,
        "two.code",
        "already used by entry 'one'",
    ),
    (
        "duplicate-key",
        """
        name: T
        errors:
          one:
            status: 400
          one:
            status: 409
        """,
        5,
        "errors.one",
        "duplicate key 'one' (first defined on line 3)",
    ),
    (
        "condition-twice",
        """
        name: T
        errors:
          a:
            status: 404
            on: [unknown_route]
          b:
            status: 400
            on: [unknown_route]
        """,
        8,
        "b.on",
        "already answered by entry 'a'",
    ),
    (
        "unknown-condition",
        """
        name: T
        errors:
          a:
            status: 404
            on: [unknown_rout]
        """,
        5,
        "a.on.0",
        "unknown condition 'unknown_rout'",
    ),
    (
        "retry-on-client-error",
        """
        name: T
        errors:
          bad:
            status: 400
            retry: backoff
        """,
        5,
        "bad.retry",
        "expected retry: never",
    ),
    (
        "unknown-retry",
        """
        name: T
        errors:
          busy:
            status: 503
            retry: sometimes
        """,
        5,
        "busy.retry",
        "one of never, after, backoff",
    ),
    (
        "unknown-format",
        """
        name: T
        format: problem+jsn
        errors:
          a: {status: 400}
        """,
        2,
        "format",
        "unknown format 'problem+jsn'",
    ),
    (
        "typo-in-entry-key",
        """
        name: T
        errors:
          a:
            status: 400
            mesage: Hello
        """,
        5,
        "a.mesage",
        "did you mean 'message'?",
    ),
    (
        "no-default-language",
        """
        name: T
        language: en
        errors:
          a:
            status: 400
            message: {de: Hallo}
        """,
        6,
        "a.message",
        "no text in the catalog's language 'en'",
    ),
    (
        "lone-brace",
        """
        name: T
        errors:
          a:
            status: 400
            message: "Expected { to be"
        """,
        5,
        "a.message",
        "lone '{'",
    ),
    (
        "attribute-placeholder",
        """
        name: T
        errors:
          a:
            status: 400
            message: "Expected {value.__class__}"
            params: {value: str}
        """,
        5,
        "a.message",
        "not a plain parameter name",
    ),
    (
        "header-injection",
        """
        name: T
        errors:
          a:
            status: 400
            headers: {X-Note: "a\\r\\nSet-Cookie: x=1"}
        """,
        5,
        "a.headers.X-Note",
        "line break",
    ),
    (
        "reserved-param",
        """
        name: T
        errors:
          a:
            status: 400
            message: "{detail}"
            params: {detail: str}
        """,
        6,
        "a.params.detail",
        "shadow the keyword argument",
    ),
    (
        "bad-param-type",
        """
        name: T
        errors:
          a:
            status: 400
            message: "{n}"
            params: {n: integer}
        """,
        6,
        "a.params.n",
        "expected a parameter type",
    ),
    (
        "no-errors",
        """
        name: T
        errors: {}
        """,
        2,
        "errors",
        "expected 'errors'",
    ),
    (
        "no-name",
        """
        errors:
          a: {status: 400}
        """,
        1,
        "name",
        "expected 'name' to be non-empty text",
    ),
    (
        "bad-docs-style",
        """
        name: T
        docs: {style: cards}
        errors:
          a: {status: 400}
        """,
        2,
        "docs.style",
        "table, sections, endpoints",
    ),
    (
        "example-wrong-type",
        """
        name: T
        errors:
          a:
            status: 400
            message: "{n}"
            params: {n: int}
            example: {n: many}
        """,
        7,
        "a.example.n",
        "expected a int for example 'n'",
    ),
    (
        "invalid-yaml",
        """
        name: T
        errors:
          a: {status: 400
        """,
        4,
        None,
        "invalid YAML",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "key", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_broken_catalogs_are_located(
    write_catalog: Callable[..., Path], text: str, line: int | None, key: str | None, expected: str
) -> None:
    """Each kind of flaw raises CatalogError naming the file, the line, the key and the fix."""
    error = load_error(write_catalog, text)
    assert error.file is not None
    assert error.file.endswith("errors.yaml")
    assert error.line == line
    assert error.key == key
    assert expected in error.problem
    assert str(error).startswith(f"{error.file}:{line}: " if line else f"{error.file}: ")


def test_catalog_error_is_a_value_error(write_catalog: Callable[..., Path]) -> None:
    """CatalogError subclasses ValueError, so generic validation handlers catch it."""
    error = load_error(write_catalog, "name: T\nerrors: []\n")
    assert isinstance(error, ValueError)


def test_top_level_must_be_a_mapping(write_catalog: Callable[..., Path]) -> None:
    """A YAML list at the top is refused with what was expected."""
    error = load_error(write_catalog, "- a\n- b\n")
    assert "expected a mapping at the top" in error.problem


def test_toml_catalog_loads_and_locates(write_catalog: Callable[..., Path]) -> None:
    """TOML catalogs load like YAML ones and their flaws are located by line too."""
    good = write_catalog(
        """
        name = "T"
        [errors.size_mismatch]
        status = 400
        message = "Expected {expected} to be {actual}"
        params = { expected = "int", actual = "int" }
        """,
        "good.toml",
    )
    catalog = Catalog.load(good)
    assert catalog["size_mismatch"].status == 400
    error = load_error(
        write_catalog,
        """
        name = "T"
        [errors.a]
        status = 400

        [errors.b]
        status = 999
        """,
        "bad.toml",
    )
    assert (error.line, error.key) == (6, "b.status")


def test_invalid_toml_is_located(write_catalog: Callable[..., Path]) -> None:
    """A TOML syntax error gives the parser's line."""
    error = load_error(write_catalog, 'name = "T"\n[errors.a]\nstatus = \n', "bad.toml")
    assert error.line == 3
    assert "invalid TOML" in error.problem


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    """A file that is not UTF-8 gets a clear error rather than a decode traceback."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(CatalogError, match="not UTF-8"):
        Catalog.load(path)


def test_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    """A path that does not exist says so, naming the path."""
    with pytest.raises(CatalogError, match="cannot read") as info:
        Catalog.load(tmp_path / "nope.yaml")
    assert info.value.file == str(tmp_path / "nope.yaml")


def test_unknown_profile_lists_profiles() -> None:
    """A bare name that is no profile lists the profiles that exist."""
    with pytest.raises(CatalogError, match="rfc9457"):
        Catalog.load("stripey")


def test_dict_catalog_errors_name_the_key() -> None:
    """Dict catalogs have no lines, but their errors still name the key."""
    with pytest.raises(CatalogError) as info:
        Catalog.from_dict({"name": "T", "errors": {"a": {"status": "400"}}})
    assert info.value.key == "a.status"
    assert info.value.line is None
    assert str(info.value).startswith("<dict>: a.status: ")


def test_good_entry_defaults(write_catalog: Callable[..., Path]) -> None:
    """An entry's code defaults to its key, title to the status phrase, expose to status < 500."""
    catalog = Catalog.load(write_catalog(GOOD_ENTRY))
    spec = catalog["size_mismatch"]
    assert spec.code == "size_mismatch"
    assert spec.title["en"] == "Bad Request"
    assert spec.expose is True
    assert spec.retry == "never"
    assert spec.line == 3


def test_yaml_on_and_yes_are_not_booleans(write_catalog: Callable[..., Path]) -> None:
    """`on:` stays a key and `yes` stays text (YAML 1.2 booleans), as catalogs expect."""
    catalog = Catalog.load(
        write_catalog(
            """
            name: T
            errors:
              a:
                status: 404
                on: [unknown_route]
                extensions: {confirm: yes, flag: true}
            """
        )
    )
    assert catalog["a"].on == ("unknown_route",)
    assert catalog["a"].extensions == {"confirm": "yes", "flag": True}


HOSTILE_YAML = [
    ("unhashable-key", "name: T\nerrors:\n  ? [a, b]\n  : 1\n", 3, "expected a text or number key"),
    (
        "recursive-alias",
        "name: T\nerrors:\n  a: &x {status: 400, extensions: {self: *x}}\n",
        3,
        "refers to a value that contains it",
    ),
    (
        "deep-nesting",
        "name: T\nerrors: " + "[" * 5000 + "]" * 5000 + "\n",
        None,
        "nested too deeply",
    ),
    (
        "alias-bomb",
        "name: T\nl0: &l0 [a, a, a, a, a, a, a, a, a, a]\n"
        + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9))
        + "errors: {a: {status: 400}}\n",
        None,
        "expands to more than",
    ),
    (
        "sexagesimal-key",
        "name: T\nstatuses:\n  1:30: x\nerrors: {a: {status: 400}}\n",
        3,
        "statuses",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "expected"), [h[1:] for h in HOSTILE_YAML], ids=[h[0] for h in HOSTILE_YAML]
)
def test_hostile_yaml_is_a_catalog_error(
    write_catalog: Callable[..., Path], text: str, line: int | None, expected: str
) -> None:
    """YAML that PyYAML accepts but no catalog should be is refused with a CatalogError."""
    path = write_catalog(text)
    with pytest.raises(CatalogError) as info:
        Catalog.load(path)
    assert expected in str(info.value)
    if line is not None:
        assert info.value.line == line


def test_alias_reuse_is_allowed(write_catalog: Callable[..., Path]) -> None:
    """Anchors and aliases that share a value (not contain it) still load, walked once."""
    catalog = Catalog.load(
        write_catalog(
            """
            name: T
            errors:
              a: {status: 503, retry: after, headers: &h {Cache-Control: no-store}}
              b: {status: 502, headers: *h}
            """
        )
    )
    assert catalog["b"].headers == {"Cache-Control": "no-store"}


def test_non_string_keys_are_located_on_their_own_line(write_catalog: Callable[..., Path]) -> None:
    """A `true:` key is reported on its own line, not on its parent's."""
    path = write_catalog("name: T\nerrors: {a: {status: 400}}\nstatuses:\n  200: OK\n  true: yes\n")
    with pytest.raises(CatalogError) as info:
        Catalog.load(path)
    assert (info.value.line, info.value.key) == (5, "statuses.True")


DICT_SHAPES = [
    ("param-type-list", {"a": {"status": 400, "params": {"n": ["int"]}}}, "a.params.n"),
    ("retry-after-huge", {"a": {"status": 503, "retry_after": 10**400}}, "a.retry_after"),
    ("retry-after-inf", {"a": {"status": 503, "retry_after": float("inf")}}, "a.retry_after"),
    ("retry-after-nan", {"a": {"status": 503, "retry_after": float("nan")}}, "a.retry_after"),
    ("code-huge", {"a": {"status": 400, "code": 10**5000}}, "a.code"),
    ("code-negative", {"a": {"status": 400, "code": -1}}, "a.code"),
    ("code-list", {"a": {"status": 400, "code": [1]}}, "a.code"),
    ("status-float", {"a": {"status": 400.0}}, "a.status"),
    ("status-huge", {"a": {"status": 10**5000}}, "a.status"),
    ("header-huge-int", {"a": {"status": 400, "headers": {"X-A": 10**5000}}}, "a.headers.X-A"),
    (
        "header-non-ascii",
        {"a": {"status": 400, "headers": {"X-A": "caf\u00e9\u2028"}}},
        "a.headers.X-A",
    ),
    ("entry-none", {"a": None}, "a"),
    ("int-key", {1: {"status": 400}}, "1"),
    (
        "example-nan",
        {
            "a": {
                "status": 400,
                "message": "{x}",
                "params": {"x": "float"},
                "example": {"x": float("nan")},
            }
        },
        "a.example.x",
    ),
]


@pytest.mark.parametrize(
    ("errors", "key"), [d[1:] for d in DICT_SHAPES], ids=[d[0] for d in DICT_SHAPES]
)
def test_malformed_dicts_are_catalog_errors(errors: dict[object, object], key: str) -> None:
    """Malformed values never escape as TypeError, ValueError or OverflowError."""
    with pytest.raises(CatalogError) as info:
        Catalog.from_dict({"name": "T", "errors": errors})
    assert info.value.key == key
    assert len(str(info.value)) < 400


def test_toml_statuses(write_catalog: Callable[..., Path]) -> None:
    """TOML status keys, always text, are read as statuses."""
    path = write_catalog(
        'name = "T"\n[statuses]\n200 = "OK"\n5xx = "Ours"\n[errors.a]\nstatus = 400\n', "c.toml"
    )
    assert Catalog.load(path).statuses == {"200": "OK", "5xx": "Ours"}
