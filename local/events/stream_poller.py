"""The Redis Stream fallback of a topic (written when SNS/SQS was down), delivered as SQS is.

A consumer group per consumer function, the same SQS-shaped events, XACK on success; entries
a crashed or failing consumer left pending are claimed again after the queue's visibility
timeout, and moved to a dead-letter stream after maxReceiveCount deliveries. The
subscription's filter policy applies as SNS applies it (filter_policy.py)."""

import threading

import redis

from local.app.model import QueueSpec, SqsEvent
from local.events.batch import failed_ids
from local.events.filter_policy import FilterPolicy
from local.events.deliveries import Deliveries
from local.events.log import log_batch
from local.events.polling import PollingThread, log
from local.events.shapes import sqs_record
from local.runtime.runtime import Runtime


class StreamPoller(PollingThread):
    def __init__(self, runtime: Runtime, function: str, source: SqsEvent, queue: QueueSpec, filter_policy: FilterPolicy,
                 client: redis.Redis, stream: str, region: str, events: Deliveries, stop: threading.Event):
        super().__init__(f"stream:{stream}->{function}", stop)
        self.runtime, self.function, self.source, self.queue = runtime, function, source, queue
        self.filter_policy, self.client, self.stream, self.region, self.events = filter_policy, client, stream, region, events
        self.group, self.consumer = function, f"{function}-local"
        self.dead_letters = f"{stream}:dlq:{function}"

    def turn(self) -> None:
        try:
            self._ensure_group()
            entries = self._reclaim() or self._read_new()
            self.recovered()
        except redis.RedisError as error:
            self.warn_once(f"{self.name}: Redis cannot be read ({type(error).__name__}); retrying")
            self.stop.wait(1)
            return
        if entries:
            self._deliver(entries)

    def _ensure_group(self) -> None:
        try:
            # From the start of the stream: events written before this consumer first ran count too.
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def _read_new(self) -> list[tuple[str, dict, int]]:
        answer = self.client.xreadgroup(self.group, self.consumer, {self.stream: ">"},
                                        count=self.source.batch_size, block=1000)
        return [(entry_id, fields, 1) for _, entries in answer or [] for entry_id, fields in entries]

    def _reclaim(self) -> list[tuple[str, dict, int]]:
        """Entries delivered before and not acknowledged within the visibility timeout."""
        idle_ms = self.queue.visibility_timeout_s * 1000
        # Redis 6.2 answers [next, claimed]; 7 adds the ids it dropped: [next, claimed, deleted].
        claimed = self.client.xautoclaim(self.stream, self.group, self.consumer, min_idle_time=idle_ms,
                                         start_id="0-0", count=self.source.batch_size)[1]
        if not claimed:
            return []
        counts = {item["message_id"]: item["times_delivered"] for item in self.client.xpending_range(
            self.stream, self.group, min="-", max="+", count=1000) if item["message_id"] in dict(claimed)}
        entries = []
        for entry_id, fields in claimed:
            delivered = counts.get(entry_id, 1)
            if self.queue.max_receive_count and delivered > self.queue.max_receive_count:
                self.client.xadd(self.dead_letters, fields)
                self.client.xack(self.stream, self.group, entry_id)
                log.warning("%s: event %s moved to %s after %d deliveries", self.name, entry_id, self.dead_letters,
                            delivered - 1)
            else:
                entries.append((entry_id, fields, delivered))
        return entries

    def _deliver(self, entries: list[tuple[str, dict, int]]) -> None:
        wanted, skipped = [], []
        for entry_id, fields, delivered in entries:
            event_type = _decoded(fields.get(b"type", b""))
            (wanted if self.filter_policy.matches({"type": event_type}, _decoded(fields[b"event"])) else skipped).append(
                (entry_id, fields, delivered))
        if skipped:  # not for this consumer (its subscription filters them out)
            self.client.xack(self.stream, self.group, *[entry_id for entry_id, _, _ in skipped])
        if not wanted:
            return
        records = [sqs_record(_decoded(fields[b"event"]), self.queue.arn, self.region, message_id=_decoded(entry_id),
                              receipt_handle=_decoded(entry_id),
                              attributes=None if delivered == 1 else {"ApproximateReceiveCount": str(delivered)},
                              message_attributes={"type": {"stringValue": _decoded(fields.get(b"type", b"")),
                                                           "stringListValues": [], "binaryListValues": [],
                                                           "dataType": "String"}})
                   for entry_id, fields, delivered in wanted]
        outcome = self.runtime.invoke(self.function, {"Records": records})
        failed = failed_ids(outcome, records, self.source.report_batch_item_failures)
        done = [record["messageId"] for record in records if record["messageId"] not in failed]
        if done:
            self.client.xack(self.stream, self.group, *done)
        log_batch(self.events, f"redis:{self.stream}", self.function, records, failed, "redis", outcome.duration_ms)


def _decoded(value) -> str:
    """A Redis field as text (redis-py answers bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)
