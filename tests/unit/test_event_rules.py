"""The rules the event sources apply, apart from any service: which records of a batch failed,
which messages a filter policy lets through, when a schedule fires, and how the layer's
consumer reports a partial batch (Powertools' batch processor)."""

import copy
import json
import threading
from datetime import datetime, timezone

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel
from cloudpatterns.consumer import handle_batch
from support import event

from local.app.event_model import ScheduleEvent
from local.events.batch import failed_ids
from local.events.clock import Clock
from local.events.deliveries import Deliveries
from local.events.filter_policy import FilterPolicy
from local.events.schedules import Schedule, ScheduleError, ScheduleExpression
from local.runtime.pool import Invocation

# -- partial batch responses ---------------------------------------------------------------


def outcome(payload=None, error=None) -> Invocation:
    return Invocation("r", "F", payload=payload, error=error)


RECORDS = [{"messageId": "a"}, {"messageId": "b"}]


@pytest.mark.parametrize("result, report, failed", [
    (outcome({"batchItemFailures": [{"itemIdentifier": "b"}]}), True, {"b"}),
    (outcome({"batchItemFailures": []}), True, set()),
    (outcome(None), True, set()),
    (outcome({"batchItemFailures": [{"itemIdentifier": "zzz"}]}), True, {"a", "b"}),
    (outcome("nonsense"), True, {"a", "b"}),
    (outcome(error={"errorType": "X"}), True, {"a", "b"}),
    (outcome({"batchItemFailures": [{"itemIdentifier": "b"}]}), False, set()),
    (outcome(error={"errorType": "X"}), False, {"a", "b"}),
])
def test_partial_batch_responses_as_lambda_reads_them(result, report, failed):
    assert failed_ids(result, RECORDS, report) == failed


# -- filter policies: AWS's grammar, as SNS applies it ---------------------------------------

@pytest.mark.parametrize("policy, attributes, body, expected", [
    ({"type": [{"prefix": "recipe."}, "product.created"]}, {"type": "recipe.deleted"}, "", True),
    ({"type": [{"prefix": "recipe."}, "product.created"]}, {"type": "product.created"}, "", True),
    ({"type": [{"prefix": "recipe."}, "product.created"]}, {"type": "product.deleted"}, "", False),
    ({"type": [{"prefix": "recipe."}]}, {}, "", False),
    (None, {"type": "anything"}, "", True),
    ({"type": [{"suffix": ".deleted"}]}, {"type": "recipe.deleted"}, "", True),
    ({"type": [{"anything-but": ["recipe.deleted"]}]}, {"type": "recipe.created"}, "", True),
    ({"type": [{"anything-but": ["recipe.deleted"]}]}, {"type": "recipe.deleted"}, "", False),
    # "exists": false matches only a message with some attributes, none of them this one (SNS guide,
    # "Key matching": an empty attribute set matches no filter)
    ({"type": [{"exists": False}]}, {}, "", False),
    ({"type": [{"exists": False}]}, {"kind": "b"}, "", True),
    ({"type": [{"exists": True}]}, {}, "", False),
    ({"$or": [{"type": ["a"]}, {"kind": ["b"]}]}, {"kind": "b"}, "", True),
    ({"$or": [{"type": ["a"]}, {"kind": ["b"]}]}, {"kind": "c"}, "", False),
])
def test_filter_policies_on_message_attributes(policy, attributes, body, expected):
    assert FilterPolicy(policy).matches(attributes, body) is expected


def test_filter_policies_on_the_body_and_numbers():
    policy = FilterPolicy({"data": {"servings": [{"numeric": [">", 2, "<=", 8]}]}}, "MessageBody")
    assert policy.matches({}, json.dumps({"data": {"servings": 4}}))
    assert not policy.matches({}, json.dumps({"data": {"servings": 9}}))
    assert not policy.matches({}, "not JSON")


# -- schedules -------------------------------------------------------------------------------

