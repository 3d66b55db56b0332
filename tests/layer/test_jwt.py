"""Guard 4 with JWTs: jwt_bearer verifies through PyJWT and refuses every bad token alike."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from errorbook._layer import ErrorLayer, Receive, Scope, Send, bearer, jwt_bearer

from ._driver import ok_app, run

SECRET = "s3cret-" * 10  # 70 bytes: long enough for HS512 too (RFC 7518 3.2)
OTHER_SECRET = "another-secret-another-secret-12345"
AUD = "https://api.example.com"
ISS = "https://id.example.com"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
WEAK_RSA_PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=1024)
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
)
INVALID = 'Bearer error="invalid_token"'


def claims(**changes: Any) -> dict[str, Any]:
    """Valid claims for AUD and ISS, expiring in an hour; None values are dropped."""
    now = int(time.time())
    base: dict[str, Any] = {"sub": "u-1", "aud": AUD, "iss": ISS, "iat": now, "exp": now + 3600}
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def hs256(**changes: Any) -> str:
    return jwt.encode(claims(**changes), SECRET, algorithm="HS256")


def principal_app() -> tuple[Any, list[Any]]:
    """An app that records the principal the layer put into scope["state"]."""
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["state"]["principal"])
        await ok_app(scope, receive, send)

    return app, seen


def hs_layer(app: Any = ok_app, catalog: str = "rfc9457", **kwargs: Any) -> ErrorLayer:
    options: dict[str, Any] = {"algorithms": ["HS256"], "audience": AUD, "issuer": ISS}
    options.update(kwargs)
    return ErrorLayer(app, catalog=catalog, auth=jwt_bearer(SECRET, **options))


def with_token(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}"), ("x-request-id", "req-1")]


class TestAccepted:
    def test_hs256_claims_are_the_principal(self) -> None:
        """A valid HS256 token passes; its verified claims land in scope["state"]."""
        app, seen = principal_app()
        result = run(hs_layer(app), headers=with_token(hs256()))
        assert result.status == 200
        assert seen[0]["sub"] == "u-1"
        assert seen[0]["aud"] == AUD

    def test_rs256_with_pem(self) -> None:
        """RS256 verifies with a PEM public key."""
        app, seen = principal_app()
        token = jwt.encode(claims(), RSA_KEY, algorithm="RS256")
        auth = jwt_bearer(RSA_PEM, algorithms=["RS256"], audience=AUD)
        assert run(ErrorLayer(app, auth=auth), headers=with_token(token)).status == 200
        assert seen[0]["sub"] == "u-1"

    def test_es256_with_key_object(self) -> None:
        """ES256 verifies with a cryptography key object; a private key is used by its public
        half."""
        token = jwt.encode(claims(), EC_KEY, algorithm="ES256")
        for key in (EC_KEY.public_key(), EC_KEY):
            auth = jwt_bearer(key, algorithms=["ES256"], audience=[AUD, "other"])
            assert run(ErrorLayer(ok_app, auth=auth), headers=with_token(token)).status == 200

    def test_principal_callable(self) -> None:
        """principal= turns the claims into the principal; None from it refuses the token."""
        app, seen = principal_app()
        layer = hs_layer(app, principal=lambda c: c["sub"] if c["sub"] != "banned" else None)
        assert run(layer, headers=with_token(hs256())).status == 200
        assert seen == ["u-1"]
        refused = run(layer, headers=with_token(hs256(sub="banned")))
        assert refused.status == 401
        assert refused.header("www-authenticate") == INVALID

    def test_leeway(self) -> None:
        """A token expired within the leeway still passes."""
        token = hs256(exp=int(time.time()) - 5)
        assert run(hs_layer(leeway=60), headers=with_token(token)).status == 200
        assert run(hs_layer(), headers=with_token(token)).status == 401

    def test_audience_check_off(self) -> None:
        """audience=None turns the audience check off: tokens with any aud, or none, pass."""
        layer = hs_layer(audience=None)
        assert run(layer, headers=with_token(hs256(aud="someone-else"))).status == 200
        assert run(layer, headers=with_token(hs256(aud=None))).status == 200

    def test_expiry_not_required(self) -> None:
        """require=() accepts a token without exp; an exp present is still checked."""
        layer = hs_layer(require=())
        assert run(layer, headers=with_token(hs256(exp=None))).status == 200
        assert run(layer, headers=with_token(hs256(exp=1))).status == 401

    def test_issuer_optional(self) -> None:
        """Without issuer= any iss is accepted."""
        layer = hs_layer(issuer=None)
        assert run(layer, headers=with_token(hs256(iss="elsewhere"))).status == 200


def unsigned() -> str:
    return jwt.encode(claims(), None, algorithm="none")


def rs256_signed() -> str:
    return jwt.encode(claims(), RSA_KEY, algorithm="RS256")


def confused() -> str:
    """HS256 signed with the RSA public key's PEM as the secret: the confusion attack."""
    import hashlib
    import hmac

    header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = jwt.utils.base64url_encode(json.dumps(claims()).encode())
    signature = hmac.new(RSA_PEM, header + b"." + payload, hashlib.sha256).digest()
    return b".".join([header, payload, jwt.utils.base64url_encode(signature)]).decode()


