"""EventBridge rules with Lambda targets, against the AWS endpoint process as `local up` runs it
(with its patches: local/services/aws/events_lambda.py). PutEvents on the default or a custom
bus puts the event, as the function will get it, on the function's internal queue
(`_local-async-<name>`, made here as provisioning will make it); a rule that is disabled, a
schedule rule and an event the pattern does not match deliver nothing; an unknown function's
events go to the target's dead-letter queue; an SQS target on the same rule still gets them."""

import json
from datetime import datetime

import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.aws import emulator_client
from local.services.aws.async_queue import AsyncInvocation, queue_name

ACCOUNT = "123456789012"  # moto's default account (moto/core/models.py DEFAULT_ACCOUNT_ID)
REGION = "us-east-1"
FUNCTION = "ebt-handler"
SOURCE = "ebt.orders"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


@pytest.fixture(scope="module")
def aws(aws_url):
    config = Config(retries={"max_attempts": 1})
    events, sqs = (emulator_client(service, aws_url, REGION, config) for service in ("events", "sqs"))
    assert emulator_client("sts", aws_url, REGION).get_caller_identity()["Account"] == ACCOUNT
    return events, sqs


def make_queue(sqs, name: str) -> tuple[str, str]:
    """The queue, emptied of what earlier tests left (PurgeQueue allows one call a minute)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    received(sqs, url)
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def received(sqs, url: str) -> list[dict]:
    """Every message now on the queue, deleted. PutEvents delivers before it answers, so
    whatever it delivered is there already."""
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                    VisibilityTimeout=30).get("Messages", [])
        if not batch:
            return messages
        messages += batch
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)])


def rule(events, name: str, targets: list[dict], pattern: dict | None = None, bus: str = "default", **options) -> str:
    pattern = {"source": [SOURCE], "detail-type": [name]} if pattern is None else pattern
    arn = events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern), **options)["RuleArn"]
    events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    return arn


def put(events, detail_type: str, detail: dict, bus: str = "default"):
    answer = events.put_events(Entries=[{"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail),
                                         "EventBusName": bus, "Resources": ["arn:aws:ebt:::thing/1"]}])
    assert answer["FailedEntryCount"] == 0
    return answer["Entries"][0]["EventId"]


@pytest.fixture
def function_queue(aws):
    _, sqs = aws
    url, _ = make_queue(sqs, queue_name(FUNCTION))
    return url


def test_put_events_on_the_default_and_a_custom_bus_reach_the_function_queue(aws, function_queue):
    events, sqs = aws
    events.create_event_bus(Name="ebt-bus")
    target = [{"Id": "fn", "Arn": function_arn(FUNCTION)}]
    arns = {"default": rule(events, "ebt-default", target),
            "ebt-bus": rule(events, "ebt-custom", target, bus="ebt-bus")}
    ids = {"default": put(events, "ebt-default", {"order": 1}), "ebt-bus": put(events, "ebt-custom", {"order": 2},
                                                                               bus="ebt-bus")}
    messages = received(sqs, function_queue)
    assert len(messages) == 2
    by_id = {}
    for message in messages:
        invocation = AsyncInvocation.from_message(message["Body"], message["MessageAttributes"])
        event = EventBridgeModel.model_validate_json(invocation.payload)
        by_id[event.id] = (event, invocation)
    for bus, event_id in ids.items():
        event, invocation = by_id[event_id]
        assert (event.account, event.region, event.source, event.resources) == (ACCOUNT, REGION, SOURCE,
                                                                                 ["arn:aws:ebt:::thing/1"])
        assert event.detail == {"order": 1 if bus == "default" else 2}
        assert abs((datetime.now(event.time.tzinfo) - event.time).total_seconds()) < 60
        assert (invocation.source, invocation.source_arn, invocation.attempt) == ("events", arns[bus], 1)
        assert list(json.loads(invocation.payload)) == ["version", "id", "detail-type", "source", "account", "time",
                                                        "region", "resources", "detail"]
    assert arns["ebt-bus"].endswith(":rule/ebt-bus/ebt-custom")


def test_a_disabled_rule_a_schedule_rule_and_an_unmatched_event_deliver_nothing(aws, function_queue):
    events, sqs = aws
    target = [{"Id": "fn", "Arn": function_arn(FUNCTION)}]
    rule(events, "ebt-off", target, State="DISABLED")
    events.put_rule(Name="ebt-clock", ScheduleExpression="rate(5 minutes)")
    events.put_targets(Rule="ebt-clock", Targets=target)
    rule(events, "ebt-items", target, pattern={"source": [SOURCE], "detail": {"items": {"sku": ["a"], "qty": [2]}}})
    put(events, "ebt-off", {})
    put(events, "ebt-items", {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]})  # not within one item
    assert received(sqs, function_queue) == []
    events.enable_rule(Name="ebt-off")
    put(events, "ebt-off", {"n": 1})
    put(events, "ebt-items", {"items": [{"sku": "b", "qty": 1}, {"sku": "a", "qty": 2}]})
    payloads = [json.loads(m["Body"]) for m in received(sqs, function_queue)]
    assert sorted((p["detail-type"], json.dumps(p["detail"])) for p in payloads) == [
        ("ebt-items", json.dumps({"items": [{"sku": "b", "qty": 1}, {"sku": "a", "qty": 2}]})),
        ("ebt-off", json.dumps({"n": 1}))]
    events.disable_rule(Name="ebt-off")
    put(events, "ebt-off", {"n": 2})
    assert received(sqs, function_queue) == []


def test_an_input_transformer_shapes_what_the_function_gets(aws, function_queue):
    events, sqs = aws
    arn = rule(events, "ebt-shaped", [{"Id": "fn", "Arn": function_arn(FUNCTION), "InputTransformer": {
        "InputPathsMap": {"order": "$.detail.order", "who": "$.detail.customer.name", "none": "$.detail.absent"},
        "InputTemplate": '{"order": <order>, "text": "order <order> for <who>", "rule": <aws.events.rule-arn>, '
                         '"none": <none>}'}}])
    put(events, "ebt-shaped", {"order": 0, "customer": {"name": 'Ann "A"'}})
    [message] = received(sqs, function_queue)
    assert json.loads(message["Body"]) == {"order": 0, "text": 'order 0 for Ann "A"', "rule": arn, "none": None}


def test_an_unknown_function_sends_the_event_to_the_target_dead_letter_queue(aws, function_queue):
    events, sqs = aws
    dlq_url, dlq_arn = make_queue(sqs, "ebt-dlq")
    missing = function_arn("ebt-not-in-template")
    arn = rule(events, "ebt-lost", [{"Id": "gone", "Arn": missing, "DeadLetterConfig": {"Arn": dlq_arn}},
                                    {"Id": "fn", "Arn": function_arn(FUNCTION)}])
    event_id = put(events, "ebt-lost", {"order": 7})
    [dead] = received(sqs, dlq_url)
    assert EventBridgeModel.model_validate_json(dead["Body"]).id == event_id
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == arn and attributes["TARGET_ARN"] == missing
    assert attributes["ERROR_CODE"] == "NO_RESOURCE" and missing in attributes["ERROR_MESSAGE"]
    assert [json.loads(m["Body"])["id"] for m in received(sqs, function_queue)] == [event_id]  # the other target


def test_an_sqs_target_on_the_same_rule_gets_the_same_event(aws, function_queue):
    events, sqs = aws
    queue_url, queue_arn = make_queue(sqs, "ebt-copy")
    rule(events, "ebt-both", [{"Id": "fn", "Arn": function_arn(FUNCTION)}, {"Id": "queue", "Arn": queue_arn}])
    event_id = put(events, "ebt-both", {"order": 3, "lines": [{"sku": "a"}]})
    [copy] = received(sqs, queue_url)
    [invoked] = received(sqs, function_queue)
    event = EventBridgeModel.model_validate_json(copy["Body"])
    assert (event.id, event.account, event.detail) == (event_id, ACCOUNT, {"order": 3, "lines": [{"sku": "a"}]})
    assert copy["Body"] == invoked["Body"]


@pytest.mark.parametrize("pattern, reason", [
    ({"source": [{"numeric": [">", "1"]}]}, "Value of > must be numeric"),
    ({"detail": {"name": [{"wildcard": "a**"}]}}, "Consecutive wildcard characters"),
])
def test_putrule_refuses_a_pattern_eventbridge_refuses(aws, pattern, reason):
    events, _ = aws
    with pytest.raises(ClientError) as refused:
        events.put_rule(Name="ebt-invalid", EventPattern=json.dumps(pattern))
    assert refused.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert reason in refused.value.response["Error"]["Message"]


@pytest.mark.parametrize("target, reason", [
    ({"InputTransformer": {"InputPathsMap": {f"v{n}": "$.detail" for n in range(101)}, "InputTemplate": "<v1>"}},
     "at most 100"),
    ({"Input": '{"a": 1}', "InputPath": "$.detail"}, "Only one of Input, InputPath, or InputTransformer"),
])
def test_puttargets_refuses_input_settings_eventbridge_refuses(aws, target, reason):
    events, _ = aws
    events.put_rule(Name="ebt-targets", EventPattern=json.dumps({"source": [SOURCE]}))
    with pytest.raises(ClientError) as refused:
        events.put_targets(Rule="ebt-targets", Targets=[{"Id": "t", "Arn": function_arn(FUNCTION), **target}])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert reason in refused.value.response["Error"]["Message"]
