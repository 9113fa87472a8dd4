"""One shard of a stream, read in order: the shard iterator kept between reads, made again
from the last record read when it is lost (expired, or the endpoint restarted), and the end
of a closed shard noticed so that its children can be read next.

A read waits at the shard's end for a record to arrive, up to the time asked, through the
endpoint's WAIT_HEADER (stream_client.py). An endpoint that does not wait answers at once;
the reader then waits itself, a quarter of a second, as Lambda polls a DynamoDB stream
(four times a second) rather than asking again at once."""

import threading
import time

from local.events.stream_client import EXPIRED, StreamClient, StreamError
from local.events.stream_records import raw_sequence

TRIM_HORIZON, LATEST, AT_TIMESTAMP = "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"
FALLBACK_POLL_S = 0.25
MAX_LIMIT = {"dynamodb": 1000, "kinesis": 10_000}  # GetRecords' Limit, per API


class ShardReader:
    def __init__(self, client: StreamClient, kind: str, stream: str, shard_id: str, *, after: str | None = None,
                 start: str = LATEST, timestamp: float | None = None, closed: bool = False):
        """`stream`: the DynamoDB stream's ARN, or the Kinesis stream's name. Reading starts
        after the sequence number `after` when there is one, else at `start`."""
        self.client, self.kind, self.stream, self.shard_id = client, kind, stream, shard_id
        self.after = after  # the last record read, once one is
        self.start, self.timestamp = start, timestamp
        self.closed = closed  # the shard has an ending sequence number: nothing more will be written to it
        self.ended = False
        self.lag_ms: int | None = None  # MillisBehindLatest of the last read (Kinesis)
        self._iterator: str | None = None

    def read(self, limit: int, wait_s: float, stop: threading.Event) -> list[dict]:
        """Up to `limit` records after the last one read, as GetRecords answers them; waits up
        to `wait_s` for the first when there are none. Raises StreamError."""
        if self.ended:
            return []
        if self._iterator is None:
            self._iterator = self._new_iterator()
            if self._iterator is None:  # a closed shard read to its end has none
                self.ended = True
                return []
        began = time.monotonic()
        try:
            answer = self.client.get_records(self.kind, self._iterator, min(limit, MAX_LIMIT[self.kind]),
                                             int(wait_s * 1000))
        except StreamError:
            self._iterator = None  # made again from `after` on the next read
            raise
        self._iterator = answer.get("NextShardIterator")
        records = answer.get("Records", [])
        if "MillisBehindLatest" in answer:
            self.lag_ms = answer["MillisBehindLatest"]
        if records:
            self.after = raw_sequence(self.kind, records[-1])
        elif self._iterator is None or self.closed:
            self.ended = True
        elif wait_s > 0 and time.monotonic() - began < wait_s / 2:
            stop.wait(min(wait_s, FALLBACK_POLL_S))  # the endpoint did not wait
        return records

    def _new_iterator(self) -> str | None:
        if self.after is not None:
            try:
                return self.client.get_shard_iterator(self.kind, self.stream, self.shard_id, "AFTER_SEQUENCE_NUMBER",
                                                      sequence_number=self.after)
            except StreamError as error:
                if error.code not in EXPIRED:
                    raise
                # The record is gone from the stream (past its retention): go on from the oldest left.
                return self.client.get_shard_iterator(self.kind, self.stream, self.shard_id, TRIM_HORIZON)
        timestamp = self.timestamp if self.start == AT_TIMESTAMP else None
        return self.client.get_shard_iterator(self.kind, self.stream, self.shard_id, self.start, timestamp=timestamp)