REFUSED: dict[str, Any] = {
    "expired": lambda: hs256(exp=int(time.time()) - 120),
    "not-yet-valid": lambda: hs256(nbf=int(time.time()) + 600),
    "bad-signature": lambda: jwt.encode(claims(), OTHER_SECRET, algorithm="HS256"),
    "tampered": lambda: hs256()[:-4] + "AAAA",
    "wrong-audience": lambda: hs256(aud="https://other.example.com"),
    "no-audience": lambda: hs256(aud=None),
    "wrong-issuer": lambda: hs256(iss="https://evil.example.com"),
    "missing-exp": lambda: hs256(exp=None),
    "alg-not-allowed": lambda: jwt.encode(claims(), SECRET, algorithm="HS512"),
    "alg-none": unsigned,
    "public-key-alg": rs256_signed,
    "malformed": lambda: "not-a-jwt",
    "three-garbage-parts": lambda: "a.b.c",
    "bad-json": lambda: "eyJhbGciOiJIUzI1NiJ9.e30x.sig",
    "non-ascii": lambda: "tok\xe9n",
    "iat-not-a-number": lambda: hs256(iat="yesterday"),
}


class TestRefused:
    @pytest.mark.parametrize("catalog", ["rfc9457", "tape"])
    @pytest.mark.parametrize("make", list(REFUSED.values()), ids=list(REFUSED))
    def test_refused_as_unauthenticated(self, make: Any, catalog: str) -> None:
        """Every bad token gets exactly the catalog's unauthenticated answer with
        invalid_token, before the app, with no reason and no token in the body."""
        token = make()
        result = run(hs_layer(catalog=catalog), headers=with_token(token))
        # The same request refused by a plain bearer check: the catalog's own answer.
        reference = run(
            ErrorLayer(ok_app, catalog=catalog, auth=bearer(keys={"x"})),
            headers=with_token("wrong"),
        )
        assert result.status == 401
        assert result.header("www-authenticate") == INVALID
        assert result.header("x-app") is None
        assert result.raw_headers == reference.raw_headers
        assert result.body == reference.body
        assert token.encode("latin-1") not in result.body

    def test_confusion_attack_refused(self) -> None:
        """A token HMAC-signed with the public key is refused by an RS256 verifier."""
        auth = jwt_bearer(RSA_PEM, algorithms=["RS256"], audience=AUD)
        result = run(ErrorLayer(ok_app, auth=auth), headers=with_token(confused()))
        assert result.status == 401
        assert result.header("www-authenticate") == INVALID

    def test_missing_token_plain_challenge(self) -> None:
        """No Authorization header gets the plain Bearer challenge (with the realm)."""
        layer = ErrorLayer(
            ok_app,
            auth=jwt_bearer(SECRET, algorithms=["HS256"], audience=AUD, realm="api"),
        )
        result = run(layer)
        assert result.status == 401
        assert result.header("www-authenticate") == 'Bearer realm="api"'
        refused = run(layer, headers=with_token(hs256(exp=1)))
        assert refused.header("www-authenticate") == 'Bearer realm="api", error="invalid_token"'

    def test_reason_logged_at_debug_only(self, caplog: pytest.LogCaptureFixture) -> None:
        """The reason goes to the log at DEBUG, nothing above it, and never the token."""
        token = hs256(exp=int(time.time()) - 120)
        with caplog.at_level(logging.DEBUG, logger="errorbook.layer"):
            run(hs_layer(), headers=with_token(token))
        assert "ExpiredSignatureError" in caplog.text
        assert token not in caplog.text
        assert {record.levelno for record in caplog.records} == {logging.DEBUG}

    def test_principal_problem_is_answered(self) -> None:
        """A principal() that raises a catalog Problem answers with it (forbidden here)."""
        layer = hs_layer()
        catalog = layer.catalog

        def only_admins(found: dict[str, Any]) -> Any:
            raise catalog.error("forbidden")

        layer = hs_layer(principal=only_admins)
        assert run(layer, headers=with_token(hs256())).status == 403


