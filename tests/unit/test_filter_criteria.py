"""Lambda's FilterCriteria (local/services/aws/filter_criteria.py), case by case from the Lambda
developer guide's event filtering pages: what each kind of source shows a pattern, how a JSON
body meets a plain-string pattern, OR'ed filters, and what CreateEventSourceMapping refuses."""

import base64
import json

import pytest

from local.services.aws.event_pattern import InvalidEventPattern
from local.services.aws.filter_criteria import matches, validate


def sqs(body: str) -> dict:
    return {"messageId": "059f36b4-87a3-44ab-83d2-661975830a7d", "receiptHandle": "AQEB...", "body": body,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
            "messageAttributes": {}, "md5OfBody": "e4e68fb7", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-west-2:123456789012:my-queue", "awsRegion": "us-west-2"}


def kinesis(data: bytes, partition_key: str = "1") -> dict:
    return {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": partition_key, "sequenceNumber": "4959",
                        "data": base64.b64encode(data).decode(), "approximateArrivalTimestamp": 1545084650.987},
            "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": "shardId-000000000006:4959",
            "eventName": "aws:kinesis:record", "awsRegion": "us-east-2",
            "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"}


DYNAMODB = {"eventID": "c4ca4238", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {"Keys": {"Id": {"N": "101"}}, "NewImage": {"Message": {"S": "New item!"}, "Id": {"N": "101"},
                                                                    "Paid": {"BOOL": True}},
                         "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
ORDER = json.dumps({"RecordNumber": 1234, "TimeStamp": "yyyy-mm-ddThh:mm:ss", "RequestCode": "AAAA"}, indent=1)

CASES = [
    # SQS: a JSON body is matched as JSON, a plain one as a string; the forms must agree
    ("sqs", [{"body": {"RequestCode": ["AAAA"]}}], sqs(ORDER), True),
    ("sqs", [{"body": {"RequestCode": ["BBBB"]}}], sqs(ORDER), False),
    ("sqs", [{"body": {"RecordNumber": [{"numeric": [">", 1000]}]}}], sqs(ORDER), True),
    ("sqs", [{"body": [{"prefix": "Hello"}]}], sqs("Hello from the queue"), True),
    ("sqs", [{"body": ["Hello from the queue"]}], sqs("Hello from the queue"), True),
    ("sqs", [{"body": [{"prefix": "{"}]}], sqs(ORDER), False),  # a JSON body never meets a string pattern
    ("sqs", [{"body": {"RequestCode": ["AAAA"]}}], sqs("RequestCode AAAA"), False),  # nor a plain one an object
    ("sqs", [{"body": [{"exists": False}]}], sqs(ORDER), False),  # even a pattern that an absent value meets
    ("sqs", [{"body": {"RequestCode": [{"exists": False}]}}], sqs("plain"), False),
    ("sqs", [{"body": ["123"]}], sqs("123"), True),  # JSON, but not an object: matched as the plain string
    ("sqs", [{"attributes": {"ApproximateReceiveCount": ["1"]}}], sqs("plain"), True),  # no pattern on body
    ("sqs", [{"body": {"RequestCode": ["BBBB"]}}, {"body": {"RequestCode": ["AAAA"]}}], sqs(ORDER), True),  # OR
    ("sqs", [], sqs("anything"), True),
    # Kinesis: the record's kinesis fields, data decoded and parsed
    ("kinesis", [{"data": {"order": {"type": ["buy"]}}}],
     kinesis(b'{"record": 12345, "order": {"type": "buy", "stock": "ANYCO", "quantity": 1000}}'), True),
    ("kinesis", [{"data": {"order": {"type": ["sell"]}}}], kinesis(b'{"order": {"type": "buy"}}'), False),
    ("kinesis", [{"partitionKey": ["1"], "data": {"Location": ["Los Angeles"]}}],
     kinesis(b'{"Location": "Los Angeles"}'), True),
    ("kinesis", [{"partitionKey": ["2"], "data": {"Location": ["Los Angeles"]}}],
     kinesis(b'{"Location": "Los Angeles"}'), False),
    ("kinesis", [{"data": {"Temperature": [{"numeric": [">", 50, "<=", 60]}]}}], kinesis(b'{"Temperature": 55}'), True),
    ("kinesis", [{"data": {"Temperature": [{"numeric": [">", 50]}]}}], kinesis(b"not json at all"), False),
    ("kinesis", [{"data": {"Temperature": [{"exists": False}]}}], kinesis(b"not json at all"), False),
    ("kinesis", [{"partitionKey": ["1"]}], kinesis(b"not json at all"), True),  # no pattern on data
    # DynamoDB: the record as it comes, images typed
    ("dynamodb", [{"dynamodb": {"Keys": {"Id": {"N": ["101"]}}}}], DYNAMODB, True),
    ("dynamodb", [{"dynamodb": {"Keys": {"Id": {"N": ["102"]}}}}], DYNAMODB, False),
    ("dynamodb", [{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"Paid": {"BOOL": [True]}}}}], DYNAMODB, True),
    ("dynamodb", [{"eventName": ["MODIFY", "REMOVE"]}], DYNAMODB, False),
    # a DynamoDB number is a string in its image: numeric ranges never match it
    ("dynamodb", [{"dynamodb": {"NewImage": {"Id": {"N": [{"numeric": [">", 100]}]}}}}], DYNAMODB, False),
    ("dynamodb", [{"dynamodb": {"NewImage": {"Message": {"S": [{"prefix": "New"}]}}}}], DYNAMODB, True),
]


@pytest.mark.parametrize("kind, filters, record, expected", CASES)
def test_a_record_passes_when_any_filter_matches(kind, filters, record, expected):
    assert matches(filters, record, kind) is expected


def test_validate_reads_the_patterns_of_a_template():
    filters = [{"Pattern": '{"body": {"RequestCode": ["BBBB"]}}'}, {"Pattern": {"eventName": ["INSERT"]}}]
    assert validate(filters) == [{"body": {"RequestCode": ["BBBB"]}}, {"eventName": ["INSERT"]}]
    assert validate([]) == []


@pytest.mark.parametrize("filters, kind, reason", [
    ([{"Pattern": '{"a": [1]}'}] * 6, None, "at most 5"),
    ([{"Pattern": "{not json"}], None, "not valid JSON"),
    ([{"Pattern": '["a"]'}], None, "must be a JSON object"),
    ([{"Pattern": '{"a": [{"regex": "x"}]}'}], None, "Unrecognized match type"),
    ([{"Pattern": '{"a": "x"}'}], None, "must be an object or an array"),
    ([{"Pattern": '{"data": ["plain"]}'}], "kinesis", "data must be a JSON object"),
    ({"Pattern": "{}"}, None, "must be a list"),
])
def test_what_create_event_source_mapping_refuses(filters, kind, reason):
    with pytest.raises(InvalidEventPattern, match=reason):
        validate(filters, kind)


def test_an_unknown_kind_of_source_is_an_error():
    with pytest.raises(ValueError, match="unknown event source kind"):
        matches([{"a": [1]}], {"a": 1}, "kafka")
