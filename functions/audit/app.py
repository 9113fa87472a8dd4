"""Consumes every event from its SQS queue and writes one audit row per event."""

from cloudpatterns.consumer import handle_batch
from recipebook.consumers import audit


def handler(event, context):
    return handle_batch(event, audit)
