"""Lambda's handling of asynchronous invocations, for one function: take the events from its
internal queue (local/services/aws/async_queue.py), run them, retry the failures, and send
the outcome to the destinations and the dead-letter queue, as "Configuring error handling
for asynchronous invocation" describes:

- a function error (or a timeout) is retried up to MaximumRetryAttempts times (default 2),
  a minute before the first retry and two before the second;
- an event older than MaximumEventAgeInSeconds (default six hours) is not run again;
- then the OnFailure destination gets a record (condition RetriesExhausted or
  EventAgeExceeded) and the DeadLetterConfig target the event itself; a success goes to
  OnSuccess.

A retry is the event sent back to the queue with a delay (the clock's: LOCAL_TIME_SCALE makes
the minute a second), then the one taken deleted; if the runner dies in between, the event
runs once more, which AWS allows ("your function may receive the same event multiple
times"). An event the runner held when it died comes back after the queue's visibility
timeout. Events run in any order, up to the function's concurrency at once."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from local.app.event_model import AsyncConfig
from local.app.model import FunctionSpec
from local.events.clock import Clock
from local.events.deliveries import DEAD_LETTER, FAILED, OK, RETRY, Deliveries, Delivery
from local.events.destinations import FAILURE_DETAIL, SUCCESS_DETAIL, DestinationError, Destinations, iso_now
from local.events.polling import PollingThread, log
from local.events.sqs_client import SqsClient, SqsError
from local.services.aws.async_queue import (
    EVENTS,
    S3,
    SCHEDULER,
    SNS,
    AsyncInvocation,
    queue_name,
    visibility_timeout_s,
)

RETRY_DELAY_S = 60  # "Lambda waits one minute before the first retry, two before the second"
MAX_SQS_DELAY_S = 900


def queue_url(endpoint_url: str, account_id: str, function_name: str) -> str:
    return f"{endpoint_url.rstrip('/')}/{account_id}/{queue_name(function_name)}"


class AsyncQueues:
    """Puts invocations on functions' internal queues from the runner (schedules, retries)."""

    def __init__(self, endpoint_url: str, region: str, account_id: str):
        self.endpoint_url, self.account_id = endpoint_url, account_id
        self._sqs = SqsClient(endpoint_url, region)
        self._lock = threading.Lock()  # one connection, shared by the threads that send

    def send(self, function_name: str, invocation: AsyncInvocation, delay_s: int = 0) -> None:
        """Raises SqsError when the endpoint refused or could not be reached."""
        with self._lock:
            self._sqs.send_message(queue_url(self.endpoint_url, self.account_id, function_name), invocation.payload,
                                   invocation.attributes(), delay_s)


