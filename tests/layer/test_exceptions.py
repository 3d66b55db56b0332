"""Guard 9: what the app raises becomes the catalog's answer, and nothing internal leaks."""

from __future__ import annotations

import email.utils
import json
import logging
import time
from typing import Any

import pytest
from starlette.exceptions import HTTPException

from errorbook import Catalog, FieldError, FormatError
from errorbook._layer import ErrorLayer, Receive, Scope, Send
from errorbook._layer._exceptions import HANDLERS, MAX_FIELD_ERRORS

from ._driver import raising, run

CATALOG = Catalog.load("rfc9457")
RID = [("x-request-id", "req-42")]


class RequestValidationError(ValueError):
    """FastAPI's shape without FastAPI: a class of that name with an errors() list."""

    def __init__(self, errors: list[Any]) -> None:
        super().__init__("validation")
        self._errors = errors

    def errors(self) -> list[Any]:
        return self._errors


def test_internal_error_leaks_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """RuntimeError("secret at /srv/db") is 500 with the request id and no word of its text."""
    with caplog.at_level(logging.ERROR, logger="errorbook.layer"):
        result = run(ErrorLayer(raising(RuntimeError("secret at /srv/db"))), headers=RID)
    assert result.status == 500
    assert b"secret" not in result.body
    assert b"/srv" not in result.body
    assert result.json()["request_id"] == "req-42"
    assert result.header("x-request-id") == "req-42"
    (record,) = caplog.records
    assert record.exc_info is not None
    assert "req-42" in record.getMessage()
    assert record.request_id == "req-42"  # type: ignore[attr-defined]
    assert "secret at /srv/db" in caplog.text  # the operators see it, in the traceback


def test_problem_renders_as_itself() -> None:
    """A raised catalog Problem is the answer, with the layer's request id."""
    problem = CATALOG.error("validation_failed", fields=[FieldError("/name", "required", "!")])
    result = run(ErrorLayer(raising(problem), catalog=CATALOG), headers=RID)
    assert result.status == 422
    body = result.json()
    assert body["code"] == "validation_failed"
    assert body["request_id"] == "req-42"
    assert body["errors"][0]["pointer"] == "/name"


def test_problem_in_requested_format() -> None:
    """A raised Problem is negotiated like any answer (problem+xml here)."""
    result = run(
        ErrorLayer(raising(CATALOG.error("forbidden"))),
        headers=[("accept", "application/problem+xml")],
    )
    assert result.header("content-type") == "application/problem+xml"


def test_json_decode_error_position() -> None:
    """json.JSONDecodeError from parsing the body is invalid_json with line and column."""
    try:
        json.loads('{\n  "a": }')
    except json.JSONDecodeError as exc:
        error = exc
    result = run(ErrorLayer(raising(error)))
    body = result.json()
    assert result.status == 400
    assert body["code"] == "invalid_json"
    assert (body["line"], body["column"]) == (2, 8)


def test_format_error_position_from_cause() -> None:
    """A FormatError raised from a JSONDecodeError keeps the decoder's position."""
    try:
        try:
            json.loads("[1,,]")
        except json.JSONDecodeError as exc:
            raise FormatError("not JSON") from exc
    except FormatError as exc:
        error = exc
    body = run(ErrorLayer(raising(error))).json()
    assert body["code"] == "invalid_json"
    assert (body["line"], body["column"]) == (1, 4)


def test_format_error_without_position() -> None:
    """A FormatError with no decoder behind it is invalid_json without a position."""
    body = run(ErrorLayer(raising(FormatError("empty")))).json()
    assert body["code"] == "invalid_json"
    assert "line" not in body


@pytest.mark.parametrize(
    ("exc", "status", "code", "headers"),
    [
        (HTTPException(404), 404, "unknown_route", {}),
        (HTTPException(405, headers={"Allow": "GET, POST"}), 405, "method_not_allowed", {}),
        (HTTPException(401, headers={"WWW-Authenticate": "Bearer"}), 401, "unauthenticated", {}),
        (HTTPException(409, detail="Name taken"), 409, None, {}),
        (HTTPException(418), 418, None, {}),
        (HTTPException(503, detail="db at 10.0.0.1 down"), 503, None, {}),
    ],
    ids=["404", "405-allow", "401-unique-entry", "409-no-entry", "418", "503"],
)
def test_http_exception(exc: HTTPException, status: int, code: str | None, headers: Any) -> None:
    """Starlette's HTTPException maps by status: conditions, unique entries, else about:blank."""
    result = run(ErrorLayer(raising(exc)), headers=RID)
    assert result.status == status
    body = result.json()
    assert body.get("code") == code
    assert body["request_id"] == "req-42"
    for name, value in (exc.headers or {}).items():
        assert result.header(name.lower()) == value
    assert b"10.0.0.1" not in result.body


