"""A DynamoDB or Kinesis stream event source mapping: finds the stream's shards and runs a
ShardPoller for each (shard_poller.py), parents before their children, as Lambda does.

The shards are found as Lambda finds them: a DynamoDB table's stream through DescribeTable
(LatestStreamArn: the template cannot know it, it carries the stream's creation label) and
DescribeStream; a Kinesis stream through DescribeStreamSummary and ListShards. They are
listed again every thirty seconds, and at once when a shard ends (a closed shard has
children). Until the table or stream exists, or while it has no stream, the source says so
in its state and asks again, less and less often. A stream made anew (another ARN, or a
Kinesis stream's other creation time) stops the pollers of the old one and starts over.

Where a shard starts: after its checkpoint; else, for a child of a shard this mapping read,
at its start (TRIM_HORIZON), so that nothing written after the split is skipped; else at the
mapping's StartingPosition. With LATEST a shard already closed when first seen is not read."""

import threading
import time
from collections.abc import Callable

from local.app.event_model import DYNAMODB, StreamEvent
from local.events.checkpoints import CheckpointStore
from local.events.clock import WALL_CLOCK, Clock
from local.events.deliveries import Deliveries
from local.events.destinations import Destinations
from local.events.polling import PollingThread
from local.events.shard_poller import ShardPoller, ShardTarget
from local.events.shard_reader import AT_TIMESTAMP, LATEST, TRIM_HORIZON, ShardReader
from local.events.stream_client import MISSING, StreamClient, StreamError
from local.events.stream_records import dynamodb_record, kinesis_record

RELIST_S = 30.0
TICK_S = 0.5  # how soon a finished shard's children start
MAX_BACKOFF_S = 10.0


