"""Lambda's event source mappings, run locally: SQS queues and the Redis Stream fallback feed
their consumer functions; schedules fire their functions.

SQS, as Lambda does it: long-poll, gather up to BatchSize within the batching window,
invoke with an SQS event, delete what succeeded, leave what failed (per the partial batch
response, or the whole batch when the function errs) to come back after the visibility
timeout; the queue's redrive policy moves a message to its DLQ after maxReceiveCount.

Redis Stream (when SNS/SQS was down): a consumer group per consumer function, the same
SQS-shaped events, XACK on success; entries a crashed or failing consumer left pending
are claimed again after the queue's visibility timeout, and moved to a dead-letter stream
after maxReceiveCount deliveries.
"""

import collections
import json
import logging
import os
import re
import threading
import time

import redis

from local.events.shapes import schedule_event, sqs_record
from local.app.model import AppModel, FunctionSpec, QueueSpec, SqsEvent
from local.runtime.runtime import Runtime
from local.events.sqs_client import SqsClient, SqsError

log = logging.getLogger("local.events")
EVENT_LOG_STREAM = "local:event-log"  # what `python -m local events tail` reads
SCHEDULE_OVERRIDE = "LOCAL_SCHEDULE_SECONDS"
LONG_POLL_S = 1
WINDOW_POLL_S = 0.02  # within a batching window, how long to let messages gather between receives


class EventLog:
    """Each delivery's outcome, on a capped Redis stream, for `events tail`.

    Written by a thread of its own, in batches, a tenth of a second apart: the log is for
    people watching, and a Redis round trip inside every delivery cost the pollers about a
    tenth of their CPU. When Redis is down, lines are dropped, never waited for."""

    def __init__(self, client: redis.Redis | None, flush_every_s: float = 0.1, max_pending: int = 10_000):
        self.client = client
        self.flush_every_s = flush_every_s
        self._pending: collections.deque[dict] = collections.deque(maxlen=max_pending)
        self._closed = threading.Event()
        self._writer: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def write(self, consumer: str, records: list[dict], failed: set[str], via: str) -> None:
        if self.client is None:
            return
        for record in records:
            event = _envelope(record["body"])
            self._pending.append({"type": event.get("type", "?"), "id": event.get("id", "?"), "consumer": consumer,
                                  "via": via, "outcome": "failed" if record["messageId"] in failed else "ok"})
        if self._writer is None:
            with self._start_lock:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._write_pending, name="event-log", daemon=True)
                    self._writer.start()

    def pending(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        """Write what is pending, then stop."""
        self._closed.set()
        if self._writer is not None:
            self._writer.join(5)

    def _write_pending(self) -> None:
        while True:
            closing = self._closed.wait(self.flush_every_s)
            self._flush()
            if closing:
                return

    def _flush(self) -> None:
        lines = []
        while self._pending:
            lines.append(self._pending.popleft())
        if not lines:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for line in lines:
                pipe.xadd(EVENT_LOG_STREAM, line, maxlen=5000, approximate=True)
            pipe.execute()
        except redis.RedisError:
            pass  # the log is for people watching; the deliveries themselves went on


def _envelope(body: str) -> dict:
    try:
        event = json.loads(body)
        return json.loads(event["Message"]) if "TopicArn" in event and "Message" in event else event
    except (ValueError, KeyError, TypeError):
        return {}


def failed_ids(outcome, records: list[dict], report_failures: bool) -> set[str]:
    """Which records failed: all when the function erred or answered nonsense; those named in
    batchItemFailures when the function reports them; none otherwise."""
    everyone = {record["messageId"] for record in records}
    if outcome.failed:
        return everyone
    if not report_failures:
        return set()
    payload = outcome.payload
    if payload is None:
        return set()
    items = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        return everyone
    named = {item.get("itemIdentifier") for item in items if isinstance(item, dict)}
    if not named <= everyone or None in named:
        return everyone  # an identifier Lambda does not know: the whole batch fails, as on AWS
    return named


class _Loop(threading.Thread):
    def __init__(self, name: str, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.stop = stop
        self._warned = False

    def run(self) -> None:
        """Turn after turn until stopped; an unexpected error is logged, never the end of it."""
        while not self.stop.is_set():
            try:
                self.turn()
            except Exception:
                log.exception("%s: unexpected error; going on", self.name)
                self.stop.wait(1)

    def turn(self) -> None:
        raise NotImplementedError

    def warn_once(self, message: str) -> None:
        if not self._warned:
            log.warning(message)
            self._warned = True

    def recovered(self) -> None:
        if self._warned:
            log.warning("%s: connected again", self.name)
            self._warned = False


class SqsPoller(_Loop):
    def __init__(self, runtime: Runtime, function: str, source: SqsEvent, queue: QueueSpec, sqs: SqsClient, region: str,
                 events: EventLog, stop: threading.Event):
        super().__init__(f"sqs:{queue.name}->{function}", stop)
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
        outcome = self.runtime.invoke(self.function, {"Records": records})
        failed = failed_ids(outcome, records, self.source.report_batch_item_failures)
        done = [m for m in messages if m["MessageId"] not in failed]
        try:
            for start in range(0, len(done), 10):
                self.sqs.delete_message_batch(self.queue.url, [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start:start + 10])])
        except SqsError as error:
            # Not deleted: they come back after the visibility timeout; the consumer is idempotent.
            self.warn_once(f"{self.name}: could not delete handled messages ({error.code})")
        self.events.write(self.function, records, failed, "sqs")


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