def test_http_exception_detail_for_4xx() -> None:
    """An HTTPException without a catalog entry says its own 4xx detail, RFC 9457 style."""
    body = run(ErrorLayer(raising(HTTPException(409, detail="Name taken")))).json()
    assert body == {
        "title": "Conflict",
        "status": 409,
        "detail": "Name taken",
        "request_id": body["request_id"],
    }


@pytest.mark.parametrize(
    ("status", "length"), [(204, None), (205, "0"), (304, None)], ids=["204", "205", "304"]
)
def test_http_exception_without_body(status: int, length: str | None) -> None:
    """Statuses that cannot carry a body are answered without one, headers kept."""
    result = run(ErrorLayer(raising(HTTPException(status, headers={"ETag": '"v1"'}))))
    assert result.status == status
    assert result.body == b""
    assert result.header("etag") == '"v1"'
    assert result.header("content-length") == length


@pytest.mark.parametrize("status", [100, 101, 600], ids=["100", "101", "600"])
def test_http_exception_not_final_status(status: int) -> None:
    """An HTTPException with a status that cannot end a request is an internal error."""

    class HTTPException(Exception):
        status_code = status

    assert run(ErrorLayer(raising(HTTPException()))).status == 500


def test_http_exception_look_alike_without_status() -> None:
    """A class named HTTPException without an int status_code is an internal error."""

    class HTTPException(Exception):
        status_code = "teapot"

    assert run(ErrorLayer(raising(HTTPException()))).status == 500


def test_http_exception_header_injection() -> None:
    """CR/LF in an exception's header values or names cannot split the response headers."""
    exc = HTTPException(400, headers={"X-A": "1\r\nSet-Cookie: a=1", "X-B\r\nEvil": "2"})
    result = run(ErrorLayer(raising(exc)))
    for name, value in result.raw_headers:
        assert b"\r" not in name + value
        assert b"\n" not in name + value
    assert result.header("set-cookie") is None


def test_validation_error_pointers() -> None:
    """FastAPI-shaped validation errors become validation_failed with escaped JSON pointers."""
    exc = RequestValidationError(
        [
            {"loc": ("body", "files", 0, "size"), "msg": "too small", "type": "greater_than"},
            {"loc": ("body", "a/b~c"), "msg": "required", "type": "missing"},
            {"loc": ("query", "limit"), "msg": "not int", "type": "int_parsing"},
            {"loc": ("body",), "msg": "bad body", "type": "model_type"},
            "not a mapping",
        ]
    )
    result = run(ErrorLayer(raising(exc)))
    assert result.status == 422
    errors = result.json()["errors"]
    assert [e["pointer"] for e in errors] == ["/files/0/size", "/a~1b~0c", "/query/limit", ""]
    assert errors[0]["code"] == "greater_than"
    assert errors[0]["detail"] == "too small"


def test_validation_error_in_vendor_shape() -> None:
    """Discord nests field errors in its own _errors tree from the same pointers."""
    exc = RequestValidationError([{"loc": ("body", "name"), "msg": "Required", "type": "missing"}])
    body = run(ErrorLayer(raising(exc), catalog="discord")).json()
    assert body["errors"]["name"]["_errors"][0]["code"] == "missing"


def test_broken_errors_method_is_internal(caplog: pytest.LogCaptureFixture) -> None:
    """A look-alike whose errors() raises is still answered, as internal."""

    class RequestValidationError(Exception):
        def errors(self) -> Any:
            raise KeyError("boom")

    with caplog.at_level(logging.ERROR, logger="errorbook.layer"):
        assert run(ErrorLayer(raising(RequestValidationError()))).status == 500


def test_every_handler_is_exercised() -> None:
    """Every class name in the lookup table is covered by a test in this module."""
    assert set(HANDLERS) == {
        "HTTPException",
        "RequestValidationError",
        "JSONDecodeError",
        "FormatError",
    }


def test_subclass_found_along_mro() -> None:
    """A subclass of a mapped class (FastAPI's HTTPException) maps like its base."""

    class AppError(HTTPException):
        pass

    assert run(ErrorLayer(raising(AppError(404)))).json()["code"] == "unknown_route"


def test_response_started_then_error() -> None:
    """An error after the response started is logged and re-raised, never a second response."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("stream broke")

    result = run(ErrorLayer(app), raise_errors=False)
    assert isinstance(result.error, RuntimeError)
    assert len(result.starts) == 1
    assert result.status == 200
    assert result.body == b"partial"


def test_app_without_response(caplog: pytest.LogCaptureFixture) -> None:
    """An app that returns without answering gets internal for it, and a log line."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    with caplog.at_level(logging.ERROR, logger="errorbook.layer"):
        result = run(ErrorLayer(app))
    assert result.status == 500
    assert "without a response" in caplog.text