class StreamSource(PollingThread):
    def __init__(self, function: str, function_arn: str, event: StreamEvent, invoke: Callable,
                 make_client: Callable[[], StreamClient], checkpoints: CheckpointStore, region: str,
                 stop: threading.Event, *, destinations: Destinations | None = None,
                 deliveries: Deliveries | None = None, clock: Clock = WALL_CLOCK, role_arn: str | None = None,
                 relist_s: float = RELIST_S, retry_delay_s: float | None = None):
        """`invoke(function, event) -> Invocation`; `make_client()` a new client (one per thread)."""
        super().__init__(f"{event.kind}:{event.stream_name}->{function}", stop)
        self.function, self.function_arn, self.event, self.invoke = function, function_arn, event, invoke
        self.make_client, self.checkpoints, self.region = make_client, checkpoints, region
        self.destinations, self.deliveries, self.clock = destinations, deliveries, clock
        account = function_arn.split(":")[4] if function_arn.count(":") >= 5 else "000000000000"
        self.role_arn = role_arn or f"arn:aws:iam::{account}:role/{function}-role"
        self.relist_s, self.retry_delay_s = relist_s, retry_delay_s
        self.source_id = f"{event.kind}:{event.stream_name}"
        self.pollers: dict[str, ShardPoller] = {}
        self._stream: tuple[str, float | None] | None = None  # (ARN, creation time) of the stream read
        self._finished: set[str] = set()  # shards done with
        self._read: set[str] = set()  # of those, the ones read to their end (their children start at their start)
        self._next_listing = 0.0
        self._listed = False  # the last listing found the stream
        self._backoff = 1.0
        self._client: StreamClient | None = None
        if deliveries is not None:
            deliveries.register(self.source_id, function, event.kind, "Enabled" if event.enabled else "Disabled")

    def run(self) -> None:
        try:
            super().run()
        finally:
            self._stop_pollers()
            if self._client is not None:
                self._client.close()

    def turn(self) -> None:
        if not self.event.enabled:
            self.stop.wait(RELIST_S)
            return
        ended = [shard for shard, poller in self.pollers.items() if poller.finished]
        for shard in ended:
            poller = self.pollers.pop(shard)
            poller.join(5)  # it has set its own stop: it is on its way out
            poller.reader.client.close()  # else its kept-alive connection holds a server thread
            self._finished.add(shard)
            self._read.add(shard)
        if ended or time.monotonic() >= self._next_listing:
            self._list()
        self._report()
        self.stop.wait(TICK_S)

    # -- the shards ------------------------------------------------------------------------------

    def _list(self) -> None:
        if self._client is None:
            self._client = self.make_client()
        try:
            stream, shards = self._describe(self._client)
        except StreamError as error:
            if error.code in MISSING:
                self._not_listed(f"waiting for {self._what()} to exist")
            else:
                self._not_listed(f"cannot list the shards: {error}")
                self.warn_once(f"{self.name}: cannot list the shards ({error}); retrying")
            return
        if stream is None:
            self._not_listed(f"{self._what()} has no stream enabled; waiting")
            return
        self.recovered()
        self._listed, self._backoff = True, 1.0
        self._next_listing = time.monotonic() + self.relist_s
        if stream != self._stream:  # first seen, or made anew: start over
            self._stop_pollers()
            self._finished, self._read, self._stream = set(), set(), stream
        self._start(shards)

    def _not_listed(self, note: str) -> None:
        self._listed = False
        self._set_state("Failing", note)
        self._next_listing = time.monotonic() + self._backoff  # asked again less and less often
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)

    def _describe(self, client: StreamClient) -> tuple[tuple[str, float | None] | None, list[dict]]:
        if self.event.kind == DYNAMODB:
            table = client.describe_table(self.event.stream_name)
            arn = table.get("LatestStreamArn")
            if not arn or not (table.get("StreamSpecification") or {}).get("StreamEnabled", True):
                return None, []
            return (arn, None), client.describe_stream(arn).get("Shards", [])
        summary = client.describe_stream_summary(self.event.stream_name)
        created = summary.get("StreamCreationTimestamp")
        return (summary["StreamARN"], float(created) if created is not None else None), \
            client.list_shards(self.event.stream_name)

    def _start(self, shards: list[dict]) -> None:
        listed = {shard["ShardId"]: shard for shard in shards}
        changed = True
        while changed:  # a shard marked finished may let its children start in the same pass
            changed = False
            for shard_id, shard in listed.items():
                if shard_id in self.pollers or shard_id in self._finished:
                    continue
                parents = [parent for parent in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId"))
                           if parent and parent in listed]
                if any(parent not in self._finished for parent in parents):
                    continue  # parents first: that is what keeps a key's records in order across a split
                changed |= self._start_one(shard, parents)

    def _start_one(self, shard: dict, parents: list[str]) -> bool:
        """Start the shard's poller; True when instead the shard turned out to be done with."""
        arn, created = self._stream
        shard_id = shard["ShardId"]
        closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})
        checkpoint = self.checkpoints.load(self.function, self.event.name, shard_id, arn, created)
        if checkpoint is not None and checkpoint.finished:
            self._finished.add(shard_id)
            self._read.add(shard_id)
            return True
        start = self.event.starting_position
        if start != AT_TIMESTAMP and any(parent in self._read for parent in parents):
            start = TRIM_HORIZON
        after = checkpoint.sequence_number if checkpoint is not None else None
        if after is None and start == LATEST and closed:
            self._finished.add(shard_id)  # nothing will ever come after its latest record
            return True
        stream = arn if self.event.kind == DYNAMODB else self.event.stream_name
        reader = ShardReader(self.make_client(), self.event.kind, stream, shard_id, after=after, start=start,
                             timestamp=self.event.starting_timestamp, closed=closed)
        target = ShardTarget(self.function, self.function_arn, self.event, arn, self.region, self.role_arn, created)
        options = {} if self.retry_delay_s is None else {"retry_delay_s": self.retry_delay_s}
        poller = ShardPoller(target, reader, self.invoke, self._converter(arn, shard_id), self.checkpoints,
                             threading.Event(), destinations=self.destinations, deliveries=self.deliveries,
                             clock=self.clock, **options)
        self.pollers[shard_id] = poller
        poller.start()
        return False

    def _converter(self, stream_arn: str, shard_id: str) -> Callable[[dict], dict]:
        if self.event.kind == DYNAMODB:
            return lambda raw: dynamodb_record(raw, stream_arn, self.region)
        return lambda raw: kinesis_record(raw, shard_id, stream_arn, self.region, self.role_arn)

    def _stop_pollers(self) -> None:
        pollers, self.pollers = list(self.pollers.values()), {}
        for poller in pollers:
            poller.stop.set()
        for poller in pollers:
            poller.join(5)
            poller.reader.client.close()

    # -- what people see -------------------------------------------------------------------------

    def _report(self) -> None:
        if not self._listed:
            return  # the state says why the stream cannot be read
        lags = [poller.reader.lag_ms for poller in self.pollers.values() if poller.reader.lag_ms is not None]
        note = f"{len(self.pollers)} shard{'' if len(self.pollers) == 1 else 's'} read"
        if lags:
            note += f", {max(lags)} ms behind"
        self._set_state("Enabled", note)

    def _set_state(self, state: str, note: str) -> None:
        if self.deliveries is not None:
            self.deliveries.set_state(self.source_id, self.function, state, note)

    def _what(self) -> str:
        return f"table {self.event.stream_name}" if self.event.kind == DYNAMODB else f"stream {self.event.stream_name}"
