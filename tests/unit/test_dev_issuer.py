"""The development issuer: its key made once and shared, kept private, published correctly
(checked with PyJWT and RFC 7638 directly, not through the module's own helpers), and the
claims of the tokens it mints."""

import base64
import hashlib
import json
import multiprocessing
import stat
import threading

import jwt
import pytest

from local.auth.dev_issuer import DevIssuer
from local.errors import LocalError

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
NOW = 1_700_000_000


def test_the_key_is_made_once_and_reused(tmp_path):
    first = DevIssuer(tmp_path / "issuer")
    assert not (tmp_path / "issuer").exists()  # lazy: nothing happens until the key is needed
    kid = first.kid
    assert (tmp_path / "issuer" / "signing-key.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    again = DevIssuer(tmp_path / "issuer")
    assert again.kid == kid
    # The second one signs with the very key the first published.
    token = again.mint(issuer=ISSUER, subject="u")
    jwt.decode(token, first.public_key(), algorithms=["RS256"], options={"verify_aud": False})
    assert [p.name for p in (tmp_path / "issuer").iterdir()] == ["signing-key.pem"]  # no temp file left


def test_the_key_file_is_private(tmp_path):
    DevIssuer(tmp_path).public_key()
    assert stat.S_IMODE((tmp_path / "signing-key.pem").stat().st_mode) == 0o600


def test_a_damaged_key_file_is_a_local_error(tmp_path):
    (tmp_path / "signing-key.pem").write_text("not a key")
    with pytest.raises(LocalError, match="signing-key.pem"):
        DevIssuer(tmp_path).kid


def test_the_published_key_verifies_a_minted_token(tmp_path):
    issuer = DevIssuer(tmp_path)
    token = issuer.mint(issuer=ISSUER, subject="alice", audience="app", now=NOW, ttl_s=60)
    (jwk,) = issuer.jwks()["keys"]
    assert {k: jwk[k] for k in ("kty", "alg", "use", "kid")} == {
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": issuer.kid}
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": issuer.kid}
    public = jwt.PyJWK(jwk).key
    claims = jwt.decode(token, public, algorithms=["RS256"], audience="app", issuer=ISSUER,
                        options={"verify_exp": False, "verify_iat": False})
    assert claims["sub"] == "alice"


def test_the_kid_is_the_rfc_7638_thumbprint(tmp_path):
    issuer = DevIssuer(tmp_path)
    (jwk,) = issuer.jwks()["keys"]
    # RFC 7638 section 3.2: the required members of an RSA key, in lexicographic order, no spaces.
    canonical = '{"e":"%s","kty":"RSA","n":"%s"}' % (jwk["e"], jwk["n"])
    digest = hashlib.sha256(canonical.encode()).digest()
    assert issuer.kid == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    # And the members are what RFC 7518 says: minimal big-endian bytes of the public numbers.
    numbers = issuer.public_key().public_numbers()
    n = base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4))
    assert n[0] != 0 and int.from_bytes(n, "big") == numbers.n
    assert jwk["e"] == "AQAB"


def test_racing_threads_end_with_one_key(tmp_path):
    folder = tmp_path / "issuer"
    barrier = threading.Barrier(8)
    kids = []

    def make():
        issuer = DevIssuer(folder)
        barrier.wait()
        kids.append(issuer.kid)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kids) == 8 and len(set(kids)) == 1
    assert DevIssuer(folder).kid == kids[0]
    assert [p.name for p in folder.iterdir()] == ["signing-key.pem"]


def _kid_in_process(folder, barrier, out):
    issuer = DevIssuer(folder)
    barrier.wait()
    out.put(issuer.kid)


def test_racing_processes_end_with_one_key(tmp_path):
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(4), context.Queue()
    processes = [context.Process(target=_kid_in_process, args=(tmp_path, barrier, out)) for _ in range(4)]
    for process in processes:
        process.start()
    kids = [out.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert len(set(kids)) == 1 and DevIssuer(tmp_path).kid == kids[0]


def _payload(token: str) -> dict:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_mint_writes_the_claims_asked_for(tmp_path):
    issuer = DevIssuer(tmp_path)
    token = issuer.mint(issuer=ISSUER, subject="alice", audience="app-client", scopes=["read", "write"],
                        ttl_s=900, client_id="app-client", token_use="access", now=NOW + 0.7,
                        claims={"cognito:groups": ["admin"], "sub": "override"})
    assert _payload(token) == {
        "iss": ISSUER, "sub": "override", "iat": NOW, "exp": NOW + 900, "aud": "app-client",
        "scope": "read write", "client_id": "app-client", "token_use": "access", "cognito:groups": ["admin"]}


def test_mint_leaves_out_what_was_not_asked_for(tmp_path):
    token = DevIssuer(tmp_path).mint(issuer=ISSUER, subject="bob", now=NOW)
    assert _payload(token) == {"iss": ISSUER, "sub": "bob", "iat": NOW, "exp": NOW + 3600}


def test_openid_configuration_points_at_the_jwks(tmp_path):
    config = DevIssuer(tmp_path).openid_configuration("http://127.0.0.1:3000/_local/issuer")
    assert config["issuer"] == "http://127.0.0.1:3000/_local/issuer"
    assert config["jwks_uri"] == "http://127.0.0.1:3000/_local/issuer/jwks.json"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert config["subject_types_supported"] == ["public"] and config["response_types_supported"]
