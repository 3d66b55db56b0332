"""The client's exceptions: what they subclass, what they carry, and the typed class of
every catalog entry, the same object however many times a catalog is loaded."""

from __future__ import annotations

import dataclasses
import gc
import threading
import weakref
from typing import Any

import httpx
import pytest

from errorbook import Catalog, FieldError, Problem, UnknownEntryError, profile_names
from errorbook.client import _errors
from errorbook.client._errors import (
    Attempt,
    CircuitOpenError,
    Errors,
    ProblemError,
    Unparsed,
    class_name,
)

REQUEST = httpx.Request("POST", "https://api.example.com/v1/items")


def _response(status: int) -> httpx.Response:
    return httpx.Response(status, request=REQUEST)


def _attempt(number: int, status: int | None = 503) -> Attempt:
    return Attempt(
        number=number,
        method="POST",
        url=str(REQUEST.url),
        status=status,
        code=None,
        error=None if status else "ConnectError: refused",
        wait=0.0,
        reason="backoff",
        elapsed=0.1 * number,
    )


def _catalog(name: str = "Shop API", **entries: Any) -> Catalog:
    return Catalog.from_dict(
        {
            "name": name,
            "errors": entries
            or {
                "out_of_stock": {
                    "status": 409,
                    "message": "Item {item} is sold out.",
                    "params": {"item": "str"},
                }
            },
        }
    )


class TestAttempt:
    def test_is_immutable_data(self) -> None:
        """An attempt is a record of the past: it cannot be changed after the fact."""
        attempt = _attempt(1)
        with pytest.raises(dataclasses.FrozenInstanceError):
            attempt.wait = 5.0  # type: ignore[misc]
        assert attempt == _attempt(1)


class TestProblemError:
    def _error(self, **changes: Any) -> ProblemError:
        problem = Problem(
            key="validation_error",
            code="validation_error",
            status=400,
            message="The request parameters do not match the expected schema.",
            fields=[FieldError("/name", "type", "must be a string")],
            extensions={"doc": "https://x"},
            request_id="req-1",
            retry_after=2.5,
        ).replace(**changes)
        return ProblemError(
            problem, response=_response(problem.status), attempts=[_attempt(1), _attempt(2)]
        )

    def test_is_caught_by_plain_httpx_code(self) -> None:
        """Code written for httpx (`except httpx.HTTPStatusError`) catches it, with the
        request and response httpx's own error would carry."""
        error = self._error()
        with pytest.raises(httpx.HTTPStatusError) as caught:
            raise error
        assert caught.value.request is REQUEST
        assert caught.value.response.status_code == 400
        assert isinstance(error, httpx.HTTPError)

    def test_reads_the_problem_through_conveniences(self) -> None:
        """key, code, status, message, fields, request id, extensions and retry_after are
        the parsed problem's."""
        error = self._error()
        assert (error.key, error.code, error.status) == (
            "validation_error",
            "validation_error",
            400,
        )
        assert error.message == error.problem.message
        assert error.fields == (FieldError("/name", "type", "must be a string"),)
        assert error.request_id == "req-1"
        assert error.extensions == {"doc": "https://x"}
        assert error.retry_after == 2.5
        assert error.attempts == (_attempt(1), _attempt(2))
        assert error.parsed is True
        assert error.snippet == ""

    def test_str_names_status_code_message_and_request_id(self) -> None:
        """str() is what a log line needs to find the error in the server's logs."""
        assert str(self._error()) == (
            "400 validation_error: The request parameters do not match the expected "
            "schema. [request id req-1]"
        )
        assert str(self._error(request_id=None, code=50035, message="m")) == "400 50035: m"

    def test_str_is_one_bounded_line(self) -> None:
        """What the body said reaches str() as one line of bounded length: newlines and
        other controls cannot forge log records, a huge message is cut with an ellipsis;
        the message itself stays whole, as data."""
        message = "x" * 900_000 + "\nERROR root: forged line"
        error = self._error(
            code="bad\r\ncode\x1b[31m", message=message, request_id="r1\r\nINFO forged"
        )
        text = str(error)
        assert text.isprintable()
        assert len(text) < 900
        assert text.startswith("400 bad code\ufffd[31m: xxx")
        assert "\u2026 [request id r1 INFO forged]" in text
        assert error.message == message
        short = self._error(message="line one\n\tline two\u202e", request_id=None)
        assert str(short) == "400 validation_error: line one line two\ufffd"

    def test_unparsed_body_says_so(self) -> None:
        """An answer no format read is marked unparsed, keeps the snippet, and its str()
        does not pretend the server sent a code."""
        problem = Unparsed(code=None, status=502, message="Bad Gateway", detail="<html>oops")
        error = ProblemError(problem, response=_response(502))
        assert error.parsed is False
        assert error.snippet == "<html>oops"
        assert str(error) == "502: Bad Gateway"
        assert error.attempts == ()

    def test_a_response_never_sent_has_no_request(self) -> None:
        """A hand-built Response is accepted; asking for its request fails as httpx does."""
        problem = Problem(code="x", status=418, message="teapot")
        error = ProblemError(problem, response=httpx.Response(418))
        assert error.response.status_code == 418
        with pytest.raises(RuntimeError):
            _ = error.request

    def test_base_class_has_no_spec(self) -> None:
        """Only the typed class of an entry knows which entry it is."""
        assert ProblemError.spec is None


