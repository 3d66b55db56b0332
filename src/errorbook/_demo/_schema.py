"""Reading and checking JSON request bodies, by hand: the demo takes no validation library.

`parse_json` turns bytes into a value or raises what the layer answers as ``invalid_json``;
`Checker` walks the value and collects every field error with its JSON pointer, so a client
learns all it must fix from one answer, not one field per round trip. Every is at most
`MAX_FIELD_ERRORS`: past that the checker stops and says the rest were left out, so a body
of 100,000 unknown members costs neither a megabytes-long answer nor the time to build it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from typing import Any, Final, NoReturn

from jsonpointer import JsonPointer

from .._formats._json import describe
from .._problem import FieldError

__all__ = ["MAX_FIELD_ERRORS", "Checker", "InvalidJson", "parse_json", "pointer"]

#: The largest integer every JSON client reads exactly (2**53 - 1).
MAX_SAFE_INT: Final = 2**53 - 1
#: The most field errors one answer lists; one more says that others were left out.
MAX_FIELD_ERRORS: Final = 100


class InvalidJson(Exception):
    """The body is not JSON the service can read; ``reason`` says why, for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _no_constants(name: str) -> NoReturn:
    raise InvalidJson(f"{name} is not a JSON number.")


def parse_json(raw: bytes) -> Any:
    """The JSON value in ``raw``.

    Raises:
        json.JSONDecodeError: a syntax error; left as it is so the layer answers
            ``invalid_json`` with its line and column.
        InvalidJson: not UTF-8, ``NaN``/``Infinity``, a number too long to convert, or
            nesting too deep to parse.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJson(f"The body is not UTF-8 text (byte {exc.start}).") from None
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # an integer longer than Python converts
        raise InvalidJson("A number in the body is too long.") from exc
    except RecursionError:
        raise InvalidJson("The body is nested too deeply.") from None


def pointer(*parts: str | int) -> str:
    """An RFC 6901 pointer to ``parts`` (``~`` and ``/`` in names are escaped)."""
    path: str = JsonPointer.from_parts([str(part) for part in parts]).path
    return path


def _text(value: str) -> str:
    """``value`` as it can be written back: a lone surrogate (which no UTF-8 encodes)
    becomes ``?``, so naming a hostile member in an answer cannot fail to render."""
    return value.encode("utf-8", "replace").decode("utf-8")


class Checker:
    """Collects the field errors of one body; each check returns the value or None."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        #: Whether `MAX_FIELD_ERRORS` are recorded: later errors are left out, unchecked.
        self.full = False

    def fail(self, at: str, code: str, message: str) -> None:
        """Record one field error; past `MAX_FIELD_ERRORS`, one saying the rest are left out."""
        if self.full:
            return
        if len(self.errors) == MAX_FIELD_ERRORS:
            self.full = True
            self.errors.append(
                FieldError(
                    "",
                    "more_errors",
                    f"Only the first {MAX_FIELD_ERRORS} field errors are listed; "
                    "fix them and send the request again to see the rest.",
                )
            )
            return
        self.errors.append(FieldError(_text(at), code, message))

    def object(
        self,
        value: Any,
        at: str,
        *,
        required: Collection[str] = (),
        optional: Collection[str] = (),
    ) -> Mapping[str, Any] | None:
        """An object with these members and no others."""
        if not isinstance(value, dict):
            self.fail(at, "type", f"Expected an object, got {describe(value)}.")
            return None
        for name in required:
            if name not in value:
                self.fail(f"{at}{pointer(name)}", "required", f"'{name}' is required.")
        known = {*required, *optional}
        for name in value:
            if self.full:
                break  # the answer lists no more; checking the rest would be wasted work
            if name not in known:
                shown = _text(name)
                self.fail(f"{at}{pointer(shown)}", "unknown", f"'{shown}' is not a known member.")
        return value

    def string(self, value: Any, at: str, *, min_length: int, max_length: int) -> str | None:
        """A string of ``min_length`` to ``max_length`` characters."""
        if not isinstance(value, str):
            self.fail(at, "type", f"Expected a string, got {describe(value)}.")
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # "\ud800" is valid JSON but no text: nothing downstream could store or send it.
            self.fail(at, "type", "Expected Unicode text; the string has a lone surrogate.")
            return None
        if len(value) < min_length:
            self.fail(at, "too_short", f"Expected at least {min_length} character(s).")
            return None
        if len(value) > max_length:
            self.fail(at, "too_long", f"Expected at most {max_length} characters.")
            return None
        return value

    def integer(
        self, value: Any, at: str, *, minimum: int, maximum: int = MAX_SAFE_INT
    ) -> int | None:
        """An integer from ``minimum`` to ``maximum`` (``3.0`` counts as 3, as in JSON)."""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(at, "type", f"Expected an integer, got {describe(value)}.")
            return None
        return value if self._in_range(value, at, minimum, maximum, above=False) else None

    def number(
        self, value: Any, at: str, *, minimum: float, maximum: float, above: bool = False
    ) -> float | None:
        """A number from ``minimum`` (exclusive when ``above``) to ``maximum``."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(at, "type", f"Expected a number, got {describe(value)}.")
            return None
        if isinstance(value, float) and math.isnan(value):
            self.fail(at, "type", "Expected a number, got NaN.")
            return None
        # Compared as given: an int past float range (10**400) compares exactly with the
        # bounds, where converting it first would raise OverflowError. 1e999 is inf, and
        # compares as such.
        if not self._in_range(value, at, minimum, maximum, above=above):
            return None
        return float(value)

    def boolean(self, value: Any, at: str) -> bool | None:
        """True or false."""
        if not isinstance(value, bool):
            self.fail(at, "type", f"Expected true or false, got {describe(value)}.")
            return None
        return value

    def array(self, value: Any, at: str, *, min_items: int, max_items: int) -> list[Any] | None:
        """An array of ``min_items`` to ``max_items`` items."""
        if not isinstance(value, list):
            self.fail(at, "type", f"Expected an array, got {describe(value)}.")
            return None
        if len(value) < min_items:
            self.fail(at, "too_few", f"Expected at least {min_items} item(s).")
            return None
        if len(value) > max_items:
            self.fail(at, "too_many", f"Expected at most {max_items} items.")
            return None
        return value

    def _in_range(
        self, value: float, at: str, minimum: float, maximum: float, *, above: bool
    ) -> bool:
        if value < minimum or (above and value == minimum):
            relation = "above" if above else "at least"
            self.fail(at, "too_small", f"Expected a value {relation} {_show(minimum)}.")
            return False
        if value > maximum:
            self.fail(at, "too_large", f"Expected a value of at most {_show(maximum)}.")
            return False
        return True


def _show(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)
