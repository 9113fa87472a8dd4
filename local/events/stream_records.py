"""The records a stream event source mapping hands to a function, and the record it sends to
its OnFailure destination when it discards a batch, in the shapes AWS documents ("Using AWS
Lambda with Amazon DynamoDB", "... with Amazon Kinesis", "Retain discarded batch records"),
checked against Powertools' parser models by tests/unit/test_stream_records.py.

From GetRecords' answer: a DynamoDB record is the stream's record with the stream's ARN added
(GetRecords does not carry it) and the region the mapping runs in (moto writes us-east-1 into
every record whatever its region); a Kinesis record is rebuilt around the stream's record,
its Data kept as the base64 it came in."""

from datetime import datetime, timezone

from local.app.event_model import DYNAMODB

RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
# Not in AWS's examples, which show only the one above; the name AWS's own consoles and
# LocalStack use for a batch discarded because MaximumRecordAgeInSeconds passed.
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"
DYNAMODB_EVENT_VERSION = "1.1"  # what Lambda's DynamoDB records carry today (moto's stream says 1.0)
KINESIS_EVENT_VERSION = KINESIS_SCHEMA_VERSION = "1.0"


def dynamodb_record(raw: dict, stream_arn: str, region: str) -> dict:
    record = {"eventID": raw["eventID"], "eventName": raw["eventName"], "eventVersion": DYNAMODB_EVENT_VERSION,
              "eventSource": "aws:dynamodb", "awsRegion": region, "dynamodb": raw["dynamodb"],
              "eventSourceARN": stream_arn}
    if raw.get("userIdentity"):  # items Time to Live removed
        record["userIdentity"] = raw["userIdentity"]
    return record


def kinesis_record(raw: dict, shard_id: str, stream_arn: str, region: str, role_arn: str) -> dict:
    return {
        "kinesis": {"kinesisSchemaVersion": KINESIS_SCHEMA_VERSION, "partitionKey": raw["PartitionKey"],
                    "sequenceNumber": raw["SequenceNumber"], "data": raw["Data"],
                    "approximateArrivalTimestamp": float(raw["ApproximateArrivalTimestamp"])},
        "eventSource": "aws:kinesis",
        "eventVersion": KINESIS_EVENT_VERSION,
        "eventID": f"{shard_id}:{raw['SequenceNumber']}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def raw_sequence(kind: str, raw: dict) -> str:
    """The sequence number of a record as GetRecords answers it."""
    return raw["dynamodb"]["SequenceNumber"] if kind == DYNAMODB else raw["SequenceNumber"]


def sequence_of(record: dict) -> str:
    """The sequence number of a Lambda record (either kind): what batchItemFailures name."""
    return record["dynamodb"]["SequenceNumber"] if "dynamodb" in record else record["kinesis"]["sequenceNumber"]


def arrival_of(record: dict) -> float:
    """When the record was written to the stream, in epoch seconds."""
    if "dynamodb" in record:
        return float(record["dynamodb"].get("ApproximateCreationDateTime") or 0)
    return record["kinesis"]["approximateArrivalTimestamp"]


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def on_failure_record(kind: str, records: list[dict], *, shard_id: str, stream_arn: str, function_arn: str,
                      request_id: str, condition: str, invoke_count: int, function_error: str | None,
                      now: float) -> dict:
    """What Lambda sends to the OnFailure destination when it discards `records` (in order):
    where they are in the stream, not the records themselves."""
    response = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response["functionError"] = function_error
    info = {"shardId": shard_id, "startSequenceNumber": sequence_of(records[0]),
            "endSequenceNumber": sequence_of(records[-1]),
            "approximateArrivalOfFirstRecord": iso(arrival_of(records[0])),
            "approximateArrivalOfLastRecord": iso(arrival_of(records[-1])),
            "batchSize": len(records), "streamArn": stream_arn}
    return {
        "requestContext": {"requestId": request_id, "functionArn": function_arn, "condition": condition,
                           "approximateInvokeCount": invoke_count},
        "responseContext": response,
        "version": "1.0",
        "timestamp": iso(now),
        "DDBStreamBatchInfo" if kind == DYNAMODB else "KinesisBatchInfo": info,
    }
