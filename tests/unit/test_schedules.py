"""Schedules as AWS runs them: EventBridge rules (rate and six-field cron in UTC, with L, W and
#) and the EventBridge Scheduler (at, time zones across daylight-saving changes, start and end
dates, flexible windows), the events they send, and the thread that fires them through
Lambda's asynchronous queue on the runner's clock."""

import itertools
import json
import random
import re
import threading
from datetime import datetime, timezone

import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from support import eventually

from local.app.event_model import RULE, SCHEDULER, ScheduleEvent
from local.events.clock import Clock
from local.events.deliveries import FAILED, OK, Deliveries
from local.events.schedule_expression import ScheduleExpression
from local.events.scheduler_expression import Timing
from local.events.schedules import Schedule, ScheduleError, fire_payload
from local.services.aws.async_queue import EVENTS
from local.services.aws.async_queue import SCHEDULER as FROM_SCHEDULER

RULE_ARN = "arn:aws:events:eu-west-1:123456789012:rule/Nightly"
SCHEDULE_ARN = "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/Tick"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:worker"
REGION, ACCOUNT = "eu-west-1", "123456789012"


def _t(text: str) -> float:
    """Epoch seconds of an ISO time; without an offset, UTC."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rule(expression: str, **fields) -> ScheduleEvent:
    return ScheduleEvent(name="Nightly", schedule=expression, kind=RULE, arn=RULE_ARN, **fields)


def _scheduler(expression: str, **fields) -> ScheduleEvent:
    return ScheduleEvent(name="Tick", schedule=expression, kind=SCHEDULER, arn=SCHEDULE_ARN, **fields)


class InstantClock(Clock):
    """A clock whose waits take no time: each moves it on by what was asked."""

    def __init__(self, start: float):
        super().__init__(wall=lambda: start)
        self.t = start

    def now(self) -> float:
        return self.t

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        self.t += max(0.0, seconds)
        return stop.is_set()


class Recorder:
    """An enqueue that keeps each invocation with the clock's time when it was handed over."""

    def __init__(self, clock: Clock):
        self.clock, self.calls = clock, []

    def __call__(self, invocation) -> None:
        self.calls.append((self.clock.now(), invocation))

    def event_times(self) -> list[str]:
        return [json.loads(invocation.payload)["time"] for _, invocation in self.calls]


def _thread(spec: ScheduleEvent, start: str, stop: threading.Event | None = None, **options):
    clock = InstantClock(_t(start))
    recorder, deliveries = Recorder(clock), Deliveries(None)
    schedule = Schedule("Worker", spec, recorder, deliveries, stop or threading.Event(), clock, REGION, ACCOUNT,
                        FUNCTION_ARN, **options)
    return schedule, recorder, deliveries, clock


# -- when a rule fires (UTC) -------------------------------------------------------------------

@pytest.mark.parametrize("expression, after, expected", [
    ("cron(15 10 ? * 6L 2019-2022)", "2022-12-01T00:00", "2022-12-30T10:15:00Z"),  # the last Friday (AWS's example)
    ("cron(15 10 ? * 6L 2019-2022)", "2022-12-30T10:15", None),  # its years are over
    ("cron(0 12 LW * ? *)", "2026-01-01T00:00", "2026-01-30T12:00:00Z"),  # the 31st is a Saturday
    ("cron(0 8 1W * ? *)", "2026-07-15T00:00", "2026-08-03T08:00:00Z"),  # Sat 1 Aug: Monday, not 31 July
    ("cron(0 8 31W * ? *)", "2026-05-01T00:00", "2026-05-29T08:00:00Z"),  # Sun 31 May: Friday, not 1 June
    ("cron(0 8 31W * ? *)", "2026-06-01T00:00", "2026-07-31T08:00:00Z"),  # June has no 31st
    ("cron(0 10 ? * L *)", "2026-12-02T00:00", "2026-12-05T10:00:00Z"),  # L alone: Saturday
    ("cron(0 10 ? * MON#5 *)", "2026-12-01T00:00", "2027-03-29T10:00:00Z"),  # the next month with five Mondays
    ("cron(0/30 20-2 ? * MON-FRI *)", "2026-12-07T23:45", "2026-12-08T00:00:00Z"),  # a range across midnight
    ("cron(0/30 20-2 ? * MON-FRI *)", "2026-12-08T02:00", "2026-12-08T02:30:00Z"),  # hour 2 is in the range
    ("cron(0/30 20-2 ? * MON-FRI *)", "2026-12-08T02:30", "2026-12-08T20:00:00Z"),
    ("cron(1/10 * * * ? *)", "2026-12-02T10:02", "2026-12-02T10:11:00Z"),  # AWS's "1/10": 11, 21, 31...
    ("cron(0 9 ? jan,jul wed *)", "2026-01-01T00:00", "2026-01-07T09:00:00Z"),  # names, in any case
    ("cron(0 0 30 2 ? *)", "2026-01-01T00:00", None),  # 30 February never comes
    ("cron(0 12 * * ? *)", "2026-12-02T12:00", "2026-12-03T12:00:00Z"),  # a rule's next firing is after now
])
def test_rule_cron_expressions_fire_when_aws_would(expression, after, expected):
    assert _iso(ScheduleExpression(expression).next_after(_t(after))) == expected


