"""A stream event source mapping's shard pollers and their source (local/events/shard_poller.py,
stream_source.py), against a fake stream and a fake function: order per shard, batches,
partial batch responses, bisection, retries and the OnFailure record, record age, filters,
checkpoints across a restart, and parent shards before their children.

The poller's turns are driven one by one here where that is enough (no thread, no timing);
the source runs its threads, and the tests wait for what they expect."""

import base64
import threading
import time

import pytest
from support import eventually

from local.app.event_model import StreamEvent
from local.events import shard_poller, shard_reader
from local.events.checkpoints import Checkpoint, CheckpointStore
from local.events.clock import Clock
from local.events.deliveries import DEAD_LETTER, OK, Deliveries
from local.events.shard_poller import ShardPoller, ShardTarget
from local.events.shard_reader import ShardReader
from local.events.stream_client import StreamError
from local.events.stream_records import kinesis_record
from local.events.stream_source import StreamSource
from local.runtime.pool import Invocation

ARN = "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:Consumer"
ROLE_ARN = "arn:aws:iam::123456789012:role/consumer"
SHARD = "shardId-000000000000"


class FakeStream:
    """A Kinesis stream as the poller sees it through StreamClient: shards of records, iterators
    that are positions, a closed shard's end (no NextShardIterator)."""

    def __init__(self, shards=(SHARD,), exists=True):
        self.lock = threading.Lock()
        self.shards = {shard: [] for shard in shards}
        self.parents: dict[str, str] = {}
        self.closed: set[str] = set()
        self.exists, self.created = exists, 1796400000.0
        self.sequence = 100
        self.drained: dict[str, bool] = {}
        self.failures: list[StreamError] = []  # raised by the next GetRecords calls

    def put(self, shard: str, key: str, data: bytes = b"x", arrival: float | None = None) -> str:
        with self.lock:
            self.sequence += 1
            self.shards[shard].append({"SequenceNumber": str(self.sequence), "PartitionKey": key,
                                       "Data": base64.b64encode(data).decode(),
                                       "ApproximateArrivalTimestamp": time.time() if arrival is None else arrival})
            return str(self.sequence)

    # -- StreamClient's calls ---------------------------------------------------------------------

    def describe_stream_summary(self, name):
        if not self.exists:
            raise StreamError("ResourceNotFoundException", f"Stream {name} not found")
        return {"StreamARN": ARN, "StreamCreationTimestamp": self.created}

    def list_shards(self, name):
        with self.lock:
            return [{"ShardId": shard, **({"ParentShardId": self.parents[shard]} if shard in self.parents else {}),
                     "SequenceNumberRange": {"StartingSequenceNumber": "0",
                                             **({"EndingSequenceNumber": "9"} if shard in self.closed else {})}}
                    for shard in self.shards]

    def get_shard_iterator(self, kind, stream, shard_id, iterator_type, sequence_number=None, timestamp=None):
        with self.lock:
            records = self.shards[shard_id]
            if iterator_type == "TRIM_HORIZON":
                position = 0
            elif iterator_type == "LATEST":
                position = len(records)
            elif iterator_type == "AFTER_SEQUENCE_NUMBER":
                position = next((i + 1 for i, r in enumerate(records) if r["SequenceNumber"] == sequence_number), 0)
            else:
                position = next((i for i, r in enumerate(records) if r["ApproximateArrivalTimestamp"] >= timestamp),
                                len(records))
            return f"{shard_id}|{position}"

    def get_records(self, kind, iterator, limit, wait_ms=0):
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            shard, position = iterator.split("|")
            records = self.shards[shard][int(position):int(position) + limit]
            end = int(position) + len(records)
            self.drained[shard] = not records
            answer = {"Records": [dict(r) for r in records], "MillisBehindLatest": 0}
            if not (shard in self.closed and end == len(self.shards[shard]) and not records):
                answer["NextShardIterator"] = f"{shard}|{end}"
            return answer

    def close(self):
        pass


class FakeFunction:
    """Records each event; answers with what `behaviour(sequence numbers)` returns: None for
    success, "error" for a function error, or a payload."""

    def __init__(self, behaviour=lambda sequences: None):
        self.behaviour, self.calls = behaviour, []
        self.lock = threading.Lock()

    def __call__(self, function, event):
        sequences = [record["kinesis"]["sequenceNumber"] for record in event["Records"]]
        with self.lock:
            self.calls.append(sequences)
        answer = self.behaviour(sequences)
        if answer == "error":
            return Invocation(f"req-{len(self.calls)}", function, error={"errorType": "Boom", "errorMessage": "no"})
        return Invocation(f"req-{len(self.calls)}", function, payload=answer)

    def keys(self):
        with self.lock:
            return [sequence for call in self.calls for sequence in call]