def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def _next(expression: str, after: str) -> str:
    moment = ScheduleExpression(expression).next_after(_at(after))
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("expression, after, expected", [
    ("rate(5 minutes)", "2026-12-02 10:00", "2026-12-02 10:05"),
    ("rate(1 day)", "2026-12-02 10:00", "2026-12-03 10:00"),
    ("cron(0 12 * * ? *)", "2026-12-02 10:00", "2026-12-02 12:00"),
    # AWS counts the days of the week 1-7 from Sunday: 2 is Monday.
    ("cron(0 9 ? * 2 *)", "2026-12-02 10:00", "2026-12-07 09:00"),
    ("cron(0 18 ? * MON-FRI *)", "2026-12-05 10:00", "2026-12-07 18:00"),
    ("cron(15 10 L * ? *)", "2026-12-02 10:00", "2026-12-31 10:15"),
    ("cron(0 8 15W * ? *)", "2026-11-01 00:00", "2026-11-16 08:00"),  # the 15th is a Sunday
    ("cron(0 10 ? * 2#1 *)", "2026-12-02 10:00", "2026-12-07 10:00"),  # the first Monday
    ("cron(0 10 ? * 2#1 *)", "2026-12-07 10:00", "2027-01-04 10:00"),
    ("cron(0 0 1 1 ? 2030)", "2026-12-02 10:00", "2030-01-01 00:00"),  # the year field
    ("cron(*/30 * * * ? 2026-2027)", "2027-12-31 23:15", "2027-12-31 23:30"),
])
def test_schedule_expressions_fire_when_aws_would(expression, after, expected):
    assert _next(expression, after) == expected


def test_a_schedule_past_its_last_year_never_fires_again():
    assert ScheduleExpression("cron(*/30 * * * ? 2026-2027)").next_after(_at("2027-12-31 23:45")) is None


class _Stopped(Clock):
    """A clock at one moment; the schedule threads here are turned by hand."""

    def __init__(self, moment: float):
        super().__init__(wall=lambda: moment)


def _rule(schedule: str, input: str | None = None) -> ScheduleEvent:
    return ScheduleEvent(name="Nightly", schedule=schedule, input=input, arn="arn:aws:events:r:1:rule/x")


def test_a_schedule_thread_past_its_last_year_says_so_once_and_enqueues_nothing(caplog):
    def enqueue(invocation):
        raise AssertionError("a schedule that never fires enqueued an invocation")

    stop = threading.Event()
    stop.set()  # turn() idles until stopped; stopped already, it returns
    deliveries = Deliveries(None)
    schedule = Schedule("F", _rule("cron(0 0 1 1 ? 2020)"), enqueue, deliveries, stop, _Stopped(_at("2026-12-02 10:00")),
                        "r", "1")
    schedule.turn()
    schedule.turn()
    assert caplog.text.count("gives no time") == 1
    assert deliveries.states()[0]["state"] == "Disabled"


@pytest.mark.parametrize("given, expected_detail_type", [(None, "Scheduled Event"), ('{"job": "report"}', None)])
def test_a_schedule_passes_its_input_instead_of_the_scheduled_event(given, expected_detail_type):
    events = []
    schedule = Schedule("F", _rule("rate(1 minute)", given), events.append, Deliveries(None), threading.Event(),
                        Clock(), "r", "1", every_s=0.01)
    schedule.turn()
    assert events[0].event().get("detail-type") == expected_detail_type
    assert given is None or events[0].payload == given


@pytest.mark.parametrize("expression", ["rate(5 fortnights)", "rate(0 minutes)", "cron(0 12 * * ?)",
                                        "cron(99 12 * * ? *)", "cron(0 12 * * ? soon)", "every day"])
def test_schedule_expressions_that_aws_refuses_are_refused(expression):
    with pytest.raises(ScheduleError):
        ScheduleExpression(expression)


# -- the layer's consumer: Powertools' batch processor ---------------------------------------

def test_a_real_sqs_batch_is_valid_and_each_record_is_handled_alone():
    batch = event("sqs")
    SqsModel.model_validate(batch)  # the test data is AWS's shape
    handled = []
    assert handle_batch(batch, handled.append) == {"batchItemFailures": []}
    # An SNS envelope (no raw delivery) is opened: the handler sees the event itself.
    assert [item["type"] for item in handled] == ["product.updated", "recipe.deleted"]


def test_the_records_that_fail_are_reported_and_the_others_are_not(caplog):
    batch = copy.deepcopy(event("sqs"))
    batch["Records"][0]["body"] = "not JSON"

    def handle(envelope):
        if envelope["type"] == "recipe.deleted":
            raise RuntimeError("the database is down")

    failures = handle_batch(batch, handle)["batchItemFailures"]
    assert failures == [{"itemIdentifier": r["messageId"]} for r in batch["Records"]]
    assert caplog.text.count("will be delivered again") == 2  # each failure is logged once, with its cause
    assert "the database is down" in caplog.text