class TestCircuitOpenError:
    def test_is_a_transport_error_with_its_facts(self) -> None:
        """Like a refused connection, no response exists: a TransportError that says which
        host, how long until a trial, and what was tried."""
        error = CircuitOpenError(
            "api.example.com", 12.5, request=REQUEST, attempts=[_attempt(1, None)]
        )
        assert isinstance(error, httpx.TransportError)
        assert not isinstance(error, httpx.HTTPStatusError)
        assert (error.host, error.retry_in) == ("api.example.com", 12.5)
        assert error.attempts == (_attempt(1, None),)
        assert error.request is REQUEST
        assert str(error) == (
            "circuit open for api.example.com: request not sent; a trial request is let "
            "through in 12.5s"
        )


class TestClassNames:
    @pytest.mark.parametrize(
        ("key", "name"),
        [
            ("validation_error", "ValidationError"),
            ("invalid_json", "InvalidJsonError"),
            ("errorbook.rate_limited", "ErrorbookRateLimitedError"),
            ("conflict_error", "ConflictError"),
            ("too_many_requets", "TooManyRequetsError"),
            ("limit-exceeded", "LimitExceededError"),
            ("_private", "PrivateError"),
            ("http2Error", "Http2Error"),
        ],
    )
    def test_camel_case_with_one_error_suffix(self, key: str, name: str) -> None:
        """Words split at '_', '.' and '-' are capitalised; 'Error' is added once."""
        assert class_name(key) == name


