"""SAM's event sources become the CloudFormation resources SAM's translator makes of them
(infra/sam_events.py), named as SAM names them, and the emulator reads both forms alike."""

import json

import pytest

from infra.errors import TemplateError
from infra.intrinsics import Deployment, Resolver
from infra.sam_events import expand_events
from local.app.reader import build_model


def sam(events: dict, extra: dict | None = None, function_extra: dict | None = None) -> dict:
    return {"Transform": "AWS::Serverless-2016-10-31", "Resources": {
        "Fn": {"Type": "AWS::Serverless::Function", "Properties": {
            "CodeUri": "src", "Handler": "app.handler", "Events": events, **(function_extra or {})}},
        **(extra or {})}}


def test_pull_sources_become_event_source_mappings():
    expanded = expand_events(sam({
        "Jobs": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["Q", "Arn"]}, "BatchSize": 5,
                                               "FilterCriteria": {"Filters": [{"Pattern": "{\"body\": {\"a\": [1]}}"}]}}},
        "Changes": {"Type": "DynamoDB", "Properties": {"Stream": {"Fn::GetAtt": ["T", "StreamArn"]},
                                                       "StartingPosition": "TRIM_HORIZON"}},
        "Api": {"Type": "Api", "Properties": {"Path": "/", "Method": "get"}},
    }))
    resources = expanded["Resources"]
    assert resources["FnJobs"] == {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
        "EventSourceArn": {"Fn::GetAtt": ["Q", "Arn"]}, "FunctionName": {"Ref": "Fn"}, "BatchSize": 5,
        "FilterCriteria": {"Filters": [{"Pattern": "{\"body\": {\"a\": [1]}}"}]}}}
    assert resources["FnChanges"]["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["T", "StreamArn"]}
    assert list(resources["Fn"]["Properties"]["Events"]) == ["Api"]  # APIs stay where the API readers look


def test_pushes_become_subscriptions_rules_schedules_and_notifications():
    expanded = expand_events(sam({
        "Topic": {"Type": "SNS", "Properties": {"Topic": {"Ref": "T"}, "FilterPolicy": {"k": ["v"]}}},
        "Rule": {"Type": "EventBridgeRule", "Properties": {"Pattern": {"source": ["a"]}, "EventBusName": "bus",
                                                           "DeadLetterConfig": {"Type": "SQS"}, "Enabled": False}},
        "Tick": {"Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)", "Input": "{\"a\": 1}"}},
        "Later": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "at(2030-01-01T00:00:00)",
                                                       "ScheduleExpressionTimezone": "Europe/Paris"}},
        "Upload": {"Type": "S3", "Properties": {"Bucket": {"Ref": "B"}, "Events": ["s3:ObjectCreated:*"],
                                                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "in/"}]}}}},
    }, {"B": {"Type": "AWS::S3::Bucket"}}))
    resources = expanded["Resources"]
    assert resources["FnTopic"]["Properties"] == {"Protocol": "lambda", "Endpoint": {"Fn::GetAtt": ["Fn", "Arn"]},
                                                  "TopicArn": {"Ref": "T"}, "FilterPolicy": {"k": ["v"]}}
    rule = resources["FnRule"]["Properties"]
    assert rule["EventPattern"] == {"source": ["a"]} and rule["EventBusName"] == "bus" and rule["State"] == "DISABLED"
    assert rule["Targets"][0]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["FnRuleQueue", "Arn"]}}
    assert resources["FnRuleQueue"]["Type"] == "AWS::SQS::Queue"  # SAM makes the DLQ for `Type: SQS`
    tick = resources["FnTick"]["Properties"]
    assert tick["ScheduleExpression"] == "rate(5 minutes)" and tick["Targets"][0]["Input"] == "{\"a\": 1}"
    later = resources["FnLater"]
    assert later["Type"] == "AWS::Scheduler::Schedule" and later["Properties"]["Name"] == "FnLater"
    assert later["Properties"]["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert resources["B"]["Properties"]["NotificationConfiguration"]["LambdaConfigurations"] == [
        {"Event": "s3:ObjectCreated:*", "Function": {"Fn::GetAtt": ["Fn", "Arn"]},
         "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "in/"}]}}}]
    assert resources["Fn"]["Properties"]["Events"] == {}


def test_an_sqs_subscription_puts_a_queue_between_topic_and_function():
    resources = expand_events(sam({"T": {"Type": "SNS", "Properties": {"Topic": "arn:aws:sns:us-east-1:1:t",
                                                                        "SqsSubscription": True}}}))["Resources"]
    assert resources["FnTQueue"]["Type"] == "AWS::SQS::Queue"
    assert resources["FnT"]["Properties"]["Protocol"] == "sqs"
    assert resources["FnTEventSourceMapping"]["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["FnTQueue", "Arn"]}


def test_event_invoke_config_and_its_generated_destinations():
    resources = expand_events(sam({}, function_extra={"EventInvokeConfig": {
        "MaximumRetryAttempts": 1, "DestinationConfig": {"OnSuccess": {"Type": "SQS"},
                                                         "OnFailure": {"Type": "Lambda", "Destination": "arn:x"}}}}))[
        "Resources"]
    config = resources["FnEventInvokeConfig"]["Properties"]
    assert config["MaximumRetryAttempts"] == 1 and config["Qualifier"] == "$LATEST"
    assert config["DestinationConfig"] == {
        "OnSuccess": {"Destination": {"Fn::GetAtt": ["FnEventInvokeConfigOnSuccessQueue", "Arn"]}},
        "OnFailure": {"Destination": "arn:x"}}


def test_a_conditional_function_makes_conditional_resources_and_the_original_is_left_alone():
    template = sam({"Tick": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"}}})
    template["Resources"]["Fn"]["Condition"] = "OnAws"
    before = json.dumps(template, sort_keys=True)
    expanded = expand_events(template)
    assert expanded["Resources"]["FnTick"]["Condition"] == "OnAws"
    assert json.dumps(template, sort_keys=True) == before


def model_of(tmp_path, template: dict):
    (tmp_path / "src").mkdir(exist_ok=True)
    template = expand_events(template)
    resolver = Resolver(template, Deployment(region="eu-west-1", account_id="111122223333", stack_name="st"),
                        tmp_path / "template.yaml")
    return build_model(tmp_path / "template.yaml", template, resolver, code_cache=tmp_path / "cache")


def test_sam_and_plain_cloudformation_give_the_same_sources(tmp_path):
    extra = {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "items"}},
             "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "orders"}}}
    written_as_sam = model_of(tmp_path, sam({
        "Changes": {"Type": "DynamoDB", "Properties": {"Stream": {"Fn::GetAtt": ["Table", "StreamArn"]},
                                                       "StartingPosition": "LATEST", "BatchSize": 7,
                                                       "BisectBatchOnFunctionError": True}},
        "Orders": {"Type": "EventBridgeRule", "Properties": {"Pattern": {"source": ["shop"]}, "EventBusName": "orders"}},
    }, extra))
    written_as_cfn = model_of(tmp_path, {"Resources": {
        "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "src", "Handler": "app.handler"}},
        **extra,
        "FnChanges": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
            "FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]}, "EventSourceArn": {"Fn::GetAtt": ["Table", "StreamArn"]},
            "StartingPosition": "LATEST", "BatchSize": 7, "BisectBatchOnFunctionError": True}},
        "FnOrders": {"Type": "AWS::Events::Rule", "Properties": {
            "EventBusName": {"Ref": "Bus"}, "EventPattern": {"source": ["shop"]},
            "Targets": [{"Arn": {"Fn::GetAtt": ["Fn", "Arn"]}, "Id": "FnOrdersLambdaTarget"}]}}}})
    for model in (written_as_sam, written_as_cfn):
        spec = model.functions["Fn"]
        stream, = spec.stream_events
        assert (stream.kind, stream.stream_name, stream.batch_size, stream.bisect_on_error) == ("dynamodb", "items", 7, True)
        rule, = spec.rule_events
        assert (rule.name, rule.bus, rule.pattern) == ("Orders", "orders", {"source": ["shop"]})
        assert rule.rule_arn == "arn:aws:events:eu-west-1:111122223333:rule/orders/st-FnOrders"


@pytest.mark.parametrize("props, message", [
    ({"Stream": "arn:aws:kinesis:eu-west-1:1:stream/s"}, "StartingPosition must be one of"),
    ({"Stream": "arn:aws:kinesis:eu-west-1:1:stream/s", "StartingPosition": "LATEST", "BatchSize": 0},
     "BatchSize must be from 1 to 10000"),
    ({"Stream": "arn:aws:kinesis:eu-west-1:1:stream/s", "StartingPosition": "LATEST",
      "FilterCriteria": {"Filters": [{"Pattern": "{}"}] * 6}}, "at most 5"),
    ({"Stream": "arn:aws:kinesis:eu-west-1:1:stream/s", "StartingPosition": "LATEST",
      "FilterCriteria": {"Filters": [{"Pattern": "not json"}]}}, "is not a JSON object"),
    ({"Stream": "arn:aws:kinesis:eu-west-1:1:stream/s", "StartingPosition": "LATEST",
      "MaximumRecordAgeInSeconds": 30}, "MaximumRecordAgeInSeconds must be -1 or 60-604800"),
])
def test_what_lambda_refuses_at_deploy_is_refused_here(tmp_path, props, message):
    with pytest.raises(TemplateError, match=message):
        model_of(tmp_path, sam({"S": {"Type": "Kinesis", "Properties": props}}))


def test_an_s3_event_on_a_bucket_of_another_template_is_warned_about_not_run(tmp_path):
    model = model_of(tmp_path, sam({"Up": {"Type": "S3", "Properties": {"Bucket": "elsewhere", "Events": "s3:*"}}}))
    assert model.functions["Fn"].s3_events == []
    assert any("Events.Up.Bucket: not an S3 bucket of this template" in line for line in model.warnings)


def test_a_target_outside_the_template_is_warned_about(tmp_path):
    model = model_of(tmp_path, {"Resources": {
        "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "src", "Handler": "app.handler"}},
        "M": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
            "FunctionName": "someone-else", "EventSourceArn": "arn:aws:kinesis:eu-west-1:1:stream/s",
            "StartingPosition": "LATEST"}}}})
    assert any(line.startswith("M: FunctionName: someone-else is not a function of this template")
               for line in model.warnings)


def test_a_filter_pattern_lambda_would_refuse_stops_the_start_with_one_line(tmp_path):
    from local.events.sources import invalid_filters

    model = model_of(tmp_path, sam({
        "Jobs": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["Q", "Arn"]}, "FilterCriteria": {
            "Filters": [{"Pattern": '{"body": {"n": [{"numeric": [">", "ten"]}]}}'}]}}},
        "Fine": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["Q", "Arn"]}, "FilterCriteria": {
            "Filters": [{"Pattern": '{"body": {"n": [{"numeric": [">", 10]}]}}'}]}}},
    }, {"Q": {"Type": "AWS::SQS::Queue"}}))
    refused, = invalid_filters(model)
    assert refused.startswith("Fn: Events.Jobs: FilterCriteria: ")