class AsyncInvoker(PollingThread):
    def __init__(self, spec: FunctionSpec, invoke, queues: AsyncQueues, region: str, destinations: Destinations,
                 deliveries: Deliveries, stop: threading.Event, clock: Clock, concurrency: int):
        super().__init__(f"async->{spec.logical_id}", stop)
        self.spec, self.invoke, self.queues = spec, invoke, queues
        # A connection is not shared between threads: one to receive (this thread), one to delete.
        self.sqs = SqsClient(queues.endpoint_url, region)
        self._deleter, self._delete_lock = SqsClient(queues.endpoint_url, region), threading.Lock()
        self.destinations, self.deliveries, self.clock = destinations, deliveries, clock
        self.url = queue_url(queues.endpoint_url, queues.account_id, spec.function_name)
        self.slots = threading.Semaphore(concurrency)
        # Events being run, by receipt handle, with when their visibility was last extended: a run
        # that waited for an instance (shared with the function's other sources) must not
        # reappear on the queue and run twice at once.
        self._running: dict[str, float] = {}
        self._running_lock = threading.Lock()
        self._visibility_s = visibility_timeout_s(spec.timeout)
        self.concurrency = concurrency
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"async-{spec.logical_id}")
        deliveries.register("async", spec.logical_id, "async")

    def turn(self) -> None:
        free = self._take_free_slots()
        if not free:
            return
        try:
            messages = self.sqs.receive_message(self.url, min(10, free), 1, ["All"], ["All"])
            self.recovered()
        except SqsError as error:
            self.warn_once(f"{self.name}: the function's asynchronous queue cannot be read ({error.code}); retrying")
            self.deliveries.set_state("async", self.spec.logical_id, "Failing", error.code)
            for _ in range(free):
                self.slots.release()
            self.stop.wait(1)
            return
        self.deliveries.set_state("async", self.spec.logical_id, "Enabled", "")
        for message in messages:
            with self._running_lock:
                self._running[message["ReceiptHandle"]] = time.monotonic()
            self._pool.submit(self._run, message)
        self._keep_visible()
        for _ in range(free - len(messages)):
            self.slots.release()

    def _take_free_slots(self) -> int:
        """Wait for one free instance, then take every other that is free: ask for no more
        events than can run now, so the rest stay on the queue for after a restart."""
        if not self.slots.acquire(timeout=1):
            return 0
        free = 1
        while free < 10 and self.slots.acquire(blocking=False):
            free += 1
        return free

    def _run(self, message: dict) -> None:
        try:
            self.handle(message)
        except Exception:  # noqa: BLE001 - one event's fault must not stop the function's queue
            log.exception("%s: unexpected error on an event; it comes back after the visibility timeout", self.name)
        finally:
            with self._running_lock:
                self._running.pop(message["ReceiptHandle"], None)
            self.slots.release()

    def _keep_visible(self) -> None:
        """Extend the invisibility of events running for half the queue's visibility timeout."""
        now = time.monotonic()
        with self._running_lock:
            due = [handle for handle, since in self._running.items() if now - since >= self._visibility_s / 2]
        for handle in due:
            try:
                with self._delete_lock:
                    self._deleter.change_message_visibility(self.url, handle, self._visibility_s)
            except SqsError:
                continue  # deleted meanwhile, or the endpoint is down: it would come back either way
            with self._running_lock:
                if handle in self._running:
                    self._running[handle] = now

    def handle(self, message: dict) -> None:
        try:
            invocation = AsyncInvocation.from_message(message["Body"], message.get("MessageAttributes") or {})
            event = invocation.event()
        except ValueError as error:
            log.warning("%s: dropped a message that is no asynchronous invocation (%s)", self.name, error)
            self._delete_message(message)
            return
        config: AsyncConfig = self.spec.async_config
        age = self.clock.since(invocation.enqueued_ms / 1000)
        if age > config.max_event_age_s:
            self._failed(invocation, event, None, "EventAgeExceeded")
        else:
            outcome = self.invoke(self.spec.logical_id, event, invocation.request_id)
            if not outcome.failed:
                self._succeeded(invocation, event, outcome)
            elif invocation.attempt <= config.max_retries and \
                    age + RETRY_DELAY_S * invocation.attempt <= config.max_event_age_s:
                self._retry(invocation, outcome)
            else:
                condition = "RetriesExhausted" if invocation.attempt > config.max_retries else "EventAgeExceeded"
                self._failed(invocation, event, outcome, condition)
        self._delete_message(message)

    def _succeeded(self, invocation: AsyncInvocation, event, outcome) -> None:
        destination = self.spec.async_config.on_success
        if destination:
            self._send(destination, self._record(invocation, event, outcome, "Success"), SUCCESS_DETAIL)
        self._log(invocation, OK, duration_ms=outcome.duration_ms)

    def _retry(self, invocation: AsyncInvocation, outcome) -> None:
        delay = min(MAX_SQS_DELAY_S, round(self.clock.real_seconds(RETRY_DELAY_S * invocation.attempt)))
        again = AsyncInvocation(payload=invocation.payload, source=invocation.source, source_arn=invocation.source_arn,
                                request_id=invocation.request_id, enqueued_ms=invocation.enqueued_ms,
                                attempt=invocation.attempt + 1)
        self.queues.send(self.spec.function_name, again, delay)  # an SqsError: the event comes back as it was
        self._log(invocation, RETRY, f"attempt {invocation.attempt} failed: {_message(outcome)}; "
                                     f"retry in {delay} s", outcome.duration_ms)

    def _failed(self, invocation: AsyncInvocation, event, outcome, condition: str) -> None:
        config = self.spec.async_config
        error = _message(outcome) if outcome is not None else f"event older than {config.max_event_age_s} s"
        kept = []
        if config.on_failure:
            self._send(config.on_failure, self._record(invocation, event, outcome, condition), FAILURE_DETAIL)
            kept.append("OnFailure")
        if config.dead_letter_arn:
            try:
                # The status of the last Invoke: 200 when the function ran and failed; an event that
                # never ran aged out waiting, as a throttled one does on AWS: 429.
                code = 200 if outcome is not None or invocation.attempt > 1 else 429
                self.destinations.dead_letter(config.dead_letter_arn, invocation.payload, invocation.request_id, code,
                                              error)
                kept.append("dead-letter queue")
            except DestinationError as failure:
                log.warning("%s: the dead-letter queue refused the event: %s", self.name, failure)
        outcome_name = DEAD_LETTER if kept else FAILED
        self._log(invocation, outcome_name, f"{condition}: {error}" + (f"; to {' and '.join(kept)}" if kept else
                                                                       "; the event is dropped, as on AWS"),
                  outcome.duration_ms if outcome is not None else None)

    def _record(self, invocation: AsyncInvocation, event, outcome, condition: str) -> dict:
        """The destination record Lambda sends ("Configuring destinations for asynchronous invocation")."""
        response = {"statusCode": 200, "executedVersion": "$LATEST"}
        if outcome is not None and outcome.failed:
            response["functionError"] = "Unhandled"
        record = {"version": "1.0", "timestamp": iso_now(),
                  "requestContext": {"requestId": invocation.request_id, "functionArn": f"{self.spec.arn}:$LATEST",
                                     "condition": condition,
                                     # the attempts made: an event that aged out before this one was not run
                                     "approximateInvokeCount": invocation.attempt - (outcome is None)},
                  "requestPayload": event, "responseContext": response}
        if outcome is not None:
            record["responsePayload"] = outcome.error if outcome.failed else outcome.payload
        return record

    def _send(self, arn: str, record: dict, detail_type: str) -> None:
        try:
            self.destinations.send(arn, record, detail_type=detail_type, function_arn=self.spec.arn)
        except DestinationError as error:
            log.warning("%s: the destination refused the record: %s", self.name, error)

    def _delete_message(self, message: dict) -> None:
        try:
            with self._delete_lock:
                self._deleter.delete_message_batch(self.url, [{"Id": "0", "ReceiptHandle": message["ReceiptHandle"]}])
        except SqsError as error:
            # Not deleted: it runs again after the visibility timeout (at least once, as on AWS).
            self.warn_once(f"{self.name}: could not delete a handled event ({error.code})")

    def _log(self, invocation: AsyncInvocation, outcome: str, detail: str = "", duration_ms: float | None = None):
        self.deliveries.record(Delivery(source=source_id(invocation), function=self.spec.logical_id, outcome=outcome,
                                        via=invocation.source, detail=f"{invocation.request_id} {detail}".strip(),
                                        duration_ms=duration_ms))

    def stop_pool(self) -> None:
        """Drop what is queued (it comes back after the visibility timeout) and let the running
        finish, as far as the runtime lets them."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def source_id(invocation: AsyncInvocation) -> str:
    """The source an asynchronous invocation came from, as deliveries.py names sources: the
    topic, bucket, rule or schedule by name; `async` for the Invoke API and destinations."""
    name = invocation.source_arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    kinds = {SNS: "sns", S3: "s3", EVENTS: "rule", SCHEDULER: "schedule"}
    return f"{kinds[invocation.source]}:{name}" if invocation.source in kinds and name else "async"


def _message(outcome) -> str:
    error = outcome.error or {}
    return str(error.get("errorMessage") or error.get("errorType") or json.dumps(error))[:500]
