"""After the load: wait until every event has gone where it goes, or a time limit passes.

Converged means: nothing left unpublished in the outbox, every outbox event recorded by the
audit consumer, the consumer queues empty (nothing visible, nothing in flight) and the
Redis fallback stream fully read and acknowledged. A batch a killed consumer or runner held
comes back only after the queue's visibility timeout (60 s), hence the long default limit.
"""

import time
from dataclasses import dataclass

import psycopg2
import redis
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

QUEUES = ("recipes-local-audit", "recipes-local-cache-invalidation")
DEAD_LETTER_QUEUES = ("recipes-local-audit-dlq", "recipes-local-cache-invalidation-dlq")
STREAM = "recipes-local-events"  # template.yaml: EVENTS_STREAM


@dataclass
class Backlog:
    unpublished: int | None = None
    unaudited: int | None = None
    queued: dict | None = None  # queue -> visible + in flight
    stream_pending: dict | None = None  # consumer group -> pending or not yet read

    @property
    def drained(self) -> bool:
        """Nothing left anywhere that could still be delivered."""
        return (self.unpublished == 0 and self.queued is not None and not any(self.queued.values())
                and self.stream_pending is not None and not any(self.stream_pending.values()))

    @property
    def empty(self) -> bool:
        return self.drained and self.unaudited == 0

    def __str__(self) -> str:
        return (f"unpublished {self.unpublished}, not yet audited {self.unaudited}, queued {self.queued}, "
                f"stream {self.stream_pending}")


def backlog(stack, sqs) -> Backlog:
    found = Backlog()
    try:
        with psycopg2.connect(stack.database_url, connect_timeout=3) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            found.unpublished = cursor.fetchone()[0]
            cursor.execute("""SELECT count(*) FROM outbox o WHERE NOT EXISTS
                              (SELECT 1 FROM audit_log a WHERE a.event_id = o.id)""")
            found.unaudited = cursor.fetchone()[0]
        connection.close()
    except psycopg2.Error:
        pass
    found.queued = queue_depths(sqs, QUEUES)
    found.stream_pending = stream_pending(stack)
    return found


def sqs_client(stack):
    # Short timeouts, no retries: an endpoint that is down must not stall the waiting.
    return stack.aws("sqs", Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}))


def queue_depths(sqs, names) -> dict | None:
    """Messages in each queue, visible or in flight; None when the endpoint cannot say."""
    depths = {}
    try:
        for name in names:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            depths[name] = sum(int(value) for value in attributes.values())
    except (BotoCoreError, ClientError):
        return None
    return depths


def stream_pending(stack) -> dict | None:
    """Per consumer group of the fallback stream: entries delivered and not acknowledged, plus
    one if it has not read up to the end yet. {} when the stream was never used."""
    client = redis.Redis.from_url(stack.redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        if not client.exists(STREAM):
            return {}
        last = client.xinfo_stream(STREAM)["last-generated-id"]
        return {group["name"].decode(): group["pending"] + (group["last-delivered-id"] != last)
                for group in client.xinfo_groups(STREAM)}
    except redis.RedisError:
        return None
    finally:
        client.close()


DRAINED_FOR_S = 5.0


def wait(stack, limit_s: float, say=print) -> tuple[bool, float, Backlog]:
    """(converged, seconds waited, last backlog seen). Gives up early once everything has
    been drained for a few seconds and events are still not audited: nothing is left that
    could bring them, they are lost."""
    began = time.monotonic()
    sqs = sqs_client(stack)
    said, drained_since = began, None
    while True:
        found = backlog(stack, sqs)
        waited = time.monotonic() - began
        if found.empty:
            return True, waited, found
        drained_since = (drained_since or time.monotonic()) if found.drained else None
        if waited > limit_s or (drained_since and time.monotonic() - drained_since > DRAINED_FOR_S):
            return False, waited, found
        if time.monotonic() - said >= 10:
            say(f"  converging ({waited:.0f} s): {found}")
            said = time.monotonic()
        time.sleep(1)
