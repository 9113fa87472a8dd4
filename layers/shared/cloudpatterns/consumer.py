"""Consuming events from an SQS batch: each record on its own, failures reported per record
(ReportBatchItemFailures, by Powertools' batch processor), and each event handled at most
once in effect, whatever the redeliveries (the processed-events table, written in the
handler's own transaction)."""

import json
import logging

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

log = logging.getLogger(__name__)


def handle_batch(event: dict, handle_one) -> dict:
    """handle_one(envelope) for every record; the ones that raise come back for redelivery.

    A batch where every record failed is reported as such rather than raised (Powertools'
    default): the records come back either way, and the function's log shows each failure
    once, not a second time as the invocation's error."""

    def handle_record(record) -> None:
        try:
            envelope = json.loads(record.body)
            if "Message" in envelope and "TopicArn" in envelope:  # an SNS envelope (no raw delivery)
                envelope = json.loads(envelope["Message"])
            handle_one(envelope)
        except Exception:
            log.exception("event in message %s failed; it will be delivered again", record.message_id)
            raise

    if not event.get("Records"):  # Lambda sends none, but Powertools would refuse one
        return {"batchItemFailures": []}
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event, handle_record, processor)


def first_time(cursor, consumer: str, event_id: str) -> bool:
    """True the first time this consumer sees this event (call inside the handler's transaction)."""
    cursor.execute("""INSERT INTO processed_events (consumer, event_id) VALUES (%s, %s)
                      ON CONFLICT DO NOTHING RETURNING event_id""", (consumer, event_id))
    return cursor.fetchone() is not None
