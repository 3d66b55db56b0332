"""The errorbook command, driven through click's CliRunner."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from errorbook import profile_names
from errorbook._cli import main


@pytest.fixture(name="runner")
def _runner() -> CliRunner:
    return CliRunner()


def split_response(output: str) -> tuple[str, dict[str, str], str]:
    head, _, body = output.partition("\n\n")
    status, *header_lines = head.split("\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return status, headers, body.rstrip("\n")


def test_render_tape_invalid_json(runner: CliRunner) -> None:
    """tape's invalid_json is a 400 with exactly status, error_code and error_message."""
    result = runner.invoke(main, ["render", "tape", "invalid_json"])
    assert result.exit_code == 0, result.output
    status, headers, body = split_response(result.output)
    assert status == "HTTP/1.1 400 Bad Request"
    assert headers["content-type"] == "application/json"
    document = json.loads(body)
    assert list(document) == ["status", "error_code", "error_message"]
    assert document["status"] == 400
    assert document["error_code"] == "invalid_json"
    assert isinstance(document["error_message"], str)
    assert document["error_message"]


def test_render_discord_invalid_token(runner: CliRunner) -> None:
    """Discord's invalid-token entry renders with the integer code 50014."""
    result = runner.invoke(main, ["render", "discord", "50014"])
    assert result.exit_code == 0, result.output
    status, _, body = split_response(result.output)
    assert status.startswith("HTTP/1.1 401")
    assert json.loads(body)["code"] == 50014


def test_render_xml(runner: CliRunner) -> None:
    """--accept application/problem+xml prints a valid RFC 9457 XML document."""
    result = runner.invoke(
        main, ["render", "rfc9457", "invalid_json", "--accept", "application/problem+xml"]
    )
    assert result.exit_code == 0, result.output
    _, headers, body = split_response(result.output)
    assert headers["content-type"] == "application/problem+xml"
    root = ET.fromstring(body.encode())
    assert root.tag == "{urn:ietf:rfc:7807}problem"
    assert root.findtext("{urn:ietf:rfc:7807}status") == "400"


def test_render_with_params(runner: CliRunner) -> None:
    """name=value params are converted to the declared types and fill the message."""
    result = runner.invoke(
        main, ["render", "wetransfer", "size_mismatch", "received=1", "declared=2"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(split_response(result.output)[2]) == {"message": "Expected 1 to be 2"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["render", "wetransfer", "size_mismatch", "received=one"], "must be int"),
        (["render", "wetransfer", "size_mismatch", "oops"], "expected name=value"),
        (["render", "wetransfer", "size_mismatch", "colour=red"], "unknown parameter(s) colour"),
        (["render", "tape", "no_such_entry"], "has no entry or code 'no_such_entry'"),
    ],
    ids=["bad-int", "no-equals", "unknown-param", "unknown-key"],
)
def test_render_usage_errors(runner: CliRunner, args: list[str], expected: str) -> None:
    """Bad render arguments exit 2 with a message, never a traceback."""
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output


def test_profiles_lists_one_a_line(runner: CliRunner) -> None:
    """profiles prints one line per built-in profile."""
    result = runner.invoke(main, ["profiles"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(profile_names())


@pytest.mark.parametrize("name", profile_names())
def test_lint_profiles_exit_zero(runner: CliRunner, name: str) -> None:
    """lint exits 0 on every built-in profile."""
    result = runner.invoke(main, ["lint", name])
    assert result.exit_code == 0, result.output


def test_lint_broken_catalog(runner: CliRunner, write_catalog: Callable[..., Path]) -> None:
    """lint prints file:line: key: what is wrong and exits 1."""
    path = write_catalog("name: T\nerrors:\n  a:\n    status: 400\n    message: 'Hi {who}'\n")
    result = runner.invoke(main, ["lint", str(path)])
    assert result.exit_code == 1
    assert (
        f"{path}:5: a.message: message uses {{who}} but 'params' does not declare 'who'"
        in result.output
    )


def test_diff_exit_codes(runner: CliRunner, write_catalog: Callable[..., Path]) -> None:
    """diff exits 1 on a breaking change and 0 when there is none."""
    old = write_catalog("name: T\nerrors:\n  a: {status: 400}\n  b: {status: 404}\n", "old.yaml")
    new = write_catalog("name: T\nerrors:\n  a: {status: 400}\n", "new.yaml")
    breaking = runner.invoke(main, ["diff", str(old), str(new)])
    assert breaking.exit_code == 1
    assert "BREAKING removed: b:" in breaking.output
    same = runner.invoke(main, ["diff", str(old), str(old)])
    assert (same.exit_code, same.output) == (0, "no changes\n")


def test_docs_writes_file(runner: CliRunner, tmp_path: Path) -> None:
    """docs -o writes the Markdown glossary with the catalog's front matter."""
    target = tmp_path / "errors.md"
    result = runner.invoke(main, ["docs", "tape", "-o", str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert text.startswith("---\n")
    assert "too_many_requets" in text
    assert not list(tmp_path.glob("*.partial"))


def test_docs_html(runner: CliRunner) -> None:
    """docs --html prints a standalone page."""
    result = runner.invoke(main, ["docs", "symbl", "--html"])
    assert result.exit_code == 0, result.output
    assert result.output.lower().startswith("<!doctype html>")


def test_broken_catalog_everywhere_is_exit_1(
    runner: CliRunner, write_catalog: Callable[..., Path]
) -> None:
    """Every command given a broken catalog exits 1 with the located error."""
    path = str(write_catalog("name: T\nerrors: 3\n"))
    for args in (["render", path, "a"], ["docs", path], ["diff", path, path]):
        result = runner.invoke(main, args)
        assert result.exit_code == 1, args
        assert f"{path}:2: errors:" in result.output
