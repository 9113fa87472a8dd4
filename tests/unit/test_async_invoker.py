"""Lambda's handling of an asynchronous invocation (local/events/async_invoker.py), with a fake
queue and fake destinations: retries a minute and two minutes apart on the clock, the event's
age, the destination records and the dead-letter queue, the request id kept throughout."""

import json
import threading

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel

from local.app.event_model import AsyncConfig
from local.app.model import FunctionSpec
from local.events.async_invoker import AsyncInvoker, source_id
from local.events.clock import Clock
from local.events.deliveries import Deliveries
from local.runtime.pool import Invocation
from local.services.aws.async_queue import EVENTS, INVOKE, SNS, AsyncInvocation, function_of, queue_name


class Queues:
    endpoint_url, account_id = "http://127.0.0.1:1", "123456789012"

    def __init__(self):
        self.sent: list[tuple[str, AsyncInvocation, int]] = []

    def send(self, function_name, invocation, delay_s=0):
        self.sent.append((function_name, invocation, delay_s))


class Destinations:
    def __init__(self):
        self.records, self.dead = [], []

    def send(self, arn, record, *, detail_type, function_arn):
        self.records.append((arn, record, detail_type, function_arn))

    def dead_letter(self, arn, payload, request_id, code, message):
        self.dead.append((arn, payload, request_id, code, message))


class Deleter:
    def __init__(self):
        self.deleted = []

    def delete_message_batch(self, url, entries):
        self.deleted += [entry["ReceiptHandle"] for entry in entries]


def spec(**config) -> FunctionSpec:
    return FunctionSpec(logical_id="Fn", function_name="fn", arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
                        code_dir=".", handler="app.handler", runtime="python3.11", timeout=3, memory_mb=128,
                        async_config=AsyncConfig(**config))


def setup(outcomes, scale=60.0, **config):
    calls = []

    def invoke(name, event, request_id):
        calls.append((name, event, request_id))
        result = outcomes[min(len(calls), len(outcomes)) - 1]
        return Invocation(request_id=request_id, function=name, **result)

    queues, destinations = Queues(), Destinations()
    invoker = AsyncInvoker(spec(**config), invoke, queues, "us-east-1", destinations, Deliveries(None),
                           threading.Event(), Clock(scale), concurrency=1)
    invoker._deleter = Deleter()
    return invoker, calls, queues, destinations


def message(invocation: AsyncInvocation, handle="rh-1") -> dict:
    return {"Body": invocation.payload, "MessageAttributes": invocation.attributes(), "ReceiptHandle": handle}


FAILED = {"error": {"errorType": "ValueError", "errorMessage": "boom"}}


def test_a_success_goes_to_on_success_with_lambdas_record_and_is_deleted():
    invoker, calls, queues, destinations = setup([{"payload": {"ok": True}}], on_success="arn:aws:sqs:us-east-1:1:ok")
    invocation = AsyncInvocation(payload='{"n": 1}', source=INVOKE)
    invoker.handle(message(invocation))
    assert calls == [("Fn", {"n": 1}, invocation.request_id)]
    (arn, record, detail_type, function_arn), = destinations.records
    assert arn == "arn:aws:sqs:us-east-1:1:ok" and detail_type.endswith("Success")
    assert record["requestContext"] == {"requestId": invocation.request_id, "condition": "Success",
                                        "functionArn": f"{function_arn}:$LATEST", "approximateInvokeCount": 1}
    assert record["requestPayload"] == {"n": 1} and record["responsePayload"] == {"ok": True}
    assert "functionError" not in record["responseContext"]
    assert invoker._deleter.deleted == ["rh-1"] and queues.sent == []


def test_a_failure_is_retried_a_minute_then_two_minutes_later_on_the_clock_with_the_same_request_id():
    invoker, calls, queues, destinations = setup([FAILED], scale=60.0)
    first = AsyncInvocation(payload="{}", source=SNS, source_arn="arn:aws:sns:us-east-1:1:topic")
    invoker.handle(message(first))
    (_, second, delay), = queues.sent
    assert (second.attempt, second.request_id, second.enqueued_ms, delay) == (2, first.request_id, first.enqueued_ms, 1)
    invoker.handle(message(second, "rh-2"))
    third = queues.sent[1][1]
    assert (third.attempt, queues.sent[1][2]) == (3, 2)  # two minutes: 2 s at 60 times the speed
    invoker.handle(message(third, "rh-3"))
    assert len(queues.sent) == 2 and len(calls) == 3  # three attempts in all: Lambda's default
    assert invoker._deleter.deleted == ["rh-1", "rh-2", "rh-3"]
    assert destinations.records == []  # nothing configured: dropped, as on AWS


