"""Token attacks beyond the gatekeeper's matrix."""

import http.server
import threading
import time
import urllib.parse

import jwt
import pytest
from cloudpatterns import tokens
from support.api import bearer, issue, new_key, revoke_key, signing_key, unique
from support.ports import free_port


def test_a_token_signed_with_another_stages_key_is_refused(api):
    other_key = "another-stage-signing-key-0123456789abcdef"
    token, _ = tokens.issue(other_key, "prod", "key:x", ["admin"], 60)
    assert api.get("/recipes", headers=bearer(token)).status == 401
    same_issuer_other_key, _ = tokens.issue(other_key, "local", "key:x", ["admin"], 60)
    assert api.get("/recipes", headers=bearer(same_issuer_other_key)).status == 401


def test_kid_and_jku_headers_are_ignored_never_fetched(api):
    fetched = []

    class KeyServer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            fetched.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"keys": [{"kty": "oct", "k": "YXR0YWNrZXI"}]}')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", free_port()), KeyServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        now = int(time.time())
        claims = {"iss": "recipes-local", "aud": "recipes-api", "sub": "key:x", "jti": "j1", "iat": now, "nbf": now,
                  "exp": now + 60, "scp": ["admin"]}
        headers = {"kid": "../../../../dev/null", "jku": f"http://127.0.0.1:{server.server_port}/jwks.json"}
        forged = jwt.encode(claims, "attacker", algorithm="HS256", headers=headers)
        assert api.get("/recipes", headers=bearer(forged)).status == 401
        # kid pointing at an empty file, hoping the verifier uses "" as the key:
        empty_key = _sign_hs256({"alg": "HS256", "typ": "JWT", "kid": "/dev/null"}, claims, b"")
        assert api.get("/recipes", headers=bearer(empty_key)).status == 401
        assert fetched == []  # the verifier never follows a jku
    finally:
        server.shutdown()


def _sign_hs256(header: dict, claims: dict, key: bytes) -> str:
    import base64
    import hashlib
    import hmac
    import json

    encode = lambda part: base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=")  # noqa: E731
    signing_input = encode(header) + b"." + encode(claims)
    signature = base64.urlsafe_b64encode(hmac.new(key, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    return (signing_input + b"." + signature).decode()


def test_a_token_dies_with_its_issuers_key_even_mid_life(api):
    key = new_key(api, "recipes:read", "valet:issue")
    valet = issue(api, key, scopes=["recipes:read"], ttl_seconds=300)
    assert api.get("/recipes", headers=bearer(valet["token"])).status == 200
    revoke_key(api, key)
    assert api.get("/recipes", headers=bearer(valet["token"])).status == 403


@pytest.mark.parametrize("offset, valid", [(-1, False), (0, True), (59.999, True), (60, False), (61, False)])
def test_clock_edges_of_nbf_and_exp(offset, valid):
    key, issued_at = "k" * 32, 1_700_000_000
    token, _ = tokens.issue(key, "local", "key:x", ["recipes:read"], 60, now=issued_at)
    if valid:
        assert tokens.verify(token, key, "local", now=issued_at + offset).scopes == ("recipes:read",)
    else:
        with pytest.raises(tokens.InvalidToken):
            tokens.verify(token, key, "local", now=issued_at + offset)


def test_a_share_url_replayed_after_its_recipe_is_deleted_finds_nothing(api):
    recipe = api.post("/recipes", json_body={"title": unique("Ephemeral")}).json()
    url = urllib.parse.urlsplit(api.post(f"/recipes/{recipe['id']}/share").json()["url"])
    anonymous = {"x-api-key": ""}
    assert api.get(f"{url.path}?{url.query}", headers=anonymous).status == 200
    assert api.delete(f"/recipes/{recipe['id']}").status == 204
    assert api.get(f"{url.path}?{url.query}", headers=anonymous).status == 404
    assert signing_key(api)  # the URL stayed genuine: it is the recipe that is gone