class TestTypedClasses:
    def test_each_entry_has_its_class(self) -> None:
        """catalog.exception(key) is a ProblemError subclass that names itself publicly
        and knows its entry."""
        tape = Catalog.load("tape")
        cls = tape.exception("validation_error")
        assert issubclass(cls, ProblemError)
        assert cls.__name__ == cls.__qualname__ == "ValidationError"
        assert cls.__module__ == "errorbook.client"
        assert cls.spec == tape["validation_error"]
        assert repr(cls) == "<class 'errorbook.client.ValidationError'>"

    def test_two_loads_give_the_same_class(self) -> None:
        """`except` compares classes by identity, so a catalog loaded again in another
        module must hand out the very same class."""
        first, second = Catalog.load("tape"), Catalog.load("tape")
        assert first is not second
        assert first.exception("validation_error") is second.exception("validation_error")
        assert first.errors.ValidationError is second.errors.ValidationError

    def test_a_changed_status_or_code_is_a_different_error(self) -> None:
        """Same catalog name and key, but another status or wire code: not the same class,
        so an old `except` cannot catch an error it was not written for."""
        base = {"status": 409, "message": "Sold out."}
        one = _catalog("Cache API", sold_out=base).exception("sold_out")
        again = _catalog("Cache API", sold_out=dict(base)).exception("sold_out")
        other_status = _catalog("Cache API", sold_out={**base, "status": 410})
        other_code = _catalog("Cache API", sold_out={**base, "code": 4091})
        assert one is again
        assert other_status.exception("sold_out") is not one
        assert other_code.exception("sold_out") is not one
        assert _catalog("Other API", sold_out=base).exception("sold_out") is not one

    def test_an_entry_differing_in_anything_else_is_a_different_error(self) -> None:
        """Same catalog name, key, code and status, but another retry hint or title: a class
        of its own, whose spec is its own catalog's entry, not the first one's."""
        base = {"status": 503, "message": "It is busy.", "retry": "after"}
        first = _catalog("Busy API", busy=base)
        other_retry = _catalog("Busy API", busy={**base, "retry": "never"})
        other_title = _catalog("Busy API", busy={**base, "title": "Busy elsewhere"})
        for catalog in (first, other_retry, other_title):
            assert catalog.exception("busy").spec == catalog["busy"]
            assert catalog.errors.BusyError is catalog.exception("busy")
        assert other_retry.exception("busy") is not first.exception("busy")
        assert other_title.exception("busy") is not first.exception("busy")
        assert _catalog("Busy API", busy=dict(base)).exception("busy") is first.exception("busy")

    def test_dropped_catalogs_do_not_keep_their_classes(self) -> None:
        """A process that loads catalog after catalog (one per tenant, say) frees each one's
        classes with it: the process-wide cache does not grow."""
        gc.collect()
        before = len(_errors._CLASSES)
        refs = []
        for number in range(2000):
            catalog = _catalog(f"Tenant {number}")
            refs.append(weakref.ref(catalog.exception("out_of_stock")))
            assert catalog.errors.OutOfStockError is refs[-1]()
        del catalog
        gc.collect()
        assert len(_errors._CLASSES) <= before
        assert all(ref() is None for ref in refs)

    def test_a_live_catalog_keeps_its_classes(self) -> None:
        """While a catalog lives, its classes do, so a later load still gets the same one;
        a class a caller holds (in an ``except``) outlives the catalog it came from."""
        catalog = _catalog("Kept API")
        ref = weakref.ref(catalog.exception("out_of_stock"))
        gc.collect()
        assert ref() is not None
        assert ref() is _catalog("Kept API").exception("out_of_stock")
        held = _catalog("Held API").exception("out_of_stock")
        gc.collect()
        assert _catalog("Held API").errors.OutOfStockError is held

    def test_unknown_key(self) -> None:
        """A key the catalog lacks is a lookup error naming it, not a silent base class."""
        with pytest.raises(UnknownEntryError, match="no_such_entry"):
            Catalog.load("tape").exception("no_such_entry")

    @pytest.mark.parametrize("profile", profile_names())
    def test_every_profile_entry_is_reachable_by_name(self, profile: str) -> None:
        """In every built-in profile, each entry's class is in the namespace under its
        CamelCase name and nothing else is there."""
        catalog = Catalog.load(profile)
        names = [class_name(key) for key in catalog.keys]
        assert len(set(names)) == len(names)  # no built-in profile has colliding names
        assert dir(catalog.errors) == sorted(names)
        for key in catalog.keys:
            cls = getattr(catalog.errors, class_name(key))
            assert cls is catalog.exception(key)
            assert cls.spec == catalog[key]

    def test_made_once_under_threads(self) -> None:
        """Threads asking at once for a class never made before all get one class."""
        catalog = _catalog("Threaded API")
        barrier = threading.Barrier(8)
        got: list[type[ProblemError]] = []

        def ask() -> None:
            barrier.wait()
            got.append(catalog.exception("out_of_stock"))

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(got) == 8
        assert all(cls is got[0] for cls in got)


class TestErrorsNamespace:
    def test_is_cached_on_the_catalog(self) -> None:
        """catalog.errors is built once per catalog."""
        tape = Catalog.load("tape")
        assert isinstance(tape.errors, Errors)
        assert tape.errors is tape.errors

    def test_misspelt_name_suggests_close_ones(self) -> None:
        """A typo, or the key itself, gets an AttributeError naming the class meant."""
        errors = Catalog.load("tape").errors
        with pytest.raises(AttributeError, match=r"did you mean ValidationError"):
            _ = errors.ValidatonError
        with pytest.raises(AttributeError, match=r"did you mean ValidationError"):
            _ = errors.validation_error
        with pytest.raises(AttributeError, match=r"'Tape API' has no error class 'Zzz'$"):
            _ = errors.Zzz
        assert not hasattr(errors, "_specs_of_nothing")

    def test_colliding_names_are_left_out(self) -> None:
        """Two keys with one CamelCase name: neither is guessed; the error says which keys
        and how to reach them, and each is still reachable by key."""
        catalog = _catalog(
            "Colliding API",
            rate_limited={"status": 429, "message": "Slow down."},
            **{"rate-limited": {"status": 429, "code": "rl2", "message": "Slower."}},
            gone={"status": 410, "message": "Gone."},
        )
        assert "RateLimitedError" not in dir(catalog.errors)
        assert "GoneError" in dir(catalog.errors)
        with pytest.raises(AttributeError, match=r"'rate_limited', 'rate-limited' share"):
            _ = catalog.errors.RateLimitedError
        first, second = catalog.exception("rate_limited"), catalog.exception("rate-limited")
        assert first is not second
        assert first.__name__ == second.__name__ == "RateLimitedError"
