"""The development issuer: an RS256 key pair kept on disk, with which `local tokens mint` signs
tokens and which `local up` trusts, so that a developer with no Cognito user pool or identity
provider can still call a route behind a JWT or Cognito authorizer.

The key lives in one PEM file (`signing-key.pem`, PKCS8, mode 0600) in the folder given, made on
first use. Two processes (say `local up` and `local tokens mint`, started together) may both find
it missing; each writes a key of its own to a temporary file and hard-links it to the final name.
`os.link` refuses to replace an existing file, so exactly one key wins and the loser reads it:
both end up signing and trusting the same key, and nobody ever reads a half-written file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local.errors import LocalError

KEY_FILE = "signing-key.pem"
ALGORITHM = "RS256"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int) -> str:
    # JWK integers are big-endian, minimal length (RFC 7518 section 6.3.1): no leading zero bytes.
    return _b64url(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


class DevIssuer:
    """The development issuer: one RS256 key pair kept in a folder (the project's .local/issuer/),
    made on first use, shared by `local up` (which trusts it) and `local tokens mint` (which signs with it)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._private: rsa.RSAPrivateKey | None = None
        self._kid: str | None = None
        # The gateway may ask from several threads at once; one load per instance is enough.
        self._lock = threading.Lock()

    @property
    def key_path(self) -> Path:
        return self.folder / KEY_FILE

    # -- the key ---------------------------------------------------------------------------

    def _private_key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._private is None:
                key = self._read() if self.key_path.exists() else self._create()
                self._kid = _thumbprint(key.public_key())
                self._private = key
            return self._private

    def _read(self) -> rsa.RSAPrivateKey:
        try:
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        except (ValueError, TypeError, OSError) as error:
            raise LocalError(f"{self.key_path} is not a readable PEM private key ({error}); "
                             "delete it and a new one is made") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise LocalError(f"{self.key_path} holds no RSA key; delete it and a new one is made")
        return key

    def _create(self) -> rsa.RSAPrivateKey:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise LocalError(f"cannot make the development issuer's folder {self.folder}: {error}") from None
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        # mkstemp makes the file 0600 whatever the umask: the private key is never readable by others,
        # not even for the moment between writing and linking.
        handle, temp = tempfile.mkstemp(prefix=".signing-key-", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(pem)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o600)
            try:
                os.link(temp, self.key_path)
            except FileExistsError:
                # Another process made it first: its key is the one everybody uses.
                return self._read()
            except OSError as error:
                raise LocalError(f"cannot write the development issuer's key {self.key_path}: {error}") from None
            return key
        finally:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass

    @property
    def kid(self) -> str:
        """The RFC 7638 thumbprint of the public key: stable for the key, different for another."""
        self._private_key()
        assert self._kid is not None
        return self._kid

    def public_key(self) -> rsa.RSAPublicKey:
        return self._private_key().public_key()

    # -- what it publishes ---------------------------------------------------------------------

    def jwks(self) -> dict:
        return {"keys": [{**_jwk_members(self.public_key()), "kid": self.kid, "alg": ALGORITHM, "use": "sig"}]}

    def openid_configuration(self, issuer_url: str) -> dict:
        return {
            "issuer": issuer_url,
            "jwks_uri": issuer_url.rstrip("/") + "/jwks.json",
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "response_types_supported": ["code", "token"],
            "subject_types_supported": ["public"],
        }

    # -- tokens ----------------------------------------------------------------------------

    def mint(self, *, issuer: str, subject: str, audience: str | None = None, scopes: list[str] = (),
             ttl_s: int = 3600, claims: dict | None = None, client_id: str | None = None,
             token_use: str | None = None, now: float | None = None) -> str:
        """A signed token. Times are whole seconds, as every issuer writes them."""
        issued = int(time.time() if now is None else now)
        payload: dict = {"iss": issuer, "sub": subject, "iat": issued, "exp": issued + int(ttl_s)}
        if audience is not None:
            payload["aud"] = audience
        if scopes:
            payload["scope"] = " ".join(scopes)
        if client_id is not None:
            payload["client_id"] = client_id
        if token_use is not None:
            payload["token_use"] = token_use
        # Last, so that a developer can shape any claim, even the standard ones, to test an edge.
        payload.update(claims or {})
        return jwt.encode(payload, self._private_key(), algorithm=ALGORITHM,
                          headers={"kid": self.kid, "typ": "JWT"})


def _jwk_members(public: rsa.RSAPublicKey) -> dict:
    numbers = public.public_numbers()
    return {"kty": "RSA", "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}


def _thumbprint(public: rsa.RSAPublicKey) -> str:
    # RFC 7638: the required members only, keys sorted, no whitespace, then SHA-256.
    canonical = json.dumps(_jwk_members(public), sort_keys=True, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())
