"""template.yaml stays deployable (cfn-lint, SAM's own transform) and is read correctly."""

from pathlib import Path

import pytest
from cfnlint.api import lint_file
from samtranslator.translator.transform import transform
from support import PROJECT_ROOT

from infra.errors import TemplateError
from infra.intrinsics import Deployment, Resolver
from infra.template import load_template

TEMPLATE = PROJECT_ROOT / "template.yaml"


def test_cfn_lint_passes():
    assert [str(match) for match in lint_file(TEMPLATE)] == []


def test_cfn_lint_would_catch_a_broken_template(tmp_path):
    broken = tmp_path / "template.yaml"
    broken.write_text(TEMPLATE.read_text().replace("Type: AWS::SNS::Topic", "Type: AWS::SNS::Topik"))
    assert lint_file(broken)


def _transformed(monkeypatch) -> dict:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    template = load_template(TEMPLATE)
    # As `sam package` does: local code folders become S3 locations before the transform.
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://artifacts/{props[key]}"

    class NoManagedPolicies:
        def load(self):
            return {}

    return transform(template, {}, NoManagedPolicies())


def test_sam_translator_transforms_it(monkeypatch):
    output = _transformed(monkeypatch)
    kinds = {resource["Type"] for resource in output["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::Lambda::LayerVersion", "AWS::ApiGateway::RestApi",
            "AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::SSM::Parameter", "AWS::S3::Bucket"} <= kinds


def test_each_function_role_grants_only_the_calls_its_code_makes(monkeypatch):
    """The deployed roles: only the five actions the code calls, each on its own resource and
    never on "*"; functions that call nothing get no statement at all."""
    resources = _transformed(monkeypatch)["Resources"]
    granted = {}
    for name, resource in resources.items():
        if resource["Type"] == "AWS::IAM::Role" and name.endswith("FunctionRole"):
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    assert statement["Resource"] != "*", (name, actions)
                    granted.setdefault(name.removesuffix("Role"), set()).update(actions)
    assert set().union(*granted.values()) == {"ssm:GetParametersByPath", "sns:Publish", "s3:GetObject", "s3:PutObject",
                                              "s3:DeleteObject"}
    assert granted["RecipeImageCheckFunction"] == {"s3:GetObject", "s3:DeleteObject", "sns:Publish"}
    assert granted["RecipeImageUploadFunction"] == {"ssm:GetParametersByPath", "s3:PutObject"}
    assert granted["OutboxRelayFunction"] == {"sns:Publish"}
    assert not {"HealthFunction", "OpenApiFunction", "AuditFunction", "CacheInvalidationFunction"} & set(granted)


def test_the_functions_join_a_vpc_only_when_subnets_are_given():
    template = load_template(TEMPLATE)
    assert template["Conditions"]["InVpc"] == {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "VpcSubnetIds"}]}, ""]}]}
    assert template["Globals"]["Function"]["VpcConfig"]["Fn::If"][0] == "InVpc"
    assert template["Globals"]["Function"]["VpcConfig"]["Fn::If"][2] == {"Ref": "AWS::NoValue"}


def test_template_declares_the_foundation():
    template = load_template(TEMPLATE)
    kinds = [r["Type"] for r in template["Resources"].values()]
    assert kinds.count("AWS::SQS::Queue") >= 4  # consumer queues and their DLQs
    queues = {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}
    for name, queue in queues.items():
        if not name.endswith("DLQ"):
            assert "RedrivePolicy" in queue["Properties"], name
    secret = template["Metadata"]["Local"]["SecureParameters"][0]["Name"]
    assert secret == {"Fn::Sub": "/recipes/${Stage}/secrets/token-signing-key"}  # where valet.py reads it
    pyproject_version = next(line.split('"')[1] for line in (PROJECT_ROOT / "pyproject.toml").read_text().splitlines()
                             if line.startswith("version"))
    assert template["Globals"]["Function"]["Environment"]["Variables"]["APP_VERSION"] == pyproject_version


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return path


def test_bad_yaml_names_file_and_line(tmp_path):
    path = write(tmp_path, "Resources:\n  A: {Type: x\n")
    with pytest.raises(TemplateError) as error:
        load_template(path)
    assert str(error.value).startswith(f"{path}: invalid YAML:")
    assert "line 3" in str(error.value)


def test_missing_code_folder_names_the_resource(tmp_path):
    path = write(tmp_path, "Resources:\n  ListFunction:\n    Type: AWS::Serverless::Function\n"
                           "    Properties:\n      CodeUri: functions/nope\n      Handler: app.handler\n")
    with pytest.raises(TemplateError) as error:
        load_template(path)
    assert str(error.value) == f"{path}: resource ListFunction: CodeUri functions/nope does not exist"


@pytest.mark.parametrize("text, problem", [
    ("- just\n- a list\n", "the document is not a mapping"),
    ("Parameters: {}\n", "no Resources section"),
    ("Resources:\n  Thing: {Properties: {}}\n", "resource Thing: has no Type"),
])
def test_shape_errors(tmp_path, text, problem):
    with pytest.raises(TemplateError, match=problem):
        load_template(write(tmp_path, text))


def test_missing_template_file(tmp_path):
    with pytest.raises(TemplateError, match="file not found"):
        load_template(tmp_path / "absent.yaml")


def resolver(**overrides) -> Resolver:
    deployment = Deployment(region="eu-west-1", account_id="000000000000", stack_name="st",
                            endpoint_url="http://127.0.0.1:4566", parameter_overrides=overrides)
    return Resolver(load_template(TEMPLATE), deployment, TEMPLATE)


def test_intrinsics_resolve_to_local_names_arns_and_urls():
    r = resolver()
    assert r.resolve({"Ref": "EventsTopic"}) == "arn:aws:sns:eu-west-1:000000000000:recipes-local-events"
    assert r.resolve({"Ref": "AuditQueue"}) == "http://127.0.0.1:4566/000000000000/recipes-local-audit"
    assert r.resolve({"Fn::GetAtt": ["AuditDLQ", "Arn"]}) == "arn:aws:sqs:eu-west-1:000000000000:recipes-local-audit-dlq"
    assert r.resolve({"Fn::GetAtt": "AuditQueue.QueueName"}) == "recipes-local-audit"
    assert r.resolve({"Ref": "UploadsBucket"}) == "recipes-local-uploads-000000000000"
    assert r.resolve({"Fn::Sub": "${AWS::Region}/${Stage}/${AuditQueue.Arn}/${!Literal}"}) == \
        "eu-west-1/local/arn:aws:sqs:eu-west-1:000000000000:recipes-local-audit/${Literal}"
    assert r.resolve({"Fn::Sub": ["${A}-${Stage}", {"A": {"Ref": "AWS::StackName"}}]}) == "st-local"
    assert r.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}) == "a-local"
    assert r.resolve({"Ref": "HealthFunction"}) == "HealthFunction"  # as the local runtime knows it
    assert r.resolve({"Fn::GetAtt": "HealthFunction.Arn"}) == "arn:aws:lambda:eu-west-1:000000000000:function:HealthFunction"


def test_parameter_overrides_are_checked():
    assert resolver(Stage="dev").resolve({"Ref": "EventsTopic"}).endswith(":recipes-dev-events")
    with pytest.raises(TemplateError, match="does not match"):
        resolver(Stage="Not Valid!")
    with pytest.raises(TemplateError, match="undeclared parameter"):
        resolver(Nope="1")


def test_a_reference_to_nothing_names_the_referrer():
    with pytest.raises(TemplateError, match="resource Fn: refers to Missing"):
        resolver().resolve({"Ref": "Missing"}, resource="Fn")
