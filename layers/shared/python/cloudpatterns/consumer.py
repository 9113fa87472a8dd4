"""Consuming events from an SQS batch: each record on its own, failures reported per record
(ReportBatchItemFailures), and each event handled at most once in effect, whatever the
redeliveries (the processed-events table, written in the handler's own transaction)."""

import json
import logging

log = logging.getLogger(__name__)


def handle_batch(event: dict, handle_one) -> dict:
    """handle_one(envelope) for every record; the ones that raise come back for redelivery."""
    failures = []
    for record in event.get("Records", []):
        try:
            envelope = json.loads(record["body"])
            if "Message" in envelope and "TopicArn" in envelope:  # an SNS envelope (no raw delivery)
                envelope = json.loads(envelope["Message"])
            handle_one(envelope)
        except Exception:
            log.exception("event in message %s failed; it will be delivered again", record.get("messageId"))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def first_time(cursor, consumer: str, event_id: str) -> bool:
    """True the first time this consumer sees this event (call inside the handler's transaction)."""
    cursor.execute("""INSERT INTO processed_events (consumer, event_id) VALUES (%s, %s)
                      ON CONFLICT DO NOTHING RETURNING event_id""", (consumer, event_id))
    return cursor.fetchone() is not None
