"""One shard of a stream event source mapping, run as Lambda runs it: gather up to BatchSize
records within MaximumBatchingWindowInSeconds (and 6 MB), drop those FilterCriteria reject,
invoke the function synchronously with one batch in flight (which is what keeps the shard's
order), and checkpoint what is done.

What follows an invocation, per "Using AWS Lambda with Amazon Kinesis" (error handling,
reporting batch item failures), the DynamoDB page saying the same:
- success: the checkpoint moves to the batch's last record;
- batchItemFailures (ReportBatchItemFailures): the checkpoint moves to just before the
  lowest sequence number named, and the records from there are retried; an identifier that
  is empty, null, misspelt or not in the batch fails the whole batch;
- a function error: the batch is retried, or with BisectBatchOnFunctionError split in two,
  the first half retried first. "Splitting a batch does not count towards the retry quota";
- MaximumRetryAttempts spent, or records older than MaximumRecordAgeInSeconds: the batch
  (or its expired records) is discarded, its OnFailure record sent if there is a
  destination, and the checkpoint moves past it. Both default to -1, forever: a record that
  always fails holds its shard, as on AWS;
- the function could not be invoked at all: retried without counting, until the records
  are too old (AWS retries these "until the records expire").
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from local.app.event_model import StreamEvent
from local.events.checkpoints import Checkpoint, CheckpointStore
from local.events.clock import WALL_CLOCK, Clock
from local.events.deliveries import DEAD_LETTER, DROPPED, FAILED, OK, PARTIAL, RETRY, Deliveries, Delivery
from local.events.destinations import FAILURE_DETAIL, DestinationError, Destinations
from local.events.polling import PollingThread
from local.events.shard_reader import ShardReader
from local.events.stream_client import StreamError
from local.events.stream_records import (
    RECORD_AGE_EXCEEDED,
    RETRY_ATTEMPTS_EXHAUSTED,
    arrival_of,
    on_failure_record,
    sequence_of,
)

log = logging.getLogger("local.events")

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # a synchronous invocation's payload quota
IDLE_WAIT_S = 1.0  # an idle shard costs one GetRecords a second
RETRY_DELAY_S = 1.0  # between two attempts of a failing batch, on the runner's clock
# ... but never less than this on the wall clock: under a fast clock a batch that always fails
# (retried until its records expire, by default) must not invoke its function in a tight loop.
MIN_RETRY_REAL_S = 0.2


@dataclass
class Batch:
    records: list[dict]
    through: str | None  # where the checkpoint goes once the batch is done (past records filtered out too)
    retries: int = 0  # retries spent on these records (splits are free)
    invokes: int = 0  # times these records were sent to the function


@dataclass
class ShardTarget:
    """What the poller delivers to, and where its records come from."""
    function: str  # logical id
    function_arn: str
    event: StreamEvent
    stream_arn: str  # the stream's real ARN (a DynamoDB stream's has its creation label)
    region: str
    role_arn: str  # Kinesis records' invokeIdentityArn
    stream_created: float | None = None  # Kinesis: told apart from an earlier stream of the name

    @property
    def source_id(self) -> str:
        return f"{self.event.kind}:{self.event.stream_name}"


def filter_matches(filters: list[dict], record: dict, kind: str) -> bool:
    from local.services.aws.filter_criteria import matches  # the shared FilterCriteria matcher

    return matches(filters, record, kind)


class ShardPoller(PollingThread):
    def __init__(self, target: ShardTarget, reader: ShardReader, invoke: Callable, to_record: Callable[[dict], dict],
                 checkpoints: CheckpointStore, stop: threading.Event, *, destinations: Destinations | None = None,
                 deliveries: Deliveries | None = None, clock: Clock = WALL_CLOCK, retry_delay_s: float = RETRY_DELAY_S):
        super().__init__(f"{target.source_id}/{reader.shard_id}->{target.function}", stop)
        self.target, self.event, self.reader, self.invoke = target, target.event, reader, invoke
        self.to_record, self.checkpoints = to_record, checkpoints
        self.destinations, self.deliveries, self.clock, self.retry_delay_s = destinations, deliveries, clock, retry_delay_s
        self.finished = False  # a closed shard, read and delivered to its end
        self._last_committed = reader.after  # where the poller started: the last checkpoint
        self._planned: list[Batch] = []  # batches to invoke before reading more: retries and halves
        self._spill: list[dict] = []  # records read that did not fit in the last batch

    # -- one turn: a batch ---------------------------------------------------------------------

    def turn(self) -> None:
        batch = self._planned.pop(0) if self._planned else self._gather()
        if batch is None:
            if self.reader.ended and not self._spill:
                self._finish()
            return
        try:
            self._deliver(batch)
        except Exception:
            # Not delivered, not checkpointed: it goes first again (PollingThread logs the error).
            self._planned.insert(0, batch)
            raise

    def _pause(self) -> None:
        """Between two attempts of a failing batch."""
        wait = max(self.clock.real_seconds(self.retry_delay_s), min(MIN_RETRY_REAL_S, self.retry_delay_s))
        self.stop.wait(wait)

    def _gather(self) -> Batch | None:
        wanted = self.event.batch_size
        kept, through, size = [], None, 0
        deadline = None  # the batching window runs from the first record read
        while not self.stop.is_set():
            if self._spill:
                incoming, self._spill = self._spill, []
            else:
                wait = IDLE_WAIT_S if deadline is None else max(0.0, deadline - time.monotonic())
                incoming = self._read(wanted - len(kept), wait)
                if incoming is None:  # the shard could not be read: deliver what was read already
                    break
            for index, record in enumerate(incoming):
                if not self._passes(record):
                    through = sequence_of(record)  # done with, never invoked: AWS drops it
                    continue
                length = len(json.dumps(record)) + 2
                if len(kept) == wanted or (kept and size + length > MAX_PAYLOAD_BYTES):
                    self._spill = incoming[index:]
                    return Batch(kept, through)
                kept.append(record)
                through, size = sequence_of(record), size + length
            if len(kept) >= wanted or self.reader.ended:
                break
            if through is None:
                if not incoming:
                    return None  # nothing came: the turn ends (the thread checks for stop and the shard's end)
                continue  # all filtered out: read on
            if deadline is None:
                deadline = time.monotonic() + self.clock.real_seconds(self.event.max_batching_window_s)
            if time.monotonic() >= deadline:
                break
        if self.stop.is_set():
            return None  # not delivered, not checkpointed: read again after the restart
        return Batch(kept, through) if through is not None else None

    def _read(self, wanted: int, wait_s: float) -> list[dict] | None:
        try:
            raw = self.reader.read(max(1, wanted), wait_s, self.stop)
            self.recovered()
        except StreamError as error:
            self.warn_once(f"{self.name}: the shard cannot be read ({error.code}); retrying")
            self.stop.wait(1)
            return None
        return [self.to_record(record) for record in raw]

    def _passes(self, record: dict) -> bool:
        return not self.event.filters or filter_matches(self.event.filters, record, self.event.kind)

    # -- delivering a batch and what follows ---------------------------------------------------

    def _deliver(self, batch: Batch) -> None:
        expired = self._expired(batch.records)
        if expired:
            old, batch.records = batch.records[:expired], batch.records[expired:]
            through = sequence_of(old[-1]) if batch.records else batch.through
            self._discard(Batch(old, through, batch.retries, batch.invokes), RECORD_AGE_EXCEEDED, None)
        if not batch.records:
            self._commit(batch.through)  # everything in it was filtered out, or too old
            return
        began = time.monotonic()
        try:
            outcome = self.invoke(self.target.function, {"Records": batch.records})
        except Exception as error:  # noqa: BLE001 - never reached the function: retried, not counted
            log.warning("%s: could not invoke %s: %s; retrying", self.name, self.target.function, error)
            self._planned.insert(0, batch)
            self._pause()
            return
        batch.invokes += 1
        duration_ms = (time.monotonic() - began) * 1000
        first_failed = self._first_failed(outcome, batch.records)
        if first_failed is None:
            self._commit(batch.through)
            self._record(OK, batch.records, duration_ms)
            return
        if outcome.failed and self.event.bisect_on_error and len(batch.records) > 1:
            half = (len(batch.records) + 1) // 2
            first, second = batch.records[:half], batch.records[half:]
            self._planned[:0] = [Batch(first, sequence_of(first[-1]), batch.retries, batch.invokes),
                                 Batch(second, batch.through, batch.retries, batch.invokes)]
            self._record(FAILED, batch.records, duration_ms, f"split in two: {_error_text(outcome)}")
            return
        if first_failed > 0:
            self._commit(sequence_of(batch.records[first_failed - 1]))
        rest = Batch(batch.records[first_failed:], batch.through, batch.retries, batch.invokes)
        if 0 <= self.event.max_retries <= batch.retries:
            self._discard(rest, RETRY_ATTEMPTS_EXHAUSTED, outcome)
            return
        rest.retries += 1
        self._planned.insert(0, rest)
        self._record(RETRY if outcome.failed else PARTIAL, batch.records, duration_ms,
                     _error_text(outcome) if outcome.failed else f"{len(rest.records)} to retry")
        self._pause()

    def _first_failed(self, outcome, records: list[dict]) -> int | None:
        """The index of the first record to retry; None when the whole batch succeeded."""
        if outcome.failed:
            return 0
        if not self.event.report_batch_item_failures or not isinstance(outcome.payload, dict):
            return None
        items = outcome.payload.get("batchItemFailures")
        if not items:  # null or empty: a complete success
            return None
        positions = {sequence_of(record): index for index, record in enumerate(records)}
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            return 0
        named = [item.get("itemIdentifier") for item in items]
        if not all(isinstance(name, str) and name in positions for name in named):
            return 0  # empty, null, misspelt or unknown: the whole batch failed
        return min(positions[name] for name in named)

    def _expired(self, records: list[dict]) -> int:
        """How many of the first records are past MaximumRecordAgeInSeconds, on the runner's clock."""
        if self.event.max_record_age_s < 0:
            return 0
        now, count = time.time(), 0
        for record in records:
            if (now - arrival_of(record)) * self.clock.scale <= self.event.max_record_age_s:
                break
            count += 1
        return count

    def _discard(self, batch: Batch, condition: str, outcome) -> None:
        destination = self.event.on_failure
        outcome_name, detail = DROPPED, f"{condition}, no OnFailure destination"
        if destination and self.destinations is not None:
            record = on_failure_record(
                self.event.kind, batch.records, shard_id=self.reader.shard_id, stream_arn=self.target.stream_arn,
                function_arn=self.target.function_arn, request_id=getattr(outcome, "request_id", "") or "",
                condition=condition, invoke_count=batch.invokes,
                function_error="Unhandled" if outcome is not None and outcome.failed else None, now=self.clock.now())
            try:
                self.destinations.send(destination, record, detail_type=FAILURE_DETAIL,
                                       function_arn=self.target.function_arn, batch={"Records": batch.records},
                                       key_prefix=f"{self.target.function}-{self.event.name}/{self.reader.shard_id}")
                outcome_name, detail = DEAD_LETTER, f"{condition}: sent to {destination}"
            except DestinationError as error:
                log.warning("%s: the OnFailure record could not be sent: %s", self.name, error)
                detail = f"{condition}; OnFailure not sent: {error}"
        self._commit(batch.through)
        self._record(outcome_name, batch.records, None, detail)

    # -- checkpoints and the record of deliveries ------------------------------------------------

    def _commit(self, sequence: str | None, finished: bool = False) -> None:
        if sequence is None and not finished:
            return
        checkpoint = Checkpoint(self.target.stream_arn, self.reader.shard_id, sequence or self._last_committed,
                                finished, self.target.stream_created)
        try:
            self.checkpoints.save(self.target.function, self.event.name, checkpoint)
        except OSError as error:  # delivered all the same: a restart may deliver these again
            log.warning("%s: could not write its checkpoint: %s", self.name, error)
        self._last_committed = checkpoint.sequence_number

    def _finish(self) -> None:
        self._commit(None, finished=True)
        self.finished = True
        self.stop.set()  # this poller's own: the shard is done

    def _record(self, outcome: str, records: list[dict], duration_ms: float | None, detail: str = "") -> None:
        if self.deliveries is None:
            return
        span = f"{self.reader.shard_id} {sequence_of(records[0])}..{sequence_of(records[-1])}"
        self.deliveries.record(Delivery(self.target.source_id, self.target.function, outcome, len(records),
                                        via=self.event.kind, detail=f"{span} {detail}".strip(),
                                        duration_ms=duration_ms))


def _error_text(outcome) -> str:
    error = outcome.error or {}
    return f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"[:200]