class TestConstruction:
    @pytest.mark.parametrize(
        ("kwargs", "error", "match"),
        [
            ({"algorithms": []}, ValueError, "at least one"),
            ({"algorithms": ["none"]}, ValueError, "'none'"),
            ({"algorithms": ["HS256", "None"]}, ValueError, "'none'"),
            ({"algorithms": "HS256"}, TypeError, "wrap a single"),
            ({"algorithms": ["HS999"]}, ValueError, "unknown JWT algorithm"),
            ({"algorithms": ["HS256", "RS256"]}, ValueError, "algorithm confusion"),
            ({"key": RSA_PEM}, ValueError, "does not suit HS256"),
            ({"key": RSA_PEM.decode()}, ValueError, "does not suit HS256"),
            ({"key": RSA_KEY.public_key()}, ValueError, "does not suit HS256"),
            ({"key": "short"}, ValueError, "too weak"),
            ({"key": RSA_PEM, "algorithms": ["ES256"]}, ValueError, "does not suit ES256"),
            ({"key": RSA_PEM, "algorithms": ["RS256", "ES256"]}, ValueError, "ES256"),
            ({"key": None}, TypeError, "exactly one"),
            ({"jwks_url": "https://id.example.com/jwks"}, TypeError, "exactly one"),
            ({"leeway": -1}, ValueError, "leeway"),
            ({"leeway": float("inf")}, ValueError, "finite leeway"),
            ({"leeway": float("nan")}, ValueError, "finite leeway"),
            ({"audience": []}, ValueError, r"audience=\[\] names nothing"),
            ({"issuer": ()}, ValueError, r"issuer=\[\] names nothing"),
            ({"key": "x" * 31}, ValueError, "needs 32 bytes or more, got 31"),
            ({"key": "x" * 47, "algorithms": ["HS384"]}, ValueError, "needs 48 bytes"),
            ({"key": WEAK_RSA_PEM, "algorithms": ["RS256"]}, ValueError, "2048 bits"),
            ({"require": "exp"}, TypeError, "wrap a single"),
            ({"audience": None, "issuer": None, "require": ["exp", 3]}, None, None),
        ],
        ids=[
            "empty",
            "none",
            "none-any-case",
            "single-string",
            "unknown",
            "hmac-and-public",
            "pem-bytes-with-hs256",
            "pem-text-with-hs256",
            "key-object-with-hs256",
            "short-secret",
            "rsa-key-with-es256",
            "rsa-key-with-rs-and-es",
            "no-key",
            "key-and-jwks",
            "negative-leeway",
            "infinite-leeway",
            "nan-leeway",
            "empty-audience",
            "empty-issuer",
            "hs256-secret-31-bytes",
            "hs384-secret-47-bytes",
            "rsa-1024",
            "require-string",
            "valid",
        ],
    )
    def test_errors(
        self, kwargs: dict[str, Any], error: type[Exception] | None, match: str
    ) -> None:
        """Unsafe or impossible settings fail when the layer is built, not per request."""
        options: dict[str, Any] = {"key": SECRET, "algorithms": ["HS256"], "audience": AUD}
        options.update(kwargs)
        key = options.pop("key")
        if error is None:
            jwt_bearer(key, **options)
            return
        with pytest.raises(error, match=match):
            jwt_bearer(key, **options)

    def test_weak_secret_without_pyjwt_check(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A short HMAC secret is refused even by a PyJWT without check_key_length."""
        defining = {
            cls
            for algorithm in jwt.algorithms.get_default_algorithms().values()
            for cls in type(algorithm).__mro__
            if "check_key_length" in vars(cls)
        }
        for cls in defining:
            monkeypatch.delattr(cls, "check_key_length")
        with pytest.raises(ValueError, match="too weak for HS256"):
            jwt_bearer("short-secret", algorithms=["HS256"], audience=AUD)

    def test_audience_must_be_named(self) -> None:
        """Leaving audience out is an error; only an explicit audience=None turns it off."""
        with pytest.raises(TypeError, match="audience"):
            jwt_bearer(SECRET, algorithms=["HS256"])  # type: ignore[call-arg]

    def test_jwks_refuses_hmac(self) -> None:
        """A JWKS carries public keys, so HMAC algorithms cannot use one."""
        with pytest.raises(ValueError, match="JWKS"):
            jwt_bearer(jwks_url="https://id.example.com/jwks", algorithms=["HS256"], audience=AUD)

    def test_missing_pyjwt(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without PyJWT, calling jwt_bearer names the extra to install."""
        monkeypatch.setitem(sys.modules, "jwt", None)
        with pytest.raises(ImportError, match=r"pip install 'errorbook\[jwt\]'"):
            jwt_bearer(SECRET, algorithms=["HS256"], audience=AUD)


class TestJWKS:
    @pytest.fixture(name="fetches")
    def _fetches(self, monkeypatch: pytest.MonkeyPatch) -> list[int]:
        """Serve a JWKS with one RSA key (kid "k1") from memory, counting the fetches."""
        fetched: list[int] = []
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
        jwk.update(kid="k1", use="sig", alg="RS256")

        def fetch_data(client: jwt.PyJWKClient) -> Any:
            fetched.append(1)
            return {"keys": [jwk]}

        monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", fetch_data)
        return fetched

    def layer(self) -> ErrorLayer:
        auth = jwt_bearer(
            jwks_url="https://id.example.com/jwks", algorithms=["RS256"], audience=AUD
        )
        return ErrorLayer(ok_app, auth=auth)

    def test_key_by_kid(self, fetches: list[int]) -> None:
        """A token is verified with the JWKS key its kid names; the key is then reused."""
        layer = self.layer()
        token = jwt.encode(claims(), RSA_KEY, algorithm="RS256", headers={"kid": "k1"})
        assert run(layer, headers=with_token(token)).status == 200
        assert run(layer, headers=with_token(token)).status == 200
        assert len(fetches) == 1

    @pytest.mark.parametrize(
        "token",
        [
            jwt.encode(claims(), RSA_KEY, algorithm="RS256", headers={"kid": "nope"}),
            jwt.encode(claims(), RSA_KEY, algorithm="RS256"),
            jwt.encode(claims(exp=1), RSA_KEY, algorithm="RS256", headers={"kid": "k1"}),
            jwt.encode(claims(), SECRET, algorithm="HS256", headers={"kid": "k1"}),
            "garbage",
        ],
        ids=["unknown-kid", "no-kid", "expired", "hmac-with-kid", "garbage"],
    )
    def test_refused(self, fetches: list[int], token: str) -> None:
        """Unknown or missing kids, bad claims and foreign algorithms all get invalid_token."""
        result = run(self.layer(), headers=with_token(token))
        assert result.status == 401
        assert result.header("www-authenticate") == INVALID

    def test_unreachable_jwks(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A JWKS that cannot be fetched refuses the token (logged as a warning), no 500."""

        def down(client: jwt.PyJWKClient) -> Any:
            raise jwt.PyJWKClientConnectionError("connection refused")

        monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", down)
        token = jwt.encode(claims(), RSA_KEY, algorithm="RS256", headers={"kid": "k1"})
        assert run(self.layer(), headers=with_token(token)).status == 401


class TestJWKSOutage:
    """The key endpoint down or slow must cost neither threads nor time per forged kid."""

    URL = "https://id.example.com/jwks"

    @staticmethod
    def token(kid: str) -> str:
        return jwt.encode(claims(), RSA_KEY, algorithm="RS256", headers={"kid": kid})

    def verifier(self) -> Any:
        auth = jwt_bearer(jwks_url=self.URL, algorithms=["RS256"], audience=AUD)
        assert auth.lookup is not None
        return auth.lookup

    def test_failed_fetches_start_the_cooldown(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With the endpoint failing, 20 unknown kids cost one fetch, not 20."""
        attempts: list[float] = []

        def down(client: jwt.PyJWKClient) -> Any:
            attempts.append(client.timeout)
            raise jwt.PyJWKClientConnectionError("503")

        monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", down)
        verify = self.verifier()

        async def main() -> list[Any]:
            return [await verify(self.token(f"forged-{n}")) for n in range(20)]

        assert asyncio.run(main()) == [None] * 20
        assert len(attempts) == 1
        assert attempts[0] <= 5  # not PyJWT's 30 s default

    def test_known_key_survives_a_failed_refresh(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Once the key set is known, an outage refuses only kids it does not have."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
        jwk.update(kid="k1", use="sig")
        state = {"up": True, "fetches": 0}

        def fetch_data(client: jwt.PyJWKClient) -> Any:
            state["fetches"] += 1
            if not state["up"]:
                raise jwt.PyJWKClientConnectionError("down")
            return {"keys": [jwk]}

        monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", fetch_data)
        verify = self.verifier()

        async def main() -> list[bool]:
            found = [await verify(self.token("k1")) is not None]
            state["up"] = False
            found.append(await verify(self.token("unknown")) is not None)
            found.append(await verify(self.token("k1")) is not None)
            return found

        assert asyncio.run(main()) == [True, False, True]
        assert state["fetches"] == 1  # the unknown kid came within the cooldown

    def test_single_flight_off_the_default_executor(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Concurrent unknown kids share one fetch, run outside the default executor,
        which stays free for the app while the endpoint hangs."""
        threads: list[str] = []
        release = threading.Event()

        def slow(client: jwt.PyJWKClient) -> Any:
            threads.append(threading.current_thread().name)
            release.wait(5)
            raise jwt.PyJWKClientConnectionError("timed out")

        monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", slow)
        verify = self.verifier()

        async def main() -> tuple[list[Any], float]:
            tasks = [asyncio.create_task(verify(self.token(f"r{n}"))) for n in range(12)]
            await asyncio.sleep(0.05)
            started = time.perf_counter()
            await asyncio.to_thread(lambda: None)  # what the demo's store does per request
            waited = time.perf_counter() - started
            release.set()
            return await asyncio.gather(*tasks), waited

        results, waited = asyncio.run(main())
        assert results == [None] * 12
        assert waited < 1
        assert len(threads) == 1
        assert threads[0].startswith("errorbook-jwks")
