"""The intrinsics CloudFormation evaluates, as the Resolver evaluates them locally."""

import pytest

from infra.errors import TemplateError
from infra.intrinsics import Deployment, Resolver

TEMPLATE = {
    "Parameters": {"Env": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]},
                   "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"}},
    "Mappings": {"Sizes": {"dev": {"Memory": 256}, "prod": {"Memory": 1024}}},
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                   "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
                   "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Fn::Or": [{"Condition": "IsProd"}, True]}]},
                   "Loop": {"Condition": "Loop"}},
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"},
                  "ProdQueue": {"Type": "AWS::SQS::Queue", "Condition": "IsProd"},
                  "Pool": {"Type": "AWS::Cognito::UserPool"}},
}


def resolver(**overrides) -> Resolver:
    return Resolver(TEMPLATE, Deployment(parameter_overrides=overrides))


def test_conditions_if_and_no_value():
    dev, prod = resolver(), resolver(Env="prod")
    value = {"A": {"Fn::If": ["IsProd", "live", "practice"]}, "B": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]},
             "C": ["x", {"Fn::If": ["IsDev", {"Ref": "AWS::NoValue"}, "y"]}]}
    assert dev.resolve(value) == {"A": "practice", "C": ["x"]}
    assert prod.resolve(value) == {"A": "live", "B": 1, "C": ["x", "y"]}
    assert dev.condition("Both") and not prod.condition("Both")
    assert not dev.condition("Loop")  # refers to itself: false, not a hang


def test_a_false_condition_leaves_its_resource_out():
    assert "ProdQueue" not in resolver().template["Resources"]
    assert "ProdQueue" in resolver(Env="prod").template["Resources"]
    with pytest.raises(TemplateError, match="refers to ProdQueue, which condition IsProd leaves out"):
        resolver().resolve({"Ref": "ProdQueue"})


def test_find_in_map_select_lists_and_pseudo_parameters():
    r = resolver(Env="prod")
    assert r.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Memory"]}) == 1024
    assert r.resolve({"Fn::Select": [1, {"Ref": "Zones"}]}) == "b"
    assert r.resolve({"Fn::GetAZs": ""}) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert r.resolve({"Fn::Base64": "hi"}) == "aGk="
    stack_id = r.resolve({"Ref": "AWS::StackId"})
    assert stack_id.startswith("arn:aws:cloudformation:us-east-1:123456789012:stack/local/")
    assert stack_id == resolver().resolve({"Ref": "AWS::StackId"})  # stable per stack name
    with pytest.raises(TemplateError, match=r"Fn::FindInMap \[Sizes, test, Memory\]: no such entry"):
        r.resolve({"Fn::FindInMap": ["Sizes", "test", "Memory"]})


def test_attributes_of_resources_not_created_here_still_resolve():
    assert resolver().resolve({"Fn::GetAtt": ["Pool", "Arn"]}) == \
        "arn:aws:cognito:us-east-1:123456789012:userpool/local-Pool"
    assert resolver().resolve({"Fn::GetAtt": "Pool.ProviderURL"}) == "local-Pool.ProviderURL"


def test_parameters_are_checked_against_allowed_values():
    with pytest.raises(TemplateError, match=r"parameter Env='test' is not one of its AllowedValues \(dev, prod\)"):
        resolver(Env="test")


def test_import_value_is_refused_with_a_way_out():
    with pytest.raises(TemplateError, match="use a parameter instead"):
        resolver().resolve({"Fn::ImportValue": "shared-vpc"})
