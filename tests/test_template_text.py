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


def test_matches_renderings_only() -> None:
    """A template recognises its renderings, with regex characters taken literally."""
    template = MessageTemplate.parse("Expected {a} (to be) {b}.")
    assert template.matches("Expected 1 (to be) 22.")
    assert template.matches("Expected  (to be) .")
    assert not template.matches("Expected 1 to be 22.")
    assert not template.matches("Expected 1 (to be) 22")
    assert MessageTemplate.parse("{a}").matches("anything")
    assert MessageTemplate.parse("Forbidden").matches("Forbidden")
    assert not MessageTemplate.parse("Forbidden").matches("Forbidden!")


def test_overlapping_literals() -> None:
    """A prefix and suffix that would overlap in a short text do not match it."""
    template = MessageTemplate.parse("ab{x}ba")
    assert not template.matches("aba")
    assert template.matches("abba")


def test_matching_is_linear_on_hostile_text() -> None:
    """Crafted text that makes a backtracking regex take seconds is matched at once."""
    template = MessageTemplate.parse("Value {a} of {b} in {c} is bad.")
    hostile = "Value " + " of in " * 200_000
    assert not template.matches(hostile)
