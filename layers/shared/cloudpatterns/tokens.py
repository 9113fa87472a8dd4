"""Valet keys: short-lived signed tokens that carry narrowed rights, and presigned-style URLs
whose expiry and HMAC signature sit in the query.

Tokens are JWTs signed with HS256 only: the algorithm is pinned when verifying, so a token
with `alg: none` or any other algorithm is refused, as is a wrong issuer or audience, a
missing claim, or a token outside its nbf..exp window.
"""

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import jwt

ALGORITHM = "HS256"
AUDIENCE = "recipes-api"
LEEWAY_SECONDS = 0  # clocks here agree; a skewed one is the test suite's business


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class ValetToken:
    id: str
    subject: str  # the principal that issued it
    scopes: tuple[str, ...]
    resource: str | None
    expires_at: int
    max_uses: int | None


def issuer(stage: str) -> str:
    return f"recipes-{stage}"


def issue(key: str, stage: str, subject: str, scopes: list[str], ttl_seconds: int, resource: str | None = None,
          max_uses: int | None = None, now: float | None = None) -> tuple[str, ValetToken]:
    now = int(time.time() if now is None else now)
    token = ValetToken(id=uuid.uuid4().hex, subject=subject, scopes=tuple(sorted(scopes)), resource=resource,
                       expires_at=now + ttl_seconds, max_uses=max_uses)
    claims = {"iss": issuer(stage), "aud": AUDIENCE, "sub": subject, "jti": token.id, "iat": now, "nbf": now,
              "exp": token.expires_at, "scp": list(token.scopes)}
    if resource:
        claims["res"] = resource
    if max_uses:
        claims["max"] = max_uses
    return jwt.encode(claims, key, algorithm=ALGORITHM), token


def verify(token: str, key: str, stage: str, now: float | None = None) -> ValetToken:
    """The token's claims if it is genuine and valid at `now` (the current time by default)."""
    required = ["exp", "nbf", "iat", "iss", "aud", "sub", "jti", "scp"]
    try:
        # The time window is checked below against `now`, so tests can stand at its edges.
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=issuer(stage),
                            options={"require": required, "verify_exp": False, "verify_nbf": False})
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from None
    moment = time.time() if now is None else now
    if not isinstance(claims["nbf"], (int, float)) or not isinstance(claims["exp"], (int, float)):
        raise InvalidToken("malformed time claims")
    if not claims["nbf"] - LEEWAY_SECONDS <= moment < claims["exp"] + LEEWAY_SECONDS:
        raise InvalidToken("the token is not valid at this time")
    if not isinstance(claims["scp"], list) or not all(isinstance(s, str) for s in claims["scp"]):
        raise InvalidToken("malformed scopes")
    return ValetToken(id=str(claims["jti"]), subject=str(claims["sub"]), scopes=tuple(claims["scp"]),
                      resource=claims.get("res"), expires_at=int(claims["exp"]), max_uses=claims.get("max"))


# -- presigned-style URLs ----------------------------------------------------------------------

def _signature(key: str, method: str, path: str, query: list[tuple[str, str]]) -> str:
    canonical = "\n".join([method.upper(), path, urlencode(sorted(query))])
    # A key of its own for URLs, derived from the signing key, so a URL signature is never a token's.
    url_key = hmac.new(key.encode(), b"presigned-url", hashlib.sha256).digest()
    return hmac.new(url_key, canonical.encode(), hashlib.sha256).hexdigest()


def presign(key: str, method: str, path: str, ttl_seconds: int, now: float | None = None) -> tuple[str, int]:
    """(query string, expires_at) that let `method path` be called until expires_at."""
    expires = int(time.time() if now is None else now) + ttl_seconds
    query = [("expires", str(expires))]
    return urlencode([*query, ("signature", _signature(key, method, path, query))]), expires


def verify_presigned(key: str, method: str, path: str, query: str, now: float | None = None) -> int:
    """The URL's expiry if its signature covers exactly this method, path and query."""
    pairs = parse_qsl(query, keep_blank_values=True)
    signatures = [value for name, value in pairs if name == "signature"]
    rest = [(name, value) for name, value in pairs if name != "signature"]
    if len(signatures) != 1:
        raise InvalidToken("no signature")
    if not hmac.compare_digest(signatures[0], _signature(key, method, path, rest)):
        raise InvalidToken("the signature does not match this URL")
    expires = dict(rest).get("expires", "")
    if not expires.isdigit() or int(expires) <= (time.time() if now is None else now):
        raise InvalidToken("the URL has expired")
    return int(expires)