class FakeDestinations:
    def __init__(self):
        self.sent = []

    def send(self, arn, record, *, detail_type, function_arn, batch=None, key_prefix=None):
        self.sent.append((arn, record))
        self.batches = getattr(self, "batches", []) + [(batch, key_prefix)]


@pytest.fixture(autouse=True)
def no_fallback_sleep(monkeypatch):
    # The fake answers at once where the endpoint would wait; the reader must not sleep for it.
    monkeypatch.setattr(shard_reader, "FALLBACK_POLL_S", 0)


def _event(**overrides) -> StreamEvent:
    return StreamEvent(**{"name": "Clicks", "kind": "kinesis", "source_arn": ARN, "stream_name": "clicks",
                          "starting_position": "TRIM_HORIZON", "batch_size": 10, **overrides})


def _poller(fake, function, tmp_path, *, destinations=None, clock=None, after=None, **overrides) -> ShardPoller:
    event = _event(**overrides)
    target = ShardTarget("Consumer", FUNCTION_ARN, event, ARN, "eu-west-1", ROLE_ARN, fake.created)
    reader = ShardReader(fake, "kinesis", "clicks", SHARD, after=after, start=event.starting_position)
    options = {"clock": clock} if clock else {}
    deliveries = Deliveries(None)
    deliveries.register(target.source_id, "Consumer", "kinesis")
    return ShardPoller(target, reader, function, lambda raw: kinesis_record(raw, SHARD, ARN, "eu-west-1", ROLE_ARN),
                       CheckpointStore(tmp_path), threading.Event(), destinations=destinations,
                       deliveries=deliveries, retry_delay_s=0, **options)


def _drain(poller: ShardPoller, fake: FakeStream, turns: int = 200) -> None:
    """Turns until the shard is read to its end and nothing is left to retry."""
    for _ in range(turns):
        poller.turn()
        if fake.drained.get(SHARD) and not poller._planned and not poller._spill:
            return
    raise AssertionError("the poller never caught up")


def _checkpoint(tmp_path) -> str | None:
    found = CheckpointStore(tmp_path).load("Consumer", "Clicks", SHARD, ARN, 1796400000.0)
    return found.sequence_number if found else None


def test_records_go_in_order_in_batches_and_the_checkpoint_follows(tmp_path):
    fake, function = FakeStream(), FakeFunction()
    sequences = [fake.put(SHARD, f"k{n % 2}") for n in range(5)]
    _drain(_poller(fake, function, tmp_path, batch_size=2), fake)
    assert function.calls == [sequences[0:2], sequences[2:4], sequences[4:5]]
    assert _checkpoint(tmp_path) == sequences[-1]


def test_a_partial_batch_response_checkpoints_before_the_lowest_failure_and_retries_from_it(tmp_path):
    fake = FakeStream()
    s = [fake.put(SHARD, "k") for _ in range(4)]
    failed_once = []

    def behaviour(sequences):
        if s[2] in sequences and not failed_once:
            failed_once.append(True)
            return {"batchItemFailures": [{"itemIdentifier": s[3]}, {"itemIdentifier": s[2]}]}
        return {"batchItemFailures": []}

    function = FakeFunction(behaviour)
    poller = _poller(fake, function, tmp_path, report_batch_item_failures=True)
    poller.turn()
    assert _checkpoint(tmp_path) == s[1]  # just before the lowest sequence number named
    _drain(poller, fake)
    assert function.calls == [s, s[2:]]
    assert _checkpoint(tmp_path) == s[-1]


@pytest.mark.parametrize("payload", [{"batchItemFailures": [{"itemIdentifier": ""}]},
                                     {"batchItemFailures": [{"itemIdentifier": None}]},
                                     {"batchItemFailures": [{"itemIdentifer": "x"}]},
                                     {"batchItemFailures": [{"itemIdentifier": "999"}]}])
def test_an_identifier_that_names_no_record_fails_the_whole_batch(tmp_path, payload):
    fake = FakeStream()
    s = [fake.put(SHARD, "k") for _ in range(2)]
    answers = [payload, None]
    function = FakeFunction(lambda sequences: answers.pop(0))
    _drain(_poller(fake, function, tmp_path, report_batch_item_failures=True), fake)
    assert function.calls == [s, s]


