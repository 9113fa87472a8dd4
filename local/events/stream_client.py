"""The calls a stream event source mapping makes: DynamoDB's DescribeTable, DynamoDB Streams'
DescribeStream, GetShardIterator and GetRecords, and Kinesis' DescribeStreamSummary,
ListShards, GetShardIterator and GetRecords, over their JSON protocols on one kept-alive
connection, signed with botocore's SigV4 as sqs_client.py signs SQS's.

Why not boto3: as for SQS, the pollers are Lambda's service, not a client inside a function,
and their CPU is the pipeline's. And boto3 decodes a Kinesis record's Data from base64, which
the Lambda record carries as base64 again: the JSON answer already has it so.

GetRecords may carry WAIT_HEADER, which only this project's endpoint reads
(local/services/aws/stream_wait.py): it holds the call while the shard has nothing past the
iterator, up to that many milliseconds, and answers as soon as a record is written. Any
other endpoint ignores it and answers at once. One client per thread: an http.client
connection is not shared between threads."""

from local.app.event_model import DYNAMODB
from local.events.json_client import JsonClient, ServiceError
from local.services.aws.stream_wait import (
    WAIT_HEADER,  # the endpoint's side of the wait
)

# (signing service, X-Amz-Target prefix, Content-Type) of each API.
_DYNAMODB = ("dynamodb", "DynamoDB_20120810", "application/x-amz-json-1.0")
_STREAMS = ("dynamodb", "DynamoDBStreams_20120810", "application/x-amz-json-1.0")
_KINESIS = ("kinesis", "Kinesis_20131202", "application/x-amz-json-1.1")
MISSING = {"ResourceNotFoundException", "StreamNotFoundException"}  # the table or stream is not there (yet)
EXPIRED = {"ExpiredIteratorException", "TrimmedDataAccessException"}


class StreamError(ServiceError):
    """The stream could not be reached, or the service answered with an error."""


class StreamClient(JsonClient):
    error = StreamError

    def __init__(self, endpoint_url: str, region: str, access_key: str = "test", secret_key: str = "test",
                 connect_timeout_s: float = 1.0, read_timeout_s: float = 5.0):
        super().__init__(endpoint_url, region, ("dynamodb", "kinesis"), access_key, secret_key, connect_timeout_s,
                         read_timeout_s)

    # -- finding the shards ------------------------------------------------------------------

    def describe_table(self, table_name: str) -> dict:
        return self._call(_DYNAMODB, "DescribeTable", {"TableName": table_name})["Table"]

    def describe_stream(self, stream_arn: str) -> dict:
        """A DynamoDB stream's description, with all its shards (the API pages them by 100)."""
        description, shards, start = {}, [], None
        while True:
            payload = {"StreamArn": stream_arn, **({"ExclusiveStartShardId": start} if start else {})}
            description = self._call(_STREAMS, "DescribeStream", payload)["StreamDescription"]
            shards += description.get("Shards", [])
            start = description.get("LastEvaluatedShardId")
            if not start:
                return {**description, "Shards": shards}

    def describe_stream_summary(self, stream_name: str) -> dict:
        return self._call(_KINESIS, "DescribeStreamSummary", {"StreamName": stream_name})["StreamDescriptionSummary"]

    def list_shards(self, stream_name: str) -> list[dict]:
        shards, token = [], None
        while True:
            # ListShards takes either the stream's name or a NextToken, never both.
            answer = self._call(_KINESIS, "ListShards", {"NextToken": token} if token else {"StreamName": stream_name})
            shards += answer.get("Shards", [])
            token = answer.get("NextToken")
            if not token:
                return shards

    # -- reading a shard ---------------------------------------------------------------------

    def get_shard_iterator(self, kind: str, stream: str, shard_id: str, iterator_type: str,
                           sequence_number: str | None = None, timestamp: float | None = None) -> str | None:
        """`stream` is the stream's ARN for DynamoDB, its name for Kinesis (moto writes the name
        into its Kinesis iterators, and finds the stream again by it)."""
        if kind == DYNAMODB:
            api, payload = _STREAMS, {"StreamArn": stream}
        else:
            api, payload = _KINESIS, {"StreamName": stream}
        payload.update({"ShardId": shard_id, "ShardIteratorType": iterator_type})
        if sequence_number is not None:
            payload["SequenceNumber" if kind == DYNAMODB else "StartingSequenceNumber"] = sequence_number
        if timestamp is not None:
            payload["Timestamp"] = timestamp
        return self._call(api, "GetShardIterator", payload).get("ShardIterator")

    def get_records(self, kind: str, iterator: str, limit: int, wait_ms: int = 0) -> dict:
        """{Records, NextShardIterator (absent once a closed shard is read to its end),
        MillisBehindLatest (Kinesis)}; Kinesis Data stays base64."""
        api = _STREAMS if kind == DYNAMODB else _KINESIS
        return self._call(api, "GetRecords", {"ShardIterator": iterator, "Limit": limit}, wait_ms)

    # -- the wire ----------------------------------------------------------------------------

    def _call(self, api: tuple[str, str, str], operation: str, payload: dict, wait_ms: int = 0) -> dict:
        service, prefix, content_type = api
        # The wait header goes unsigned: an endpoint that does not know it ignores it.
        extra = {WAIT_HEADER: str(int(wait_ms))} if wait_ms > 0 else None
        return self.call(service, f"{prefix}.{operation}", content_type, payload, wait_ms / 1000, extra)
