"""Where Lambda sends what became of an invocation: an asynchronous invocation's OnSuccess and
OnFailure destinations and its dead-letter queue, and a stream mapping's OnFailure record.

A destination is given by ARN, as AWS takes it: an SQS queue, an SNS topic, a function (its
asynchronous queue), an EventBridge bus or, for stream failures, an S3 bucket. Each send
is a call to the AWS endpoint, so what a destination receives is what a client of the
endpoint sees there. These are rare paths (one call per failed or configured event), so
boto3 serves them."""

import json
import threading
import uuid
from datetime import datetime, timezone

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra.aws import emulator_client
from local.services.aws.async_queue import DESTINATION, AsyncInvocation, function_of, queue_name

SUCCESS_DETAIL, FAILURE_DETAIL = "Lambda Function Invocation Result - Success", "Lambda Function Invocation Result - Failure"


class DestinationError(Exception):
    """The destination could not be reached or refused the record."""


def iso_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def service_of(arn: str) -> str:
    """sqs, sns, lambda, events or s3 (the ARN's service), '' for something that is no ARN."""
    parts = arn.split(":")
    return parts[2] if len(parts) >= 6 and parts[0] == "arn" else ""


class Destinations:
    def __init__(self, endpoint_url: str, region: str):
        config = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})
        self.endpoint_url, self.region = endpoint_url, region
        self._clients: dict[str, object] = {}
        self._config = config
        self._lock = threading.Lock()  # boto3 makes clients unsafely across threads; calls are safe

    def _client(self, service: str, region: str):
        key = f"{service}@{region}"
        with self._lock:
            if key not in self._clients:
                self._clients[key] = emulator_client(service, self.endpoint_url, region, self._config)
            return self._clients[key]

    def send(self, arn: str, record: dict, *, detail_type: str, function_arn: str, batch: dict | None = None,
             key_prefix: str | None = None) -> None:
        """Send a destination record (JSON) to the destination `arn`. A stream mapping's failed
        `batch` (the event the function was given) goes with the record to an S3 bucket only, as
        `payload`, under `aws/lambda/<key_prefix>/...` (its mapping and shard)."""
        try:
            if service_of(arn) == "s3":
                self._to_bucket(arn, {**record, **({"payload": json.dumps(batch)} if batch is not None else {})},
                                key_prefix or str(function_of(function_arn)))
            else:
                self._send(arn, json.dumps(record), detail_type, function_arn)
        except (BotoCoreError, ClientError) as error:
            raise DestinationError(f"{arn}: {error}") from None

    def _to_bucket(self, arn: str, record: dict, key_prefix: str) -> None:
        bucket = arn.split(":::", 1)[-1]
        now = datetime.now(timezone.utc)
        key = f"aws/lambda/{key_prefix}/{now:%Y/%m/%d/%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"
        self._client("s3", _region(arn, self.region)).put_object(Bucket=bucket, Key=key,
                                                                 Body=json.dumps(record).encode())

    def _send(self, arn: str, body: str, detail_type: str, function_arn: str) -> None:
        service, region = service_of(arn), _region(arn, self.region)
        if service == "sqs":
            self._client("sqs", region).send_message(QueueUrl=self._queue_url(arn), MessageBody=body)
        elif service == "sns":
            self._client("sns", region).publish(TopicArn=arn, Message=body)
        elif service == "lambda":
            self._to_function(arn, body, function_arn)
        elif service == "events":
            answer = self._client("events", region).put_events(Entries=[{
                "Source": "lambda", "DetailType": detail_type, "Detail": body, "EventBusName": arn,
                "Resources": [function_arn, arn]}])
            if answer.get("FailedEntryCount"):
                raise DestinationError(f"{arn}: PutEvents refused the record: {answer['Entries']}")
        else:
            raise DestinationError(f"{arn!r} is not a destination Lambda can send to (SQS, SNS, Lambda, EventBridge, S3)")

    def dead_letter(self, arn: str, payload: str, request_id: str, error_code: int, error_message: str) -> None:
        """A failed asynchronous event to the function's DeadLetterConfig target (SQS or SNS): the
        event as it was, with the attributes Lambda adds ("Dead-letter queues": RequestID,
        ErrorCode, a three-digit HTTP status as a Number, and ErrorMessage)."""
        values = {"RequestID": ("String", request_id), "ErrorCode": ("Number", str(error_code)),
                  "ErrorMessage": ("String", error_message[:1024] or "-")}
        attributes = {name: {"DataType": kind, "StringValue": value} for name, (kind, value) in values.items()}
        service, region = service_of(arn), _region(arn, self.region)
        try:
            if service == "sqs":
                self._client("sqs", region).send_message(QueueUrl=self._queue_url(arn), MessageBody=payload,
                                                         MessageAttributes=attributes)
            elif service == "sns":
                self._client("sns", region).publish(TopicArn=arn, Message=payload, MessageAttributes=attributes)
            else:
                raise DestinationError(f"{arn!r} is not a dead-letter target (an SQS queue or SNS topic)")
        except (BotoCoreError, ClientError) as error:
            raise DestinationError(f"{arn}: {error}") from None

    def _to_function(self, arn: str, body: str, function_arn: str) -> None:
        name = function_of(arn)
        if name is None:
            raise DestinationError(f"{arn!r} is not a function ARN")
        sqs = self._client("sqs", _region(arn, self.region))
        try:
            url = sqs.get_queue_url(QueueName=queue_name(name))["QueueUrl"]
        except ClientError:
            raise DestinationError(f"{arn}: no such function here") from None
        invocation = AsyncInvocation(payload=body, source=DESTINATION, source_arn=function_arn)
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=invocation.attributes())

    def _queue_url(self, arn: str) -> str:
        _, _, _, _, account, name = arn.split(":", 5)
        return f"{self.endpoint_url.rstrip('/')}/{account}/{name}"


def _region(arn: str, default: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else default
