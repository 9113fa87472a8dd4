"""HTTP APIs from OpenAPI definitions (SAM's DefinitionBody inline and through AWS::Include,
DefinitionUri, an AWS::ApiGatewayV2::Api's Body and BodyS3Location) and from plain
CloudFormation (AWS::ApiGatewayV2::Api, Route, Integration, Authorizer, Stage, quick
create): the model read from tests/templates/http-definitions, one request per kind through
the gateway's test client, and what a malformed definition gives."""

import io
import shutil
import textwrap

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel, APIGatewayProxyEventV2Model
from support import PROJECT_ROOT

from infra.errors import TemplateError
from infra.intrinsics import Deployment, Resolver
from infra.template import load_template
from local.app.reader import build_model
from local.auth.dev_issuer import DevIssuer
from local.auth.jwks import KeySource
from local.gateway.client import GatewayClient
from local.gateway.gateway import AccessLog, Gateway
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime

FOLDER = PROJECT_ROOT / "tests" / "templates" / "http-definitions"
NOW = 1_700_000_000.0
ISSUER = "https://issuer.example"


def model_from(path):
    template = load_template(path)
    return build_model(path, template, Resolver(template, Deployment(), path), {})


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    copy = tmp_path_factory.mktemp("http-definitions") / "app"
    shutil.copytree(FOLDER, copy)  # the workers import from it: keep caches out of the source tree
    return model_from(copy / "template.yaml")


def routes(model) -> list[tuple]:
    return [(f, e.api, e.api_type, e.method, e.path, e.payload_version, e.timeout_ms, e.auth)
            for f, spec in model.functions.items() for e in spec.api_events]


def test_routes_from_definitions_and_cloudformation(model):
    reader = {"Authorizer": "Reader", "AuthorizationScopes": ["books.read"]}  # the document's default security
    assert routes(model) == [
        ("BooksFunction", "BooksApi", "HTTP", "GET", "/books", "2.0", 30000, {"Authorizer": "NONE"}),
        ("BooksFunction", "BooksApi", "HTTP", "GET", "/books/{id}", "1.0", 5000, reader),
        ("BooksFunction", "BooksApi", "HTTP", "POST", "/books/gated", "2.0", 30000,
         {"Authorizer": "Gate", "AuthorizationScopes": []}),
        ("ShopFunction", "ShopApi", "HTTP", "ANY", "/shop/{proxy+}", "2.0", 30000,
         {"Authorizer": "Tenant", "AuthorizationScopes": []}),
        ("ShopFunction", "ShopApi", "HTTP", "GET", "/shop/legacy", "1.0", 30000, None),
        ("ImportedFunction", "ImportedApi", "HTTP", "GET", "/imported", "2.0", 30000, None),
        ("OrdersFunction", "OrdersApi", "HTTP", "GET", "/orders/{id}", "2.0", 10000, {"Authorizer": "NONE"}),
        ("OrdersFunction", "OrdersApi", "HTTP", "POST", "/orders", "2.0", 10000,
         {"Authorizer": "OrdersJwt", "AuthorizationScopes": ["orders.write"]}),
        ("OrdersFunction", "OrdersApi", "HTTP", "GET", "/orders/gated", "2.0", 10000,
         {"Authorizer": "OrdersGate", "AuthorizationScopes": []}),
        ("OrdersFunction", "OrdersApi", "HTTP", "ANY", "/orders/legacy/{proxy+}", "1.0", 30000, {"Authorizer": "NONE"}),
        ("CatchAllFunction", "CatchAllApi", "HTTP", "ANY", "$default", "2.0", 30000, None),
    ]


