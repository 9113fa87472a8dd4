"""`local up` on a template with an HTTP API behind a JWT authorizer, a REST API behind a
Cognito user pool beside it, and a function URL (tests/templates/http-api-auth): tokens from
an OIDC issuer on 127.0.0.1 and from `local tokens mint`, as a user with no pool would call."""

import json
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from support import PROJECT_ROOT
from test_templates import call, up

KID = "test-issuer-key"


@pytest.fixture
def oidc_issuer():
    """An OpenID issuer of the test's own on 127.0.0.1 (ES256), stopped afterwards."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            base = f"http://127.0.0.1:{server.server_port}"
            documents = {"/.well-known/openid-configuration": {"issuer": base, "jwks_uri": base + "/keys"},
                         "/keys": {"keys": [{**public, "kid": KID, "alg": "ES256", "use": "sig"}]}}
            body = json.dumps(documents.get(self.path, {})).encode()
            self.send_response(200 if self.path in documents else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", key
    server.shutdown()
    server.server_close()


def mint(env, issuer: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "local", "tokens", "mint", *args, "--parameter-overrides",
                           f"Issuer={issuer}"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_jwt_cognito_and_function_urls_serve_side_by_side(local_env, start_local_up, oidc_issuer):
    issuer, key = oidc_issuer
    run = up(local_env, start_local_up, "http-api-auth", "--parameter-overrides", f"Issuer={issuer}")
    env = run.env

    # A token from the issuer on 127.0.0.1, its key found through discovery.
    claims = {"iss": issuer, "sub": "carol", "aud": "orders-app", "exp": 4_000_000_000, "scope": "orders.read"}
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": KID})
    status, _, body = call(run, "/me", headers={"Authorization": f"Bearer {token}"})
    assert status == 200, body
    assert json.loads(body)["sub"] == "carol" and json.loads(body)["version"] == "2.0"
    assert call(run, "/me")[0] == 401
    wrong = jwt.encode({**claims, "aud": "someone-else"}, key, algorithm="ES256", headers={"kid": KID})
    assert call(run, "/me", headers={"Authorization": f"Bearer {wrong}"})[0] == 401

    # Tokens from the development issuer, for either authorizer.
    reader = mint(env, issuer, "--authorizer", "Oidc", "--sub", "alice", "--scope", "orders.read")
    status, _, body = call(run, "/orders", headers={"Authorization": f"Bearer {reader}"})
    assert status == 200 and json.loads(body)["scopes"] == ["orders.read"], body
    plain = mint(env, issuer, "--authorizer", "Oidc", "--sub", "alice")
    status, headers, _ = call(run, "/orders", headers={"Authorization": f"Bearer {plain}"})
    assert status == 403 and "insufficient_scope" in {k.lower(): v for k, v in headers.items()}["www-authenticate"]
    member = mint(env, issuer, "--authorizer", "Users", "--sub", "bob")
    status, _, body = call(run, "/members", headers={"Authorization": member})
    assert status == 200 and json.loads(body) == {"sub": "bob", "version": "1.0", "path": "/members",
                                                  "scopes": None, "token_use": "id"}
    assert call(run, "/members")[0] == 401

    # The HTTP API answers its own CORS preflights.
    status, headers, _ = call(run, "/orders", method="OPTIONS", headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"})
    assert status == 204 and {k.lower(): v for k, v in headers.items()}["access-control-allow-origin"] == \
        "http://localhost:5173"

    # The function URL: an address of its own, printed at start, whose whole path is the function's.
    url = next(line.split()[2] for line in run.lines if line.strip().startswith("function URL"))
    with urllib.request.urlopen(url + "deep/path?x=1", timeout=30) as response:
        assert json.loads(response.read())["path"] == "/deep/path"

    listed = json.loads(subprocess.run([sys.executable, "-m", "local", "list", "--json"], cwd=PROJECT_ROOT, env=env,
                                       capture_output=True, text=True, timeout=60, check=True).stdout)
    assert {(api["id"], api["type"]) for api in listed["apis"]} == {("MembersApi", "REST"), ("OrdersApi", "HTTP")}
    whoami = next(f for f in listed["functions"] if f["logical_id"] == "WhoAmI")
    assert whoami["url"] == url and whoami["handler"] == "app.whoami"
    assert {(r["api_type"], r["method"], r["path"]) for r in whoami["routes"]} == {
        ("HTTP", "GET", "/me"), ("HTTP", "GET", "/orders"), ("REST", "GET", "/members")}


def test_http_apis_from_openapi_and_cloudformation_serve_under_local_up(local_env, start_local_up):
    run = up(local_env, start_local_up, "http-definitions")
    for path, function in (("/books?q=1", "BooksFunction"), ("/orders/42", "OrdersFunction"),
                           ("/any/where", "CatchAllFunction")):
        status, _, body = call(run, path)
        assert status == 200, (path, body)
        assert json.loads(body)["function"] == function
    assert call(run, "/books/7")[0] == 401  # a JWT scheme of the definition body
    warnings = [line for line in run.lines if line.strip().startswith("!!")]
    assert any("WebSocket" in line or "WEBSOCKET" in line for line in warnings), warnings
