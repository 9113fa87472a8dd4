"""Transactional outbox: an event is written in the same transaction as the change it
describes, then published after commit: to the SNS topic (the type as a message attribute,
for subscription filter policies), or, when SNS cannot be reached after the retries, to a
Redis Stream. Either way the write succeeds; an event neither could take stays in the
outbox for the scheduled relay. Consumers de-duplicate by event id, so publishing twice
is harmless and losing one is not possible.
"""

import datetime
import json
import logging
import os
import time
import uuid

import boto3
import redis
from botocore.config import Config

from . import retry
from .connections import redis_client
from .http import dumps

log = logging.getLogger(__name__)


def envelope(event_type: str, subject, data: dict, correlation_id: str | None, version: int | None = None) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "subject": str(subject),
        "version": version,
        "correlation_id": correlation_id,
        "data": json.loads(dumps(data)),
    }


def record(cursor, event: dict) -> None:
    """Write the event in the caller's transaction."""
    cursor.execute(
        """INSERT INTO outbox (id, type, subject, payload, correlation_id, occurred_at)
           VALUES (%s, %s, %s, %s, %s, %s)""",
        (event["id"], event["type"], event["subject"], json.dumps(event), event["correlation_id"],
         event["occurred_at"]))


class Publisher:
    """SNS first; after SNS failed, the next events go straight to Redis for a short while
    (a circuit breaker), so an outage costs one slow write, not every write. Then SNS is
    tried again, and new events go there once it answers."""

    RETRY_SNS_AFTER_S = 5.0

    def __init__(self, topic_arn: str | None = None, stream: str | None = None, sns_client=None,
                 redis_client: redis.Redis | None = None, clock=time.monotonic):
        self._topic_arn = topic_arn
        self._stream = stream
        self._sns = sns_client
        self._redis = redis_client
        self.clock = clock
        self._sns_down_until = 0.0

    @property
    def topic_arn(self) -> str:
        return self._topic_arn or os.environ["EVENTS_TOPIC_ARN"]

    @property
    def stream(self) -> str:
        return self._stream or os.environ.get("EVENTS_STREAM", "events")

    @property
    def sns(self):
        if self._sns is None:
            self._sns = boto3.client("sns", config=Config(connect_timeout=0.5, read_timeout=0.5,
                                                          retries={"max_attempts": 1}))
        return self._sns

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:
            self._redis = redis_client(timeout_s=1)
        return self._redis

    def publish(self, event: dict, context=None) -> str | None:
        """'sns' or 'redis' for where it went, None when neither took it (the relay will)."""
        body = json.dumps(event)
        if self.clock() >= self._sns_down_until:
            try:
                retry.call(lambda: self.sns.publish(
                    TopicArn=self.topic_arn, Message=body,
                    MessageAttributes={"type": {"DataType": "String", "StringValue": event["type"]}}),
                    context=context, attempts=2, what=f"publish {event['type']} to SNS", max_delay=0.2)
                return "sns"
            except Exception as error:
                self._sns_down_until = self.clock() + self.RETRY_SNS_AFTER_S
                log.warning("SNS unavailable for event %s (%s); sending it through the Redis stream %s",
                            event["id"], type(error).__name__, self.stream)
        try:
            self.redis.xadd(self.stream, {"event": body, "type": event["type"]})
            return "redis"
        except redis.RedisError as error:
            log.warning("Redis unavailable too (%s); event %s stays in the outbox for the relay",
                        type(error).__name__, event["id"])
            return None


def mark_published(cursor, event_ids: list[str], channel: str) -> None:
    cursor.execute("""UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = %s
                      WHERE id = ANY(%s::uuid[])""", (None if channel == "sns" else f"sent via {channel}", event_ids))


def publish_after_commit(database, events: list[dict], context=None, publisher: "Publisher | None" = None) -> None:
    """Publish what a committed write recorded, and mark it so; failures are left to the relay."""
    publisher = publisher or default_publisher
    sent: dict[str, list[str]] = {}
    for event in events:
        channel = publisher.publish(event, context)
        if channel:
            sent.setdefault(channel, []).append(event["id"])
    if sent:
        def mark(cursor):
            for channel, ids in sent.items():
                mark_published(cursor, ids, channel)
        try:
            database.run(mark, context=context)
        except Exception as error:  # published but not marked: the relay sends it again, consumers dedupe
            log.warning("could not mark %d event(s) published (%s)", sum(map(len, sent.values())),
                        type(error).__name__)


def relay(database, publisher: "Publisher | None" = None, older_than_s: float = 2.0, batch: int = 100,
          context=None) -> int:
    """Publish what a crash between commit and publish left behind; returns how many."""
    publisher = publisher or default_publisher

    def claim(cursor):
        # SKIP LOCKED: two relays never take the same rows.
        cursor.execute("""SELECT payload FROM outbox
                          WHERE published_at IS NULL AND occurred_at < now() - make_interval(secs => %s)
                          ORDER BY occurred_at LIMIT %s FOR UPDATE SKIP LOCKED""", (older_than_s, batch))
        events = [row["payload"] for row in cursor.fetchall()]
        by_channel: dict[str, list[str]] = {}
        for event in events:
            channel = publisher.publish(event, context)
            if channel:
                by_channel.setdefault(channel, []).append(event["id"])
            else:
                cursor.execute("UPDATE outbox SET attempts = attempts + 1, last_error = 'no broker' WHERE id = %s",
                               (event["id"],))
        for channel, ids in by_channel.items():
            mark_published(cursor, ids, channel)
        return sum(map(len, by_channel.values()))

    return database.run(claim, context=context)


default_publisher = Publisher()
