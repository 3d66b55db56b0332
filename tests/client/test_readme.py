"""The README's client example runs as written against a real service and does what it says."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..live._demo import KEY_A, Demo
from ._live import serve

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module", name="demo")
def _demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve("tape", tmp_path_factory)


def client_example() -> str:
    """The README's one ```python block that builds an `errorbook.Client`."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    (block,) = [block for block in blocks if "errorbook.Client(" in block]
    return block


def test_the_client_example_types_a_conflict(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run against tape's service, the example creates its tracker once; run again, the name
    is taken, and the 409 lands in the ``except tape.errors.ConflictError`` branch, which
    prints the wire code, the message and the request id."""
    block = client_example()
    assert '"https://api.example.com"' in block
    assert 'api_key="..."' in block
    code = block.replace('"https://api.example.com"', repr(demo.base_url)).replace(
        'api_key="..."', f"api_key={KEY_A!r}"
    )
    compiled = compile(code, str(README), "exec")

    namespace: dict[str, Any] = {}
    exec(compiled, namespace)
    assert capsys.readouterr().out == ""  # created: nothing to report

    exec(compiled, namespace)
    printed = capsys.readouterr().out.split()
    assert printed[0] == "conflict_error"
    assert re.fullmatch(r"[0-9a-f]{32}", printed[-1]), printed
