"""A JSON Web Token checked as API Gateway's JWT authorizer checks it (HTTP APIs, "Controlling
access to HTTP APIs with JWT authorizers"), so that a route which refuses a token in AWS refuses
it locally too, with the same status:

1. the token is the identity source's value, bare or after `Bearer `;
2. its signature verifies, with an asymmetric algorithm (RS256/384/512, ES256/384/512), under the
   key of its `kid` in the configured issuer's key set;
3. `exp` is present and in the future, `nbf` and `iat` (when present) are not in the future,
   `iss` is the configured issuer, and `aud` (or, with no `aud`, `client_id`) is one of the
   configured audiences, when audiences are configured;
4. when the route requires scopes, `scope` or `scp` holds one of them.

Failing 1-3 is 401 and failing 4 is 403; the 401 checks all come first. The clock is injected
so that tests can put a token on either side of any instant.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

if TYPE_CHECKING:
    from local.auth.jwks import KeySource

# No HS*: a shared secret cannot come from a public key set, and accepting it would let a token
# be "signed" with the public key as the secret. No `none`, for the obvious reason.
_CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}
ALGORITHMS = ("RS256", "RS384", "RS512", *_CURVES)


class JwtRejected(Exception):
    """The token does not open the route: `status` is what the client gets (401 or 403)."""

    def __init__(self, status: int, reason: str):
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class JwtRule:
    issuer: str
    audiences: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()        # the route's AuthorizationScopes; any one suffices


def bearer_token(value: str | None) -> str | None:
    """The token in an identity source's value: `Bearer ` (any case) removed; None when empty."""
    if value is None:
        return None
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() == "bearer":
        return rest.strip() or None  # "Bearer" with nothing after it is no token, not the token "Bearer"
    return value.strip() or None


def token_scopes(claims: dict) -> list[str]:
    """The scopes a token grants: `scope` (space-separated, OAuth 2.0) and `scp` (a list or a
    space-separated string, as some issuers write it), in order, without repeats."""
    found: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        items = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
        for item in items:
            if isinstance(item, str) and item and item not in found:
                found.append(item)
    return found


def claims_as_text(claims: dict) -> dict[str, str]:
    """The claims as an HTTP API hands them to the function (requestContext.authorizer.jwt.claims):
    every value a string."""
    return {name: _text(value) for name, value in claims.items()}


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: True is an int in Python
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + " ".join(_text(item) for item in value) + "]"
    if value is None:
        return "null"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _is_time(value) -> bool:
    # Python's json reads NaN and Infinity; an exp of either would never expire.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class JwtChecker:
    def __init__(self, keys: "KeySource", clock: Callable[[], float] = time.time):
        self._keys = keys
        self._clock = clock

    async def check(self, token_or_header: str | None, rule: JwtRule) -> dict:
        """The token's claims (as decoded), or raises JwtRejected."""
        token = bearer_token(token_or_header)
        if token is None:
            raise JwtRejected(401, "no token")
        claims = await self._verified_claims(token, rule)
        self._check_claims(claims, rule)
        if rule.scopes and not set(rule.scopes) & set(token_scopes(claims)):
            raise JwtRejected(403, "the token has none of the scopes the route requires ("
                              + " ".join(rule.scopes) + ")")
        return claims

    async def _verified_claims(self, token: str, rule: JwtRule) -> dict:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise JwtRejected(401, "the token is malformed") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise JwtRejected(401, f"the token's algorithm {alg!r} is not accepted")
        # The keys come from the *configured* issuer, never from the token's own `iss`: a token
        # must not choose where its key is fetched from.
        key = await self._keys.key(rule.issuer, header.get("kid"))
        if key is None:
            raise JwtRejected(401, "no key of the issuer has the token's kid")
        if not _fits(key, alg):
            raise JwtRejected(401, f"the key of the token's kid does not fit its algorithm {alg}")
        try:
            # The signature only: every claim is checked below, against the injected clock.
            return jwt.decode(token, key, algorithms=[alg], options={
                "verify_signature": True, "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                "verify_aud": False, "verify_iss": False, "verify_sub": False, "verify_jti": False})
        except jwt.InvalidSignatureError:
            raise JwtRejected(401, "the token's signature does not verify") from None
        except (jwt.PyJWTError, TypeError, ValueError):
            raise JwtRejected(401, "the token is malformed") from None

    def _check_claims(self, claims: dict, rule: JwtRule) -> None:
        now = self._clock()
        exp = claims.get("exp")
        if exp is None:
            raise JwtRejected(401, "the token has no exp claim")
        for name in ("exp", "nbf", "iat"):
            if name in claims and not _is_time(claims[name]):
                raise JwtRejected(401, f"the token's {name} claim is not a number")
        if exp <= now:
            raise JwtRejected(401, "the token expired")
        if "nbf" in claims and claims["nbf"] > now:
            raise JwtRejected(401, "the token is not valid yet (nbf)")
        if "iat" in claims and claims["iat"] > now:
            raise JwtRejected(401, "the token was issued in the future (iat)")
        if claims.get("iss") != rule.issuer:
            raise JwtRejected(401, "the token's issuer is not the configured one")
        if not rule.audiences:
            return  # REST APIs' Cognito authorizers configure no audience
        if "aud" in claims:
            aud = claims["aud"]
            audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
            if not any(isinstance(item, str) and item in rule.audiences for item in audiences):
                raise JwtRejected(401, "the token's audience is not one the route accepts")
        elif claims.get("client_id") not in rule.audiences:
            # Cognito's access tokens carry no aud; API Gateway reads their client_id instead.
            raise JwtRejected(401, "the token has no aud and its client_id is not one the route accepts")


def _fits(key, alg: str) -> bool:
    # Checked here, not left to PyJWT: a key of the wrong type is the issuer's mistake or an
    # attack, and either way the answer must be a plain 401.
    if alg.startswith("RS"):
        return isinstance(key, rsa.RSAPublicKey)
    return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, _CURVES[alg])
