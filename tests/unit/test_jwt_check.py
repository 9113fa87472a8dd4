"""The JWT authorizer's check, outcome by outcome, as API Gateway documents it for HTTP APIs; and
the key source behind it, against a real HTTP server on 127.0.0.1 (discovery, caching, rotation,
an issuer that is down)."""

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from support.ports import free_port

from local.auth.dev_issuer import DevIssuer
from local.auth.jwks import KeySource
from local.auth.jwt_check import JwtChecker, JwtRejected, JwtRule, bearer_token, claims_as_text, token_scopes

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
NOW = 1_700_000_000
RULE = JwtRule(issuer=ISSUER, audiences=("app-client",))


class Clock:
    """A clock that moves only when told to."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def dev(tmp_path):
    return DevIssuer(tmp_path / "issuer")


@pytest.fixture
def checker(dev):
    def no_fetch(url):
        raise AssertionError(f"fetched {url}: the development issuer's key needs no network")
    return JwtChecker(KeySource(trusted=dev, fetch=no_fetch), clock=Clock(NOW))


def mint(dev, **overrides):
    arguments = {"issuer": ISSUER, "subject": "alice", "audience": "app-client", "now": NOW - 10, **overrides}
    return dev.mint(**arguments)


def rejected(checker, token, rule=RULE) -> JwtRejected:
    with pytest.raises(JwtRejected) as caught:
        run(checker.check(token, rule))
    return caught.value


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict, payload: dict) -> str:
    """header.payload. : the signature left for the caller to append."""
    return b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode()) + "."


# -- the outcomes ------------------------------------------------------------------------------

def test_a_valid_token_gives_its_claims(dev, checker):
    token = mint(dev, scopes=["read"], claims={"cognito:groups": ["admin", "cooks"], "email_verified": True,
                                               "address": {"city": "Lyon"}, "count": 3})
    claims = run(checker.check(token, RULE))
    assert claims["sub"] == "alice" and claims["exp"] == NOW - 10 + 3600 and claims["cognito:groups"] == ["admin", "cooks"]
    text = claims_as_text(claims)
    assert text["exp"] == str(NOW - 10 + 3600) and text["iat"] == str(NOW - 10)
    assert text["cognito:groups"] == "[admin cooks]"
    assert text["email_verified"] == "true" and text["count"] == "3"
    assert json.loads(text["address"]) == {"city": "Lyon"}
    assert text["scope"] == "read" and text["aud"] == "app-client"
    assert all(isinstance(value, str) for value in text.values())


def test_claims_as_text_of_every_kind():
    assert claims_as_text({"f": False, "x": 1.5, "l": [1, True, "a"], "e": [], "o": {"a": [1]}, "n": None}) == {
        "f": "false", "x": "1.5", "l": "[1 true a]", "e": "[]", "o": '{"a":[1]}', "n": "null"}


@pytest.mark.parametrize("value", [None, "", "   ", "Bearer ", "bearer"])
def test_no_token_is_401(checker, value):
    failure = rejected(checker, value)
    assert (failure.status, failure.reason) == (401, "no token")


@pytest.mark.parametrize("prefix", ["Bearer ", "bearer ", "BEARER  "])
def test_a_bearer_prefix_is_accepted(dev, checker, prefix):
    assert run(checker.check(prefix + mint(dev), RULE))["sub"] == "alice"


def test_bearer_token():
    assert bearer_token("Bearer abc") == "abc" and bearer_token("abc") == "abc"
    assert bearer_token(" bEaReR abc ") == "abc" and bearer_token(None) is None and bearer_token("Bearer") is None


def test_an_expired_token_is_401(dev, checker):
    failure = rejected(checker, mint(dev, now=NOW - 3600))  # exp == now: over
    assert (failure.status, failure.reason) == (401, "the token expired")
    assert run(checker.check(mint(dev, now=NOW - 3599), RULE))  # one second left


def test_a_token_without_exp_is_401(dev, checker):
    assert rejected(checker, mint(dev, claims={"exp": None})).status == 401
    assert rejected(checker, mint(dev, claims={"exp": "tomorrow"})).status == 401
    for never in (float("nan"), float("inf")):
        assert rejected(checker, mint(dev, claims={"exp": never})).reason == "the token's exp claim is not a number"


def test_nbf_in_the_future_is_401(dev, checker):
    failure = rejected(checker, mint(dev, claims={"nbf": NOW + 1}))
    assert (failure.status, failure.reason) == (401, "the token is not valid yet (nbf)")
    assert run(checker.check(mint(dev, claims={"nbf": NOW}), RULE))


def test_iat_in_the_future_is_401(dev, checker):
    failure = rejected(checker, mint(dev, now=NOW + 1))
    assert (failure.status, failure.reason) == (401, "the token was issued in the future (iat)")


def test_a_wrong_issuer_is_401(dev, checker):
    assert rejected(checker, mint(dev, issuer=ISSUER + "/")).status == 401
    assert rejected(checker, mint(dev), JwtRule(issuer="https://other.example", audiences=("app-client",))).status == 401


def test_a_wrong_audience_is_401(dev, checker):
    assert rejected(checker, mint(dev, audience="someone-else")).status == 401
    assert rejected(checker, mint(dev, claims={"aud": ["x", "y"]})).status == 401


def test_one_of_several_audiences_suffices(dev, checker):
    rule = JwtRule(issuer=ISSUER, audiences=("web", "app-client"))
    assert run(checker.check(mint(dev, claims={"aud": ["other", "app-client"]}), rule))


def test_no_aud_but_the_right_client_id_is_accepted(dev, checker):
    token = mint(dev, audience=None, client_id="app-client", token_use="access")
    assert run(checker.check(token, RULE))["client_id"] == "app-client"


def test_no_aud_and_a_wrong_client_id_is_401(dev, checker):
    assert rejected(checker, mint(dev, audience=None, client_id="another-client")).status == 401
    assert rejected(checker, mint(dev, audience=None)).status == 401


def test_an_aud_that_fails_is_not_rescued_by_client_id(dev, checker):
    assert rejected(checker, mint(dev, audience="other", client_id="app-client")).status == 401


def test_no_configured_audience_skips_the_audience_check(dev, checker):
    rule = JwtRule(issuer=ISSUER)
    assert run(checker.check(mint(dev, audience="anything"), rule))
    assert run(checker.check(mint(dev, audience=None), rule))


def test_another_key_with_the_same_kid_is_401(dev, checker):
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode({"iss": ISSUER, "sub": "mallory", "aud": "app-client", "iat": NOW, "exp": NOW + 60},
                       impostor, algorithm="RS256", headers={"kid": dev.kid})
    failure = rejected(checker, token)
    assert (failure.status, failure.reason) == (401, "the token's signature does not verify")


def test_a_tampered_payload_is_401(dev, checker):
    header, _, signature = mint(dev).split(".")
    forged = b64url(json.dumps({"iss": ISSUER, "sub": "root", "aud": "app-client", "exp": NOW + 60}).encode())
    assert rejected(checker, f"{header}.{forged}.{signature}").status == 401


def test_an_unknown_kid_is_401(dev):
    checker = JwtChecker(KeySource(trusted=dev, fetch=lambda url: {"keys": []}), clock=Clock(NOW))
    token = jwt.encode({"iss": ISSUER, "aud": "app-client", "exp": NOW + 60},
                       rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256",
                       headers={"kid": "nobody"})
    failure = rejected(checker, token)
    assert (failure.status, failure.reason) == (401, "no key of the issuer has the token's kid")
    assert rejected(checker, hand_made({"alg": "RS256"}, {"iss": ISSUER}) + "c2ln").status == 401  # no kid


def test_alg_none_is_401(dev, checker):
    token = hand_made({"alg": "none", "typ": "JWT", "kid": dev.kid},
                      {"iss": ISSUER, "sub": "mallory", "aud": "app-client", "exp": NOW + 60})
    failure = rejected(checker, token)
    assert (failure.status, failure.reason) == (401, "the token's algorithm 'none' is not accepted")


def test_hs256_with_the_public_key_as_secret_is_401(dev, checker):
    # The algorithm confusion attack: the public key's PEM is public, so anyone can HMAC with it.
    secret = dev.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    unsigned = hand_made({"alg": "HS256", "typ": "JWT", "kid": dev.kid},
                         {"iss": ISSUER, "sub": "mallory", "aud": "app-client", "exp": NOW + 60})[:-1]
    token = unsigned + "." + b64url(hmac.new(secret, unsigned.encode(), hashlib.sha256).digest())
    assert rejected(checker, token).status == 401


@pytest.mark.parametrize("token", ["abc", "a.b.c", "a.b", "....", "eyJhbGciOiJSUzI1NiJ9.e30.%%%"])
def test_a_malformed_token_is_401(checker, token):
    assert rejected(checker, token).status == 401


def test_a_key_that_does_not_fit_the_alg_is_401():
    ec_key = ec.generate_private_key(ec.SECP384R1())
    jwks = {"keys": [{**json.loads(ECAlgorithm.to_jwk(ec_key.public_key())), "kid": "ec"}]}
    checker = JwtChecker(KeySource(fetch=lambda url: {} if "openid" in url else jwks), clock=Clock(NOW))
    claims = {"iss": ISSUER, "aud": "app-client", "exp": NOW + 60}
    wrong_curve = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "ec"})
    assert rejected(checker, wrong_curve).reason == "the key of the token's kid does not fit its algorithm ES256"
    as_rsa = hand_made({"alg": "RS256", "kid": "ec"}, claims) + "c2ln"
    assert rejected(checker, as_rsa).reason == "the key of the token's kid does not fit its algorithm RS256"
    right = jwt.encode(claims, ec_key, algorithm="ES384", headers={"kid": "ec"})
    assert run(checker.check(right, RULE))


def test_a_missing_scope_is_403(dev, checker):
    rule = JwtRule(issuer=ISSUER, audiences=("app-client",), scopes=("recipes/write",))
    failure = rejected(checker, mint(dev, scopes=["recipes/read"]), rule)
    assert failure.status == 403 and "recipes/write" in failure.reason
    assert rejected(checker, mint(dev), rule).status == 403


def test_the_401_checks_come_before_the_scopes(dev, checker):
    rule = JwtRule(issuer=ISSUER, audiences=("app-client",), scopes=("recipes/write",))
    assert rejected(checker, mint(dev, now=NOW - 7200), rule).status == 401


def test_one_of_several_scopes_suffices(dev, checker):
    rule = JwtRule(issuer=ISSUER, audiences=("app-client",), scopes=("admin", "recipes/write"))
    assert run(checker.check(mint(dev, scopes=["openid", "recipes/write"]), rule))


def test_scopes_from_scp_as_a_list(dev, checker):
    rule = JwtRule(issuer=ISSUER, audiences=("app-client",), scopes=("recipes/write",))
    assert run(checker.check(mint(dev, claims={"scp": ["recipes/read", "recipes/write"]}), rule))
    assert run(checker.check(mint(dev, claims={"scp": "recipes/read recipes/write"}), rule))


def test_token_scopes():
    assert token_scopes({"scope": "a b  a", "scp": ["c", 3, "b"]}) == ["a", "b", "c"]
    assert token_scopes({"scope": 7}) == [] and token_scopes({}) == []


def test_the_dev_issuer_key_serves_any_issuer_name(dev, checker):
    for issuer in ("https://login.example.com/tenant", "http://127.0.0.1:1/nowhere", "anything"):
        rule = JwtRule(issuer=issuer, audiences=("app-client",))
        assert run(checker.check(mint(dev, issuer=issuer), rule))["iss"] == issuer


# -- a real issuer over HTTP ------------------------------------------------------------------------

class FakeIssuer:
    """An issuer on 127.0.0.1: serves whatever documents it is given, counts the requests."""

    def __init__(self):
        self.documents: dict[str, object] = {}
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append(self.path)
                document = owner.documents.get(self.path)
                body = json.dumps(document).encode()
                self.send_response(404 if document is None else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def publish(self, *keys, discovery=True):
        self.documents["/keys"] = {"keys": list(keys)}
        if discovery:
            self.documents["/.well-known/openid-configuration"] = {"issuer": self.url, "jwks_uri": self.url + "/keys"}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def issuer():
    server = FakeIssuer()
    yield server
    server.stop()


def ec_jwk(private, kid):
    return {**json.loads(ECAlgorithm.to_jwk(private.public_key())), "kid": kid, "alg": "ES256", "use": "sig"}


def signed(private, alg, kid, issuer_url, **claims):
    payload = {"iss": issuer_url, "sub": "alice", "aud": "app-client", "iat": NOW, "exp": NOW + 60, **claims}
    return jwt.encode(payload, private, algorithm=alg, headers={"kid": kid})


def test_an_es256_token_is_verified_through_discovery(issuer):
    key = ec.generate_private_key(ec.SECP256R1())
    issuer.publish(ec_jwk(key, "k1"))
    checker = JwtChecker(KeySource(), clock=Clock(NOW))
    rule = JwtRule(issuer=issuer.url, audiences=("app-client",))
    assert run(checker.check(signed(key, "ES256", "k1", issuer.url), rule))["sub"] == "alice"
    assert issuer.requests == ["/.well-known/openid-configuration", "/keys"]


def test_rsa_keys_of_every_size_of_sha(issuer):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer.publish({**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "r"})
    checker = JwtChecker(KeySource(), clock=Clock(NOW))
    rule = JwtRule(issuer=issuer.url, audiences=("app-client",))
    for alg in ("RS256", "RS384", "RS512"):
        assert run(checker.check(signed(key, alg, "r", issuer.url), rule))


def test_without_discovery_the_well_known_jwks_is_used(issuer):
    key = ec.generate_private_key(ec.SECP256R1())
    issuer.documents["/.well-known/jwks.json"] = {"keys": [ec_jwk(key, "k1")]}
    checker = JwtChecker(KeySource(), clock=Clock(NOW))
    assert run(checker.check(signed(key, "ES256", "k1", issuer.url), JwtRule(issuer=issuer.url)))
    assert issuer.requests == ["/.well-known/openid-configuration", "/.well-known/jwks.json"]


def test_the_jwks_is_cached(issuer):
    key = ec.generate_private_key(ec.SECP256R1())
    issuer.publish(ec_jwk(key, "k1"))
    monotonic = Clock(0)
    checker = JwtChecker(KeySource(clock=monotonic, max_age_s=600), clock=Clock(NOW))
    rule = JwtRule(issuer=issuer.url)
    token = signed(key, "ES256", "k1", issuer.url)

    async def twice():
        await checker.check(token, rule)
        monotonic.now = 599
        await checker.check(token, rule)

    run(twice())
    assert len(issuer.requests) == 2  # discovery and the key set, once
    monotonic.now = 600  # max_age_s reached: fetched again
    run(checker.check(token, rule))
    assert len(issuer.requests) == 4


def test_concurrent_checks_share_one_fetch(issuer):
    key = ec.generate_private_key(ec.SECP256R1())
    issuer.publish(ec_jwk(key, "k1"))
    checker = JwtChecker(KeySource(), clock=Clock(NOW))
    token, rule = signed(key, "ES256", "k1", issuer.url), JwtRule(issuer=issuer.url)

    async def many():
        return await asyncio.gather(*(checker.check(token, rule) for _ in range(10)))

    assert len(run(many())) == 10
    assert issuer.requests == ["/.well-known/openid-configuration", "/keys"]


def test_an_unknown_kid_refetches_once_per_30_seconds(issuer):
    old, new = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    issuer.publish(ec_jwk(old, "old"))
    monotonic = Clock(0)
    checker = JwtChecker(KeySource(clock=monotonic), clock=Clock(NOW))
    rule = JwtRule(issuer=issuer.url)
    assert run(checker.check(signed(old, "ES256", "old", issuer.url), rule))
    issuer.publish(ec_jwk(new, "new"))  # the issuer rotates its key
    monotonic.now = 10
    assert rejected(checker, signed(new, "ES256", "new", issuer.url), rule).status == 401
    assert len(issuer.requests) == 2  # too soon after the last fetch: not fetched again
    monotonic.now = 30
    assert run(checker.check(signed(new, "ES256", "new", issuer.url), rule))
    assert len(issuer.requests) == 4
    # The old key is gone from the issuer's set, so it is gone here too.
    assert rejected(checker, signed(old, "ES256", "old", issuer.url), rule).status == 401


def test_an_unreachable_issuer_is_401_and_logged_once_a_minute(capsys):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monotonic = Clock(0)
    checker = JwtChecker(KeySource(clock=monotonic), clock=Clock(NOW))
    token = signed(ec.generate_private_key(ec.SECP256R1()), "ES256", "k1", url)
    failure = rejected(checker, token, JwtRule(issuer=url))
    assert failure.status == 401
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and url in lines[0] and "refused" in lines[0].lower()
    monotonic.now = 30  # retried (5 s after a failure), still down, not logged again within the minute
    assert rejected(checker, token, JwtRule(issuer=url)).status == 401
    assert capsys.readouterr().err == ""
    monotonic.now = 60
    rejected(checker, token, JwtRule(issuer=url))
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_an_issuer_answering_nonsense_is_401(issuer, capsys):
    issuer.documents["/.well-known/openid-configuration"] = {"jwks_uri": issuer.url + "/keys"}
    issuer.documents["/keys"] = ["not", "a", "key", "set"]
    checker = JwtChecker(KeySource(), clock=Clock(NOW))
    token = signed(ec.generate_private_key(ec.SECP256R1()), "ES256", "k1", issuer.url)
    assert rejected(checker, token, JwtRule(issuer=issuer.url)).status == 401
    assert issuer.url in capsys.readouterr().err


def test_a_jwks_uri_that_is_not_http_is_refused(issuer, capsys, tmp_path):
    (tmp_path / "keys.json").write_text(json.dumps({"keys": []}))
    issuer.documents["/.well-known/openid-configuration"] = {"jwks_uri": (tmp_path / "keys.json").as_uri()}
    checker = JwtChecker(KeySource(), clock=Clock(NOW))
    token = signed(ec.generate_private_key(ec.SECP256R1()), "ES256", "k1", issuer.url)
    assert rejected(checker, token, JwtRule(issuer=issuer.url)).status == 401
    assert "not an http or https address" in capsys.readouterr().err


def test_a_failed_refresh_keeps_the_last_good_keys(issuer, capsys):
    key = ec.generate_private_key(ec.SECP256R1())
    issuer.publish(ec_jwk(key, "k1"))
    monotonic = Clock(0)
    checker = JwtChecker(KeySource(clock=monotonic, max_age_s=600), clock=Clock(NOW))
    token, rule = signed(key, "ES256", "k1", issuer.url), JwtRule(issuer=issuer.url)
    run(checker.check(token, rule))
    issuer.documents.clear()  # the issuer now answers 404 to everything
    monotonic.now = 700
    assert run(checker.check(token, rule))  # refresh failed; the key it had still verifies
    assert "HTTP 404" in capsys.readouterr().err
    count = len(issuer.requests)
    monotonic.now = 702
    assert run(checker.check(token, rule)) and len(issuer.requests) == count  # no retry within 5 s
