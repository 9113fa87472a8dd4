"""HTTP APIs through the gateway's test client: routes and $default, payload formats 2.0 and
1.0, response format 2.0, CORS, stage variables, route throttling, JWT and Lambda
authorizers, beside a REST API on the same port. Events are checked against Powertools'
models, an independent description of AWS's shapes."""

import base64
import datetime
import io
import json
import textwrap
import time
from unittest import mock

import jwt
import pytest
from aws_lambda_powertools.utilities.parser.models import (
    ApiGatewayAuthorizerRequest,
    ApiGatewayAuthorizerRequestV2,
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
    LambdaFunctionUrlModel,
)
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.asymmetric import rsa
from support import template_text

from infra.errors import TemplateError
from infra.intrinsics import Deployment, Resolver
from infra.template import load_template
from local.app.listing import expected_function_urls, listing
from local.app.reader import build_model
from local.app.token_claims import mint_options
from local.auth.dev_issuer import DevIssuer
from local.auth.jwks import KeySource
from local.errors import LocalError
from local.gateway.client import GatewayClient
from local.gateway.function_url import FunctionUrl, url_id
from local.gateway.gateway import AccessLog, Gateway
from local.http.messages import HttpRequest
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime

CODE = """
import base64, json, time

CALLS = {"simple": 0}

def echo(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json", "x-total": "3"},
            "cookies": ["a=1; Path=/", "b=2"], "body": json.dumps(event)}

def shapes(event, context):
    kind = event["pathParameters"]["kind"]
    if kind == "dict":
        return {"message": "hi"}
    if kind == "string":
        return "plain words"
    if kind == "binary":
        return {"statusCode": 201, "headers": {"content-type": "image/png"}, "isBase64Encoded": True,
                "body": base64.b64encode(bytes(range(4))).decode()}
    if kind == "bad-status":
        return {"statusCode": "teapot"}
    return {"statusCode": 204}

def broken(event, context):
    raise RuntimeError("boom")

def slow(event, context):
    time.sleep(2)
    return "done"

def simple_auth(event, context):
    CALLS["simple"] += 1
    if event["identitySource"] == ["crash"]:
        raise RuntimeError("authorizer bug")
    return {"isAuthorized": event["identitySource"] == ["good"],
            "context": {"calls": CALLS["simple"], "route": event["routeKey"], "event": json.dumps(event)}}

def policy_auth(event, context):
    tenant = event["queryStringParameters"]["tenant"]
    effect = "Allow" if tenant == "acme" else "Deny"
    return {"principalId": "tenant-" + tenant, "context": {"tenant": tenant, "event": json.dumps(event)},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": effect, "Action": "execute-api:Invoke", "Resource": event["methodArn"]}]}}
"""

NOW = 1_700_000_000.0
ISSUER = "https://issuer.example"


@pytest.fixture
def issuer(tmp_path):
    return DevIssuer(tmp_path / "issuer")


