"""Every event source of the template, read from the model, started and stopped together:
SQS queues (sqs_poller.py) and a topic's Redis Stream fallback (stream_poller.py) feed their
consumer functions; schedules fire theirs (schedules.py)."""

import threading

import redis

from local.app.model import AppModel
from local.events.filter_policy import FilterPolicy
from local.events.log import EventLog
from local.events.polling import log
from local.events.schedules import Schedule, ScheduleError, ScheduleExpression
from local.events.sqs_client import SqsClient
from local.events.sqs_poller import SqsPoller
from local.events.stream_poller import StreamPoller
from local.runtime.runtime import Runtime


class EventSources:
    """Every event source of the template, started and stopped together."""

    def __init__(self, model: AppModel, runtime: Runtime, aws_endpoint_url: str, redis_url: str | None, region: str,
                 account_id: str, schedule_every_s: float | None = None):
        self.model, self.runtime = model, runtime
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        # Without a Redis (the app declares none) there is no event log and no stream fallback.
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=5) if redis_url else None
        self.event_log = events = EventLog(client)
        queues_by_arn = {queue.arn: queue for queue in model.queues.values()}
        filters = {sub.endpoint: FilterPolicy(sub.filter_policy, sub.filter_policy_scope)
                   for sub in model.subscriptions.values() if sub.protocol == "sqs"}
        for spec in model.functions.values():
            stream = spec.environment.get("EVENTS_STREAM")  # the app's Redis fallback of its topic, if it has one
            for source in spec.sqs_events:
                queue = queues_by_arn.get(source.queue_arn)
                if queue is None or not source.enabled:
                    continue
                sqs = SqsClient(aws_endpoint_url, region)  # one per poller: a connection is not shared
                self.threads.append(SqsPoller(runtime, spec.logical_id, source, queue, sqs, region, events,
                                              self.stop_event))
                if stream and client is not None and queue.arn in filters:  # fed by the topic: also by its Redis fallback
                    self.threads.append(StreamPoller(runtime, spec.logical_id, source, queue, filters[queue.arn],
                                                     client, stream, region, events, self.stop_event))
            for schedule in spec.schedule_events:
                if not schedule.enabled:
                    continue
                try:
                    expression = ScheduleExpression(schedule.schedule)
                except ScheduleError as error:
                    log.warning("schedule %s of %s not run: %s", schedule.name, spec.logical_id, error)
                    continue
                rule = f"arn:aws:events:{region}:{account_id}:rule/{spec.logical_id}-{schedule.name}"
                self.threads.append(Schedule(runtime, spec.logical_id, schedule.name, expression, rule,
                                             self.stop_event, every_s=schedule_every_s, input=schedule.input))

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(10)
        self.event_log.close()  # after the pollers: their last deliveries are logged too
