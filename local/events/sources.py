"""Every event source of the template, read from the model, started and stopped together:

- SQS queues (sqs_poller.py), and a topic's Redis Stream fallback (stream_poller.py);
- DynamoDB and Kinesis streams (stream_source.py, a poller per shard, positions kept in
  checkpoints.py's files);
- each function's queue of asynchronous invocations (async_invoker.py): where the Invoke
  API's Event invocations, SNS, S3, EventBridge rules, schedules and Lambda destinations
  all arrive, as they all invoke asynchronously on AWS;
- schedules (schedules.py), which put their events on that queue.

Pushes (SNS, S3, EventBridge) need no poller here: the AWS endpoint puts them on the
function's queue inside the request that caused them (local/services/aws/targets.py)."""

import tempfile
import threading
from pathlib import Path

import redis

from local.app.event_states import events_dir
from local.app.model import AppModel
from local.events.async_invoker import AsyncInvoker, AsyncQueues
from local.events.checkpoints import CheckpointStore
from local.events.clock import Clock
from local.events.deliveries import Deliveries
from local.events.destinations import Destinations
from local.events.filter_policy import FilterPolicy
from local.events.polling import log
from local.events.schedules import Schedule, ScheduleError
from local.events.sqs_client import SqsClient
from local.events.sqs_poller import SqsPoller
from local.events.stream_client import StreamClient
from local.events.stream_poller import StreamPoller
from local.events.stream_source import StreamSource
from local.runtime.runtime import Runtime
from local.services.aws.event_pattern import InvalidEventPattern
from local.services.aws.filter_criteria import validate


def invalid_filters(model: AppModel) -> list[str]:
    """What CreateEventSourceMapping would refuse in the template's FilterCriteria, one line
    each, for `local up` to stop on before anything runs (a pattern the runner cannot match
    would otherwise fail every batch)."""
    found = []
    for spec in model.functions.values():
        for kind, events in (("sqs", spec.sqs_events), *((e.kind, [e]) for e in spec.stream_events)):
            for event in events:
                try:
                    validate(event.filters, kind)
                except InvalidEventPattern as error:
                    found.append(f"{spec.logical_id}: Events.{event.name}: FilterCriteria: {error}")
    return found


class SourceGroup:
    """One function's sources: its threads and the event that stops them, so that a template
    reload restarts the sources of the functions it changed and no others."""

    def __init__(self, key, threads: list[threading.Thread], stop_event: threading.Event):
        self.key, self.threads, self.stop_event = key, threads, stop_event

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(10)
        for thread in self.threads:
            if isinstance(thread, AsyncInvoker):  # events still running finish; those queued come back later
                thread.stop_pool()


