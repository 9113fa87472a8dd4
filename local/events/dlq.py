"""`dlq list|redrive`: the dead letters of the template's queues, listed and sent back."""

from infra.aws import emulator_client
from local.app.model import AppModel
from local.app.project import Addresses
from local.errors import LocalError


def _sqs(services: Addresses):
    return emulator_client("sqs", services.aws_endpoint_url, services.region)


def dead_letter_queues(model: AppModel) -> dict[str, str]:
    """DLQ name -> the name of the queue whose redrive policy points at it."""
    by_arn = {queue.arn: queue for queue in model.queues.values()}
    return {by_arn[q.dead_letter_arn].name: q.name for q in model.queues.values()
            if q.dead_letter_arn in by_arn}


def list_dead_letters(model: AppModel, services: Addresses, say) -> int:
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


def redrive(model: AppModel, services: Addresses, dlq: str, say) -> int:
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
