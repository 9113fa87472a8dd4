"""An SQS event source mapping, as Lambda runs one.

Long-poll, gather up to BatchSize within the batching window, invoke with an SQS event,
delete what succeeded, leave what failed (per the partial batch response, or the whole batch
when the function errs) to come back after the visibility timeout; the queue's redrive
policy moves a message to its DLQ after maxReceiveCount. Messages that no FilterCriteria
pattern matches are deleted unseen, as Lambda deletes them; ScalingConfig.MaximumConcurrency
is the number of pollers (sources.py starts them), each invoking one batch at a time."""

import threading
import time

from local.app.model import QueueSpec, SqsEvent
from local.events.batch import failed_ids
from local.events.deliveries import Deliveries
from local.events.log import log_batch
from local.events.polling import PollingThread
from local.events.shapes import sqs_record
from local.events.sqs_client import SqsClient, SqsError
from local.runtime.runtime import Runtime
from local.services.aws.filter_criteria import matches

LONG_POLL_S = 1
WINDOW_POLL_S = 0.02  # within a batching window, how long to let messages gather between receives


class SqsPoller(PollingThread):
    def __init__(self, runtime: Runtime, function: str, source: SqsEvent, queue: QueueSpec, sqs: SqsClient, region: str,
                 events: Deliveries, stop: threading.Event, number: int = 1):
        super().__init__(f"sqs:{queue.name}->{function}" + (f"#{number}" if number > 1 else ""), stop)
        self.runtime, self.function, self.source, self.queue, self.sqs = runtime, function, source, queue, sqs
        self.region, self.events = region, events

    def turn(self) -> None:
        try:
            messages = self._collect()
            self.recovered()
        except SqsError as error:
            self.warn_once(f"{self.name}: the queue cannot be read ({error.code}); retrying")
            self.stop.wait(1)
            return
        if messages:
            self._deliver(messages)

    def _collect(self) -> list[dict]:
        wanted = self.source.batch_size
        # A long poll, as Lambda's pollers do: it answers as soon as a message arrives, and
        # an idle queue costs one request a second instead of fifty (short polls every 20 ms
        # kept moto at a fifth of a core with nothing to do). One second, not twenty, so
        # that stopping never waits long.
        asked = min(10, wanted)
        messages = self._receive(asked, wait_s=LONG_POLL_S)
        if not messages:
            return []
        deadline = time.monotonic() + self.source.max_batching_window_s
        drained = len(messages) < asked
        while len(messages) < wanted and not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if drained:
                # Let the queue fill before asking again: a receive costs the same CPU whether it
                # brings one message or ten, and on two cores the pollers share it with the writers.
                self.stop.wait(min(WINDOW_POLL_S, remaining))
            asked = min(10, wanted - len(messages))
            more = self._receive(asked, wait_s=0)
            messages += more
            drained = len(more) < asked
        return messages

    def _receive(self, count: int, wait_s: int) -> list[dict]:
        return self.sqs.receive_message(self.queue.url, count, wait_s, ["All"], ["All"])

    def _deliver(self, messages: list[dict]) -> None:
        records = [_lambda_record(message, self.queue.arn, self.region) for message in messages]
        if self.source.filters:
            kept = [matches(self.source.filters, record, "sqs") for record in records]
            self._delete_messages([m for m, keep in zip(messages, kept) if not keep])
            messages = [m for m, keep in zip(messages, kept) if keep]
            records = [r for r, keep in zip(records, kept) if keep]
            if not records:
                return
        outcome = self.runtime.invoke(self.function, {"Records": records})
        failed = failed_ids(outcome, records, self.source.report_batch_item_failures)
        self._delete_messages([m for m in messages if m["MessageId"] not in failed])
        log_batch(self.events, f"sqs:{self.queue.name}", self.function, records, failed, "sqs", outcome.duration_ms)

    def _delete_messages(self, messages: list[dict]) -> None:
        try:
            for start in range(0, len(messages), 10):
                self.sqs.delete_message_batch(self.queue.url, [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages[start:start + 10])])
        except SqsError as error:
            # Not deleted: they come back after the visibility timeout; the consumer is idempotent.
            self.warn_once(f"{self.name}: could not delete handled messages ({error.code})")


def _lambda_record(message: dict, queue_arn: str, region: str) -> dict:
    attributes = message.get("Attributes", {})
    return sqs_record(
        message["Body"], queue_arn, region, message_id=message["MessageId"],
        receipt_handle=message["ReceiptHandle"],
        attributes={key: attributes[key] for key in ("ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                                      "ApproximateFirstReceiveTimestamp") if key in attributes},
        message_attributes={name: {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
                                   "stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
                            for name, value in message.get("MessageAttributes", {}).items()})
