"""Routes and authorizers from OpenAPI definitions: DefinitionBody inline or through
AWS::Include, DefinitionUri, and what is warned about instead of served."""

import textwrap
from pathlib import Path

import pytest
from support import PROJECT_ROOT

from infra.errors import TemplateError
from infra.intrinsics import Deployment, Resolver
from infra.template import load_template
from local.app.reader import build_model

TEMPLATES = PROJECT_ROOT / "tests" / "templates"


def model_from(path: Path):
    template = load_template(path)
    return build_model(path, template, Resolver(template, Deployment(), path), {})


def routes(model, function: str) -> list[tuple]:
    return [(e.api, e.method, e.path, (e.auth or {}).get("Authorizer")) for e in model.functions[function].api_events]


def test_routes_and_authorizers_come_from_included_and_inline_definitions():
    model = model_from(TEMPLATES / "openapi-definitions" / "template.yaml")
    assert routes(model, "PetsFunction") == [
        ("PetsApi", "GET", "/pets", "NONE"),
        ("PetsApi", "ANY", "/pets/{proxy+}", "KeyCheck"),  # an alias in the uri names the same function
        ("LegacyApi", "GET", "/legacy/{id}", None),
    ]
    check = model.apis["PetsApi"].authorizers["KeyCheck"]
    assert (check.function, check.payload_type, check.header, check.ttl_s) == ("KeyCheckFunction", "TOKEN",
                                                                               "X-Pet-Key", 0)
    assert model.warnings == ["PetsApi: DefinitionBody: GET /status: a mock integration is not run here "
                              "(aws_proxy only); not served"]


def write(folder: Path, template: str, **files: str) -> Path:
    (folder / "src").mkdir(exist_ok=True)
    (folder / "src" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    path = folder / "template.yaml"
    path.write_text(textwrap.dedent(template))
    return path


TEMPLATE = """
    Transform: AWS::Serverless-2016-10-31
    Resources:
      Api:
        Type: AWS::Serverless::Api
        Properties:
          StageName: prod
          {definition}
          Auth:
            DefaultAuthorizer: Gate
            Authorizers:
              Gate: {{FunctionArn: !GetAtt Fn.Arn}}
      Fn:
        Type: AWS::Serverless::Function
        Properties: {{CodeUri: src, Handler: app.handler, Runtime: python3.11, FunctionName: items-fn}}
"""

# DefinitionUri's file is uploaded unchanged, so its uri holds a literal ARN: the function's name in it is enough.
SWAGGER = """
    swagger: "2.0"
    info: {title: t, version: "1"}
    x-amazon-apigateway-binary-media-types: [image~1png]
    paths:
      /items:
        post:
          x-amazon-apigateway-integration:
            type: aws_proxy
            httpMethod: POST
            timeoutInMillis: 5000
            uri: arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:items-fn/invocations
        put:
          x-amazon-apigateway-integration: {type: http_proxy, uri: "https://example.com", httpMethod: PUT}
        delete:
          responses: {}
"""


def test_a_definition_uri_file_with_sams_default_authorizer(tmp_path):
    model = model_from(write(tmp_path, TEMPLATE.format(definition="DefinitionUri: api.yaml"), **{"api.yaml": SWAGGER}))
    [event] = model.functions["Fn"].api_events
    assert (event.method, event.path, event.auth, event.timeout_ms) == ("POST", "/items", None, 5000)
    assert model.apis["Api"].default_authorizer == "Gate"  # what a route without security gets, as SAM adds it
    assert model.apis["Api"].binary_media_types == ["image/png"]
    assert model.warnings == [
        "Api: DefinitionUri: PUT /items: a http_proxy integration is not run here (aws_proxy only); not served",
        "Api: DefinitionUri: DELETE /items: has no x-amazon-apigateway-integration (API Gateway refuses it); "
        "not served"]


@pytest.mark.parametrize("definition, message", [
    ("DefinitionUri: missing.yaml", "DefinitionUri missing.yaml: No such file or directory"),
    ("DefinitionBody: {info: {title: t}}", "DefinitionBody has no paths"),
    ("DefinitionBody: {paths: {/items: [get]}}", "DefinitionBody: paths./items is not a mapping of operations"),
])
def test_a_broken_definition_is_a_template_error(tmp_path, definition, message):
    with pytest.raises(TemplateError, match=message):
        model_from(write(tmp_path, TEMPLATE.format(definition=definition)))


def test_a_definition_in_s3_is_warned_about(tmp_path):
    model = model_from(write(tmp_path, TEMPLATE.format(definition="DefinitionUri: s3://bucket/api.yaml")))
    assert model.warnings == ["Api: DefinitionUri: 's3://bucket/api.yaml' is not a local file; its routes are "
                              "not served"]