def test_retries_exhausted_go_to_on_failure_and_the_dead_letter_queue():
    invoker, _, queues, destinations = setup([FAILED], max_retries=0, on_failure="arn:aws:sns:us-east-1:1:failures",
                                             dead_letter_arn="arn:aws:sqs:us-east-1:1:dlq")
    invocation = AsyncInvocation(payload='{"order": 7}', source=EVENTS, source_arn="arn:aws:events:us-east-1:1:rule/r")
    invoker.handle(message(invocation))
    assert queues.sent == []
    (_, record, detail_type, _), = destinations.records
    assert record["requestContext"]["condition"] == "RetriesExhausted" and detail_type.endswith("Failure")
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"] == FAILED["error"]
    assert destinations.dead == [("arn:aws:sqs:us-east-1:1:dlq", '{"order": 7}', invocation.request_id, 200, "boom")]


def test_an_event_older_than_its_maximum_age_is_not_run():
    invoker, calls, _, destinations = setup([{"payload": None}], scale=1.0, max_event_age_s=60,
                                            on_failure="arn:aws:sqs:us-east-1:1:f",
                                            dead_letter_arn="arn:aws:sqs:us-east-1:1:dlq")
    stale = AsyncInvocation(payload="{}", source=INVOKE)
    stale.enqueued_ms -= 61_000
    invoker.handle(message(stale))
    assert calls == []
    context = destinations.records[0][1]["requestContext"]
    assert (context["condition"], context["approximateInvokeCount"]) == ("EventAgeExceeded", 0)  # never run
    assert "responsePayload" not in destinations.records[0][1]
    assert destinations.dead[0][3] == 429  # it aged out waiting, as a throttled event does


def test_no_retry_that_would_land_past_the_maximum_age():
    invoker, _, queues, destinations = setup([FAILED], scale=1.0, max_event_age_s=90,
                                             on_failure="arn:aws:sqs:us-east-1:1:f")
    invocation = AsyncInvocation(payload="{}", source=INVOKE)
    invocation.enqueued_ms -= 40_000  # 40 s old: a retry a minute later would be 100 s old
    invoker.handle(message(invocation))
    assert queues.sent == []
    assert destinations.records[0][1]["requestContext"]["condition"] == "EventAgeExceeded"


def test_a_message_that_is_no_invocation_is_dropped_not_run():
    invoker, calls, _, _ = setup([{"payload": None}])
    invoker.handle({"Body": "{}", "MessageAttributes": {}, "ReceiptHandle": "rh-x"})
    assert calls == [] and invoker._deleter.deleted == ["rh-x"]


def test_the_message_attributes_carry_the_invocation_and_the_body_is_the_event():
    invocation = AsyncInvocation(payload='{"a": [1, 2]}', source=SNS, source_arn="arn:aws:sns:eu-west-1:1:t", attempt=2)
    again = AsyncInvocation.from_message(invocation.payload, invocation.attributes())
    assert again == invocation
    # what the runner receives is a plain SQS message: its Lambda record is a valid SqsModel
    SqsModel.model_validate({"Records": [{
        "messageId": "m", "receiptHandle": "r", "body": invocation.payload, "md5OfBody": "0" * 32,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1", "SenderId": "x",
                       "ApproximateFirstReceiveTimestamp": "1"},
        "messageAttributes": {k: {"stringValue": v["StringValue"], "dataType": v["DataType"], "stringListValues": [],
                                  "binaryListValues": []} for k, v in invocation.attributes().items()},
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q", "awsRegion": "us-east-1"}]})
    assert json.loads(again.payload) == {"a": [1, 2]}


@pytest.mark.parametrize("given, expected", [
    ("arn:aws:lambda:us-east-1:123456789012:function:fn", "fn"),
    ("arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST", "fn"),
    ("123456789012:function:fn", "fn"),
    ("fn", "fn"),
    ("arn:aws:sqs:us-east-1:123456789012:fn", None),
])
def test_function_names_from_what_lambda_accepts(given, expected):
    assert function_of(given) == expected


def test_sources_are_named_as_the_delivery_log_names_them():
    assert source_id(AsyncInvocation("{}", SNS, "arn:aws:sns:us-east-1:1:events")) == "sns:events"
    assert source_id(AsyncInvocation("{}", EVENTS, "arn:aws:events:us-east-1:1:rule/bus/r")) == "rule:r"
    assert source_id(AsyncInvocation("{}", INVOKE)) == "async"
    assert queue_name("fn") == "_local-async-fn"


class VisibilitySqs(Deleter):
    def __init__(self):
        super().__init__()
        self.extended = []

    def change_message_visibility(self, url, handle, timeout_s):
        self.extended.append((handle, timeout_s))


def test_an_event_that_runs_long_is_kept_off_the_queue_until_it_is_done():
    invoker, _, _, _ = setup([{"payload": None}])
    invoker._deleter = VisibilitySqs()
    invoker._running["rh-long"] = 0.0  # taken long ago: half the visibility timeout has passed
    invoker._running["rh-new"] = float("inf")  # just taken
    invoker._keep_visible()
    assert invoker._deleter.extended == [("rh-long", 3 + 30)]  # the function's Timeout and a margin
