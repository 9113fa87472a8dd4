"""What a rule's target receives (local/services/aws/event_input.py): Input, InputPath and
InputTransformer, case by case from the EventBridge user guide's input transformation page
(its EC2 example event and template table), and what PutTargets refuses."""

import json

import pytest

from local.services.aws.event_input import InvalidTargetInput, as_json_payload, fill, render, select, validate

EVENT = {
    "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": "123456789012",
    "time": "2015-11-11T21:29:54Z", "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "count": 0, "flag": False, "note": "",
               "items": [{"id": "a", "qty": 2}, {"id": "b", "qty": 5}], "tags": {"team": "x"},
               "quote": 'say "hi"'},
}
RULE_ARN = "arn:aws:events:us-east-2:123456789012:rule/example"
PATHS = {"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}


def transformed(template: str, paths: dict | None = None) -> str:
    target = {"Id": "t", "Arn": "arn:x", "InputTransformer": {"InputPathsMap": PATHS if paths is None else paths,
                                                              "InputTemplate": template}}
    return render(target, EVENT, rule_arn=RULE_ARN, rule_name="example", ingestion_time="2015-11-11T21:29:55Z")


TEMPLATES = [
    # the page's table: strings, escaped quotes, JSON, JSON with strings, mixed, reserved variables
    ('"instance <instance> is in <state>"', "instance i-0123456789 is in RUNNING"),
    ('"instance \\"<instance>\\" is in <state>"', 'instance "i-0123456789" is in RUNNING'),
    ('{\n  "instance" : <instance>,\n  "state": <state>\n}', {"instance": "i-0123456789", "state": "RUNNING"}),
    ('{"instance": <instance>, "state": "<state>", "instanceStatus": "instance \\"<instance>\\" is in <state>"}',
     {"instance": "i-0123456789", "state": "RUNNING", "instanceStatus": 'instance "i-0123456789" is in RUNNING'}),
    ('{"instance": <instance>, "state": [9, <state>, true], "Transformed": "Yes"}',
     {"instance": "i-0123456789", "state": [9, "RUNNING", True], "Transformed": "Yes"}),
    ('{"ruleArn": <aws.events.rule-arn>, "ruleName": <aws.events.rule-name>, "at": <aws.events.event.ingestion-time>}',
     {"ruleArn": RULE_ARN, "ruleName": "example", "at": "2015-11-11T21:29:55Z"}),
    ('"<aws.events.rule-name> triggered"', "example triggered"),
    # a variable's value keeps its JSON type outside quotes, falsy values included (moto drops them)
    ('{"n": <n>, "f": <f>, "e": <e>}', {"n": 0, "f": False, "e": ""}),
    ('{"items": <items>, "first": <first>, "tags": <tags>}',
     {"items": [{"id": "a", "qty": 2}, {"id": "b", "qty": 5}], "first": "a", "tags": {"team": "x"}}),
    # inside quotes a value is text: numbers as written, objects as escaped JSON, strings escaped
    ('"count <n>, tags <tags>, quote <q>"', 'count 0, tags {"team":"x"}, quote say "hi"'),
    # a path that selects nothing: null outside quotes, nothing inside
    ('{"gone": <gone>, "text": "[<gone>]"}', {"gone": None, "text": "[]"}),
    # the ids of every item: a wildcard selects a list
    ('{"ids": <ids>}', {"ids": ["a", "b"]}),
]
MORE_PATHS = {"n": "$.detail.count", "f": "$.detail.flag", "e": "$.detail.note", "items": "$.detail.items",
              "first": "$.detail.items[0].id", "tags": "$.detail.tags", "q": "$.detail.quote",
              "gone": "$.detail.absent", "ids": "$.detail.items[*].id"}


@pytest.mark.parametrize("template, expected", TEMPLATES)
def test_an_input_template_is_filled_as_eventbridge_fills_it(template, expected):
    assert json.loads(transformed(template, {**PATHS, **MORE_PATHS})) == expected


def test_the_reserved_event_variables_are_the_event_without_and_with_its_detail():
    payload = json.loads(transformed('{"event": <aws.events.event>, "whole": <aws.events.event.json>}', {}))
    assert payload["whole"] == EVENT
    assert payload["event"] == {key: value for key, value in EVENT.items() if key != "detail"}


def test_a_filled_json_template_is_minified():
    assert transformed('{ "state" :  <state> ,\n "n": [ 1,  2 ] }') == '{"state":"RUNNING","n":[1,2]}'


def test_a_template_that_is_not_json_is_plain_text_and_reaches_a_function_as_a_string():
    text = transformed("Instance <instance> is <state>; unknown <other> stays")
    assert text == "Instance i-0123456789 is RUNNING; unknown <other> stays"
    assert json.loads(as_json_payload(text)) == text
    assert as_json_payload('{"a": 1}') == '{"a": 1}'


@pytest.mark.parametrize("target, expected", [
    ({}, EVENT),  # no input settings: the event itself
    ({"Input": '{"constant": [1, 2]}'}, {"constant": [1, 2]}),
    ({"InputPath": "$.detail.items[1]"}, {"id": "b", "qty": 5}),
    ({"InputPath": "$['detail-type']"}, "EC2 Instance State-change Notification"),
    ({"InputPath": "$.detail.items[-1].qty"}, 5),
    ({"InputPath": "$.detail.items[*].qty"}, [2, 5]),
    ({"InputPath": "$.detail.tags.*"}, ["x"]),
    ({"InputPath": "$"}, EVENT),
    ({"InputPath": "$.detail.absent"}, None),
])
def test_input_and_input_path(target, expected):
    text = render({"Id": "t", "Arn": "arn:x", **target}, EVENT, rule_arn=RULE_ARN, rule_name="example",
                  ingestion_time="t")
    assert json.loads(text) == expected


def test_the_input_is_delivered_as_written_and_the_event_compact():
    target = {"Id": "t", "Arn": "arn:x", "Input": '{ "a" : 1 }'}
    assert render(target, EVENT, rule_arn="", rule_name="", ingestion_time="") == '{ "a" : 1 }'
    assert render({"Id": "t"}, {"a": [1, 2]}, rule_arn="", rule_name="", ingestion_time="") == '{"a":[1,2]}'


def test_select_tells_nothing_from_null():
    assert select({"a": None}, "$.a") is None
    assert select({"a": None}, "$.b") is not None and fill("<b>", {}) == "<b>"


@pytest.mark.parametrize("target, reason", [
    ({"Input": "{}", "InputPath": "$.detail"}, "Only one of Input, InputPath, or InputTransformer"),
    ({"Input": "{not json"}, "not valid JSON"),
    ({"InputPath": "detail"}, "must start with \\$"),
    ({"InputPath": "$.detail..state"}, "not a valid JSON path"),
    ({"InputPath": "$.items[x]"}, "not a valid JSON path"),
    ({"InputTransformer": {"InputPathsMap": {}}}, "requires an InputTemplate"),
    ({"InputTransformer": {"InputPathsMap": {f"v{n}": "$.id" for n in range(101)}, "InputTemplate": "<v1>"}},
     "at most 100"),
    ({"InputTransformer": {"InputPathsMap": {"aws.events.rule-arn": "$.id"}, "InputTemplate": "x"}}, "reserved"),
    ({"InputTransformer": {"InputPathsMap": {"v": "id"}, "InputTemplate": "<v>"}}, "must start with \\$"),
])
def test_input_settings_puttargets_refuses(target, reason):
    with pytest.raises(InvalidTargetInput, match=reason):
        validate({"Id": "t", "Arn": "arn:x", **target})


def test_input_settings_puttargets_accepts():
    validate({"Id": "t", "Arn": "arn:x", "InputTransformer": {
        "InputPathsMap": {f"v{n}": "$.detail.items[0].id" for n in range(100)}, "InputTemplate": "<v1>"}})
    validate({"Id": "t", "Arn": "arn:x", "InputPath": "$.detail['instance-id']"})