def matches_filter(policy: dict | None, attributes: dict[str, str]) -> bool:
    """SNS filter policy on message attributes: exact strings and prefixes, every key must match."""
    if not policy:
        return True
    for key, allowed in policy.items():
        value = attributes.get(key)
        if value is None:
            return False
        options = allowed if isinstance(allowed, list) else [allowed]
        if not any(option == value or (isinstance(option, dict) and "prefix" in option
                                       and value.startswith(option["prefix"])) for option in options):
            return False
    return True


class StreamPoller(_Loop):
    def __init__(self, runtime: Runtime, function: str, source: SqsEvent, queue: QueueSpec, filter_policy: dict | None,
                 client: redis.Redis, stream: str, region: str, events: EventLog, stop: threading.Event):
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
            event_type = _text(fields.get(b"type", b""))
            (wanted if matches_filter(self.filter_policy, {"type": event_type}) else skipped).append(
                (entry_id, fields, delivered))
        if skipped:  # not for this consumer (its subscription filters them out)
            self.client.xack(self.stream, self.group, *[entry_id for entry_id, _, _ in skipped])
        if not wanted:
            return
        records = [sqs_record(_text(fields[b"event"]), self.queue.arn, self.region, message_id=_text(entry_id),
                              receipt_handle=_text(entry_id),
                              attributes=None if delivered == 1 else {"ApproximateReceiveCount": str(delivered)},
                              message_attributes={"type": {"stringValue": _text(fields.get(b"type", b"")),
                                                           "stringListValues": [], "binaryListValues": [],
                                                           "dataType": "String"}})
                   for entry_id, fields, delivered in wanted]
        outcome = self.runtime.invoke(self.function, {"Records": records})
        failed = failed_ids(outcome, records, self.source.report_batch_item_failures)
        done = [record["messageId"] for record in records if record["messageId"] not in failed]
        if done:
            self.client.xack(self.stream, self.group, *done)
        self.events.write(self.function, records, failed, "redis")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


def schedule_period(expression: str) -> float | None:
    """Seconds between runs of rate(...); cron(...) runs every minute locally (see README)."""
    found = _RATE.fullmatch(expression.strip())
    if found:
        return int(found.group(1)) * _UNITS[found.group(2).rstrip("s")]
    if expression.strip().startswith("cron("):
        return 60.0
    return None


class Schedule(_Loop):
    def __init__(self, runtime: Runtime, function: FunctionSpec, name: str, period_s: float, rule_arn: str,
                 stop: threading.Event):
        super().__init__(f"schedule:{name}->{function.logical_id}", stop)
        self.runtime, self.function, self.period_s, self.rule_arn = runtime, function, period_s, rule_arn

    def turn(self) -> None:
        if self.stop.wait(self.period_s):
            return
        outcome = self.runtime.invoke(self.function.logical_id, schedule_event(self.rule_arn))
        if outcome.failed:
            log.warning("%s failed: %s", self.name, outcome.error.get("errorMessage"))


class EventSources:
    """Every event source of the template, started and stopped together."""

    def __init__(self, model: AppModel, runtime: Runtime, aws_endpoint_url: str, redis_url: str, region: str,
                 account_id: str, environ=None):
        self.model, self.runtime = model, runtime
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        environ = os.environ if environ is None else environ
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=5)
        self.event_log = events = EventLog(client)
        queues_by_arn = {queue.arn: queue for queue in model.queues.values()}
        filters = {sub.endpoint: sub.filter_policy for sub in model.subscriptions.values() if sub.protocol == "sqs"}
        override = environ.get(SCHEDULE_OVERRIDE)
        for spec in model.functions.values():
            stream = spec.environment.get("EVENTS_STREAM")
            for source in spec.sqs_events:
                queue = queues_by_arn.get(source.queue_arn)
                if queue is None or not source.enabled:
                    continue
                sqs = SqsClient(aws_endpoint_url, region)  # one per poller: a connection is not shared
                self.threads.append(SqsPoller(runtime, spec.logical_id, source, queue, sqs, region, events,
                                              self.stop_event))
                if stream and queue.arn in filters:  # fed by the topic: also by its Redis fallback
                    self.threads.append(StreamPoller(runtime, spec.logical_id, source, queue, filters[queue.arn],
                                                     client, stream, region, events, self.stop_event))
            for schedule in spec.schedule_events:
                period = float(override) if override else schedule_period(schedule.schedule)
                if schedule.enabled and period:
                    rule = f"arn:aws:events:{region}:{account_id}:rule/{spec.logical_id}-{schedule.name}"
                    self.threads.append(Schedule(runtime, spec, schedule.name, period, rule, self.stop_event))

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(10)
        self.event_log.close()  # after the pollers: their last deliveries are logged too
