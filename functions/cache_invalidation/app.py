"""Consumes recipe and product events from its SQS queue and drops what they changed from the cache."""

from cloudpatterns.consumer import handle_batch
from recipebook.consumers import invalidate


def handler(event, context):
    return handle_batch(event, invalidate)
