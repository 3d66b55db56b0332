"""What the layer sends when it answers in the app's place: refusals, the app's failures,
authentication's answers, the glossary's pages.

`Answers` is ErrorLayer's base: kept apart so that ``_layer`` holds the guards' order and
the success path, and this module everything a refused or failed request goes through.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from ._auth import MISSING, Authenticator, AuthRequest, HeaderAuth
from ._exceptions import Bare, map_exception
from ._respond import Responder
from ._types import Scope, Send

if TYPE_CHECKING:
    from ._exchange import Exchange
    from ._glossary import Glossary

__all__ = ["Answers", "Authorize"]

#: ``authorize(principal, method, path) -> bool``, sync or async.
Authorize = Callable[[Any, str, str], "bool | Awaitable[bool]"]

_MAINTENANCE_RETRY: Final = 60.0
_ACCEPT: Final = b"accept"
_ACCEPT_LANGUAGE: Final = b"accept-language"


class Answers:
    """The layer's answers; `ErrorLayer` sets these attributes."""

    logger: logging.Logger
    deadline: float | None
    hide_forbidden: bool
    _responder: Responder
    _rid_key: bytes
    _auth: Authenticator | None
    _header_auth: HeaderAuth | None
    _challenge: str | None
    _authorize: Authorize | None

    # -- the app's failures ----------------------------------------------------------------

    async def _app_failed(
        self, exc: Exception, exchange: Exchange, timer: asyncio.Timeout | None
    ) -> bool:
        """The app raised: answer in its place; True when a response has started (the
        caller re-raises, so the server closes the connection)."""
        rid = exchange.rid
        if exchange.answered:
            # The app failed because the layer cut its body off; that is answered.
            self.logger.debug("request %s: the app ended after a 413", rid.decode(), exc_info=exc)
            return False
        timed_out = timer is not None and timer.expired() and isinstance(exc, TimeoutError)
        if exchange.started:
            self.logger.error(
                "request %s: %s after the response started; closing the connection",
                rid.decode(),
                "deadline passed" if timed_out else "the app failed",
                exc_info=exc,
                extra={"request_id": rid.decode()},
            )
            return True
        if _client_gone(exc):
            # The client left mid-request (Starlette's ClientDisconnect): nobody is there
            # to answer, and nothing failed on our side. No 500, no traceback.
            self.logger.info("request %s: the client went away", rid.decode())
            return False
        send, headers, method = exchange.send, exchange.headers, exchange.method
        if timed_out:
            self.logger.warning("request %s: cancelled after %ss", rid.decode(), self.deadline)
            await self._refuse(send, "timeout", rid, headers, method)
        else:
            await self._answer_exception(exc, send, headers, rid, method)
        return False

    async def _no_response(self, exchange: Exchange) -> None:
        rid = exchange.rid
        self.logger.error(
            "request %s: the app returned without a response",
            rid.decode(),
            extra={"request_id": rid.decode()},
        )
        await self._refuse(exchange.send, "internal", rid, exchange.headers, exchange.method)

    # -- refusals --------------------------------------------------------------------------

    async def _answer_exception(
        self, exc: Exception, send: Send, headers: dict[bytes, bytes], rid: bytes, method: str
    ) -> None:
        language = _text(headers.get(_ACCEPT_LANGUAGE))
        try:
            answer = map_exception(exc, self._responder, rid.decode(), language)
        except Exception:
            self.logger.exception("request %s: mapping %s failed", rid.decode(), type(exc).__name__)
            answer = None
        if answer is None:
            # Logged once, here, with the traceback; the client learns only the request id.
            self.logger.error(
                "request %s: unhandled %s",
                rid.decode(),
                type(exc).__name__,
                exc_info=exc,
                extra={"request_id": rid.decode()},
            )
            await self._refuse(send, "internal", rid, headers, method)
        elif isinstance(answer, Bare):
            await self._send_bare(send, answer.status, answer.headers, rid)
        else:
            start, body = self._responder.messages(
                answer, accept=_text(headers.get(_ACCEPT)), head=method == "HEAD"
            )
            await send(start)
            await send(body)

    async def _refuse(
        self,
        send: Send,
        condition: str,
        rid: bytes,
        headers: dict[bytes, bytes],
        method: str,
        extra: tuple[tuple[str, str], ...] = (),
        *,
        given: tuple[tuple[str, Any], ...] = (),
        primary: bool = False,
    ) -> None:
        """Answer with the catalog's entry for ``condition``."""
        start, body = self._responder.answer(
            condition,
            rid,
            None if primary else headers.get(_ACCEPT),
            headers.get(_ACCEPT_LANGUAGE),
            extra=extra,
            given=given,
            default_retry_after=_MAINTENANCE_RETRY if condition == "maintenance" else None,
            head=method == "HEAD",
        )
        await send(start)
        await send(body)

    async def _send_bare(
        self, send: Send, status: int, extra: Mapping[str, str], rid: bytes
    ) -> None:
        """A response without a body (204 to OPTIONS, a framework's 304)."""
        raw = self._responder.raw_headers(extra.items())
        if status == 205:
            # 204 and 304 must not say Content-Length: 0 (a 304's would describe the GET).
            raw.append((b"content-length", b"0"))
        raw.append((self._rid_key, rid))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": b""})

    # -- authentication --------------------------------------------------------------------

    async def _call_auth(
        self, scope: Scope, send: Send, headers: dict[bytes, bytes], rid: bytes, method: str
    ) -> Any:
        """Run an authenticator that calls user code; the principal, or None if refused."""
        assert self._auth is not None
        challenge = self._challenge
        header_auth = self._header_auth
        try:
            if header_auth is not None:
                principal = header_auth.check(headers.get(header_auth.header))
                if principal is MISSING:
                    principal = None
                else:
                    challenge = header_auth.invalid_challenge
            else:
                principal = self._auth(AuthRequest(scope, headers))
            if inspect.isawaitable(principal):
                principal = await principal
        except Exception as exc:
            await self._answer_exception(exc, send, headers, rid, method)
            return None
        if principal is None:
            await self._unauthenticated(challenge, send, headers, rid, method)
        return principal

    async def _authorized(
        self,
        principal: Any,
        send: Send,
        headers: dict[bytes, bytes],
        rid: bytes,
        method: str,
        path: str,
    ) -> bool:
        assert self._authorize is not None
        try:
            allowed = self._authorize(principal, method, path)
            if inspect.isawaitable(allowed):
                allowed = await allowed
        except Exception as exc:
            await self._answer_exception(exc, send, headers, rid, method)
            return False
        if not allowed:
            hidden = "unknown_route" if self.hide_forbidden else "forbidden"
            await self._refuse(send, hidden, rid, headers, method)
        return bool(allowed)

    async def _unauthenticated(
        self,
        challenge: str | None,
        send: Send,
        headers: dict[bytes, bytes],
        rid: bytes,
        method: str,
    ) -> None:
        extra: tuple[tuple[str, str], ...] = ()
        # WWW-Authenticate belongs to 401 only; a catalog may answer 403 (wetransfer).
        if challenge and self._responder.specs["unauthenticated"].status == 401:
            extra = (("WWW-Authenticate", challenge),)
        await self._refuse(send, "unauthenticated", rid, headers, method, extra)

    # -- the glossary ----------------------------------------------------------------------

    async def _serve_glossary(
        self,
        glossary: Glossary,
        send: Send,
        path: str,
        method: str,
        headers: dict[bytes, bytes],
        rid: bytes,
    ) -> None:
        if method not in ("GET", "HEAD"):
            allow = (("Allow", "GET, HEAD"),)
            await self._refuse(send, "method_not_allowed", rid, headers, method, allow)
            return
        page = glossary.page(path, _text(headers.get(_ACCEPT)))
        if page is None:
            await self._refuse(send, "unknown_route", rid, headers, method)
            return
        raw = [
            (b"content-type", page.content_type),
            (b"content-length", str(len(page.body)).encode()),
            (b"vary", b"accept"),
            (self._rid_key, rid),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else page.body})


#: Exceptions frameworks raise when the client disconnected, matched by class name (the
#: layer imports no framework).
_DISCONNECTS: Final = frozenset({"ClientDisconnect", "ClientDisconnected"})


def _client_gone(exc: Exception) -> bool:
    return any(cls.__name__ in _DISCONNECTS for cls in type(exc).__mro__)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")
