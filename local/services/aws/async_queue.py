"""Lambda's queue of asynchronous invocations, one SQS queue per function on the AWS endpoint.

On AWS, an asynchronous invocation (the Invoke API with InvocationType Event, and every push
AWS makes that way: SNS, S3, EventBridge rules and schedules, the Scheduler, a Lambda
destination) is put on the function's internal queue and acknowledged; Lambda's own
pollers run it, retry it and send its outcome to the destinations. Here that queue is an
SQS queue of the endpoint, named after the function, so that an event is on disk once it is
acknowledged (the endpoint's state is durable) and the event runner's pollers take it from
there (local/events/async_invoker.py).

The message body is the event as the function will get it, byte for byte; what Lambda
knows of the invocation travels in message attributes. Nothing here imports moto: the
endpoint, the runner, the Invoke API and the CLI all use it.
"""

import json
import time
import uuid
from dataclasses import dataclass, field

QUEUE_PREFIX = "_local-async-"
# Lambda's limit for an asynchronous invocation's payload (the Invoke API reference): 1 MB.
MAX_ASYNC_PAYLOAD_BYTES = 1_048_576

# Where an invocation came from: the values of the `source` attribute.
INVOKE, SNS, S3, EVENTS, SCHEDULER, DESTINATION = "invoke", "sns", "s3", "events", "scheduler", "lambda"


def queue_name(function_name: str) -> str:
    """The internal queue of a function (SQS allows 80 characters; a function name has 64)."""
    return QUEUE_PREFIX + function_name


def function_of(arn_or_name: str) -> str | None:
    """The function name in a Lambda function ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`),
    a partial ARN (`ACCOUNT:function:NAME`) or a plain name; None for any other ARN."""
    parts = arn_or_name.split(":")
    if arn_or_name.startswith("arn:"):
        if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
            return None
        return parts[6] or None
    if len(parts) >= 3 and parts[1] == "function":
        return parts[2] or None
    return arn_or_name if len(parts) == 1 and arn_or_name else None


@dataclass
class AsyncInvocation:
    """One asynchronous invocation: the event, and what Lambda keeps beside it."""
    payload: str  # the event, JSON text, as the function gets it
    source: str  # INVOKE, SNS, S3, EVENTS, SCHEDULER or DESTINATION
    source_arn: str = ""  # the topic, bucket, rule, schedule or function that sent it
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))  # the invocation's, kept over retries
    enqueued_ms: int = field(default_factory=lambda: int(time.time() * 1000))  # when Lambda accepted it
    attempt: int = 1  # which attempt the next run is: 1, then 2 and 3 for the retries

    def attributes(self) -> dict[str, dict[str, str]]:
        """SQS message attributes, in the shape of SendMessage (and of moto's send_message)."""
        values = {"source": self.source, "sourceArn": self.source_arn or "-", "requestId": self.request_id,
                  "enqueuedMs": str(self.enqueued_ms), "attempt": str(self.attempt)}
        return {name: {"DataType": "Number" if name in ("enqueuedMs", "attempt") else "String", "StringValue": value}
                for name, value in values.items()}

    @classmethod
    def from_message(cls, body: str, attributes: dict) -> "AsyncInvocation":
        """From a received message (its Body and MessageAttributes); ValueError if it is not one."""
        def value(name: str) -> str:
            try:
                return attributes[name]["StringValue"]
            except (KeyError, TypeError):
                raise ValueError(f"not an asynchronous invocation: attribute {name} missing") from None

        return cls(payload=body, source=value("source"),
                   source_arn="" if value("sourceArn") == "-" else value("sourceArn"),
                   request_id=value("requestId"), enqueued_ms=int(value("enqueuedMs")), attempt=int(value("attempt")))

    def event(self):
        """The event as a Python value; the payload is JSON text by construction."""
        return json.loads(self.payload)


def visibility_timeout_s(function_timeout_s: float) -> int:
    """The internal queue's visibility timeout: the function's own and a margin (ensure_queues says why)."""
    return int(function_timeout_s) + 30


def ensure_queues(sqs, functions: dict[str, float]) -> tuple[list[str], list[str]]:
    """Make each function's internal queue (function name -> its Timeout in seconds), as
    Lambda has one for every function: (created, unchanged). `sqs` is a boto3 SQS client.

    A message comes back to the runner after the visibility timeout only when the runner
    died with it (it is deleted once handled), so the timeout is the function's own plus a
    margin; the retention is SQS's longest, since the event's age is judged by Lambda's
    MaximumEventAgeInSeconds, not by SQS."""
    created, unchanged = [], []
    existing = {}
    for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=QUEUE_PREFIX):
        existing |= {url.rsplit("/", 1)[-1]: url for url in page.get("QueueUrls", [])}
    for function, timeout_s in functions.items():
        name = queue_name(function)
        attributes = {"VisibilityTimeout": str(visibility_timeout_s(timeout_s)), "MessageRetentionPeriod": "1209600"}
        if name in existing:
            url = existing[name]
            current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(attributes))["Attributes"]
            if current != attributes:
                sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
            unchanged.append(name)
        else:
            sqs.create_queue(QueueName=name, Attributes=attributes)
            created.append(name)
    return created, unchanged