def test_custom_logger(caplog: pytest.LogCaptureFixture) -> None:
    """logger= receives the layer's error records."""
    logger = logging.getLogger("myapi.errors")
    with caplog.at_level(logging.ERROR, logger="myapi.errors"):
        run(ErrorLayer(raising(ValueError("x")), logger=logger))
    assert [r.name for r in caplog.records] == ["myapi.errors"]


class TestRetryAfterFromTheApp:
    @pytest.mark.parametrize(
        ("status", "value", "expected"),
        [
            (429, "30", "30"),
            (503, "120", "120"),
            (429, " 7 ", "7"),
        ],
        ids=["429-rate-limited-entry", "503-about-blank", "spaces"],
    )
    def test_delta_seconds_win(self, status: int, value: str, expected: str) -> None:
        """The app's Retry-After is the answer's, header and body, over the entry's hint."""
        exc = HTTPException(status, headers={"Retry-After": value})
        result = run(ErrorLayer(raising(exc)), headers=RID)
        assert result.status == status
        assert result.header("retry-after") == expected
        assert result.json()["retry_after"] == float(expected)
        assert [name for name, _ in result.raw_headers].count(b"retry-after") == 1

    def test_http_date(self) -> None:
        """An HTTP-date Retry-After is read as the seconds from now."""
        when = email.utils.formatdate(time.time() + 90, usegmt=True)
        exc = HTTPException(429, headers={"retry-after": when})
        result = run(ErrorLayer(raising(exc)))
        assert 85 <= int(result.header("retry-after") or "0") <= 91

    def test_past_date_is_now(self) -> None:
        """A date already past means retry now: 0."""
        exc = HTTPException(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
        result = run(ErrorLayer(raising(exc)))
        assert result.header("retry-after") == "0"

    def test_unreadable_value_is_dropped(self) -> None:
        """A Retry-After that is neither seconds nor a date gives way to the entry's hint."""
        exc = HTTPException(429, headers={"Retry-After": "soon"})
        result = run(ErrorLayer(raising(exc)))
        assert result.header("retry-after") == "1"  # rfc9457's rate_limited hint


def test_framing_headers_dropped() -> None:
    """Content-Length, Transfer-Encoding and hop-by-hop headers of an exception are dropped;
    the layer frames its own answer."""
    exc = HTTPException(
        400,
        headers={
            "Content-Length": "999",
            "Transfer-Encoding": "chunked",
            "Connection": "close",
            "Keep-Alive": "timeout=5",
            "Upgrade": "h2c",
            "Content-Encoding": "gzip",
            "X-Kept": "yes",
        },
    )
    result = run(ErrorLayer(raising(exc)))
    names = [name for name, _ in result.raw_headers]
    assert names.count(b"content-length") == 1
    assert result.header("content-length") == str(len(result.body))
    for name in (b"transfer-encoding", b"connection", b"keep-alive", b"upgrade"):
        assert name not in names
    assert b"content-encoding" not in names
    assert result.header("x-kept") == "yes"


def test_framing_headers_dropped_without_body() -> None:
    """A 304's Content-Length would describe a body it does not have: dropped."""
    exc = HTTPException(304, headers={"Content-Length": "10", "ETag": '"a"'})
    result = run(ErrorLayer(raising(exc)))
    assert result.header("content-length") is None
    assert result.header("etag") == '"a"'


@pytest.mark.parametrize("catalog", ["rfc9457", "wetransfer", "discord"])
def test_bare_status_invents_no_parameters(catalog: str) -> None:
    """HTTPException(413) knows no limit: no entry's example value is sent as if it were."""
    result = run(ErrorLayer(raising(HTTPException(413)), catalog=catalog))
    assert result.status == 413
    assert b"1048576" not in result.body
    assert b"26214400" not in result.body
    assert b"Too Large" in result.body


def test_validation_errors_capped() -> None:
    """A validation error with 5,000 items lists 100 and one saying more were left out."""
    items = [
        {"loc": ("body", f"f{n}"), "msg": "extra", "type": "extra_forbidden"} for n in range(5000)
    ]
    result = run(ErrorLayer(raising(RequestValidationError(items))))
    assert result.status == 422
    errors = result.json()["errors"]
    assert len(errors) == MAX_FIELD_ERRORS + 1
    assert [e["pointer"] for e in errors[:2]] == ["/f0", "/f1"]
    assert errors[-1]["pointer"] == ""
    assert errors[-1]["code"] == "more_errors"
    assert len(result.body) < 20_000