class EventSources:
    """Every event source of the template, started and stopped together, and swapped function
    by function when the template changes (`update`)."""

    def __init__(self, model: AppModel, runtime: Runtime, aws_endpoint_url: str, redis_url: str | None, region: str,
                 account_id: str, state_dir: Path | None = None, schedule_every_s: float | None = None,
                 time_scale: float = 1.0, max_instances: int = 10):
        self.model, self.runtime = model, runtime
        self.aws_endpoint_url, self.region, self.account_id = aws_endpoint_url, region, account_id
        self.schedule_every_s, self.max_instances = schedule_every_s, max_instances
        self.state_dir = state_dir
        self.clock = Clock(time_scale)
        self.deliveries = Deliveries(events_dir(state_dir) if state_dir is not None else None)
        self.destinations = Destinations(aws_endpoint_url, region)
        self.queues = AsyncQueues(aws_endpoint_url, region, account_id)
        self._checkpoints: CheckpointStore | None = None
        # Without a Redis (the app declares none) there is no stream fallback.
        self.redis = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=5) if redis_url else None
        self.groups = {name: self._group(model, spec) for name, spec in model.functions.items()}
        self._started = False

    @property
    def threads(self) -> list[threading.Thread]:
        return [thread for group in self.groups.values() for thread in group.threads]

    def _checkpoint_store(self) -> CheckpointStore:
        """Where each stream shard's position is kept across restarts of the runner (without a
        state folder, in tests and benchmarks: a temporary one, made only when a stream needs it)."""
        if self._checkpoints is None:
            folder = events_dir(self.state_dir) / "checkpoints" if self.state_dir is not None else \
                Path(tempfile.mkdtemp(prefix="local-checkpoints-"))
            self._checkpoints = CheckpointStore(folder)
        return self._checkpoints

    def _group(self, model: AppModel, spec) -> SourceGroup:
        stop_event = threading.Event()
        threads: list[threading.Thread] = []

        def register(source: str, kind: str, state: str = "Enabled") -> None:
            self.deliveries.register(source, spec.logical_id, kind, state)
        region, invoke, max_instances = self.region, self.runtime.invoke, self.max_instances
        queues_by_arn = {queue.arn: queue for queue in model.queues.values()}
        filters = {sub.endpoint: FilterPolicy(sub.filter_policy, sub.filter_policy_scope)
                   for sub in model.subscriptions.values() if sub.protocol == "sqs"}
        limit = spec.reserved_concurrency if spec.reserved_concurrency is not None else max_instances
        if limit > 0:  # a reserved concurrency of 0 runs nothing, as on AWS
            threads.append(AsyncInvoker(spec, invoke, self.queues, region, self.destinations, self.deliveries,
                                        stop_event, self.clock, limit))
        stream = spec.environment.get("EVENTS_STREAM")  # the app's Redis fallback of its topic, if it has one
        for source in spec.sqs_events:
            queue = queues_by_arn.get(source.queue_arn)
            if queue is None:
                continue
            register(f"sqs:{queue.name}", "sqs", "Enabled" if source.enabled else "Disabled")
            if not source.enabled:
                continue
            # MaximumConcurrency pollers (up to 1,000 on AWS), never more than instances may run here
            for number in range(1, min(source.max_concurrency or 1, max_instances) + 1):
                sqs = SqsClient(self.aws_endpoint_url, region)  # one per poller: a connection is not shared
                threads.append(SqsPoller(self.runtime, spec.logical_id, source, queue, sqs, region,
                                         self.deliveries, stop_event, number))
            if stream and self.redis is not None and queue.arn in filters:  # fed by the topic: also by its Redis fallback
                register(f"redis:{stream}", "redis")
                threads.append(StreamPoller(self.runtime, spec.logical_id, source, queue, filters[queue.arn],
                                            self.redis, stream, region, self.deliveries, stop_event))
        for sns in spec.sns_events:  # delivered by the AWS endpoint, through the function's queue
            register(f"sns:{sns.topic_arn.rsplit(':', 1)[-1]}", "sns")
        for rule in spec.rule_events:
            register(f"rule:{rule.rule_name}", "eventbridge", "Enabled" if rule.enabled else "Disabled")
        for bucket in {event.bucket for event in spec.s3_events}:
            register(f"s3:{bucket}", "s3")
        for source in spec.stream_events:
            threads.append(StreamSource(
                spec.logical_id, spec.arn, source, invoke, lambda: StreamClient(self.aws_endpoint_url, region),
                self._checkpoint_store(), region, stop_event, destinations=self.destinations,
                deliveries=self.deliveries, clock=self.clock))
        for schedule in spec.schedule_events:
            try:
                threads.append(Schedule(
                    spec.logical_id, schedule, self._enqueue_for(spec.function_name), self.deliveries,
                    stop_event, self.clock, region, self.account_id, spec.arn, every_s=self.schedule_every_s))
            except ScheduleError as error:
                log.warning("schedule %s of %s not run: %s", schedule.name, spec.logical_id, error)
        return SourceGroup(_sources_key(model, spec), threads, stop_event)

    @property
    def count(self) -> int:
        """How many sources the template gives its functions (each function's asynchronous queue aside)."""
        return sum(len(spec.sqs_events) + len(spec.stream_events) + len(spec.sns_events) + len(spec.rule_events)
                   + len(spec.s3_events) + len(spec.schedule_events) for spec in self.model.functions.values())

    def _enqueue_for(self, function_name: str):
        return lambda invocation: self.queues.send(function_name, invocation)

    def start(self) -> None:
        self.deliveries.start()
        for group in self.groups.values():
            group.start()
        self._started = True

    def update(self, model: AppModel) -> list[str]:
        """The template's new model: the sources of each function that changed, came or went are
        stopped and made again; the others run on untouched. Returns the functions restarted.
        Nothing is lost meanwhile: queues keep their messages and streams their checkpoints."""
        restarted, epoch = [], self.deliveries.new_epoch()
        for name in set(self.groups) | set(model.functions):
            old, spec = self.groups.get(name), model.functions.get(name)
            if old is not None and spec is not None and old.key == _sources_key(model, spec):
                continue  # the running group goes on
            fresh = self._group(model, spec) if spec is not None else None
            if old is not None:
                old.stop()
                self.groups.pop(name)
                self.deliveries.forget(name, epoch)
            if fresh is not None:
                self.groups[name] = fresh
                if self._started:
                    fresh.start()
            restarted.append(name)
        self.model = model
        return sorted(restarted)

    def stop(self) -> None:
        for group in self.groups.values():
            group.stop()
        self.deliveries.close()  # after the pollers: their last deliveries are logged too


def _sources_key(model: AppModel, spec) -> tuple:
    """What a function's sources are made from: the same key, the same sources. (Its routes and
    URL are the gateway's business.)"""
    queues = [queue for queue in model.queues.values() if queue.arn in {event.queue_arn for event in spec.sqs_events}]
    arns = {queue.arn for queue in queues}
    return (spec.model_dump(exclude={"api_events", "url"}), [queue.model_dump() for queue in queues],
            [(sub.endpoint, sub.filter_policy, sub.filter_policy_scope) for sub in model.subscriptions.values()
             if sub.protocol == "sqs" and sub.endpoint in arns])
