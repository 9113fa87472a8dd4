"""Streams, read as Lambda's pollers read them, without the cost of polling: a GetRecords
(DynamoDB Streams or Kinesis) that carries WAIT_HEADER and whose iterator is at the end of
its shard waits, up to the milliseconds the header asks, for a record to be written there,
then lets moto answer. A record reaches the event runner as soon as it is written, and an
idle shard costs one request a second instead of one every few milliseconds. The header is
the emulator's own: AWS and moto's handlers ignore it, and without it nothing waits.

While it waits, the request lets go of the state lock (as speedups.long_poll does for SQS),
so that the write it waits for, and every other request, can run. Each shard written to
while someone waits on it has a Condition; `StreamShard.add` (DynamoDB) and
`Shard.put_record` (Kinesis, which PutRecords calls too) notify it.

moto also keeps every DynamoDB shard iterator it ever hands out, each GetRecords adding one
(`DynamoDBStreamsBackend.shard_iterators`): a poller asking once a second added 86,400 a day,
and the whole backend was pickled again, all of them included, on the next write to a table
(state.py). They are kept here in a dict that pickles as empty, and dropped after AWS's
fifteen minutes; GetRecords with one that is gone answers ExpiredIteratorException, as AWS
does, where moto failed with a KeyError (500)."""

import base64
import binascii
import json
import threading
import time
import weakref

from .keepalive_http import ClientGone, client_gone

WAIT_HEADER = "X-Local-Wait-Ms"
GET_RECORDS = {"DynamoDBStreams_20120810.GetRecords", "Kinesis_20131202.GetRecords"}
MAX_WAIT_MS = 10_000
ITERATOR_LIFETIME_S = 15 * 60  # "A shard iterator expires 15 minutes after it is returned"

_state_lock = None  # the endpoint's state lock, when it keeps its state (server.py)


class _Signal:
    """A shard's writes, counted, and a Condition to wait for the next one on."""

    def __init__(self):
        self.condition = threading.Condition(threading.Lock())
        self.writes = 0

    def notify(self) -> None:
        with self.condition:
            self.writes += 1
            self.condition.notify_all()


_signals: "weakref.WeakKeyDictionary[object, _Signal]" = weakref.WeakKeyDictionary()  # shard -> signal
_signals_lock = threading.Lock()


def _signal_for(shard) -> _Signal:
    with _signals_lock:
        signal = _signals.get(shard)
        if signal is None:
            signal = _signals[shard] = _Signal()
        return signal


def _notify(shard) -> None:
    signal = _signals.get(shard)  # only shards someone waited on have one
    if signal is not None:
        signal.notify()


class TransientIterators(dict):
    """moto's DynamoDB shard iterators, by ARN: dropped after ITERATOR_LIFETIME_S, and never
    written with the state (an iterator is a session's, not AWS state; after a restart the
    poller asks for another)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.born: dict[str, float] = {key: time.monotonic() for key in self}

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.born[key] = time.monotonic()

    def sweep(self) -> None:
        limit = time.monotonic() - ITERATOR_LIFETIME_S
        while self.born:
            key, born = next(iter(self.born.items()))  # oldest first: kept in the order they were made
            if born > limit:
                return
            del self.born[key]
            self.pop(key, None)

    def __reduce__(self):
        return TransientIterators, ()


def _iterators(backend) -> TransientIterators:
    if not isinstance(backend.shard_iterators, TransientIterators):  # made by moto, or restored from disk
        backend.shard_iterators = TransientIterators(backend.shard_iterators)
    backend.shard_iterators.sweep()
    return backend.shard_iterators


def _notifying(original):
    def notify_after(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        _notify(self)
        return result
    return notify_after


def _kept_iterators(original):
    def get_shard_iterator(self, *args, **kwargs):
        _iterators(self)
        return original(self, *args, **kwargs)
    return get_shard_iterator


def _expiring_iterators(original):
    from moto.core.exceptions import JsonRESTError

    def get_records(self, iterator_arn: str, limit: int):
        if iterator_arn not in _iterators(self):
            raise JsonRESTError("ExpiredIteratorException", "Iterator expired. The iterator was created over 15 minutes ago.")
        return original(self, iterator_arn, limit)
    return get_records


def apply(patch) -> None:
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend
    from moto.kinesis.models import Shard

    patch(StreamShard, "add", _notifying)
    patch(Shard, "put_record", _notifying)
    patch(DynamoDBStreamsBackend, "get_shard_iterator", _kept_iterators)
    patch(DynamoDBStreamsBackend, "get_records", _expiring_iterators)


def install(lock) -> None:
    """The state lock a waiting GetRecords lets go of (None: the endpoint keeps no state)."""
    global _state_lock
    _state_lock = lock


# -- the wait, from fast_path.py, under the state lock -------------------------------------------

def wait_for_records(operation: str, body: bytes, wait_ms: str, account: str, region: str) -> None:
    """Return once the shard of the request's iterator has a record past it, or after
    `wait_ms`; at once when the iterator is not at the shard's end, or is unknown (moto then
    answers with its error)."""
    try:
        timeout_s = min(max(int(wait_ms), 0), MAX_WAIT_MS) / 1000
        request = json.loads(body)
        iterator = request["ShardIterator"]
    except (ValueError, TypeError, KeyError):
        return
    if timeout_s <= 0 or not isinstance(iterator, str):
        return
    if operation.startswith("DynamoDBStreams"):
        shard, at_end = _dynamodb_position(iterator, account, region)
    else:
        shard, at_end = _kinesis_position(iterator, request.get("StreamARN"), account, region)
    if shard is None:
        return
    signal = _signal_for(shard)
    seen = signal.writes  # read before looking: a write after this ends the wait at once
    if not at_end():
        return
    if _state_lock is not None:
        _state_lock.release()
    try:
        with signal.condition:
            signal.condition.wait_for(lambda: signal.writes != seen, timeout_s)
    finally:
        if _state_lock is not None:
            _state_lock.acquire()
    if client_gone():  # nothing to answer: the poller went away meanwhile
        raise ClientGone()


def _dynamodb_position(iterator: str, account: str, region: str):
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    found = dynamodbstreams_backends[account][region].shard_iterators.get(iterator)
    if found is None:
        return None, None
    shard = found.stream_shard
    return shard, lambda: found.sequence_number >= shard.starting_sequence_number + len(shard.items)


def _kinesis_position(iterator: str, stream_arn, account: str, region: str):
    from moto.kinesis.models import kinesis_backends

    try:  # moto's iterator: base64 of "stream:shard:last sequence number read"
        name, shard_id, last = base64.b64decode(iterator, validate=False).decode("utf-8").split(":")
        last = int(last)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None, None
    streams = kinesis_backends[account][region].streams
    stream = streams.get(name) or next((s for s in streams.values() if s.arn == stream_arn), None)
    shard = stream.shards.get(shard_id) if stream is not None else None
    if shard is None:
        return None, None
    # The newest record is the last key (moto's get_max_sequence_number lists them all to find it).
    return shard, lambda: shard.is_open and last >= (next(reversed(shard.records)) if shard.records else 0)
