"""Where a token's verification key comes from: the development issuer's own key, or the
issuer's published JSON Web Key Set, found as API Gateway finds it (OpenID discovery:
`{issuer}/.well-known/openid-configuration` -> `jwks_uri`).

Fetches are few and bounded, because every request to a protected route asks for a key: a key
set is kept per issuer for `max_age_s`; a kid it lacks (the issuer rotated its keys) refetches at
most once per 30 s, so a flood of tokens with made-up kids cannot turn into a flood of fetches;
a failed fetch is not retried for 5 s; concurrent lookups for one issuer share one fetch. An
issuer that cannot be reached is not an error of the gateway: its tokens are refused (the key is
None) and one line on stderr says why, at most once a minute per issuer.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

if TYPE_CHECKING:
    from local.auth.dev_issuer import DevIssuer

FETCH_TIMEOUT_S = 5
REFETCH_UNKNOWN_KID_S = 30
RETRY_AFTER_FAILURE_S = 5
LOG_EVERY_S = 60
MAX_DOCUMENT_BYTES = 1 << 20  # a key set is a few kilobytes; anything far larger is not one


class FetchFailed(Exception):
    """A document could not be had; `status` is the HTTP status when the server answered."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def fetch_json(url: str) -> Any:
    """GET a JSON document over http or https (blocking; KeySource runs it in a thread)."""
    if not url.lower().startswith(("http://", "https://")):
        # urllib would happily open file:// or ftp://, and jwks_uri comes from the network.
        raise FetchFailed(f"{url} is not an http or https address")
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "local-gateway"})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise FetchFailed(f"{url} answered HTTP {error.code}", error.code) from None
    except urllib.error.URLError as error:
        raise FetchFailed(f"{url}: {error.reason}") from None
    except (OSError, ValueError) as error:  # timeouts, resets, bad addresses
        raise FetchFailed(f"{url}: {error or type(error).__name__}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise FetchFailed(f"{url} answered more than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return json.loads(body)
    except ValueError:
        raise FetchFailed(f"{url} did not answer JSON") from None


def parse_jwks(document: Any) -> dict[str, Any]:
    """kid -> public key object, for the signing keys of a JWKS that this gateway can use."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise FetchFailed("the key set has no `keys` list")
    keys: dict[str, Any] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str) or jwk.get("use", "sig") != "sig":
            continue
        reader = {"RSA": RSAAlgorithm, "EC": ECAlgorithm}.get(jwk.get("kty"))
        if reader is None or jwk["kid"] in keys:
            continue  # a key type no supported alg uses; or a repeated kid, where the first wins
        try:
            key = reader.from_jwk(jwk)
        except Exception:  # one malformed entry must not hide the issuer's good keys
            continue
        if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            key = key.public_key()  # a careless issuer published private members; only verify
        keys[jwk["kid"]] = key
    return keys


def describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


@dataclass
class _Issuer:
    keys: dict[str, Any] = field(default_factory=dict)
    fetched_at: float | None = None     # last success
    attempted_at: float | None = None   # last try, successful or not
    failed: bool = False
    logged_at: float | None = None
    inflight: asyncio.Future | None = None


class KeySource:
    def __init__(self, trusted: "DevIssuer | None" = None, fetch: Callable[[str], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic, max_age_s: float = 600):
        self._trusted = trusted
        self._trusted_key: tuple[str, Any] | None = None
        self._fetch = fetch or fetch_json
        self._clock = clock
        self._max_age_s = max_age_s
        self._issuers: dict[str, _Issuer] = {}

    async def key(self, issuer: str, kid: str | None):
        """The public key object (cryptography) for this kid: first the development issuer's own
        keys (`trusted`, accepted for any issuer: that is what lets a developer with no Cognito
        pool call a protected route), then the issuer's JWKS, discovered through
        {issuer}/.well-known/openid-configuration -> jwks_uri (falling back to
        {issuer}/.well-known/jwks.json when discovery has no jwks_uri or answers 404), cached per
        issuer for max_age_s; an unknown kid refetches at most once per 30 s per issuer. None when
        there is no such key or the issuer cannot be reached (then log one line to stderr naming the
        issuer and the error, once per issuer per minute)."""
        if not isinstance(kid, str) or not kid:
            return None  # keys are picked by kid only, as API Gateway does
        if self._trusted is not None:
            if self._trusted_key is None:
                # Loading (or, the first time ever, making) the key is file work and an RSA key
                # generation: off the event loop.
                self._trusted_key = await asyncio.to_thread(lambda: (self._trusted.kid, self._trusted.public_key()))
            if kid == self._trusted_key[0]:
                return self._trusted_key[1]
        state = self._issuers.setdefault(issuer, _Issuer())
        if state.inflight is not None or self._should_fetch(state, kid):
            await self._refresh(issuer, state)
        return state.keys.get(kid)

    def _should_fetch(self, state: _Issuer, kid: str) -> bool:
        now = self._clock()
        if state.attempted_at is None:
            return True
        fresh = state.fetched_at is not None and now - state.fetched_at < self._max_age_s
        if fresh and kid in state.keys:
            return False  # even while a later refetch failed: a known good key needs no network
        wait = RETRY_AFTER_FAILURE_S if state.failed else REFETCH_UNKNOWN_KID_S if fresh else 0
        return now - state.attempted_at >= wait

    async def _refresh(self, issuer: str, state: _Issuer) -> None:
        loop = asyncio.get_running_loop()
        if state.inflight is None or state.inflight.get_loop() is not loop:
            task = loop.create_task(self._load(issuer, state))
            state.inflight = task
            task.add_done_callback(lambda done: setattr(state, "inflight", None) if state.inflight is done else None)
        # Shielded: one caller giving up (its request was cancelled) must not cancel the fetch
        # the other callers are waiting on.
        await asyncio.shield(state.inflight)

    async def _load(self, issuer: str, state: _Issuer) -> None:
        state.attempted_at = self._clock()
        try:
            keys = parse_jwks(await asyncio.to_thread(self._fetch, await self._jwks_uri(issuer)))
        except Exception as error:  # whatever the issuer does wrong, its tokens are refused, not the gateway broken
            state.failed = True
            self._log(issuer, state, describe(error))
            return
        # A failed refresh keeps the keys of the last good one: a brief outage of the issuer
        # should not log everybody out; a successful one replaces them, so removed keys stop working.
        state.keys, state.fetched_at, state.failed = keys, self._clock(), False

    async def _jwks_uri(self, issuer: str) -> str:
        base = issuer.rstrip("/")
        fallback = base + "/.well-known/jwks.json"
        try:
            discovery = await asyncio.to_thread(self._fetch, base + "/.well-known/openid-configuration")
        except Exception as error:
            if _status(error) == 404:
                return fallback
            raise
        uri = discovery.get("jwks_uri") if isinstance(discovery, dict) else None
        return uri if isinstance(uri, str) and uri else fallback

    def _log(self, issuer: str, state: _Issuer, reason: str) -> None:
        now = self._clock()
        if state.logged_at is not None and now - state.logged_at < LOG_EVERY_S:
            return
        state.logged_at = now
        reason = " ".join(reason.split())  # one line, whatever the error's text held
        # The one place this package writes to the console: the developer must learn why every
        # token of this issuer is refused, and there is nobody else to tell.
        print(f"local: cannot get the signing keys of JWT issuer {issuer}: {reason}; its tokens are refused",
              file=sys.stderr, flush=True)


def _status(error: BaseException) -> int | None:
    # An injected fetch may raise urllib's HTTPError (`code`) rather than FetchFailed (`status`).
    status = getattr(error, "status", None) or getattr(error, "code", None)
    return status if isinstance(status, int) else None
