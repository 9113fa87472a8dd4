"""Plain CloudFormation read as SAM is: AWS::Lambda::Function and LayerVersion, and REST APIs
from AWS::ApiGateway::* resources. (tests/templates/cloudformation-rest-api runs one.)"""

import textwrap

import pytest

from infra.errors import TemplateError
from infra.intrinsics import Deployment, Resolver
from infra.template import load_template
from local.app.reader import build_model


def model_of(tmp_path, resources: str):
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    path = tmp_path / "template.yaml"
    path.write_text("Resources:\n" + textwrap.indent(textwrap.dedent(resources), "  "))
    template = load_template(path)
    return build_model(path, template, Resolver(template, Deployment(stack_name="s"), path), {})


FUNCTION = """
Fn:
  Type: AWS::Lambda::Function
  Properties: {Runtime: python3.11, Handler: app.handler, Code: src, Role: !GetAtt Role.Arn}
Role:
  Type: AWS::IAM::Role
  Properties: {AssumeRolePolicyDocument: {}}
Api:
  Type: AWS::ApiGateway::RestApi
  Properties: {Name: a}
"""

METHOD = """
M:
  Type: AWS::ApiGateway::Method
  Properties:
    RestApiId: !Ref Api
    ResourceId: {resource}
    HttpMethod: ANY
    AuthorizationType: {authorization}
    {authorizer}
    Integration: {{Type: AWS_PROXY, Uri: !Sub "arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{Fn.Arn}}/invocations"}}
"""


def test_iam_is_warned_about_and_the_route_still_serves(tmp_path):
    model = model_of(tmp_path, FUNCTION + METHOD.format(resource="!GetAtt Api.RootResourceId",
                                                        authorization="AWS_IAM", authorizer=""))
    assert [(e.method, e.path, e.auth) for e in model.functions["Fn"].api_events] == [("ANY", "/", {"Authorizer": "NONE"})]
    assert model.warnings == ["M: AuthorizationType: ANY /: AWS_IAM is not enforced here"]


def test_a_cognito_authorizer_fails_closed_with_a_warning(tmp_path):
    model = model_of(tmp_path, FUNCTION + METHOD.format(
        resource="!GetAtt Api.RootResourceId", authorization="COGNITO_USER_POOLS", authorizer="AuthorizerId: !Ref Pool") + """
Pool:
  Type: AWS::ApiGateway::Authorizer
  Properties: {RestApiId: !Ref Api, Type: COGNITO_USER_POOLS, ProviderARNs: [arn:aws:cognito-idp:us-east-1:1:userpool/x]}
""")
    assert model.apis["Api"].authorizers["Pool"].payload_type == "UNRUN"
    assert model.functions["Fn"].api_events[0].auth == {"Authorizer": "Pool"}
    assert model.warnings == ["Pool: Type: COGNITO_USER_POOLS authorizer is not run here; the routes it protects "
                              "answer 401"]


def test_a_method_on_a_resource_outside_the_api_is_a_template_error(tmp_path):
    with pytest.raises(TemplateError, match="neither Api's root nor one of its AWS::ApiGateway::Resource"):
        model_of(tmp_path, FUNCTION + METHOD.format(resource="!Ref Role", authorization="NONE", authorizer=""))


@pytest.mark.parametrize("code, warning", [
    ("{S3Bucket: b, S3Key: k.zip}", "Fn: Code: code in S3 is not fetched"),
    ("{ImageUri: 1.dkr.ecr.us-east-1.amazonaws.com/x:1}", "Fn: PackageType: Image functions are not run"),
])
def test_code_lambda_cannot_run_here_is_warned_about(tmp_path, code, warning):
    model = model_of(tmp_path, FUNCTION.replace("Code: src", f"Code: {code}"))
    assert model.functions == {} and model.warnings[0].startswith(warning)


def test_a_layer_version_is_mounted_from_its_python_folder(tmp_path):
    (tmp_path / "layer" / "python").mkdir(parents=True)
    model = model_of(tmp_path, FUNCTION.replace("Role: !GetAtt Role.Arn", "Layers: [!Ref L]") + """
L:
  Type: AWS::Lambda::LayerVersion
  Properties: {Content: layer}
""")
    assert model.functions["Fn"].layer_dirs == [tmp_path / "layer" / "python"]
