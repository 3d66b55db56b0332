"""The exceptions errorbook raises about itself (not the Problems an API raises).

The tree, so callers can catch at the depth they care about::

    ErrorbookError
    ├── CatalogError (also ValueError)      a catalog file, dict or profile is wrong;
    │                                        carries file, line, key and what was expected
    ├── ParamError (also TypeError)          catalog.problem() got missing, unknown or
    │                                        mistyped template parameters
    ├── UnknownEntryError (also LookupError) no catalog entry has that key or code
    ├── FormatError (also ValueError)        a body does not parse in a format, or a
    │                                        template is malformed
    └── StoreError                           the state store (Redis) could not answer:
                                             connection, timeout or server error

A `Problem` is deliberately not in this tree: it is the API's error, raised by handlers
for the client to see, while these are errors in how errorbook is used.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "CatalogError",
    "ErrorbookError",
    "FormatError",
    "ParamError",
    "StoreError",
    "UnknownEntryError",
]


class ErrorbookError(Exception):
    """Base class of every error errorbook raises about its own use."""

    #: The process exit code the CLI uses when this error ends a command.
    exit_code: ClassVar[int] = 1


class CatalogError(ErrorbookError, ValueError):
    """A catalog is invalid.

    Subclasses ValueError because a catalog is a value that failed validation. The message
    reads ``file:line: key: what is wrong``, the form editors and CI annotate, and the parts
    stay available as attributes.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.key = key
        super().__init__(self.located())

    def located(self) -> str:
        """The message as ``file:line: key: problem``, leaving out the parts that are unknown."""
        where = self.file or "<catalog>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        head = f"{where}: {self.key}: " if self.key else f"{where}: "
        return head + self.problem


class ParamError(ErrorbookError, TypeError):
    """A Problem was built with missing, unknown or mistyped template parameters.

    Subclasses TypeError because it is the same mistake as calling a function with the wrong
    arguments, and it is raised at the call, not when the response is rendered.
    """


class UnknownEntryError(ErrorbookError, LookupError):
    """No catalog entry answers to that key, wire code or condition."""


class FormatError(ErrorbookError, ValueError):
    """A body does not parse in the expected format, or a format template is malformed."""


class StoreError(ErrorbookError):
    """The state store could not answer a decision: unreachable, too slow, or erroring.

    Every backend failure (connection refused or dropped, timeouts, server errors) becomes
    this one class, raised ``from`` the original, so the layer needs one ``except`` to apply
    its fail-open or fail-closed policy. Bad input is never a StoreError: it raises
    ValueError before the store is asked.
    """
