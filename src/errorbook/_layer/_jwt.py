"""JWT bearer authentication through PyJWT (the ``[jwt]`` extra).

`jwt_bearer` builds the token check that `bearer(verify=...)` takes, so the layer treats a
JWT like any other bearer token: a refused token authenticates as None and the client gets
the catalog's ``unauthenticated`` with ``WWW-Authenticate: Bearer error="invalid_token"``.
Why a token was refused (expired, wrong audience, bad signature) is logged at DEBUG and never
sent: telling a caller which check failed helps only someone probing.

The checks that make JWTs safe are decided here, once, when the layer is built, not per
request: an explicit algorithm allow-list without ``none``, no HMAC algorithm next to a public
key (the algorithm-confusion hole, where a token signed with the *public* key as an HMAC
secret verifies), a key that suits every allowed algorithm, expiry required by default and
the audience always named (or its check visibly turned off).

PyJWT is imported only when `jwt_bearer` is called, so ``import errorbook`` stays light.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from ._auth import HeaderAuth, bearer

if TYPE_CHECKING:
    import jwt

__all__ = ["jwt_bearer"]

_LOG: Final = logging.getLogger("errorbook.layer")
_INSTALL: Final = "pip install 'errorbook[jwt]'"
_HINT: Final = f"jwt_bearer() needs PyJWT 2.8 or later: {_INSTALL}"
#: How long a key found in a JWKS is used before the key set is asked again (PyJWT's own
#: JWKS cache lifetime, so a removed key stops being accepted within that time).
_JWKS_LIFESPAN: Final = 300.0


def jwt_bearer(
    key: Any = None,
    *,
    algorithms: Sequence[str],
    audience: str | Collection[str] | None,
    issuer: str | Collection[str] | None = None,
    leeway: float = 0.0,
    require: Iterable[str] = ("exp",),
    jwks_url: str | None = None,
    realm: str | None = None,
    principal: Callable[[dict[str, Any]], Any] | None = None,
) -> HeaderAuth:
    """Authenticate by a JWT in ``Authorization: Bearer <token>``, verified with PyJWT.

    Every refused token (bad signature, an algorithm outside ``algorithms``, expired, not yet
    valid, wrong audience or issuer, a required claim missing, malformed) is answered with
    the catalog's ``unauthenticated`` and ``WWW-Authenticate: Bearer error="invalid_token"``;
    the reason goes to the ``errorbook.layer`` logger at DEBUG, never to the client.

    Args:
        key: The verification key: the shared secret for ``HS*`` algorithms, or a public key
            (PEM text or bytes, or a ``cryptography`` key object; a private key is reduced to
            its public half) for ``RS*``, ``PS*``, ``ES*`` and ``EdDSA``. Leave it out when
            ``jwks_url`` is given.
        algorithms: The algorithms a token may be signed with. There is no default: the
            token's own header must never choose. ``none`` is refused, and so is mixing HMAC
            with public-key algorithms.
        audience: The ``aud`` this API accepts (one value or several). Required as a keyword
            on purpose: pass ``audience=None`` to turn the audience check off, only when the
            issuer mints tokens for this API alone (a token from the same issuer for another
            service would then be accepted here).
        issuer: The ``iss`` accepted (one value or several), or None not to check it.
        leeway: Seconds of clock skew allowed on ``exp``, ``nbf`` and ``iat``.
        require: Claims every token must carry; ``exp`` by default, so a token that never
            expires is refused. Pass ``()`` to accept tokens without an expiry.
        jwks_url: Fetch the keys from this JWKS endpoint (``https://.../jwks.json``) and
            pick one by the token's ``kid``, with `jwt.PyJWKClient`. Keys found are kept for
            five minutes; an unknown ``kid`` refreshes the set at most every 30 seconds.
            Fetching blocks, so it runs in a worker thread (asyncio only, like the layer's
            ``deadline``); a request whose key is already known never leaves the event loop.
        realm: The ``realm`` of the ``WWW-Authenticate`` challenge.
        principal: ``principal(claims) -> principal | None`` turns the verified claims into
            what the layer puts in ``scope["state"]["principal"]`` (None refuses the token,
            raising a `Problem` answers with it). By default the principal is the claims
            dict itself.

    Raises:
        ImportError: PyJWT (or, for public-key algorithms, ``cryptography``) is missing.
        TypeError: ``key`` and ``jwks_url`` are both given or both missing, or a single
            string is given where a collection is expected.
        ValueError: an algorithm is unknown, ``none``, or mixes HMAC with public keys; the
            key does not suit an algorithm (a public key with ``HS256``, an HMAC secret
            shorter than the hash); ``leeway`` is negative.

    .. versionadded:: 0.1.0
    """
    try:
        import jwt
        from jwt.algorithms import get_default_algorithms, has_crypto
    except ImportError as exc:
        raise ImportError(_HINT) from exc

    names = _names("algorithms", algorithms)
    if not names:
        raise ValueError("jwt_bearer() needs at least one algorithm in algorithms=")
    known = get_default_algorithms()
    for name in names:
        if name.lower() == "none":
            raise ValueError("algorithm 'none' accepts unsigned tokens; it is never allowed")
        if name not in known:
            if not has_crypto and name[:2] in ("RS", "PS", "ES", "Ed"):
                raise ImportError(f"{name} needs the cryptography package: {_INSTALL}")
            raise ValueError(f"unknown JWT algorithm {name!r}; expected one of {sorted(known)}")
    hmac = {name for name in names if name.startswith("HS")}
    if hmac and len(hmac) != len(names):
        raise ValueError(
            "HMAC (HS*) and public-key algorithms cannot be allowed together: a token signed "
            "with the public key as an HMAC secret would verify (algorithm confusion)"
        )
    if (key is None) == (jwks_url is None):
        raise TypeError("jwt_bearer() takes exactly one of key and jwks_url=")
    if not leeway >= 0:
        raise ValueError(f"expected a leeway in seconds of 0 or more, got {leeway!r}")
    audiences = None if audience is None else _one_or_list("audience", audience)
    issuers = None if issuer is None else _one_or_list("issuer", issuer)
    decode_options: dict[str, Any] = {
        "require": _names("require", require),
        "verify_aud": audience is not None,
    }
    claims_check = _Claims(
        jwt.PyJWT(),
        algorithms=names,
        audience=audiences,
        issuer=issuers,
        leeway=float(leeway),
        options=decode_options,
        principal=principal,
    )
    verify: Callable[[str], Any]
    if jwks_url is not None:
        if hmac:
            raise ValueError("a JWKS publishes public keys; HMAC algorithms cannot use one")
        verify = _JWKSVerifier(jwt.PyJWKClient(jwks_url), claims_check)
    else:
        verify = _KeyVerifier(_prepared_key(key, names, known), claims_check)
    return bearer(verify=verify, realm=realm)


def _names(what: str, values: Iterable[str]) -> list[str]:
    if isinstance(values, str | bytes):
        raise TypeError(f"{what} is a collection of names; wrap a single one: [{values!r}]")
    return [str(value) for value in values]


def _one_or_list(what: str, value: str | Collection[str]) -> str | list[str]:
    return value if isinstance(value, str) else _names(what, value)


def _prepared_key(key: Any, names: list[str], known: dict[str, Any]) -> Any:
    """``key`` as PyJWT will use it, checked against every allowed algorithm now.

    PyJWT would refuse a PEM key as an HMAC secret only when a token comes; here it is a
    configuration error at startup, as is a key that cannot verify one of the algorithms.
    """
    prepared: Any = None
    for name in names:
        algorithm = known[name]
        try:
            prepared = algorithm.prepare_key(key)
        except Exception as exc:  # InvalidKeyError, or TypeError for a key object with HS*
            raise ValueError(f"the key does not suit {name}: {exc}") from exc
        if not name.startswith("HS"):
            public = getattr(prepared, "public_key", None)
            if callable(public):
                prepared = public()  # a private key: verification needs only its public half
        check = getattr(algorithm, "check_key_length", None)  # PyJWT 2.10 and later
        short = check(prepared) if check is not None else None
        if short:
            raise ValueError(f"the key is too weak for {name}: {short}")
    return prepared


class _Claims:
    """Decodes and checks a token with one key; the principal, or None when refused."""

    __slots__ = ("_decoder", "_kwargs", "_principal")

    def __init__(
        self,
        decoder: jwt.PyJWT,
        *,
        principal: Callable[[dict[str, Any]], Any] | None,
        **kwargs: Any,
    ) -> None:
        self._decoder = decoder
        self._kwargs = kwargs
        self._principal = principal

    def __call__(self, token: str, key: Any) -> Any:
        import jwt

        try:
            claims: dict[str, Any] = self._decoder.decode(token, key, **self._kwargs)
        except jwt.PyJWTError as exc:
            _LOG.debug("bearer JWT refused: %s: %s", type(exc).__name__, exc)
            return None
        if self._principal is None:
            return claims
        found = self._principal(claims)
        if found is None:
            _LOG.debug("bearer JWT refused: principal() gave None")
        return found


class _KeyVerifier:
    """``verify(token)`` with a fixed key: synchronous, never leaves the event loop."""

    __slots__ = ("_claims", "_key")

    def __init__(self, key: Any, claims: _Claims) -> None:
        self._key = key
        self._claims = claims

    def __call__(self, token: str) -> Any:
        return self._claims(token, self._key)


class _JWKSVerifier:
    """``async verify(token)`` with keys from a JWKS, picked by the token's ``kid``.

    Keys already found are used from memory; only a miss (a new ``kid``, or a key older than
    the JWKS lifespan) asks `PyJWKClient`, in a worker thread because it may fetch over the
    network. PyJWKClient caches the set and limits refreshes for unknown ids, so a flood of
    made-up ``kid`` values does not become a flood of fetches.
    """

    __slots__ = ("_claims", "_client", "_keys")

    def __init__(self, client: jwt.PyJWKClient, claims: _Claims) -> None:
        self._client = client
        self._claims = claims
        #: kid -> (key, when it was found, monotonic seconds).
        self._keys: dict[str, tuple[jwt.PyJWK, float]] = {}

    async def __call__(self, token: str) -> Any:
        import jwt

        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            _LOG.debug("bearer JWT refused: %s: %s", type(exc).__name__, exc)
            return None
        if not isinstance(kid, str):
            _LOG.debug("bearer JWT refused: no kid to pick a JWKS key by")
            return None
        now = time.monotonic()
        known = self._keys.get(kid)
        if known is not None and now - known[1] < _JWKS_LIFESPAN:
            key = known[0]
        else:
            try:
                key = await asyncio.to_thread(self._client.get_signing_key, kid)
            except jwt.PyJWKClientConnectionError as exc:
                _LOG.warning("bearer JWT: the JWKS could not be fetched: %s", exc)
                return None
            except jwt.PyJWTError as exc:
                _LOG.debug("bearer JWT refused: %s: %s", type(exc).__name__, exc)
                return None
            self._keys[kid] = (key, now)
        return self._claims(token, key)