@pytest.fixture
def served(tmp_path):
    """The template's model and a runtime over it (stopped afterwards)."""
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text(CODE)
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(template_text("http-api")))
    template = load_template(path)
    model = build_model(path, template, Resolver(template, Deployment(), path), {})
    runtime = Runtime(model, "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()))
    yield model, runtime
    runtime.stop()


@pytest.fixture
def client(served, issuer):
    model, runtime = served
    gateway = Gateway(model, runtime, "123456789012", clock=lambda: 1000.0, wall_clock=lambda: NOW,
                      access_log=AccessLog(io.StringIO()), keys=KeySource(trusted=issuer))
    return GatewayClient(gateway)


def token(dev_issuer, **overrides):
    options = {"issuer": ISSUER, "subject": "alice", "audience": "recipes-app", "now": NOW - 10}
    return "Bearer " + dev_issuer.mint(**{**options, **overrides})


def test_the_event_is_payload_format_2_0(client, issuer):
    response = client.get("/items/a%20b?x=1&x=2&y=", headers=[
        ("Authorization", token(issuer, claims={"groups": ["cooks", "admins"]})), ("X-Tag", "a"), ("X-Tag", "b"),
        ("Cookie", "c1=v1; c2=v2")])
    assert response.status == 200, response.body
    event = response.json()
    APIGatewayProxyEventV2Model.model_validate(event)
    assert (event["version"], event["routeKey"]) == ("2.0", "GET /items/{id}")
    assert event["rawPath"] == "/dev/items/a%20b"  # a named stage stays in rawPath, as on AWS
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["headers"]["x-tag"] == "a,b" and "cookie" not in event["headers"]
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["pathParameters"] == {"id": "a b"} and event["stageVariables"] == {"color": "blue"}
    assert event["isBase64Encoded"] is False and "body" not in event
    context = event["requestContext"]
    assert (context["stage"], context["routeKey"], context["apiId"]) == ("dev", "GET /items/{id}", "http")
    assert context["http"] == {"method": "GET", "path": "/dev/items/a%20b", "protocol": "HTTP/1.1",
                               "sourceIp": "127.0.0.1", "userAgent": ""}
    assert context["timeEpoch"] == NOW * 1000 and context["requestId"] == response.headers["x-amzn-requestid"]
    claims = context["authorizer"]["jwt"]["claims"]
    assert (claims["sub"], claims["iss"], claims["groups"]) == ("alice", ISSUER, "[cooks admins]")
    assert claims["exp"] == str(int(NOW - 10 + 3600)) and context["authorizer"]["jwt"]["scopes"] is None


def test_response_format_2_0(client):
    response = client.get("/shape/dict")
    assert (response.status, response.headers["content-type"], response.json()) == (200, "application/json",
                                                                                    {"message": "hi"})
    response = client.get("/shape/string")
    assert (response.status, response.body) == (200, b"plain words")
    response = client.get("/shape/binary")
    assert (response.status, response.body, response.headers["content-type"]) == (201, bytes(range(4)), "image/png")
    assert client.get("/shape/empty").status == 204
    response = client.get("/shape/bad-status")
    assert (response.status, response.json()) == (500, {"message": "Internal Server Error"})


def test_cookies_become_set_cookie_headers(client):
    response = client.get("/open/x")
    assert [v for k, v in response.header_list if k == "Set-Cookie"] == ["a=1; Path=/", "b=2"]


def test_a_binary_body_arrives_base64_and_text_as_text(client):
    event = client.post("/open/up", headers={"Content-Type": "application/octet-stream"}, body=b"\xff\x00").json()
    assert (event["body"], event["isBase64Encoded"]) == (base64.b64encode(b"\xff\x00").decode(), True)
    event = client.post("/open/up", json_body={"a": 1}).json()
    assert (json.loads(event["body"]), event["isBase64Encoded"]) == ({"a": 1}, False)


def test_the_default_route_takes_payload_1_0_and_a_rest_api_serves_beside(client):
    event = client.delete("/anything/else?q=1").json()
    APIGatewayProxyEventModel.model_validate(event)
    assert (event["version"], event["resource"], event["httpMethod"]) == ("1.0", "$default", "DELETE")
    assert (event["path"], event["requestContext"]["path"]) == ("/anything/else", "/anything/else")
    rest = client.get("/rest").json()
    APIGatewayProxyEventModel.model_validate(rest)
    assert (rest["resource"], rest["requestContext"]["stage"]) == ("/rest", "Prod")


def test_an_http_apis_own_answers(client):
    assert (client.get("/broken").status, client.get("/broken").json()) == (500, {"message": "Internal Server Error"})
    began = time.monotonic()
    response = client.get("/slow")
    assert (response.status, response.json()) == (503, {"message": "Service Unavailable"})
    assert time.monotonic() - began < 1.5


def test_route_settings_throttle_one_route(client):
    statuses = [client.get("/limited").status for _ in range(4)]
    assert statuses[:2] == [200, 200] and statuses[2:] == [429, 429]
    assert client.get("/limited").json() == {"message": "Too Many Requests"}
    assert client.get("/open/still-fine").status == 200  # the default route settings give each route its own


class TestCors:
    def test_the_api_answers_preflights_itself(self, client):
        response = client.options("/items/1", headers={"Origin": "https://app.example",
                                                       "Access-Control-Request-Method": "GET"})
        assert response.status == 204
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        assert response.headers["access-control-allow-methods"] == "GET,POST"
        assert response.headers["access-control-allow-headers"] == "authorization,content-type"
        assert response.headers["access-control-max-age"] == "600"
        assert response.headers["access-control-allow-credentials"] == "true"

    def test_answers_carry_the_headers_for_an_allowed_origin_only(self, client):
        allowed = client.get("/open/x", headers={"Origin": "https://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert allowed.headers["access-control-expose-headers"] == "x-total"
        other = client.get("/open/x", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        denied = client.get("/items/1", headers={"Origin": "https://app.example"})
        assert denied.status == 401 and denied.headers["access-control-allow-origin"] == "https://app.example"


class TestJwtAuthorizer:
    def test_valid_token_passes_with_its_claims(self, client, issuer):
        assert client.get("/items/1", headers={"Authorization": token(issuer)}).status == 200

    def test_no_token_is_401(self, client):
        response = client.get("/items/1")
        assert (response.status, response.json()) == (401, {"message": "Unauthorized"})

    @pytest.mark.parametrize("overrides", [
        {"ttl_s": 5, "now": NOW - 10},  # expired
        {"audience": "someone-else"},  # wrong audience
        {"issuer": "https://other.example"},  # wrong issuer
    ], ids=["expired", "wrong-audience", "wrong-issuer"])
    def test_a_bad_token_is_401(self, client, issuer, overrides):
        response = client.get("/items/1", headers={"Authorization": token(issuer, **overrides)})
        assert (response.status, response.json()) == (401, {"message": "Unauthorized"})
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')

    def test_a_token_signed_by_another_key_is_401(self, client, issuer):
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode({"iss": ISSUER, "sub": "mallory", "aud": "recipes-app", "exp": NOW + 600}, other,
                            algorithm="RS256", headers={"kid": issuer.kid})
        assert client.get("/items/1", headers={"Authorization": f"Bearer {forged}"}).status == 401

    def test_alg_none_is_401(self, client, issuer):
        encode = lambda part: base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()  # noqa: E731
        unsigned = f"{encode({'alg': 'none', 'kid': issuer.kid})}.{encode({'iss': ISSUER, 'aud': 'recipes-app', 'exp': NOW + 600})}."
        assert client.get("/items/1", headers={"Authorization": unsigned}).status == 401

    def test_a_missing_scope_is_403_and_one_of_them_suffices(self, client, issuer):
        response = client.get("/admin", headers={"Authorization": token(issuer, scopes=["recipes.read"])})
        assert (response.status, response.json()) == (403, {"message": "Forbidden"})
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
        response = client.get("/admin", headers={"Authorization": token(issuer, scopes=["admin.all", "x"])})
        assert response.status == 200
        assert response.json()["requestContext"]["authorizer"]["jwt"]["scopes"] == ["admin.all", "x"]


class TestCognitoAuthorizer:
    """A REST API's user pool authorizer: every failure a 401; an ID token without scopes, an
    access token with them."""
    POOL = "https://cognito-idp.us-east-1.amazonaws.com/local-Pool"

    def mint(self, issuer, **claims):
        return issuer.mint(issuer=self.POOL, subject="bob", now=NOW - 10, **claims)

    def test_an_id_token_passes_with_its_claims_as_text(self, client, issuer):
        response = client.get("/members", headers={"Authorization": self.mint(issuer, token_use="id",
                                                                              audience="app-client")})
        assert response.status == 200, response.body
        event = response.json()
        APIGatewayProxyEventModel.model_validate(event)
        claims = event["requestContext"]["authorizer"]["claims"]
        assert (claims["sub"], claims["token_use"], claims["iat"]) == ("bob", "id", str(int(NOW - 10)))

    def test_refusals_are_401(self, client, issuer):
        assert client.get("/members").json() == {"message": "Unauthorized"}
        other_pool = issuer.mint(issuer=self.POOL + "x", subject="bob", now=NOW - 10, token_use="id")
        assert client.get("/members", headers={"Authorization": other_pool}).status == 401
        access = self.mint(issuer, token_use="access", client_id="app-client")
        assert client.get("/members", headers={"Authorization": access}).status == 401  # wants an ID token

    def test_scoped_routes_want_an_access_token_with_the_scope(self, client, issuer):
        editor = self.mint(issuer, token_use="access", client_id="c", scopes=["members/edit"])
        assert client.get("/members/edit", headers={"Authorization": editor}).status == 200
        reader = self.mint(issuer, token_use="access", client_id="c", scopes=["members/read"])
        assert client.get("/members/edit", headers={"Authorization": reader}).status == 401
        assert client.get("/members/edit", headers={"Authorization": self.mint(issuer, token_use="id")}).status == 401


class TestLambdaAuthorizer:
    def test_simple_responses_with_context_and_cache(self, client):
        event = client.get("/simple", headers={"x-key": "good"}).json()
        context = event["requestContext"]["authorizer"]["lambda"]
        assert (context["calls"], context["route"]) == (1, "GET /simple")
        request = ApiGatewayAuthorizerRequestV2.model_validate(json.loads(context["event"]))
        assert (request.type, request.identitySource, request.routeArn) == (
            "REQUEST", ["good"], "arn:aws:execute-api:us-east-1:123456789012:http/dev/GET/simple")
        again = client.get("/simple", headers={"x-key": "good"}).json()
        assert again["requestContext"]["authorizer"]["lambda"]["calls"] == 1  # cached for ReauthorizeEvery
        response = client.get("/simple", headers={"x-key": "bad"})
        assert (response.status, response.json()) == (403, {"message": "Forbidden"})

    def test_a_missing_identity_source_is_401_and_a_failing_authorizer_500(self, client):
        assert client.get("/simple").status == 401
        response = client.get("/simple", headers={"x-key": "crash"})
        assert (response.status, response.json()) == (500, {"message": "Internal Server Error"})

    def test_a_payload_1_0_authorizer_with_a_policy(self, client):
        event = client.get("/policy?tenant=acme").json()
        context = event["requestContext"]["authorizer"]["lambda"]
        assert context["tenant"] == "acme"
        request = ApiGatewayAuthorizerRequest.model_validate(json.loads(context["event"]))
        assert (request.type, request.methodArn) == ("REQUEST", "arn:aws:execute-api:us-east-1:123456789012:"
                                                                "http/dev/GET/policy")
        assert client.get("/policy?tenant=other").status == 403


class TestFunctionUrl:
    def url(self, served, name: str):
        model, runtime = served
        app = FunctionUrl(model.functions[name], runtime, "123456789012", "us-east-1", wall_clock=lambda: NOW)
        return lambda request: runtime.loop.run(app.handle(request))

    def test_the_event_is_the_function_url_event(self, served):
        call = self.url(served, "Echo")
        response = call(HttpRequest("POST", "/any/path?q=1", [("Host", "127.0.0.1:3100"),
                                                               ("Content-Type", "application/json")], b'{"a":1}'))
        assert response.status == 200
        event = json.loads(response.body)
        LambdaFunctionUrlModel.model_validate(event)
        assert (event["rawPath"], event["routeKey"], event["rawQueryString"]) == ("/any/path", "$default", "q=1")
        context = event["requestContext"]
        assert (context["domainName"], context["stage"], context["http"]["method"]) == ("127.0.0.1:3100",
                                                                                       "$default", "POST")
        assert context["apiId"] == url_id(served[0].functions["Echo"]) and "authorizer" not in context
        assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1; Path=/", "b=2"]

    def test_its_cors_answers_preflights(self, served):
        call = self.url(served, "Echo")
        response = call(HttpRequest("OPTIONS", "/", [("Origin", "https://x.example"),
                                                     ("Access-Control-Request-Method", "GET")], b""))
        assert (response.status, dict(response.headers)["Access-Control-Allow-Origin"]) == (204, "*")

    def test_aws_iam_checks_the_signature(self, served):
        call = self.url(served, "Private")
        unsigned = call(HttpRequest("GET", "/", [("Host", "127.0.0.1:3101")], b""))
        assert (unsigned.status, json.loads(unsigned.body)) == (403, {"Message": "Forbidden"})

        def signed(secret: str):
            request = AWSRequest(method="GET", url="http://127.0.0.1:3101/who?x=1", data=b"")
            at = datetime.datetime.fromtimestamp(NOW, datetime.timezone.utc).replace(tzinfo=None)
            with mock.patch("botocore.auth.get_current_datetime", return_value=at):
                SigV4Auth(Credentials("test", secret), "lambda", "us-east-1").add_auth(request)
            return call(HttpRequest("GET", "/who?x=1", [("Host", "127.0.0.1:3101"), *request.headers.items()], b""))

        assert signed("wrong").status == 403
        response = signed("test")
        assert response.status == 200, response.body
        event = json.loads(response.body)
        LambdaFunctionUrlModel.model_validate(event)
        iam = event["requestContext"]["authorizer"]["iam"]
        assert (iam["accessKey"], iam["accountId"], iam["userArn"]) == ("test", "123456789012",
                                                                        "arn:aws:iam::123456789012:root")


def test_tokens_are_minted_for_the_named_authorizer(served):
    model, _ = served
    with pytest.raises(LocalError, match="name the authorizer with --authorizer.*Http/Jwt, Members/Users"):
        mint_options(model, None, [], None)
    with pytest.raises(LocalError, match="no JWT or Cognito authorizer 'Simple'"):
        mint_options(model, "Simple", [], None)  # a Lambda authorizer: no token of ours would do
    assert mint_options(model, "Jwt", [], None) == {"issuer": ISSUER, "audience": "recipes-app"}
    pool = {"issuer": TestCognitoAuthorizer.POOL}
    assert mint_options(model, "Users", [], None) == {**pool, "token_use": "id", "audience": "local-client"}
    assert mint_options(model, "Members/Users", ["x"], "web") == {**pool, "token_use": "access", "client_id": "web"}


def test_the_listing_names_every_api_route_and_url(served):
    model, _ = served
    listed = listing(model, "http://127.0.0.1:3000", expected_function_urls(model, 3000))
    assert {(api["id"], api["type"], api["stage"]) for api in listed["apis"]} == {
        ("Http", "HTTP", "dev"), ("ServerlessHttpApi", "HTTP", "$default"), ("ServerlessRestApi", "REST", "Prod"),
        ("Members", "REST", "Prod")}
    echo = next(f for f in listed["functions"] if f["logical_id"] == "Echo")
    assert (echo["url"], echo["url_auth_type"]) == ("http://127.0.0.1:3100/", "NONE")
    assert {"api": "Http", "api_id": "http", "api_type": "HTTP", "method": "GET", "path": "/admin",
            "route_key": "GET /admin", "payload_version": "2.0", "authorizer": "Jwt"} in echo["routes"]
    private = next(f for f in listed["functions"] if f["logical_id"] == "Private")
    assert (private["url"], private["url_auth_type"]) == ("http://127.0.0.1:3101/", "AWS_IAM")


def test_a_function_url_auth_type_lambda_refuses_is_a_template_error(tmp_path):
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text(CODE)
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent("""
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: fn, Handler: app.echo, Runtime: python3.11, FunctionUrlConfig: {AuthType: OPEN}}
    """))
    template = load_template(path)
    with pytest.raises(TemplateError, match="FunctionUrlConfig.AuthType 'OPEN' is not NONE or AWS_IAM"):
        build_model(path, template, Resolver(template, Deployment(), path), {})
