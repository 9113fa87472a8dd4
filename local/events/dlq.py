"""`events tail` and `dlq list|redrive`: watching events flow, and handling dead letters."""

import boto3
import redis

from local.errors import LocalError
from local.events.sources import EVENT_LOG_STREAM
from local.app.model import AppModel
from local.app.project import Services


def tail(services: Services, say, count: int | None = None, from_start: bool = False) -> None:
    """Print each delivery (type, event id, consumer, path, outcome) as it happens."""
    client = redis.Redis.from_url(services.redis_url, socket_connect_timeout=2)
    last = "0-0" if from_start else "$"
    shown = 0
    try:
        while count is None or shown < count:
            answer = client.xread({EVENT_LOG_STREAM: last}, block=1000, count=100)
            for _, entries in answer or []:
                for entry_id, fields in entries:
                    last = entry_id
                    text = {k.decode(): v.decode() for k, v in fields.items()}
                    say(f"{text['type']:<22} {text['id']:<36} {text['consumer']:<26} via {text['via']:<5} "
                        f"{text['outcome']}")
                    shown += 1
                    if count is not None and shown >= count:
                        return
    except redis.RedisError as error:
        raise LocalError(f"cannot read the event log from Redis at {services.redis_url}: {error}") from None


def _sqs(services: Services):
    return boto3.client("sqs", endpoint_url=services.aws_endpoint_url, region_name=services.region,
                        aws_access_key_id="test", aws_secret_access_key="test")


def dead_letter_queues(model: AppModel) -> dict[str, str]:
    """DLQ name -> the name of the queue whose redrive policy points at it."""
    by_arn = {queue.arn: queue for queue in model.queues.values()}
    return {by_arn[q.dead_letter_arn].name: q.name for q in model.queues.values()
            if q.dead_letter_arn in by_arn}


def list_dead_letters(model: AppModel, services: Services, say) -> int:
    sqs, found = _sqs(services), 0
    for dlq, source in dead_letter_queues(model).items():
        url = sqs.get_queue_url(QueueName=dlq)["QueueUrl"]
        # VisibilityTimeout 0: look without hiding them from anyone else.
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                       AttributeNames=["All"]).get("Messages", [])
        count = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"]["ApproximateNumberOfMessages"]
        say(f"{dlq} (dead letters of {source}): {count}")
        for message in messages:
            say(f"  {message['MessageId']}  received {message['Attributes'].get('ApproximateReceiveCount', '?')}x  "
                f"{message['Body'][:100]}")
        found += int(count)
    return found


def redrive(model: AppModel, services: Services, dlq: str, say) -> int:
    """Move every message of a DLQ back to the queue it came from."""
    sources = dead_letter_queues(model)
    if dlq not in sources:
        raise LocalError(f"{dlq!r} is no dead-letter queue of the template; they are: {', '.join(sorted(sources))}")
    sqs = _sqs(services)
    from_url = sqs.get_queue_url(QueueName=dlq)["QueueUrl"]
    to_url = sqs.get_queue_url(QueueName=sources[dlq])["QueueUrl"]
    moved = 0
    while True:
        messages = sqs.receive_message(QueueUrl=from_url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            break
        for message in messages:
            sqs.send_message(QueueUrl=to_url, MessageBody=message["Body"],
                             MessageAttributes=message.get("MessageAttributes", {}))
            sqs.delete_message(QueueUrl=from_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    say(f"moved {moved} message(s) from {dlq} back to {sources[dlq]}")
    return moved
