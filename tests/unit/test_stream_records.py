"""The records a stream event source mapping builds (local/events/stream_records.py), checked
against Powertools' parser models and AWS's documented examples: the DynamoDB and Kinesis
records a function receives, and the OnFailure record of a discarded batch."""

import base64
import json
from datetime import datetime

from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamLambdaOnFailureDestinationModel,
    DynamoDBStreamModel,
    KinesisDataStreamModel,
)
from aws_lambda_powertools.utilities.parser.models.dynamodb import (
    DDBStreamBatchInfo,
    RequestContext,
    ResponseContext,
)
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from local.events.stream_records import (
    RECORD_AGE_EXCEEDED,
    RETRY_ATTEMPTS_EXHAUSTED,
    arrival_of,
    dynamodb_record,
    kinesis_record,
    on_failure_record,
    raw_sequence,
    sequence_of,
)

STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/recipes/stream/2026-12-01T10:00:00.000"
KINESIS_ARN = "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:consumer"
ROLE_ARN = "arn:aws:iam::123456789012:role/consumer-role"

# DynamoDB Streams' GetRecords as moto answers it over JSON (region hard-coded, no ARN).
RAW_DYNAMODB = {
    "eventID": "4279f2a4574440f5bd86c5ee53acfbe5", "eventName": "MODIFY", "eventVersion": "1.0",
    "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
    "dynamodb": {"ApproximateCreationDateTime": 1796421707.736, "Keys": {"id": {"S": "a"}},
                 "NewImage": {"id": {"S": "a"}, "n": {"N": "2"}}, "OldImage": {"id": {"S": "a"}, "n": {"N": "1"}},
                 "SequenceNumber": "1100000000017454423010", "SizeBytes": 276, "StreamViewType": "NEW_AND_OLD_IMAGES"},
}
RAW_KINESIS = {"SequenceNumber": "7", "ApproximateArrivalTimestamp": 1796421707.765,
               "Data": base64.b64encode(b'{"clicks": 3}').decode(), "PartitionKey": "user-1"}


