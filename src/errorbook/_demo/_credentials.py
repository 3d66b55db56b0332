"""Who may call the reference service, and how, per profile.

Each profile takes the credential the way its seed page says: ``wetransfer`` an
``X-API-KEY`` header, ``rebuild`` a JWT bearer token (HS256, signed and verified with the
demo's secret), every other profile ``Authorization: Bearer <key>``. Each key is its own
owner: the principal the layer hands the app, which scopes every row in the store.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from .._layer import api_key, bearer, jwt_bearer
from .._layer._auth import Authenticator

__all__ = [
    "AUDIENCE",
    "TOKEN_LIFETIME",
    "Credential",
    "authenticator",
    "check_key",
    "check_secret",
    "credentials",
    "sign_token",
]

#: The ``aud`` claim of the demo's tokens; a token for another audience is refused.
AUDIENCE: Final = "errorbook-demo"
#: How long a printed token stays valid, in seconds.
TOKEN_LIFETIME: Final = 24 * 3600
#: HS256 wants a secret at least as long as its digest (RFC 7518, section 3.2).
MIN_SECRET_BYTES: Final = 32
# Visible ASCII without spaces: a key must survive a header, a shell and a log line intact.
_KEY: Final = re.compile(r"[\x21-\x7e]{1,512}\Z")


@dataclass(frozen=True, slots=True)
class Credential:
    """One credential as a client sends it: ``{header}: {value}``."""

    header: str
    value: str

    def __str__(self) -> str:
        return f"{self.header}: {self.value}"


def check_key(key: str) -> str | None:
    """Why ``key`` cannot be an API key, or None when it can."""
    if not _KEY.match(key):
        return "an API key is 1 to 512 visible ASCII characters, without spaces"
    return None


def check_secret(secret: str) -> str | None:
    """Why ``secret`` cannot sign the demo's tokens, or None when it can."""
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes for HS256"
    return None


def _jwt() -> Any:
    try:
        import jwt
    except ImportError:  # pragma: no cover - the [demo] extra installs it
        raise ImportError(
            "the rebuild profile needs PyJWT: pip install 'errorbook[demo]'"
        ) from None
    return jwt


def sign_token(subject: str, secret: str, *, now: float | None = None) -> str:
    """An HS256 token for ``subject``, for the demo's audience, valid for a day."""
    issued = int(time.time() if now is None else now)
    claims = {"sub": subject, "aud": AUDIENCE, "iat": issued, "exp": issued + TOKEN_LIFETIME}
    token: str = _jwt().encode(claims, secret, algorithm="HS256")
    return token


def authenticator(profile: str, keys: Collection[str], jwt_secret: str | None) -> Authenticator:
    """The layer's authenticator for ``profile``, accepting ``keys``.

    Raises:
        ValueError: no keys, a malformed key, or (``rebuild``) a missing or short secret.
    """
    if not keys:
        raise ValueError("expected at least one API key")
    for key in keys:
        why = check_key(key)
        if why is not None:
            raise ValueError(f"{why}: {key!r}")
    if profile == "wetransfer":
        return api_key(keys=set(keys), header="x-api-key")
    if profile == "rebuild":
        if jwt_secret is None:
            raise ValueError("the rebuild profile needs a JWT secret")
        why = check_secret(jwt_secret)
        if why is not None:
            raise ValueError(why)
        return _jwt_authenticator(jwt_secret, frozenset(keys))
    return bearer(keys=set(keys))


def _jwt_authenticator(secret: str, subjects: frozenset[str]) -> Authenticator:
    def principal(claims: dict[str, Any]) -> str | None:
        """The token's subject, when it is one of the demo's keys."""
        subject = claims.get("sub")
        return subject if isinstance(subject, str) and subject in subjects else None

    return jwt_bearer(
        secret,
        algorithms=["HS256"],
        audience=AUDIENCE,
        require=("exp", "sub"),
        principal=principal,
    )


def credentials(
    profile: str, keys: Collection[str], jwt_secret: str | None, *, now: float | None = None
) -> list[Credential]:
    """What a client sends for each key under ``profile`` (a fresh token for ``rebuild``)."""
    if profile == "wetransfer":
        return [Credential("X-API-KEY", key) for key in keys]
    if profile == "rebuild":
        assert jwt_secret is not None
        return [
            Credential("Authorization", f"Bearer {sign_token(key, jwt_secret, now=now)}")
            for key in keys
        ]
    return [Credential("Authorization", f"Bearer {key}") for key in keys]
