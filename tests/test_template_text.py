"""Message templates: placeholders, escaped braces, and matching rendered text back."""

from __future__ import annotations

import pytest

from errorbook._template_text import MessageTemplate, TemplateSyntaxError


def test_render_and_names() -> None:
    """Placeholders are replaced in order and literal braces survive."""
    template = MessageTemplate.parse("{{literal}} Expected {expected} to be {actual}")
    assert template.names == ("expected", "actual")
    assert template.render({"expected": 1200, "actual": 3}) == "{literal} Expected 1200 to be 3"


def test_constant_message() -> None:
    """A message without placeholders renders as itself."""
    assert MessageTemplate.parse("Forbidden").render({}) == "Forbidden"


@pytest.mark.parametrize("source", ["{", "a } b", "{0}", "{a.b}", "{a[0]}", "{}"], ids=repr)
def test_malformed(source: str) -> None:
    """Lone braces and anything but a plain name are refused."""
    with pytest.raises(TemplateSyntaxError):
        MessageTemplate.parse(source)


def test_pattern_matches_renderings_only() -> None:
    """The pattern recognises rendered messages, with regex characters taken literally."""
    pattern = MessageTemplate.parse("Expected {a} (to be) {b}.").pattern()
    assert pattern.match("Expected 1 (to be) 22.")
    assert not pattern.match("Expected 1 to be 22.")
