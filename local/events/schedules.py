"""Schedules: EventBridge rules with a ScheduleExpression, and EventBridge Scheduler schedules
(SAM's ScheduleV2, AWS::Scheduler::Schedule), each firing its function when it is due.

EventBridge and the Scheduler both invoke Lambda asynchronously, so a firing is an
AsyncInvocation handed to `enqueue` (the function's asynchronous queue), and Lambda's
retries, destinations and dead-letter queue apply to it as they do on AWS.

What the function gets (`fire_payload`, also used by `local events fire`):
- from a rule: the scheduled event (shapes.schedule_event: source aws.events, detail-type
  "Scheduled Event", the rule's ARN in resources, `time` the moment it was due), or the
  target's Input (JSON text) in its place, byte for byte;
- from the Scheduler: the target's Input with its context attributes filled in
  (<aws.scheduler.schedule-arn>, -scheduled-time, -execution-id, -attempt-number: "Adding
  context attributes", Scheduler guide). Without Input, the API reference promises "a default
  notification" and shows none; the one sent here is what the Scheduler is seen to send and
  Powertools' EventBridgeModel is written for: an EventBridge event from aws.scheduler with
  detail-type "Scheduled Event", the schedule's ARN in resources and `detail` the text "{}".

Times are the runner's Clock (LOCAL_TIME_SCALE runs it faster); LOCAL_SCHEDULE_SECONDS
(`every_s`) fires a live schedule every that many real seconds instead of at its times."""

import json
import random
import threading
import time
import uuid
from collections.abc import Callable

from local.app.event_model import SCHEDULER, ScheduleEvent
from local.app.listing import schedule_id
from local.events.clock import Clock
from local.events.deliveries import FAILED, OK, Deliveries, Delivery
from local.events.polling import PollingThread, log
from local.events.schedule_expression import ScheduleError, ScheduleExpression
from local.events.scheduler_expression import Timing, iso
from local.events.shapes import schedule_event
from local.services.aws.async_queue import EVENTS, AsyncInvocation
from local.services.aws.async_queue import SCHEDULER as FROM_SCHEDULER

__all__ = ["Schedule", "ScheduleError", "ScheduleExpression", "fire_payload", "source_arn"]

# A firing more than this many real seconds late (the machine slept, the runner was stopped
# in a debugger) is skipped rather than caught up, as AWS does not replay missed schedules;
# under a fast clock the few firings a slow turn overran are still made.
LATE_REAL_S = 2.0
_AFTER_S = 1e-3  # the next firing is one strictly after the last


def source_arn(schedule: ScheduleEvent, region: str, account: str) -> str:
    """The rule's or the schedule's ARN, as the template gave it, else built from its name."""
    if schedule.arn.startswith("arn:"):
        return schedule.arn
    if schedule.kind == SCHEDULER:
        return f"arn:aws:scheduler:{region}:{account}:schedule/default/{schedule.name}"
    return f"arn:aws:events:{region}:{account}:rule/{schedule.name}"


def fire_payload(schedule: ScheduleEvent, function_arn: str, region: str, account: str,
                 now: float) -> tuple[str, str, str]:
    """The event text a firing due at `now` sends to the function `function_arn`, its source
    (async_queue's EVENTS or SCHEDULER) and its source ARN. Pure, apart from the event's and
    execution's random ids. No payload AWS sends names its target, so `function_arn` is not
    in the text; callers give it as they give the rest of the target."""
    arn = source_arn(schedule, region, account)
    if schedule.kind == SCHEDULER:
        if schedule.input is not None:
            return with_context(schedule.input, arn, now), FROM_SCHEDULER, arn
        return json.dumps({
            "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.scheduler",
            "account": account, "time": iso(now), "region": region, "resources": [arn], "detail": "{}",
        }), FROM_SCHEDULER, arn
    if schedule.input is not None:
        return schedule.input, EVENTS, arn
    return json.dumps(schedule_event(arn, now=now)), EVENTS, arn


def with_context(text: str, arn: str, now: float, attempt: int = 1) -> str:
    """The Scheduler's Input with its context attributes replaced by their values."""
    values = {"schedule-arn": arn, "scheduled-time": iso(now), "execution-id": uuid.uuid4().hex[:16],
              "attempt-number": str(attempt)}
    for name, value in values.items():
        text = text.replace(f"<aws.scheduler.{name}>", value)
    return text