def test_the_apis_stages_cors_and_throttling(model):
    assert sorted(model.apis) == ["BooksApi", "CatchAllApi", "ImportedApi", "OrdersApi", "ShopApi"]  # not ChatApi
    assert {lid: (api.kind, api.stage, api.variables) for lid, api in model.apis.items()} == {
        "BooksApi": ("HTTP", "v1", {"shelf": "top"}), "ShopApi": ("HTTP", "$default", {}),
        "ImportedApi": ("HTTP", "$default", {}), "OrdersApi": ("HTTP", "live", {"table": "orders-live"}),
        "CatchAllApi": ("HTTP", "$default", {})}
    orders = model.apis["OrdersApi"]
    assert [(s.resource_path, s.http_method, s.rate, s.burst) for s in orders.method_settings] == [
        ("/*", "*", 20, 10), ("/orders", "POST", 1, 3)]
    assert (orders.http_cors.allow_origins, orders.http_cors.allow_methods, orders.http_cors.max_age) == (
        ["*"], ["GET", "POST"], 60)
    books = model.apis["BooksApi"].http_cors  # x-amazon-apigateway-cors
    assert (books.allow_origins, books.allow_methods, books.allow_headers, books.max_age) == (
        ["https://books.example"], ["GET", "POST"], ["authorization"], 300)


def test_the_authorizers_read(model):
    def described(api):
        return {name: (a.payload_type, a.function, a.issuer, a.audiences, a.header, a.headers, a.query_strings,
                       a.payload_version, a.simple_responses, a.ttl_s)
                for name, a in model.apis[api].authorizers.items()}
    assert described("BooksApi") == {  # the body's JWT authorizer, and SAM's Auth beside it
        "Reader": ("JWT", "", ISSUER, ["books-app"], "Authorization", [], [], "1.0", False, 300),
        "Gate": ("REQUEST", "GateFunction", None, [], None, ["x-gate"], [], "2.0", True, 0)}
    assert described("ShopApi") == {
        "Tenant": ("REQUEST", "TenantAuthFunction", None, [], None, [], ["tenant"], "1.0", False, 60)}
    assert described("OrdersApi") == {
        "OrdersJwt": ("JWT", "", ISSUER, ["orders-app"], "Authorization", [], [], "1.0", False, 300),
        "OrdersGate": ("REQUEST", "GateFunction", None, [], None, ["x-gate"], [], "2.0", True, 300)}


def test_what_is_not_served_is_warned_about(model):
    assert model.warnings == [
        "BooksApi: DefinitionBody: GET /books/elsewhere: a http_proxy integration is not run here (Lambda aws_proxy "
        "only); not served",
        "ShopApi: DefinitionBody: GET /shop/legacy: has no payloadFormatVersion, which AWS requires for an HTTP "
        "API's Lambda integration; served as 1.0",
        "ImportedApi: BodyS3Location: GET /imported: timeoutInMillis 45000 is over an HTTP API's 30000; served "
        "with 30000",
        "ChatApi: ProtocolType: WEBSOCKET APIs are not served here (HTTP APIs only)",
        "ElsewhereIntegration: IntegrationType: a HTTP_PROXY integration is not run here (Lambda AWS_PROXY only); "
        "routes to it are not served",
        "LegacyOrders: AuthorizationType: ANY /orders/legacy/{proxy+}: AWS_IAM is not enforced here",
    ]


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    return DevIssuer(tmp_path_factory.mktemp("issuer"))


