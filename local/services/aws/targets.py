"""What the trigger patches share (hooks.py applies them): where moto reaches for Lambda, the
endpoint delivers to the function's internal queue instead (async_queue.py): SNS
subscriptions with protocol lambda (sns_lambda.py), bucket notifications (s3_lambda.py),
EventBridge rules with Lambda targets (events_lambda.py); and the streams' GetRecords wait
(stream_wait.py).

moto 5.2.5 fails or drops each of these (a Publish to a topic with a lambda subscription
fails whole, a PutEvents with a Lambda target answers 500, an S3 notification is dropped
silently), and it has no public hook: its private methods are replaced, as speedups.py
replaces others, with the same rules (moto is pinned; a target that moved is skipped and
named at start; tests/support/moto_patch_check.py checks them against pristine moto). Unlike
speedups, these are fidelity patches: they change answers on purpose, to AWS's.

Each patch runs inside the request that caused the delivery, under the state lock, and only
writes messages to queues, so the delivery is on disk before the request is answered.
"""

from .async_queue import AsyncInvocation, queue_name

PATCHED: list[str] = []
SKIPPED: list[str] = []


def patch(owner, name: str, make_replacement) -> None:
    """Replace `owner.name` with make_replacement(original); a missing target is skipped and named."""
    label = f"{owner.__qualname__ if isinstance(owner, type) else owner.__name__}.{name}"
    original = getattr(owner, name, None)
    if original is None:
        SKIPPED.append(label)
        return
    setattr(owner, name, make_replacement(original))
    PATCHED.append(label)


def enqueue(account_id: str, region: str, function_name: str, invocation: AsyncInvocation) -> bool:
    """Put an asynchronous invocation on the function's internal queue, from inside moto.
    False when the function has no queue here: it is not a function of the template."""
    from moto.sqs.exceptions import QueueDoesNotExist
    from moto.sqs.models import sqs_backends

    try:
        sqs_backends[account_id][region].send_message(queue_name(function_name), invocation.payload,
                                                      message_attributes=invocation.attributes())
    except QueueDoesNotExist:
        return False
    return True


def send_to_queue(queue_arn: str, body: str, attributes: dict[str, str]) -> bool:
    """A message to an SQS queue given by ARN, from inside moto (a dead-letter queue); False
    when there is no such queue. `attributes` are string message attributes."""
    from moto.sqs.exceptions import QueueDoesNotExist
    from moto.sqs.models import sqs_backends

    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        return False
    _, _, _, region, account, name = parts
    try:
        sqs_backends[account][region].send_message(name, body, message_attributes={
            key: {"DataType": "String", "StringValue": value} for key, value in attributes.items()})
    except QueueDoesNotExist:
        return False
    return True
