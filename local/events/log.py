"""The event log: each delivery's outcome on a capped Redis stream, written by the pollers
and read by `python -m local events tail`."""

import collections
import json
import threading

import redis

from local.app.project import Addresses
from local.errors import LocalError

EVENT_LOG_STREAM = "local:event-log"


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


def tail(services: Addresses, say, count: int | None = None, from_start: bool = False) -> None:
    """Print each delivery (type, event id, consumer, path, outcome) as it happens."""
    if not services.redis_url:
        raise LocalError("the event log is kept in Redis, and this app declares none (Metadata: Local: Services)")
    client = redis.Redis.from_url(services.redis_url, socket_connect_timeout=2)
    last = "0-0" if from_start else "$"
    shown = 0
    try:
        while count is None or shown < count:
            answer = client.xread({EVENT_LOG_STREAM: last}, block=1000, count=100)
            for _, entries in answer or []:
                for entry_id, fields in entries:
                    last = entry_id
                    text = {k.decode(): v.decode() for k, v in fields.items()}
                    say(f"{text['type']:<22} {text['id']:<36} {text['consumer']:<26} via {text['via']:<5} "
                        f"{text['outcome']}")
                    shown += 1
                    if count is not None and shown >= count:
                        return
    except redis.RedisError as error:
        raise LocalError(f"cannot read the event log from Redis at {services.redis_url}: {error}") from None
