"""Events in the shapes AWS sends them: SQS and SNS records, EventBridge scheduled events.

`generate-event` prints these; the event sources (issue: pub/sub) build the same shapes
from real messages, so a function sees one format whichever way it is called.
"""

import hashlib
import time
import uuid
from datetime import datetime, timezone

from local.services.aws import aws_shapes


def sqs_record(body: str, queue_arn: str, region: str, *, message_id: str | None = None,
               receipt_handle: str | None = None, attributes: dict | None = None,
               message_attributes: dict | None = None, now: float | None = None) -> dict:
    now = time.time() if now is None else now
    stamp = str(int(now * 1000))
    account = queue_arn.split(":")[4]
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": receipt_handle or uuid.uuid4().hex,
        "body": body,
        "attributes": attributes or {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": stamp,
            "SenderId": account,
            "ApproximateFirstReceiveTimestamp": stamp,
        },
        "messageAttributes": message_attributes or {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_event(records: list[dict]) -> dict:
    return {"Records": records}


def sns_event(message: str, topic_arn: str, *, subject: str | None = None, attributes: dict | None = None,
              now: float | None = None) -> dict:
    """An SNS notification as the endpoint delivers one (local/services/aws/aws_shapes.py), for
    generate-event: `attributes` are string attributes by name."""
    return aws_shapes.sns_event(
        message=message, message_id=str(uuid.uuid4()), topic_arn=topic_arn,
        subscription_arn=f"{topic_arn}:{uuid.uuid4()}", subject=subject, now=now,
        attributes={name: {"Type": "String", "Value": value} for name, value in (attributes or {}).items()})


def schedule_event(rule_arn: str, *, detail: dict | None = None, now: float | None = None) -> dict:
    now = time.time() if now is None else now
    _, _, _, region, account, _ = rule_arn.split(":", 5)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": detail or {},
    }