def test_bisect_isolates_the_bad_record_and_splits_do_not_count_as_retries(tmp_path):
    fake, destinations = FakeStream(), FakeDestinations()
    s = [fake.put(SHARD, "k") for _ in range(4)]
    function = FakeFunction(lambda sequences: "error" if s[2] in sequences else None)
    poller = _poller(fake, function, tmp_path, destinations=destinations, bisect_on_error=True, max_retries=1,
                     on_failure="arn:aws:sqs:eu-west-1:123456789012:failed")
    _drain(poller, fake)
    # Split twice for free, then the one bad record: tried, retried once, discarded.
    assert function.calls == [s, s[:2], s[2:], [s[2]], [s[2]], [s[3]]]
    (arn, record), = destinations.sent
    assert arn == "arn:aws:sqs:eu-west-1:123456789012:failed"
    info = record["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (s[2], s[2], 1)
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 4  # in [s], [s2, s3], and twice alone
    assert record["requestContext"]["requestId"] == "req-5"  # the last invocation's
    assert _checkpoint(tmp_path) == s[3]


def test_retries_then_the_on_failure_record_then_the_shard_goes_on(tmp_path):
    fake, destinations = FakeStream(), FakeDestinations()
    bad = [fake.put(SHARD, "k") for _ in range(2)]
    function = FakeFunction(lambda sequences: "error" if bad[0] in sequences else None)
    poller = _poller(fake, function, tmp_path, destinations=destinations, max_retries=2,
                     on_failure="arn:aws:sns:eu-west-1:123456789012:failed")
    _drain(poller, fake)
    good = fake.put(SHARD, "k")
    _drain(poller, fake)
    assert function.calls == [bad, bad, bad, [good]]
    (_, record), = destinations.sent
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["KinesisBatchInfo"]["batchSize"] == 2 and record["KinesisBatchInfo"]["streamArn"] == ARN
    assert _checkpoint(tmp_path) == good
    state, = poller.deliveries.states()
    assert (state["delivered"], state["failed"]) == (1, 1)
    assert [entry["outcome"] for entry in state["last"]][:2] == [OK, DEAD_LETTER]


def test_records_past_their_maximum_age_are_discarded_uninvoked(tmp_path):
    fake, destinations = FakeStream(), FakeDestinations()
    old = [fake.put(SHARD, "k", arrival=time.time() - 120) for _ in range(2)]
    fresh = fake.put(SHARD, "k")
    function = FakeFunction()
    _drain(_poller(fake, function, tmp_path, destinations=destinations, max_record_age_s=60,
                   on_failure="arn:aws:sqs:eu-west-1:123456789012:failed"), fake)
    assert function.calls == [[fresh]]
    (_, record), = destinations.sent
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert (record["KinesisBatchInfo"]["startSequenceNumber"], record["KinesisBatchInfo"]["endSequenceNumber"]) == tuple(old)


def test_a_failing_batch_is_retried_until_its_records_are_too_old(tmp_path):
    fake, destinations = FakeStream(), FakeDestinations()
    sequence = fake.put(SHARD, "k")
    function = FakeFunction(lambda sequences: "error")
    # A clock a thousand times faster: the record is past 60 s after 60 ms.
    poller = _poller(fake, function, tmp_path, destinations=destinations, max_record_age_s=60,
                     on_failure="arn:aws:sqs:eu-west-1:123456789012:failed", clock=Clock(1000))
    deadline = time.monotonic() + 20
    while not destinations.sent and time.monotonic() < deadline:
        poller.turn()
    (_, record), = destinations.sent
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == len(function.calls) >= 1
    assert _checkpoint(tmp_path) == sequence


def test_an_invocation_that_never_reached_the_function_is_retried_without_counting(tmp_path):
    fake = FakeStream()
    sequence = fake.put(SHARD, "k")
    attempts = []

    def invoke(function, event):
        attempts.append(event)
        if len(attempts) < 3:
            raise RuntimeError("no instance could start")
        return Invocation("req", function)

    _drain(_poller(fake, invoke, tmp_path, max_retries=0), fake)
    assert len(attempts) == 3 and _checkpoint(tmp_path) == sequence


def test_filtered_records_are_never_invoked_but_the_checkpoint_passes_them(tmp_path, monkeypatch):
    monkeypatch.setattr(shard_poller, "filter_matches",
                        lambda filters, record, kind: record["kinesis"]["partitionKey"] == "keep")
    fake, function = FakeStream(), FakeFunction()
    kept = [fake.put(SHARD, "keep"), fake.put(SHARD, "drop"), fake.put(SHARD, "keep")]
    last = fake.put(SHARD, "drop")
    _drain(_poller(fake, function, tmp_path, filters=[{"partitionKey": ["keep"]}]), fake)
    assert function.calls == [[kept[0], kept[2]]]
    assert _checkpoint(tmp_path) == last


def test_a_batch_stops_short_of_six_megabytes(tmp_path):
    fake, function = FakeStream(), FakeFunction()
    for _ in range(5):
        fake.put(SHARD, "k", data=b"x" * 1_700_000)  # 2.3 MB each in base64: two fit in 6 MB, three do not
    _drain(_poller(fake, function, tmp_path), fake)
    assert [len(call) for call in function.calls] == [2, 2, 1]


def test_a_lost_iterator_is_made_again_after_the_last_record_read(tmp_path):
    fake, function = FakeStream(), FakeFunction()
    first = fake.put(SHARD, "k")
    poller = _poller(fake, function, tmp_path)
    poller.turn()
    second = fake.put(SHARD, "k")
    fake.failures.append(StreamError("ExpiredIteratorException", "gone"))
    _drain(poller, fake)
    assert function.calls == [[first], [second]]


def test_a_poller_starts_after_its_checkpoint(tmp_path):
    fake, function = FakeStream(), FakeFunction()
    s = [fake.put(SHARD, "k") for _ in range(3)]
    CheckpointStore(tmp_path).save("Consumer", "Clicks", Checkpoint(ARN, SHARD, s[1], stream_created=fake.created))
    _drain(_poller(fake, function, tmp_path, after=_checkpoint(tmp_path)), fake)
    assert function.calls == [[s[2]]]


# -- the source: shards found, children after parents, restarts ----------------------------------

def _source(fake, function, folder, stop, **overrides) -> StreamSource:
    return StreamSource("Consumer", FUNCTION_ARN, _event(**overrides), function, lambda: fake, CheckpointStore(folder),
                        "eu-west-1", stop, deliveries=Deliveries(None), role_arn=ROLE_ARN, retry_delay_s=0)


def test_a_restarted_source_goes_on_from_its_checkpoints_and_delivers_nothing_twice(tmp_path):
    fake, function = FakeStream(shards=(SHARD, "shardId-000000000001")), FakeFunction()
    written = [fake.put(shard, "k") for shard in fake.shards for _ in range(3)]
    stop = threading.Event()
    source = _source(fake, function, tmp_path, stop)
    source.start()
    try:
        assert eventually(lambda: sorted(function.keys()) == sorted(written))
    finally:
        stop.set()
        source.join(10)
    more = [fake.put(shard, "k") for shard in fake.shards]
    again, stop = FakeFunction(), threading.Event()
    source = _source(fake, again, tmp_path, stop)
    source.start()
    try:
        assert eventually(lambda: sorted(again.keys()) == sorted(more))
        time.sleep(0.3)
        assert sorted(again.keys()) == sorted(more)
    finally:
        stop.set()
        source.join(10)


def test_a_parent_shard_is_read_to_its_end_before_its_children(tmp_path):
    fake, function = FakeStream(shards=("shardId-parent", "shardId-child")), FakeFunction()
    fake.parents["shardId-child"] = "shardId-parent"
    fake.closed.add("shardId-parent")
    child = [fake.put("shardId-child", "k") for _ in range(2)]
    parent = [fake.put("shardId-parent", "k") for _ in range(3)]
    stop = threading.Event()
    source = _source(fake, function, tmp_path, stop, starting_position="LATEST", batch_size=1)
    source.start()
    try:
        # The parent was closed when the mapping started with LATEST: not read; its child was
        # split off before the mapping, so it starts at LATEST too: nothing yet.
        time.sleep(1.2)
        assert function.keys() == []
    finally:
        stop.set()
        source.join(10)
    function, stop = FakeFunction(), threading.Event()
    source = _source(fake, function, tmp_path / "fresh", stop, batch_size=1)  # TRIM_HORIZON
    source.start()
    try:
        assert eventually(lambda: len(function.keys()) == 5)
        assert function.keys() == parent + child
    finally:
        stop.set()
        source.join(10)


def test_a_source_waits_for_its_stream_to_exist(tmp_path):
    fake, function = FakeStream(exists=False), FakeFunction()
    deliveries = Deliveries(None)
    stop = threading.Event()
    source = StreamSource("Consumer", FUNCTION_ARN, _event(), function, lambda: fake, CheckpointStore(tmp_path),
                          "eu-west-1", stop, deliveries=deliveries, retry_delay_s=0)
    source.start()
    try:
        assert eventually(lambda: deliveries.states()[0]["state"] == "Failing")
        assert "waiting for stream clicks" in deliveries.states()[0]["note"]
        fake.exists = True
        sequence = fake.put(SHARD, "k")
        assert eventually(lambda: function.keys() == [sequence])
        # Recorded once the invocation is over, a moment after the function saw the record.
        assert eventually(lambda: deliveries.states()[0]["delivered"] == 1)
        assert eventually(lambda: deliveries.states()[0]["state"] == "Enabled")
    finally:
        stop.set()
        source.join(10)