@pytest.fixture(scope="module")
def client(model, issuer):
    """One runtime for the requests below; the gateway's clock stands still, so no bucket refills."""
    runtime = Runtime(model, "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()))
    gateway = Gateway(model, runtime, "123456789012", clock=lambda: 1000.0, wall_clock=lambda: NOW,
                      access_log=AccessLog(io.StringIO()), keys=KeySource(trusted=issuer))
    yield GatewayClient(gateway)
    runtime.stop()


class TestServed:
    @staticmethod
    def answer(response, function: str, version: str = "2.0") -> dict:
        assert response.status == 200, response.body
        body = response.json()
        assert body["function"] == function
        model = APIGatewayProxyEventV2Model if version == "2.0" else APIGatewayProxyEventModel
        model.model_validate(body["event"])
        return body["event"]

    def token(self, issuer, audience: str, scopes=()) -> str:
        return "Bearer " + issuer.mint(issuer=ISSUER, subject="alice", audience=audience, scopes=list(scopes),
                                       now=NOW - 10)

    def test_a_definition_body_route(self, client):
        event = self.answer(client.get("/books?q=1"), "BooksFunction")
        assert (event["routeKey"], event["rawPath"], event["stageVariables"]) == ("GET /books", "/v1/books",
                                                                                 {"shelf": "top"})

    def test_a_cloudformation_route(self, client):
        event = self.answer(client.get("/orders/42"), "OrdersFunction")
        assert (event["routeKey"], event["pathParameters"], event["requestContext"]["stage"]) == (
            "GET /orders/{id}", {"id": "42"}, "live")

    def test_jwt_routes_want_a_token_and_their_scopes(self, client, issuer):
        assert client.get("/books/7").status == 401
        event = self.answer(client.get("/books/7", headers={"Authorization": self.token(issuer, "books-app",
                                                                                        ["books.read"])}),
                            "BooksFunction", version="1.0")
        assert (event["resource"], event["requestContext"]["authorizer"]["claims"]["sub"]) == ("/books/{id}", "alice")
        assert client.post("/orders").status == 401
        assert client.post("/orders", headers={"Authorization": self.token(issuer, "orders-app")}).status == 403
        allowed = client.post("/orders", headers={"Authorization": self.token(issuer, "orders-app", ["orders.write"])})
        assert self.answer(allowed, "OrdersFunction")["requestContext"]["authorizer"]["jwt"]["scopes"] == [
            "orders.write"]
        assert client.post("/orders").status == 429  # the stage's RouteSettings: a burst of 3

    def test_lambda_authorizers_of_bodies_and_cloudformation(self, client):
        assert client.get("/orders/gated", headers={"x-gate": "shut"}).status == 403
        event = self.answer(client.get("/orders/gated", headers={"x-gate": "open"}), "OrdersFunction")
        assert event["requestContext"]["authorizer"]["lambda"] == {"gate": "checked"}
        assert client.post("/books/gated", headers={"x-gate": "open"}).status == 200
        assert client.get("/shop/cart?tenant=globex").status == 403
        self.answer(client.get("/shop/cart?tenant=acme"), "ShopFunction")

    def test_a_body_in_a_local_file(self, client):
        self.answer(client.get("/imported"), "imported-fn")  # its FunctionName, which the literal ARN names

    def test_a_quick_create_apis_default_route_serves_any_path(self, client):
        event = self.answer(client.delete("/any/where/at/all"), "CatchAllFunction")
        assert (event["routeKey"], event["rawPath"]) == ("$default", "/any/where/at/all")


def write(folder, resources: str, **files: str):
    (folder / "src").mkdir(exist_ok=True)
    (folder / "src" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    path = folder / "template.yaml"
    path.write_text("Transform: AWS::Serverless-2016-10-31\nResources:\n"
                    "  Fn:\n    Type: AWS::Serverless::Function\n"
                    "    Properties: {CodeUri: src, Handler: app.handler, Runtime: python3.11, FunctionName: the-fn}\n"
                    + textwrap.indent(textwrap.dedent(resources), "  "))
    return path


def http_api(body: str) -> str:
    return "Api:\n  Type: AWS::Serverless::HttpApi\n  Properties:\n    DefinitionBody:\n" + textwrap.indent(
        textwrap.dedent(body), "      ")


def cfn_route(target: str, integration_uri: str = "!GetAtt Fn.Arn", route: str = "RouteKey: GET /x") -> str:
    return f"""
    Api:
      Type: AWS::ApiGatewayV2::Api
      Properties: {{Name: a, ProtocolType: HTTP}}
    Integration:
      Type: AWS::ApiGatewayV2::Integration
      Properties:
        ApiId: !Ref Api
        IntegrationType: AWS_PROXY
        IntegrationUri: {integration_uri}
        PayloadFormatVersion: "2.0"
    Route:
      Type: AWS::ApiGatewayV2::Route
      Properties:
        ApiId: !Ref Api
        {route}
        Target: {target}
    """


def test_a_definition_uri_file_and_its_default_route(tmp_path):
    model = model_from(write(tmp_path, """
        Api:
          Type: AWS::Serverless::HttpApi
          Properties: {DefinitionUri: api.yaml}
        """, **{"api.yaml": """
        openapi: "3.0.1"
        paths:
          $default:
            x-amazon-apigateway-any-method:
              x-amazon-apigateway-integration:
                type: aws_proxy
                uri: arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:1:function:the-fn/invocations
                payloadFormatVersion: "2.0"
        """}))
    assert [(e.api, e.method, e.path, e.route_key) for e in model.functions["Fn"].api_events] == [
        ("Api", "ANY", "$default", "$default")]


@pytest.mark.parametrize("body, problem", [
    ("openapi: 3.0.1\npaths: [/a]", "DefinitionBody has no paths"),
    ("openapi: 3.0.1\npaths: {/a: [get]}", "DefinitionBody: paths./a is not a mapping of operations"),
    ("openapi: 3.0.1\nsecurity: {Jwt: []}\npaths:\n  /a:\n    get:\n      x-amazon-apigateway-integration:\n"
     "        {type: aws_proxy, uri: !GetAtt Fn.Arn, payloadFormatVersion: '2.0'}",
     "DefinitionBody: GET /a: security must be a list of requirements"),
    ("openapi: 3.0.1\ncomponents:\n  securitySchemes:\n    Jwt:\n      x-amazon-apigateway-authorizer:\n"
     "        {type: jwt, jwtConfiguration: {audience: [a]}}\npaths: {}",
     "authorizer Jwt: its JWT configuration has no issuer"),
    ("openapi: 3.0.1\ncomponents:\n  securitySchemes:\n    Gate:\n      x-amazon-apigateway-authorizer:\n"
     "        {type: request, authorizerUri: !GetAtt Fn.Arn}\npaths: {}",
     "authorizer Gate: its payload format version"),
])
def test_a_malformed_definition_is_a_template_error(tmp_path, body, problem):
    with pytest.raises(TemplateError, match=problem.replace(".", r"\.").replace("[", r"\[")):
        model_from(write(tmp_path, http_api(body)))


def test_an_integration_naming_no_function_is_warned_about(tmp_path):
    model = model_from(write(tmp_path, http_api("""
        openapi: 3.0.1
        paths:
          /a:
            get:
              x-amazon-apigateway-integration:
                {type: aws_proxy, uri: "arn:aws:lambda:us-east-1:1:function:elsewhere", payloadFormatVersion: "2.0"}
        """)))
    assert model.functions["Fn"].api_events == []
    assert model.warnings == ["Api: DefinitionBody: GET /a: integration uri 'arn:aws:lambda:us-east-1:1:function:"
                              "elsewhere' names no function of this template; not served"]
    model = model_from(write(tmp_path, cfn_route("!Sub integrations/${Integration}",
                                                 '"arn:aws:lambda:us-east-1:1:function:elsewhere"')))
    assert model.functions["Fn"].api_events == []
    assert model.warnings == ["Integration: IntegrationUri: 'arn:aws:lambda:us-east-1:1:function:elsewhere' names no "
                              "function of this template; routes to it are not served"]


def test_a_route_whose_target_names_no_integration(tmp_path):
    model = model_from(write(tmp_path, cfn_route("integrations/abc123")))
    assert model.functions["Fn"].api_events == []
    assert model.warnings == ["Route: Target: GET /x: integrations/abc123 names no AWS::ApiGatewayV2::Integration of "
                              "this template; not served"]
    with pytest.raises(TemplateError, match="Target 'lambda' is not integrations/<IntegrationId>"):
        model_from(write(tmp_path, cfn_route("lambda")))
    model = model_from(write(tmp_path, cfn_route("!Join ['', [integrations/, !Ref Integration]]")))
    assert [(e.method, e.path) for e in model.functions["Fn"].api_events] == [("GET", "/x")]


def test_cloudformation_mistakes_that_are_template_errors(tmp_path):
    with pytest.raises(TemplateError, match="RouteKey 'items' is neither"):
        model_from(write(tmp_path, cfn_route("!Sub integrations/${Integration}", route="RouteKey: items")))
    with pytest.raises(TemplateError, match="AuthorizationType JWT needs an AuthorizerId"):
        model_from(write(tmp_path, cfn_route("!Sub integrations/${Integration}",
                                             route="RouteKey: GET /x\n        AuthorizationType: JWT")))


def test_a_body_in_s3_is_warned_about_and_not_read(tmp_path):
    model = model_from(write(tmp_path, """
        Api:
          Type: AWS::ApiGatewayV2::Api
          Properties: {BodyS3Location: {Bucket: b, Key: api.yaml}}
        """))
    assert "Api" in model.apis and model.functions["Fn"].api_events == []
    assert model.warnings == ["Api: BodyS3Location: {'Bucket': 'b', 'Key': 'api.yaml'} is not a local file; its "
                              "routes are not served"]