def test_a_rule_rate_starts_when_the_rule_is_created():
    timing = Timing(_rule("rate(5 minutes)"), created=_t("2026-12-02T10:00:30"))
    assert [_iso(timing.next_from(_t(at))) for at in ("2026-12-02T10:00:30", "2026-12-02T10:05:31")] == \
        ["2026-12-02T10:05:30Z", "2026-12-02T10:10:30Z"]


# -- what AWS refuses, and why ---------------------------------------------------------------------

@pytest.mark.parametrize("expression, kind, problem", [
    ("rate(1 minutes)", RULE, r"singular unit, as AWS requires: rate\(1 minute\)"),
    ("rate(5 minute)", RULE, r"plural unit, as AWS requires: rate\(5 minutes\)"),
    ("rate(0 minutes)", RULE, "positive whole number"),
    ("rate(5 fortnights)", RULE, r"minute\(s\), hour\(s\) or day\(s\)"),
    ("cron(0 12 * * ?)", RULE, "six fields"),
    ("cron(99 12 * * ? *)", RULE, "minutes: 99 is outside 0-59"),
    ("cron(0 12 * * * *)", RULE, r"one of day-of-month and day-of-week must be \?"),
    ("cron(0 12 ? * ? *)", RULE, r"one of day-of-month and day-of-week must be \?"),
    ("cron(0 12 ? * 3#1,6#3 *)", RULE, "one expression only"),
    ("cron(0 12 ? * 2#6 *)", RULE, "week of the month is 1-5"),
    ("cron(0 12 ? * 6W *)", RULE, "W belongs to day-of-month"),
    ("cron(0 12 XW * ? *)", RULE, "W follows a day number"),
    ("cron(L 12 * * ? *)", RULE, "minutes: 'L' is not allowed here"),
    ("cron(0 12 * * ? 1969)", RULE, "year: 1969 is outside 1970-2199"),
    ("cron(0 12 * * ? 2030-2020)", RULE, "year: the range '2030-2020' runs backwards"),
    ("cron(0 12 * FOO ? *)", RULE, "month: 'FOO' is not a value"),
    ("cron(0/0 12 * * ? *)", RULE, "step in '0/0' is not a positive number"),
    ("at(2026-01-01T00:00:00)", RULE, r"at\(\) is for EventBridge Scheduler"),
    ("at(2026-01-01 00:00:00)", SCHEDULER, "yyyy-mm-ddThh:mm:ss"),
    ("at(2026-02-30T00:00:00)", SCHEDULER, "day is out of range"),
    ("every day", RULE, "not a schedule expression"),
])
def test_expressions_aws_refuses_are_refused_with_the_reason(expression, kind, problem):
    spec = _rule(expression) if kind == RULE else _scheduler(expression)
    with pytest.raises(ScheduleError, match=problem):
        _thread(spec, "2026-01-01T00:00")


