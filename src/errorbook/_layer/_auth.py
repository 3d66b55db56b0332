"""Authentication for the layer: the request view authenticators get, and ready-made ones.

An authenticator is any callable ``auth(request) -> principal | None``, sync or async: it
gets an `AuthRequest` and returns who is calling, or None to refuse. The layer answers a
refusal with the catalog's ``unauthenticated`` entry, puts the principal in
``scope["state"]["principal"]`` otherwise, and then asks its ``authorize`` hook, if any,
whether that principal may call the route (``forbidden`` when not).

`api_key` and `bearer` are the ready-made ones. They read one header, which the layer
already has from its single pass over the request headers, so they cost a dict lookup.
They also tell "no credentials" from "wrong credentials" (RFC 6750 wants the second to
carry ``error="invalid_token"``).

JWT: ``bearer(verify=...)`` is the seam. A verifier built on PyJWT (the ``[jwt]`` extra:
algorithm allow-list, expiry and audience checks) is a callable ``verify(token) -> claims |
None`` handed to it; nothing else in the layer changes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType
from typing import Any, Final, TypeAlias

__all__ = [
    "AuthRequest",
    "Authenticator",
    "HeaderAuth",
    "Lookup",
    "api_key",
    "bearer",
]

#: What an authenticator returns: a principal (any object but None), or None to refuse.
Authenticator: TypeAlias = Callable[["AuthRequest"], Any]
#: A credential check: the credential in, a principal or None out, sync or async.
Lookup: TypeAlias = Callable[[str], Any]
#: What `HeaderAuth.check` returns when the request carries no credential at all.
MISSING: Final = object()


class AuthRequest:
    """The parts of a request an authenticator may read.

    Args:
        scope: The ASGI scope, for anything else (client address, TLS, path parameters).
    """

    __slots__ = ("_headers", "method", "path", "scope")

    def __init__(self, scope: Any, headers: Mapping[bytes, bytes]) -> None:
        self.scope = scope
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self._headers = headers

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or None; repeated headers give the last."""
        value = self._headers.get(name.lower().encode("latin-1"))
        return None if value is None else value.decode("latin-1")


class HeaderAuth:
    """A credential carried in one header, checked by a lookup. Built by `api_key`, `bearer`."""

    __slots__ = (
        "challenge",
        "exact",
        "header",
        "invalid_challenge",
        "lookup",
        "maybe_async",
        "prefix",
        "table",
    )

    def __init__(
        self,
        *,
        header: str,
        keys: Mapping[str, Any] | Collection[str] | Lookup,
        scheme: str | None = None,
        challenge: str | None = None,
        invalid_challenge: str | None = None,
    ) -> None:
        #: The header, lowercased, as the layer's header dict keys it.
        self.header = header.lower().encode("latin-1")
        self.prefix = None if scheme is None else f"{scheme.lower()} ".encode("ascii")
        #: Sync lookups by the credential's raw bytes: no decoding on the hot path.
        #: Read-only: the layer's fast path keeps a copy in `exact`, so a key revoked by
        #: editing this table would still be let in; build a new authenticator instead.
        self.table: Mapping[bytes, Any] | None = None
        self.lookup: Lookup | None = None
        if isinstance(keys, str | bytes):
            raise TypeError("keys is a collection of keys or a mapping; wrap a single key: {key}")
        if isinstance(keys, Mapping):
            self.table = MappingProxyType({str(key).encode(): value for key, value in keys.items()})
        elif callable(keys):
            self.lookup = keys
        else:
            # A collection of keys: each key is its own principal.
            self.table = MappingProxyType({str(key).encode(): str(key) for key in keys})
        self.maybe_async = self.lookup is not None
        #: Whole header values that `check` would map to a principal, for one lookup with
        #: no slicing or stripping: each key as sent in the canonical form (``Bearer`` as
        #: written, no surrounding space). Anything else misses and goes through `check`.
        self.exact: Mapping[bytes | None, Any] = MappingProxyType({})
        if self.table is not None:
            head = b"" if scheme is None else f"{scheme} ".encode("ascii")
            self.exact = MappingProxyType(
                {
                    head + key: principal
                    for key, principal in self.table.items()
                    if key and key == key.strip() and principal is not None
                }
            )
        #: ``WWW-Authenticate`` on a 401 for a request without credentials.
        self.challenge = challenge
        #: ``WWW-Authenticate`` on a 401 for credentials that were refused.
        self.invalid_challenge = invalid_challenge or challenge

    def check(self, raw: bytes | None) -> Any:
        """The principal for a header value, None if refused, or the missing marker.

        The result may be awaitable when the lookup is a callable (``maybe_async``).
        """
        if raw is None:
            return MISSING
        prefix = self.prefix
        if prefix is not None:
            if raw[: len(prefix)].lower() != prefix:
                return MISSING
            raw = raw[len(prefix) :]
        raw = raw.strip()
        if not raw:
            return MISSING
        if self.table is not None:
            return self.table.get(raw)
        assert self.lookup is not None
        try:
            credential = raw.decode("ascii")
        except UnicodeDecodeError:
            return None  # present but unusable: refused like a wrong one
        return self.lookup(credential)

    async def __call__(self, request: AuthRequest) -> Any:
        """Authenticate ``request`` the way the layer does (usable on its own, in tests)."""
        result = self.check(request._headers.get(self.header))
        if result is MISSING:
            return None
        if inspect.isawaitable(result):
            result = await result
        return result


def api_key(
    *,
    keys: Mapping[str, Any] | Collection[str] | Lookup,
    header: str = "x-api-key",
    challenge: str | None = None,
) -> HeaderAuth:
    """Authenticate by an API key in a header.

    Args:
        keys: The accepted keys: a mapping of key to principal, a collection of keys (the
            key is the principal), or a callable ``lookup(key) -> principal | None``, sync or
            async, for keys kept elsewhere. Mapping lookups hash the key (SipHash with a
            per-process seed) and never compare it character by character.
        header: The header that carries the key (``X-API-KEY`` and ``x-api-key`` are one).
        challenge: A ``WWW-Authenticate`` value for 401 answers, if the API documents one
            (there is no standard scheme for API keys, so none by default).

    .. versionadded:: 0.1.0
    """
    return HeaderAuth(header=header, keys=keys, challenge=challenge)


def bearer(
    *,
    keys: Mapping[str, Any] | Collection[str] | None = None,
    verify: Lookup | None = None,
    realm: str | None = None,
) -> HeaderAuth:
    """Authenticate by ``Authorization: Bearer <token>`` (RFC 6750).

    Give exactly one of ``keys`` and ``verify``. A 401 carries ``WWW-Authenticate: Bearer``,
    with ``error="invalid_token"`` when a token came and was refused.

    Args:
        keys: The accepted tokens: a mapping of token to principal, or a collection of tokens.
        verify: A callable ``verify(token) -> principal | None``, sync or async: a JWT
            verifier, an introspection call, a database lookup.
        realm: The ``realm`` of the challenge, if the API names one.

    .. versionadded:: 0.1.0
    """
    if (keys is None) == (verify is None):
        raise TypeError("bearer() takes exactly one of keys= and verify=")
    source = keys if verify is None else verify
    assert source is not None
    challenge = "Bearer" if realm is None else f'Bearer realm="{_quoted(realm)}"'
    invalid = f'{challenge}{"," if realm else ""} error="invalid_token"'
    return HeaderAuth(
        header="authorization",
        keys=source,
        scheme="Bearer",
        challenge=challenge,
        invalid_challenge=invalid,
    )


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
