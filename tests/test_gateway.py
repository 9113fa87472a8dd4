"""The first cut of the API Gateway emulation: routing, the proxy event, the response."""

import json

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from local.gateway import Gateway
from local.http_server import HttpRequest

ECHO = """
    import json
    from cloudpatterns.http import json_response
    def handler(event, context):
        if event["queryStringParameters"] and "bad" in event["queryStringParameters"]:
            return {"no": "statusCode"}
        return json_response(200, {"event": event, "name": context.function_name})
"""


@pytest.fixture
def gateway(make_function, runtime_of):
    specs = [
        make_function("Item", ECHO, routes=[("/items/{id}", "GET")]),
        make_function("Special", ECHO, routes=[("/items/special", "GET")]),
        make_function("Proxy", ECHO, routes=[("/files/{proxy+}", "ANY")]),
        make_function("Broken", "def handler(e, c):\n    raise RuntimeError('x')\n", routes=[("/broken", "POST")]),
    ]
    runtime = runtime_of(*specs)
    return Gateway(runtime.model, runtime, account_id="123456789012", clock=lambda: 1_700_000_000.0)


def call(gateway, method, target, headers=(("Host", "x"),), body=b""):
    response = gateway.handle(HttpRequest(method, target, list(headers), body))
    return response.status, json.loads(response.body)


def test_the_event_is_api_gateways_rest_proxy_event(gateway):
    status, body = call(gateway, "GET", "/items/42", headers=[("Host", "x"), ("X-Tag", "a"), ("X-Tag", "b")])
    assert status == 200 and body["name"] == "Item"
    event = body["event"]
    APIGatewayProxyEventModel.model_validate(event)  # an independent model of the event
    assert event["resource"] == "/items/{id}" and event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["multiValueHeaders"]["X-Tag"] == ["a", "b"] and event["headers"]["X-Tag"] == "b"
    assert event["requestContext"]["requestTimeEpoch"] == 1_700_000_000_000
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_the_most_specific_route_wins_and_greedy_paths_match(gateway):
    assert call(gateway, "GET", "/items/special")[1]["name"] == "Special"
    status, body = call(gateway, "DELETE", "/files/a/b.txt?x=1&x=2")
    assert status == 200
    assert body["event"]["pathParameters"] == {"proxy": "a/b.txt"}
    assert body["event"]["multiValueQueryStringParameters"] == {"x": ["1", "2"]}


def test_unknown_routes_and_methods_answer_as_api_gateway_does(gateway):
    assert call(gateway, "GET", "/nothing") == (403, {"message": "Missing Authentication Token"})
    assert call(gateway, "POST", "/items/42") == (403, {"message": "Missing Authentication Token"})


def test_function_errors_and_malformed_responses_are_502(gateway):
    assert call(gateway, "POST", "/broken") == (502, {"message": "Internal server error"})
    assert call(gateway, "GET", "/items/1?bad=1") == (502, {"message": "Internal server error"})