@pytest.mark.parametrize("fields, problem", [
    ({"timezone": "Mars/Olympus"}, "not a time zone"),
    ({"start": "2027-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "is not before EndDate"),
    ({"start": "next week"}, "not an ISO 8601 date"),
    ({"flexible_window_min": 1441}, "1-1440"),
    ({"input": "run the report"}, "Input is not JSON"),
])
def test_scheduler_settings_aws_refuses_are_refused(fields, problem):
    with pytest.raises(ScheduleError, match=problem):
        _thread(_scheduler("rate(1 hour)", **fields), "2026-01-01T00:00")


def test_the_scheduler_takes_either_unit_word_and_a_rule_input_must_be_json():
    _thread(_scheduler("rate(1 minutes)"), "2026-01-01T00:00")  # the rule's singular/plural check is the rules' own
    with pytest.raises(ScheduleError, match="Input is not JSON"):
        _thread(_rule("rate(1 hour)", input="{job: report}"), "2026-01-01T00:00")


# -- when the Scheduler fires: time zones, daylight saving, dates ----------------------------------

@pytest.mark.parametrize("expression, fields, created, after, expected", [
    # New York moves its clocks forward at 02:00 on 8 March 2026: 02:30 does not happen that day.
    ("cron(30 2 * * ? *)", {"timezone": "America/New_York"}, "2026-03-07T08:00Z", None, "2026-03-09T06:30:00Z"),
    # ...and back at 02:00 on 1 November: 01:30 happens twice and fires once, the first time (EDT).
    ("cron(30 1 * * ? *)", {"timezone": "America/New_York"}, "2026-10-31T12:00Z", None, "2026-11-01T05:30:00Z"),
    ("cron(30 1 * * ? *)", {"timezone": "America/New_York"}, "2026-10-31T12:00Z", "2026-11-01T05:31Z",
     "2026-11-02T06:30:00Z"),
    ("cron(0 9 * * ? *)", {"timezone": "Europe/London"}, "2026-03-28T10:00Z", None, "2026-03-29T08:00:00Z"),
    ("cron(0 9 * * ? *)", {}, "2026-03-28T10:00Z", None, "2026-03-29T09:00:00Z"),  # no time zone: UTC
    ("at(2026-03-11T10:21:00)", {"timezone": "Asia/Kolkata"}, "2026-01-01T00:00Z", None, "2026-03-11T04:51:00Z"),
    ("at(2026-11-01T01:30:00)", {"timezone": "America/New_York"}, "2026-01-01T00:00Z", None, "2026-11-01T05:30:00Z"),
    # at() ignores StartDate and EndDate, as the API reference says.
    ("at(2026-06-01T00:00:00)", {"start": "2026-07-01T00:00Z", "end": "2026-08-01T00:00Z"}, "2026-01-01T00:00Z",
     None, "2026-06-01T00:00:00Z"),
    # A rate counts 24-hour days across a change, in any time zone.
    ("rate(1 day)", {"timezone": "America/New_York", "start": "2026-03-07T12:00:00Z"}, "2026-03-07T12:30Z", None,
     "2026-03-08T12:00:00Z"),
    ("rate(1 hour)", {}, "2026-01-01T00:00:17Z", None, "2026-01-01T00:00:17Z"),  # no StartDate: at once
    ("rate(5 minutes)", {"start": "2030-01-01T00:00:00Z"}, "2026-01-01T00:00Z", None, "2030-01-01T00:00:00Z"),
    ("rate(5 minutes)", {"start": "2026-01-01T00:02:00Z"}, "2026-01-01T00:03Z", None, "2026-01-01T00:07:00Z"),
    ("cron(0 12 * * ? *)", {"start": "2026-06-15T13:00:00Z"}, "2026-06-01T00:00Z", None, "2026-06-16T12:00:00Z"),
    ("cron(0 12 * * ? *)", {"end": "2026-06-16T12:00:00Z"}, "2026-06-16T00:00Z", None, None),  # ends before EndDate
])
def test_scheduler_schedules_fire_when_aws_would(expression, fields, created, after, expected):
    timing = Timing(_scheduler(expression, **fields), created=_t(created))
    assert _iso(timing.next_from(_t(after or created))) == expected


def test_a_flexible_window_delays_each_firing_by_a_seeded_random_amount_within_it():
    timing = Timing(_scheduler("rate(1 hour)", flexible_window_min=15), created=0)
    delays = [timing.delay_s(random.Random(seed)) for seed in range(200)]
    assert all(0 <= delay <= 15 * 60 for delay in delays)
    assert max(delays) - min(delays) > 10 * 60  # spread over the window, not bunched at one end
    assert timing.delay_s(random.Random(7)) == timing.delay_s(random.Random(7))
    assert Timing(_scheduler("rate(1 hour)"), created=0).delay_s(random.Random(7)) == 0  # OFF: no delay


# -- what the function gets ---------------------------------------------------------------------

def test_a_rule_sends_the_scheduled_event_due_at_its_time():
    payload, source, arn = fire_payload(_rule("rate(1 hour)"), FUNCTION_ARN, REGION, ACCOUNT, _t("2026-12-02T10:00"))
    event = EventBridgeModel.model_validate_json(payload)
    assert (source, arn) == (EVENTS, RULE_ARN)
    assert (event.source, event.detail_type, event.resources, event.detail) == \
        ("aws.events", "Scheduled Event", [RULE_ARN], {})
    assert (event.account, event.region, event.time.timestamp()) == (ACCOUNT, REGION, _t("2026-12-02T10:00"))


def test_a_rule_with_input_sends_it_verbatim_and_one_without_an_arn_is_named_after_its_schedule():
    given = '  {"job": "report"}  '
    assert fire_payload(_rule("rate(1 hour)", input=given), FUNCTION_ARN, REGION, ACCOUNT, 0)[0] == given
    _, _, arn = fire_payload(ScheduleEvent(name="Nightly", schedule="rate(1 hour)"), FUNCTION_ARN, REGION, ACCOUNT, 0)
    assert arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/Nightly"


def test_the_scheduler_without_input_sends_its_default_notification():
    payload, source, arn = fire_payload(_scheduler("rate(1 hour)"), FUNCTION_ARN, REGION, ACCOUNT,
                                        _t("2026-12-02T10:00"))
    assert (source, arn) == (FROM_SCHEDULER, SCHEDULE_ARN)
    raw = json.loads(payload)
    assert raw["detail"] == "{}"  # text, not an object: what the Scheduler sends
    event = EventBridgeModel.model_validate(raw)
    assert (event.source, event.detail_type, event.resources) == ("aws.scheduler", "Scheduled Event", [SCHEDULE_ARN])
    assert (event.account, event.region, event.time.timestamp()) == (ACCOUNT, REGION, _t("2026-12-02T10:00"))


def test_the_scheduler_fills_in_the_context_attributes_of_its_input():
    given = ('{"arn": "<aws.scheduler.schedule-arn>", "at": "<aws.scheduler.scheduled-time>", '
             '"run": "<aws.scheduler.execution-id>", "try": <aws.scheduler.attempt-number>}')
    payload, _, _ = fire_payload(_scheduler("rate(1 hour)", input=given), FUNCTION_ARN, REGION, ACCOUNT,
                                 _t("2026-12-02T10:00"))
    event = json.loads(payload)
    assert (event["arn"], event["at"], event["try"]) == (SCHEDULE_ARN, "2026-12-02T10:00:00Z", 1)
    assert re.fullmatch(r"[0-9a-f]{16}", event["run"])


# -- the thread: firing through the asynchronous queue, recording each delivery --------------------

def test_a_rule_fires_each_period_through_the_queue_with_the_time_it_was_due():
    schedule, recorder, deliveries, _ = _thread(_rule("rate(1 minute)"), "2026-12-02T10:00:00")
    for _ in range(3):
        schedule.turn()
    assert [at for at, _ in recorder.calls] == [_t("2026-12-02T10:01"), _t("2026-12-02T10:02"), _t("2026-12-02T10:03")]
    assert recorder.event_times() == ["2026-12-02T10:01:00Z", "2026-12-02T10:02:00Z", "2026-12-02T10:03:00Z"]
    assert {(invocation.source, invocation.source_arn) for _, invocation in recorder.calls} == {(EVENTS, RULE_ARN)}
    state = deliveries.states()[0]
    assert (state["source"], state["function"], state["state"], state["delivered"]) == \
        ("rule:Nightly", "Worker", "Enabled", 3)
    assert {(last["outcome"], last["via"]) for last in state["last"]} == {(OK, "events")}


def test_a_scheduler_rate_fires_at_once_then_each_period():
    schedule, recorder, _, _ = _thread(_scheduler("rate(1 hour)"), "2026-12-02T10:00:00")
    schedule.turn()
    schedule.turn()
    assert recorder.event_times() == ["2026-12-02T10:00:00Z", "2026-12-02T11:00:00Z"]
    assert recorder.calls[0][1].source == FROM_SCHEDULER


def test_a_flexible_window_delays_the_invocation_not_the_scheduled_time():
    schedule, recorder, _, _ = _thread(_scheduler("cron(0 * * * ? *)", flexible_window_min=10), "2026-12-02T10:30",
                                       rng=random.Random(3))
    for _ in range(5):
        schedule.turn()
    for hour, (at, invocation) in enumerate(recorder.calls, start=11):
        due = _t(f"2026-12-02T{hour}:00")
        assert due <= at < due + 600
        assert json.loads(invocation.payload)["time"] == _iso(due)
    assert len({at - _t(json.loads(i.payload)["time"]) for at, i in recorder.calls}) > 1  # a delay of its own each


def test_a_firing_missed_while_the_machine_slept_is_skipped_not_replayed():
    schedule, recorder, _, clock = _thread(_rule("rate(1 minute)"), "2026-12-02T10:00:00")
    schedule.turn()
    clock.t += 3600  # an hour asleep
    schedule.turn()
    assert recorder.event_times() == ["2026-12-02T10:01:00Z", "2026-12-02T11:01:00Z"]


def test_an_at_schedule_fires_once_then_says_it_is_done(caplog):
    caplog.set_level("INFO", logger="local.events")
    stop = threading.Event()
    schedule, recorder, deliveries, _ = _thread(_scheduler("at(2026-12-24T18:00:00)", timezone="Europe/Paris"),
                                                "2026-12-02T10:00", stop)
    schedule.turn()
    stop.set()  # from here on it only idles until the runner stops
    for _ in range(3):
        schedule.turn()
    assert recorder.event_times() == ["2026-12-24T17:00:00Z"]
    assert caplog.text.count("fires no more") == 1
    assert deliveries.states()[0]["state"] == "Disabled"
    assert "has passed" in deliveries.states()[0]["note"]


@pytest.mark.parametrize("spec, reason", [
    (_scheduler("rate(1 hour)", enabled=False), "disabled in the template"),
    (_rule("rate(1 hour)", enabled=False), "disabled in the template"),
    (_scheduler("rate(1 hour)", end="2026-01-01T00:00:00Z"), "EndDate 2026-01-01T00:00:00Z has passed"),
    (_scheduler("at(2026-06-01T09:00:00)"), r"was due at 2026-06-01T09:00:00Z, which has passed"),
])
def test_a_schedule_that_cannot_fire_fires_nothing_and_says_why_once(spec, reason, caplog):
    caplog.set_level("INFO", logger="local.events")
    stop = threading.Event()
    stop.set()
    schedule, recorder, deliveries, _ = _thread(spec, "2026-12-02T10:00", stop)
    for _ in range(3):
        schedule.turn()
    assert recorder.calls == []
    assert len(re.findall(reason, caplog.text)) == 1
    state = deliveries.states()[0]
    assert state["state"] == "Disabled" and re.search(reason, state["note"])


def test_a_firing_the_queue_refuses_is_recorded_as_failed_and_the_schedule_goes_on():
    clock = InstantClock(_t("2026-12-02T10:00"))
    answers = iter([RuntimeError("endpoint down"), None])

    def enqueue(invocation):
        answer = next(answers)
        if answer:
            raise answer

    deliveries = Deliveries(None)
    schedule = Schedule("Worker", _rule("rate(1 minute)"), enqueue, deliveries, threading.Event(), clock, REGION,
                        ACCOUNT, FUNCTION_ARN)
    schedule.turn()
    schedule.turn()
    state = deliveries.states()[0]
    assert [last["outcome"] for last in state["last"]] == [OK, FAILED]  # newest first
    assert "endpoint down" in state["last"][1]["detail"]
    assert (state["delivered"], state["failed"]) == (1, 1)


def test_a_fast_clock_fires_a_one_minute_rate_many_times_a_second():
    clock, fired, stop = Clock(scale=600), [], threading.Event()  # a minute lasts a tenth of a second
    schedule = Schedule("Worker", _rule("rate(1 minute)"), fired.append, Deliveries(None), stop, clock, REGION,
                        ACCOUNT, FUNCTION_ARN)
    schedule.start()
    try:
        assert eventually(lambda: len(fired) >= 3, within=10, every=0.02)
    finally:
        stop.set()
        schedule.join(5)
    assert not schedule.is_alive()
    times = [EventBridgeModel.model_validate_json(invocation.payload).time.timestamp() for invocation in fired[:3]]
    assert [later - earlier for earlier, later in itertools.pairwise(times)] == [60, 60]