def test_a_dynamodb_record_carries_the_stream_arn_and_the_real_region():
    record = dynamodb_record(RAW_DYNAMODB, STREAM_ARN, "eu-west-1")
    parsed = DynamoDBStreamModel(Records=[record]).Records[0]
    assert parsed.awsRegion == "eu-west-1" and parsed.eventSourceARN == STREAM_ARN
    assert parsed.dynamodb.NewImage == {"id": "a", "n": 2} and parsed.dynamodb.OldImage == {"id": "a", "n": 1}
    assert record["eventVersion"] == "1.1"  # as Lambda's DynamoDB records say today
    assert list(record) == ["eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                            "eventSourceARN"]
    assert sequence_of(record) == raw_sequence("dynamodb", RAW_DYNAMODB) == "1100000000017454423010"
    assert arrival_of(record) == 1796421707.736


def test_a_record_removed_by_time_to_live_keeps_its_user_identity():
    raw = {**RAW_DYNAMODB, "eventName": "REMOVE", "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}}
    parsed = DynamoDBStreamModel(Records=[dynamodb_record(raw, STREAM_ARN, "eu-west-1")]).Records[0]
    assert parsed.userIdentity is not None and parsed.userIdentity.principalId == "dynamodb.amazonaws.com"


def test_a_kinesis_record_keeps_its_data_in_base64_and_is_named_by_shard_and_sequence():
    record = kinesis_record(RAW_KINESIS, "shardId-000000000001", KINESIS_ARN, "eu-west-1", ROLE_ARN)
    parsed = KinesisDataStreamModel(Records=[record]).Records[0]
    assert record["kinesis"]["data"] == RAW_KINESIS["Data"]  # base64 on the wire, as AWS sends it
    assert parsed.kinesis.data == b'{"clicks": 3}'
    assert parsed.eventID == "shardId-000000000001:7" and parsed.eventName == "aws:kinesis:record"
    assert parsed.invokeIdentityArn == ROLE_ARN and parsed.eventSourceARN == KINESIS_ARN
    assert isinstance(record["kinesis"]["approximateArrivalTimestamp"], float)
    assert sequence_of(record) == raw_sequence("kinesis", RAW_KINESIS) == "7"


def _batch(kind: str) -> list[dict]:
    if kind == "dynamodb":
        second = {**RAW_DYNAMODB, "dynamodb": {**RAW_DYNAMODB["dynamodb"], "SequenceNumber": "1100000000017454423011",
                                               "ApproximateCreationDateTime": 1796421709.5}}
        return [dynamodb_record(raw, STREAM_ARN, "eu-west-1") for raw in (RAW_DYNAMODB, second)]
    second = {**RAW_KINESIS, "SequenceNumber": "8", "ApproximateArrivalTimestamp": 1796421709.5}
    return [kinesis_record(raw, "shardId-000000000001", KINESIS_ARN, "eu-west-1", ROLE_ARN)
            for raw in (RAW_KINESIS, second)]


def test_the_dynamodb_on_failure_record_is_the_documented_one():
    record = on_failure_record("dynamodb", _batch("dynamodb"), shard_id="shardId-00000001541626099285-f35f62ef",
                               stream_arn=STREAM_ARN, function_arn=FUNCTION_ARN, request_id="req-1",
                               condition=RETRY_ATTEMPTS_EXHAUSTED, invoke_count=3, function_error="Unhandled",
                               now=1796421710.25)
    parsed = DynamoDBStreamLambdaOnFailureDestinationModel(**json.loads(json.dumps(record)))
    info = parsed.ddb_stream_batch_info
    assert (info.start_sequence_number, info.end_sequence_number) == ("1100000000017454423010", "1100000000017454423011")
    assert info.batch_size == 2 and info.stream_arn == STREAM_ARN
    assert info.approximate_arrival_of_last_record.timestamp() == 1796421709.5
    assert parsed.request_context.condition == RETRY_ATTEMPTS_EXHAUSTED
    assert parsed.request_context.approximate_invoke_count == 3 and parsed.request_context.function_arn == FUNCTION_ARN
    assert parsed.response_context.function_error == "Unhandled" and parsed.version == "1.0"
    assert record["timestamp"] == "2026-12-04T22:01:50.250Z"


class KinesisOnFailure(BaseModel):
    """Powertools 3.37 has no Kinesis on-failure model: the DynamoDB one, under the name AWS's
    Kinesis example uses (KinesisBatchInfo, with the same fields)."""
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid")
    kinesis_batch_info: DDBStreamBatchInfo = Field(alias="KinesisBatchInfo")
    request_context: RequestContext
    response_context: ResponseContext
    timestamp: datetime
    version: str


def test_the_kinesis_on_failure_record_is_the_documented_one():
    record = on_failure_record("kinesis", _batch("kinesis"), shard_id="shardId-000000000001", stream_arn=KINESIS_ARN,
                               function_arn=FUNCTION_ARN, request_id="", condition=RECORD_AGE_EXCEEDED,
                               invoke_count=0, function_error=None, now=1796421710.0)
    parsed = KinesisOnFailure(**json.loads(json.dumps(record)))
    info = parsed.kinesis_batch_info
    assert (info.shard_id, info.start_sequence_number, info.end_sequence_number) == ("shardId-000000000001", "7", "8")
    assert parsed.request_context.condition == RECORD_AGE_EXCEEDED and parsed.request_context.approximate_invoke_count == 0
    assert parsed.response_context.function_error is None and "functionError" not in record["responseContext"]
    # The documented example's keys, all of them and no others.
    assert set(record) == {"requestContext", "responseContext", "version", "timestamp", "KinesisBatchInfo"}
    assert set(record["KinesisBatchInfo"]) == {"shardId", "startSequenceNumber", "endSequenceNumber",
                                               "approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord",
                                               "batchSize", "streamArn"}
