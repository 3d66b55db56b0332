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
