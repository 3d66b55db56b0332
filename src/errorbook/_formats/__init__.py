"""Formats: Problems as response bodies and back, by name or from a template.

``get_format("problem+json")`` finds a registered format; ``template_format(name, template)``
builds one from a declarative JSON template. The registry builds the built-in formats on first
use, so an application pays for compiling the templates it names and no others.
"""

from __future__ import annotations

from ._base import CARRIABLE, Format, format_names, get_format, register_format
from ._template import template_format

__all__ = [
    "CARRIABLE",
    "Format",
    "format_names",
    "get_format",
    "register_format",
    "template_format",
]
