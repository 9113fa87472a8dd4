"""The API Gateway emulation, driven through its test client (and over a socket where the
socket is the point): routing, events, responses, authorizers, throttling, CORS, limits."""

import base64
import io
import socket
import textwrap
import threading
import time

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel
from support import template_text
from support.ports import free_port

from infra.intrinsics import Deployment, Resolver
from infra.template import load_template
from local.app.reader import build_model
from local.gateway.client import GatewayClient
from local.gateway.gateway import AccessLog, Gateway
from local.http.server import HttpServer
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime

CODE = """
import base64, json, time

CALLS = {"token": 0, "request": 0}

def echo(event, context):
    if event["path"] == "/image":
        body = base64.b64decode(event["body"])
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "isBase64Encoded": True,
                "body": base64.b64encode(body[::-1]).decode()}
    if event["path"] == "/files/b64":
        return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "isBase64Encoded": True,
                "body": base64.b64encode(b"hello").decode()}
    if event["queryStringParameters"] and "malformed" in event["queryStringParameters"]:
        return {"body": "no status code"}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": json.dumps(event)}

def broken(event, context):
    raise RuntimeError("boom")

def slow(event, context):
    time.sleep(float((event["queryStringParameters"] or {}).get("s", "2")))
    return {"statusCode": 200, "body": "done"}

def policy(effect, resource, principal="user-1", context=None):
    return {"principalId": principal, "context": context or {},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": effect, "Action": "execute-api:Invoke", "Resource": resource}]}}

def token_auth(event, context):
    CALLS["token"] += 1
    token = event["authorizationToken"].split(" ", 1)[1]
    api_arn = event["methodArn"].split("/", 1)[0]
    if token == "fail":
        raise Exception("Unauthorized")
    if token == "crash":
        raise RuntimeError("authorizer bug")
    if token == "garbage":
        return {"nothing": "useful"}
    if token == "deny":
        return policy("Deny", api_arn + "/*")
    if token == "public-only":
        return policy("Allow", api_arn + "/*/GET/items/special")
    return policy("Allow", api_arn + "/test/GET/items/*", context={"calls": CALLS["token"], "admin": True, "n": 2})

def request_auth(event, context):
    CALLS["request"] += 1
    allowed = event["headers"].get("X-Api-Key") == "good"
    return policy("Allow" if allowed else "Deny", event["methodArn"], principal="tenant-" +
                  event["queryStringParameters"]["tenant"], context={"calls": CALLS["request"]})
"""


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def gateway_over(folder, text: str, **options) -> Gateway:
    """A Gateway over a template written to `folder`, its functions from CODE (stop its runtime)."""
    (folder / "fn").mkdir()
    (folder / "fn" / "app.py").write_text(CODE)
    path = folder / "template.yaml"
    path.write_text(textwrap.dedent(text))
    template = load_template(path)
    model = build_model(path, template, Resolver(template, Deployment(), path), {})
    runtime = Runtime(model, "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()))
    return Gateway(model, runtime, "123456789012", **options)


@pytest.fixture
def setup(tmp_path):
    clock, log = FakeClock(), io.StringIO()
    gateway = gateway_over(tmp_path, template_text("gateway-routes"), clock=clock, wall_clock=lambda: 1_700_000_000.0,
                           access_log=AccessLog(log))
    yield GatewayClient(gateway), clock, log
    gateway.runtime.stop()


@pytest.fixture
def client(setup):
    return setup[0]


ALLOW = {"Authorization": "Bearer good"}


def test_the_event_is_api_gateways_rest_proxy_event(client):
    response = client.get("/items/a%20b?x=1&x=2&y=", headers=[*ALLOW.items(), ("X-Tag", "a"), ("X-Tag", "b")])
    assert response.status == 200
    event = response.json()
    APIGatewayProxyEventModel.model_validate(event)  # an independent model of the event
    assert event["resource"] == "/items/{id}" and event["pathParameters"] == {"id": "a b"}
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["multiValueHeaders"]["X-Tag"] == ["a", "b"] and event["headers"]["X-Tag"] == "b"
    context = event["requestContext"]
    assert (context["stage"], context["resourcePath"], context["httpMethod"]) == ("test", "/items/{id}", "GET")
    assert context["path"] == "/test/items/a%20b" and context["requestTimeEpoch"] == 1_700_000_000_000
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"] == response.headers["x-amzn-requestid"]
    assert context["authorizer"] == {"principalId": "user-1", "calls": "1", "admin": "true", "n": "2",
                                     "integrationLatency": 0}
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert [v for k, v in response.header_list if k == "Set-Cookie"] == ["a=1", "b=2"]


def test_absent_query_and_path_parameters_are_null(client):
    event = client.get("/items/special").json()
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None and event["requestContext"]["authorizer"] is None


def test_most_specific_route_wins_greedy_paths_and_any(client):
    assert client.get("/items/special").json()["resource"] == "/items/special"
    event = client.delete("/files/a/b.txt").json()
    assert (event["httpMethod"], event["pathParameters"]) == ("DELETE", {"proxy": "a/b.txt"})


@pytest.mark.parametrize("method, target", [("GET", "/nothing"), ("POST", "/items/1"), ("GET", "/")])
def test_unknown_routes_and_methods_answer_as_api_gateway_does(client, method, target):
    response = client.request(method, target, headers=ALLOW)
    assert (response.status, response.json()) == (403, {"message": "Missing Authentication Token"})


def test_function_errors_and_malformed_responses_are_502(client):
    assert (client.get("/broken").status, client.get("/broken").json()) == (502, {"message": "Internal server error"})
    assert client.get("/files/x?malformed=1").status == 502


def test_past_the_integration_timeout_the_gateway_answers_504(client):
    began = time.monotonic()
    response = client.get("/slow?s=2")
    assert (response.status, response.json()) == (504, {"message": "Endpoint request timed out"})
    assert time.monotonic() - began < 1.5


def test_limits_and_malformed_paths_get_gateway_errors(client):
    assert client.post("/image", body=b"x" * (10 * 1024 * 1024 + 1)).status == 413
    assert client.get("/items/special", headers={"X-Big": "v" * 11000}).status == 431
    assert client.get("/items/%zz", headers=ALLOW).status == 400


def test_binary_media_types_are_base64_both_ways(client):
    png = bytes(range(256))
    response = client.post("/image", headers={"Content-Type": "image/png"}, body=png)
    assert response.status == 200 and response.body == png[::-1]


class TestTokenAuthorizer:
    def test_a_missing_or_malformed_token_is_401_without_calling_the_authorizer(self, client):
        for headers in ({}, {"Authorization": "Basic abc"}):
            assert (client.get("/items/1", headers=headers).status) == 401
        assert client.get("/items/1", headers=ALLOW).json()["requestContext"]["authorizer"]["calls"] == "1"

    def test_policy_effects(self, client):
        assert client.get("/items/1", headers={"Authorization": "Bearer deny"}).json() == \
            {"Message": "User is not authorized to access this resource with an explicit deny"}
        response = client.get("/items/1", headers={"Authorization": "Bearer public-only"})
        assert (response.status, response.json()) == (403, {"Message": "User is not authorized to access this resource"})
        assert client.get("/items/1", headers={"Authorization": "Bearer fail"}).status == 401
        for token in ("crash", "garbage"):
            response = client.get("/items/1", headers={"Authorization": f"Bearer {token}"})
            assert (response.status, response.json()) == (500, {"message": None})

    def test_results_are_cached_per_identity_for_the_ttl(self, setup):
        client, clock, _ = setup
        calls = lambda token: client.get("/items/1", headers={"Authorization": f"Bearer {token}"}).json()[  # noqa: E731
            "requestContext"]["authorizer"]["calls"]
        assert calls("good") == "1"
        assert calls("good") == "1"  # cached
        assert calls("other") == "2"  # another identity
        clock.now += 301
        assert calls("good") == "3"  # past ReauthorizeEvery

    def test_a_route_with_authorizer_none_is_open(self, client):
        assert client.get("/items/special").status == 200


def test_request_authorizer_identity_sources_and_no_cache(client):
    assert client.get("/req?tenant=t1").status == 401  # X-Api-Key missing: not called
    assert client.get("/req", headers={"X-Api-Key": "good"}).status == 401  # tenant missing
    first = client.get("/req?tenant=t1", headers={"X-Api-Key": "good"}).json()["requestContext"]["authorizer"]
    second = client.get("/req?tenant=t1", headers={"X-Api-Key": "good"}).json()["requestContext"]["authorizer"]
    assert first["principalId"] == "tenant-t1"
    assert (first["calls"], second["calls"]) == ("1", "2")  # ReauthorizeEvery: 0
    assert client.get("/req?tenant=t1", headers={"X-Api-Key": "bad"}).status == 403


def test_throttling_uses_the_method_setting_and_refills(setup):
    client, clock, log = setup
    assert [client.get("/limited").status for _ in range(3)] == [200, 200, 429]
    assert client.get("/limited").json() == {"message": "Too Many Requests"}
    assert client.get("/items/special").status == 200  # other routes have the stage's bucket
    clock.now += 1
    assert client.get("/limited").status == 200
    throttled = [line for line in log.getvalue().splitlines() if '"GET /limited" 429' in line]
    assert len(throttled) == 2 and all(" Echo " in line for line in throttled)


def test_cors_preflight_and_response_headers(client):
    preflight = client.options("/items/1")
    assert preflight.status == 200 and preflight.body == b""
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert preflight.headers["access-control-allow-methods"] == "GET,OPTIONS"
    assert preflight.headers["access-control-allow-headers"] == "Content-Type,X-Api-Key"
    assert preflight.headers["access-control-max-age"] == "600"
    assert client.get("/items/1", headers=ALLOW).headers["access-control-allow-origin"] == "https://app.example"
    assert client.get("/items/1").headers["access-control-allow-origin"] == "https://app.example"  # on a 401 too
    assert client.options("/nowhere").status == 403


def test_each_request_gets_an_access_log_line(setup):
    client, _, log = setup
    response = client.get("/items/special?q=1")
    line = log.getvalue().splitlines()[-1]
    ip, request, status, latency, function, request_id = line.split(" ", 1)[0], *line.split('"')[1:2], \
        *line.split('"')[2].split()
    assert (ip, request, status, function) == ("127.0.0.1", "GET /items/special?q=1", "200", "Echo")
    assert latency.endswith("ms") and request_id == response.headers["x-amzn-requestid"]


# -- over a real socket -----------------------------------------------------------------------

@pytest.fixture
def server(setup):
    client, _, _ = setup
    http = HttpServer(client.gateway, free_port(), loop=client.gateway.runtime.loop)
    http.start()
    yield http
    http.stop()


def raw_request(server, data: bytes) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=10) as connection:
        connection.sendall(data)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("data, status", [
    (b"GET /items/special HTTP/1.1 extra\r\n\r\n", b"400"),
    (b"BREW /items/special HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"501"),
    (b"GET /items/special HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
    (b"GET /items/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"400"),
])
def test_malformed_http_gets_an_http_error_and_the_server_keeps_serving(server, data, status):
    answer = raw_request(server, data)
    assert answer.split(b" ")[1] == status
    assert b"Traceback" not in answer
    ok = raw_request(server, b"GET /items/special HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200")


def test_a_hanging_function_does_not_hold_up_other_clients(server):
    results = {}

    def slow():
        results["slow"] = raw_request(server, b"GET /slow?s=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.05)
    began = time.monotonic()
    fast = raw_request(server, b"GET /items/special HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert fast.startswith(b"HTTP/1.1 200") and time.monotonic() - began < 1
    thread.join(10)
    assert results["slow"].startswith(b"HTTP/1.1 504")


def test_base64_is_returned_as_text_unless_a_binary_media_type_applies(client):
    assert client.get("/files/b64").body == base64.b64encode(b"hello")
    assert client.get("/files/b64", headers={"Accept": "image/png"}).body == b"hello"




def test_gateway_responses_change_the_gateways_own_answers(tmp_path):
    """An API's GatewayResponses, as API Gateway applies them: the named type first, then
    DEFAULT_4XX or DEFAULT_5XX; a status code, headers (static or from the request) and a
    body template. The gatekeeper's failure becomes a 503 with Retry-After this way."""
    gateway = gateway_over(tmp_path, template_text("gateway-responses"), access_log=AccessLog(io.StringIO()))
    client = GatewayClient(gateway)
    try:
        failed = client.get("/items/1", headers={"Authorization": "Bearer crash"})
        assert (failed.status, failed.headers["retry-after"]) == (503, "1")
        assert failed.json() == {"error": None, "type": "AUTHORIZER_FAILURE", "id": failed.headers["x-amzn-requestid"]}
        unusable = client.get("/items/1", headers={"Authorization": "Bearer garbage"})  # no DEFAULT_5XX: as it was
        assert (unusable.status, unusable.json(), "retry-after" in unusable.headers) == (500, {"message": None}, False)
        for target, headers, status in (("/items/1", {"Authorization": "Bearer fail"}, 401), ("/nowhere", {}, 403)):
            answer = client.get(target, headers={**headers, "X-Trace": "t-1"})
            assert answer.status == status and answer.headers["x-gateway"] == "local"
            assert answer.headers["x-trace"] == "t-1" and "message" in answer.json()
        assert "x-gateway" not in client.get("/items/1", headers={"Authorization": "Bearer good"}).headers
    finally:
        gateway.runtime.stop()
