"""Guard 10: the deadline cancels an overrunning handler and answers 504."""

from __future__ import annotations

import asyncio
import logging

import pytest

from errorbook._layer import ErrorLayer, Receive, Scope, Send

from ._driver import ok_app, run


def test_overrun_is_cancelled_and_answered() -> None:
    """A handler still running at the deadline is cancelled, and the client gets 504."""
    cancelled: list[bool] = []

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    result = run(ErrorLayer(slow, deadline=0.05))
    assert result.status == 504
    assert result.json()["code"] == "timeout"
    assert cancelled == [True]


def test_fast_handler_unaffected() -> None:
    """A handler that finishes in time answers as usual."""
    assert run(ErrorLayer(ok_app, deadline=5)).status == 200


def test_overrun_after_start_closes(caplog: pytest.LogCaptureFixture) -> None:
    """A handler that overruns mid-response is cut, logged and re-raised: no second response."""

    async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(10)

    with caplog.at_level(logging.ERROR, logger="errorbook.layer"):
        result = run(ErrorLayer(streaming, deadline=0.05), raise_errors=False)
    assert isinstance(result.error, TimeoutError)
    assert len(result.starts) == 1
    assert "deadline passed" in caplog.text


def test_app_timeout_error_is_internal() -> None:
    """A TimeoutError of the app's own (a database driver's) is internal, not the deadline."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise TimeoutError("db")

    assert run(ErrorLayer(app, deadline=5)).status == 500


@pytest.mark.parametrize("deadline", [0, -1.0], ids=["zero", "negative"])
def test_bad_deadline(deadline: float) -> None:
    """A deadline must be a positive number of seconds."""
    with pytest.raises(ValueError, match="deadline"):
        ErrorLayer(ok_app, deadline=deadline)