class Schedule(PollingThread):
    """Fires one schedule of `function` (its logical id) through `enqueue`, recording each
    firing on `deliveries`. A bad expression, time zone, date or Input raises ScheduleError
    here, before the thread starts. A schedule that is disabled, past its EndDate or whose
    at() has passed fires nothing and says why once."""

    def __init__(self, function: str, spec: ScheduleEvent, enqueue: Callable[[AsyncInvocation], None],
                 deliveries: Deliveries, stop: threading.Event, clock: Clock, region: str, account: str,
                 function_arn: str = "", every_s: float | None = None, *, rng: random.Random | None = None):
        super().__init__(f"schedule:{spec.name}->{function}", stop)
        self.function, self.spec, self.enqueue, self.deliveries = function, spec, enqueue, deliveries
        self.clock, self.region, self.account, self.every_s = clock, region, account, every_s
        self.function_arn = function_arn
        self.rng = rng or random.Random()
        # The name the delivery log gives it: the same as its invocations' (async_invoker.source_id).
        self.source = schedule_id(spec.kind, source_arn(spec, region, account))
        self.via = "scheduler" if spec.kind == SCHEDULER else "events"
        created = clock.now()
        self.timing = Timing(spec, created)
        _check_input(spec, function_arn, region, account, created)
        self._cursor, self._late_s = created, LATE_REAL_S * clock.scale
        self.fired = 0  # firings made, delivered or not
        self.ended: str | None = None if spec.enabled else "disabled in the template"
        if self.ended is None and self.timing.next_from(created) is None:
            self.ended = self.timing.why_none(created)
        self._said = False
        deliveries.register(self.source, function, "scheduler" if spec.kind == SCHEDULER else "schedule",
                            "Disabled" if self.ended else "Enabled", note=self.ended or self._describe())

    def turn(self) -> None:
        if self.ended is not None:
            self._say_ended()
            self.stop.wait()  # nothing more to do until the runner stops
            return
        if self.every_s:
            if not self.stop.wait(self.every_s):
                self._fire(self.clock.now())
            return
        after = max(self._cursor, self.clock.now() - self._late_s)
        due = self.timing.next_from(after)
        if due is None:
            self.ended = self.timing.why_none(after)
            return
        if self._wait_until(due + self.timing.delay_s(self.rng)):
            return
        self._fire(due)
        self._cursor = due + _AFTER_S

    def _wait_until(self, moment: float) -> bool:
        """Wait on the clock until `moment`; True when stopped first. A wait may end a little
        early (a scaled clock's rounding), so it waits again for what is left."""
        while (left := moment - self.clock.now()) > 0:
            if self.clock.wait(self.stop, left):
                return True
        return False

    def _fire(self, due: float) -> None:
        payload, source, arn = fire_payload(self.spec, self.function_arn, self.region, self.account, due)
        invocation = AsyncInvocation(payload=payload, source=source, source_arn=arn)
        started, self.fired = time.perf_counter(), self.fired + 1
        try:
            self.enqueue(invocation)
        except Exception as error:  # noqa: BLE001 - whatever the queue's client raised, it failed: say so, go on
            log.warning("%s: not delivered to %s: %s", self.name, self.function_arn or self.function, error)
            self._record(FAILED, f"due {iso(due)}: {error}", started)
            return
        self._record(OK, f"request {invocation.request_id}, due {iso(due)}", started)

    def _record(self, outcome: str, detail: str, started: float) -> None:
        self.deliveries.record(Delivery(self.source, self.function, outcome, via=self.via, detail=detail,
                                        duration_ms=(time.perf_counter() - started) * 1000))

    def _say_ended(self) -> None:
        if self._said:
            return
        self._said = True
        if not self.spec.enabled or self.fired:
            log.info("%s fires %s: %s", self.name, "no more" if self.fired else "nothing", self.ended)
        else:
            log.warning("%s fires nothing: %s", self.name, self.ended)
        self.deliveries.set_state(self.source, self.function, "Disabled", self.ended)

    def _describe(self) -> str:
        timing = self.timing
        parts = [str(timing.expression)] + ([str(timing.tz)] if timing.scheduler else [])
        parts += [f"from {iso(timing.start)}"] if timing.start is not None else []
        parts += [f"until {iso(timing.end)}"] if timing.end is not None else []
        parts += [f"window {timing.window_s // 60} min"] if timing.window_s else []
        parts += [f"every {self.every_s:g} s (LOCAL_SCHEDULE_SECONDS)"] if self.every_s else []
        return ", ".join(parts)


def _check_input(spec: ScheduleEvent, function_arn: str, region: str, account: str, now: float) -> None:
    """A rule target's Input is JSON text, and so is a Scheduler Lambda target's ("a templated
    Lambda ... target, the input must be a well-formed JSON", API reference, Target.Input),
    once its context attributes are filled in."""
    if spec.input is None:
        return
    payload, _, _ = fire_payload(spec, function_arn, region, account, now)
    try:
        json.loads(payload)
    except ValueError:
        raise ScheduleError(f"the target's Input is not JSON text: {spec.input[:80]!r}") from None
