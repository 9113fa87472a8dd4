"""Nested stacks with local templates: a Resolver each, Outputs read back, the child's model
merged under `Child/` (tests/templates/nested-stacks runs one under local up)."""

import textwrap

import pytest
from support import PROJECT_ROOT

from infra.errors import TemplateError
from infra.intrinsics import Deployment, Resolver
from infra.template import load_template
from local.app.reader import build_model

NESTED = PROJECT_ROOT / "tests" / "templates" / "nested-stacks" / "template.yaml"


def model_from(path, env_overrides=None):
    template = load_template(path)
    return build_model(path, template, Resolver(template, Deployment(stack_name="app"), path), {}, env_overrides)


def test_a_childs_functions_apis_and_queues_join_the_parents_under_its_name():
    model = model_from(NESTED, env_overrides={"Shared/HelloFunction": {"PREFIX": "hej"}, "HelloFunction": {"PREFIX": "x"}})
    hello = model.functions["Shared/HelloFunction"]
    assert hello.function_name == "app-Shared-HelloFunction" and hello.environment["PREFIX"] == "hej"
    assert [(e.api, e.api_id, e.path) for e in hello.api_events] == [
        ("Shared/ServerlessRestApi", "shared-serverlessrestapi", "/hello/{name}")]
    assert model.queues["Jobs/JobsQueue"].name == "app-Jobs-JobsQueue"
    assert model.functions["FrontFunction"].environment["HELLO_NAME"] == "app-Shared-HelloFunction"
    assert model.function("app-Shared-HelloFunction") is hello


def write(folder, name: str, text: str):
    (folder / name).write_text(textwrap.dedent(text))
    return folder / name


PARENT = """
    Resources:
      Child:
        Type: AWS::CloudFormation::Stack
        Properties:
          TemplateURL: {url}
          Parameters: {parameters}
      Topic:
        Type: AWS::SNS::Topic
        Properties: {{TopicName: !GetAtt Child.Outputs.{output}}}
"""
CHILD = """
    Parameters:
      Name: {Type: String}
    Resources:
      Queue: {Type: AWS::SQS::Queue}
    Outputs:
      Name: {Value: !Sub "${Name}-topic"}
"""


@pytest.mark.parametrize("url, parameters, output, message", [
    ("missing.yaml", "{}", "Name", "TemplateURL missing.yaml does not exist"),
    ("child.yaml", "{Name: n, Other: o}", "Name", "parameter override for undeclared parameter"),
    ("child.yaml", "{Name: n}", "Nope", "has no output Nope"),
    ("template.yaml", "{}", "Name", "deeper than five levels"),
    ("child.yaml", "[Name, n]", "Name", "Parameters must be a mapping of names to values"),
])
def test_what_cloudformation_would_refuse_is_a_template_error(tmp_path, url, parameters, output, message):
    write(tmp_path, "child.yaml", CHILD)
    path = write(tmp_path, "template.yaml", PARENT.format(url=url, parameters=parameters, output=output))
    with pytest.raises(TemplateError, match=message):
        model_from(path)


def test_outputs_take_the_parameters_the_parent_passed(tmp_path):
    write(tmp_path, "child.yaml", CHILD)
    path = write(tmp_path, "template.yaml", PARENT.format(url="child.yaml", parameters="{Name: news}", output="Name"))
    template = load_template(path)
    resolver = Resolver(template, Deployment(), path)
    build_model(path, template, resolver, {})
    assert resolver.resolve({"Fn::GetAtt": ["Child", "Outputs.Name"]}) == "news-topic"
