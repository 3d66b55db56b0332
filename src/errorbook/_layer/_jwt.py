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
import math
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from ._auth import HeaderAuth, bearer

if TYPE_CHECKING:
    import jwt

__all__ = ["jwt_bearer"]

_LOG: Final = logging.getLogger("errorbook.layer")
_INSTALL: Final = "pip install 'errorbook[jwt]'"
_HINT: Final = f"jwt_bearer() needs PyJWT 2.13 or later: {_INSTALL}"
#: How long a fetched key set is used before it is asked again (PyJWT's own JWKS cache
#: lifetime, so a removed key stops being accepted within that time).
_JWKS_LIFESPAN: Final = 300.0
#: The least time between two fetches of the key set, counted from every attempt, failed
#: ones too: while the key endpoint is down or slow, made-up ``kid`` values cost nothing.
_JWKS_COOLDOWN: Final = 30.0
#: Seconds one fetch may take (PyJWT's default is 30): a hanging key endpoint holds one
#: thread of the verifier's own executor for at most this long.
_JWKS_TIMEOUT: Final = 5.0
#: The shortest secret per HMAC algorithm: as long as the hash (RFC 7518, section 3.2).
_HMAC_MIN_BYTES: Final = {"HS256": 32, "HS384": 48, "HS512": 64}
#: The smallest RSA modulus accepted (RFC 7518, section 3.3).
_RSA_MIN_BITS: Final = 2048


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
            pick one by the token's ``kid``, with `jwt.PyJWKClient`. The whole set is
            fetched at once and kept for five minutes; the set is fetched at most once every
            30 seconds, counting failed fetches, so while the endpoint is down or slow an
            unknown ``kid`` is refused at once instead of waiting on it (known keys keep
            working). One fetch runs at a time, with a 5 second timeout, in a thread of the
            verifier's own (one-thread) executor, never the event loop's default one, which
            the app may need (asyncio only, like the layer's ``deadline``); a request whose
            key is already known never leaves the event loop.
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
            shorter than the hash, an RSA key under 2048 bits); ``leeway`` is negative, not
            finite or not a number; ``audience`` or ``issuer`` is an empty collection.

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
    given: object = leeway  # checked as any object: a caller's types are not checked
    if (
        isinstance(given, bool)
        or not isinstance(given, int | float)
        or not math.isfinite(given)
        or given < 0
    ):
        # An infinite (or NaN) leeway would accept a token that expired at any time.
        raise ValueError(f"expected a finite leeway in seconds of 0 or more, got {leeway!r}")
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
        client = jwt.PyJWKClient(jwks_url, cache_jwk_set=False, timeout=_JWKS_TIMEOUT)
        verify = _JWKSVerifier(client, claims_check)
    else:
        verify = _KeyVerifier(_prepared_key(key, names, known), claims_check)
    return bearer(verify=verify, realm=realm)


def _names(what: str, values: Iterable[str]) -> list[str]:
    if isinstance(values, str | bytes):
        raise TypeError(f"{what} is a collection of names; wrap a single one: [{values!r}]")
    return [str(value) for value in values]


def _one_or_list(what: str, value: str | Collection[str]) -> str | list[str]:
    if isinstance(value, str):
        return value
    names = _names(what, value)
    if not names:
        # No accepted value at all is a mistake either way: PyJWT refuses every token for
        # issuer=[] and skips the check for audience=[]; None says "do not check".
        raise ValueError(f"{what}=[] names nothing; pass {what}=None not to check it")
    return names


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
        short = _weakness(name, prepared)
        if short:
            raise ValueError(f"the key is too weak for {name}: {short}")
    return prepared


def _weakness(name: str, prepared: Any) -> str | None:
    """Why ``prepared`` is too weak for ``name``, checked here whatever PyJWT's version."""
    minimum = _HMAC_MIN_BYTES.get(name)
    if minimum is not None and isinstance(prepared, bytes) and len(prepared) < minimum:
        return f"an HMAC secret for {name} needs {minimum} bytes or more, got {len(prepared)}"
    bits = getattr(prepared, "key_size", None)
    if name[:2] in ("RS", "PS") and isinstance(bits, int) and bits < _RSA_MIN_BITS:
        return f"an RSA key needs {_RSA_MIN_BITS} bits or more, got {bits}"
    return None


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

    The whole key set is fetched at once and kept in memory; a token is checked against it
    on the event loop. The set is fetched again when it is older than its lifespan or a
    ``kid`` is not in it, but never twice within the cooldown, counted from every attempt,
    failed ones too: PyJWKClient's own cooldown starts only after a successful fetch, so
    while the key endpoint is down each made-up ``kid`` would cost a blocking fetch. Only
    one fetch runs at a time (an `asyncio.Lock`; requests that wait for it read its result)
    and it runs in a one-thread executor of the verifier's own with a short timeout, so a
    hanging endpoint cannot starve the loop's default executor. When a fetch fails the keys
    already known keep working.
    """

    __slots__ = ("_claims", "_client", "_executor", "_fetched", "_keys", "_locks", "_retry_at")

    def __init__(self, client: jwt.PyJWKClient, claims: _Claims) -> None:
        self._client = client
        self._claims = claims
        self._keys: dict[str, jwt.PyJWK] = {}
        #: When the set in `_keys` was fetched, and when a fetch may next be tried.
        self._fetched = -math.inf
        self._retry_at = -math.inf
        # One lock per event loop: an asyncio.Lock belongs to the loop that first waits on it.
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._executor: ThreadPoolExecutor | None = None

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
        key = self._keys.get(kid)
        if key is None or time.monotonic() - self._fetched >= _JWKS_LIFESPAN:
            key = await self._refreshed(kid)
        if key is None:
            _LOG.debug("bearer JWT refused: the JWKS has no key %r", kid)
            return None
        return self._claims(token, key)

    async def _refreshed(self, kid: str) -> jwt.PyJWK | None:
        """The key for ``kid`` after fetching the set again, when the cooldown allows it."""
        if time.monotonic() < self._retry_at:
            return self._keys.get(kid)  # a recent attempt decided; a stale key still serves
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        async with lock:
            # A request that waited here reads the fetch it waited for.
            if time.monotonic() >= self._retry_at:
                self._retry_at = time.monotonic() + _JWKS_COOLDOWN
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(1, thread_name_prefix="errorbook-jwks")
                fetch = loop.run_in_executor(self._executor, self._fetch)
                # Shielded: a request cancelled (by its deadline) while waiting does not
                # throw away the key set the fetch brings.
                await asyncio.shield(fetch)
        return self._keys.get(kid)

    def _fetch(self) -> None:
        """Fetch the set (in the executor's thread); a failure is logged and keeps the old."""
        import jwt

        try:
            found = self._client.get_signing_keys(refresh=True)
        except jwt.PyJWKClientConnectionError as exc:
            _LOG.warning("bearer JWT: the JWKS could not be fetched: %s", exc)
            return
        except Exception as exc:  # an empty set, not JSON, a malformed key
            _LOG.warning("bearer JWT: the JWKS is not usable: %s: %s", type(exc).__name__, exc)
            return
        self._keys = {key.key_id: key for key in found if key.key_id is not None}
        self._fetched = time.monotonic()
