"""Every trigger a function can have, through `local up` on tests/templates/triggers (issue 20):
each is caused by the call a client makes to the AWS endpoint (or by a schedule, or the Invoke
API), delivered to the function in AWS's shape (checked against Powertools' parser models),
with Lambda's retries, destinations and dead-letter queue. LOCAL_TIME_SCALE=60 makes a minute
a second: the schedules' periods and the asynchronous retries' delays."""

import base64
import json
import os
import signal
import subprocess
import sys
import time

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamModel,
    EventBridgeModel,
    KinesisDataStreamModel,
    S3Model,
    SnsModel,
    SqsModel,
)
from support import PROJECT_ROOT, eventually
from support.local_up import LocalUp
from support.ports import free_port

TEMPLATE = PROJECT_ROOT / "tests" / "templates" / "triggers" / "template.yaml"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("triggers")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL")}
    env.update({"LOCAL_STATE_DIR": str(folder / "state"), "LOCAL_TEMPLATE": str(TEMPLATE), "LOCAL_TIME_SCALE": "60",
                **{name: str(free_port()) for name in ("LOCAL_GATEWAY_PORT", "LOCAL_LAMBDA_PORT", "LOCAL_AWS_PORT")}})
    run = LocalUp(env, ("--parameter-overrides", f"RecordDir={folder / 'records'}")).wait_ready()
    run.records = folder / "records"
    run.aws = f"http://127.0.0.1:{env['LOCAL_AWS_PORT']}"
    run.lambda_url = f"http://127.0.0.1:{env['LOCAL_LAMBDA_PORT']}"
    yield run
    run.cleanup()


def client(stack, service: str, url: str | None = None):
    return boto3.client(service, endpoint_url=url or stack.aws, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


def seen(stack, function: str) -> list[dict]:
    """What the function was given, in the order it was given."""
    folder = stack.records / function
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))] if folder.exists() else []


def records_of(stack, function: str) -> list[dict]:
    return [record for entry in seen(stack, function) for record in entry["event"].get("Records", [])]


def events_of(stack, function: str, count: int, within: float = 20) -> list[dict]:
    found = eventually(lambda: len(seen(stack, function)) >= count and seen(stack, function), within=within)
    assert found, f"{function} was given {len(seen(stack, function))} events, not {count}"
    return [entry["event"] for entry in found]


def messages(stack, queue: str, count: int, wanted=lambda body: True) -> list[dict]:
    """`count` messages of the queue whose parsed body is `wanted`; the others are left alone
    (several tests share a destination queue)."""
    sqs = client(stack, "sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    found = []

    def more():
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                     MessageAttributeNames=["All"])
        for message in answer.get("Messages", []):
            if wanted(json.loads(message["Body"])) and message["MessageId"] not in {m["MessageId"] for m in found}:
                found.append(message)
        return len(found) >= count

    assert eventually(more, within=20), f"{queue}: {len(found)} messages, not {count}"
    return found


def test_an_sqs_mapping_filters_and_deletes_what_its_filter_criteria_leave_out(stack):
    sqs = client(stack, "sqs")
    url = sqs.get_queue_url(QueueName="triggers-jobs")["QueueUrl"]
    for n, priority in enumerate(["low", "high", "low", "high"]):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n, "priority": priority}))
    sqs.send_message(QueueUrl=url, MessageBody="not json at all")
    delivered = eventually(lambda: sorted(json.loads(r["body"])["n"] for r in records_of(stack, "triggers-jobs"))
                           if len(records_of(stack, "triggers-jobs")) >= 2 else None, within=20)
    assert delivered == [1, 3]
    for entry in seen(stack, "triggers-jobs"):
        SqsModel.model_validate(entry["event"])

    def empty():
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}

    assert eventually(empty)  # what no filter admitted is deleted, as Lambda deletes it, not left to redrive


def test_s3_notifications_follow_their_filter(stack):
    s3 = client(stack, "s3")
    s3.put_object(Bucket="triggers-uploads", Key="elsewhere/skip.txt", Body=b"no")  # outside the prefix
    s3.put_object(Bucket="triggers-uploads", Key="uploads/skip.png", Body=b"no")  # outside the suffix
    s3.put_object(Bucket="triggers-uploads", Key="uploads/a b.txt", Body=b"hello")
    s3.delete_object(Bucket="triggers-uploads", Key="uploads/a b.txt")
    # Asynchronous invocations run in no set order, on AWS as here: told apart by their names.
    by_name = {event["Records"][0]["eventName"]: event for event in events_of(stack, "triggers-upload", 2)}
    assert set(by_name) == {"ObjectCreated:Put", "ObjectRemoved:Delete"}
    for event in by_name.values():
        S3Model.model_validate(event)
    created = by_name["ObjectCreated:Put"]["Records"][0]["s3"]["object"]
    assert created["key"] == "uploads/a+b.txt" and created["size"] == 5  # the key URL-encoded, as S3 sends it
    time.sleep(1)
    assert len(seen(stack, "triggers-upload")) == 2  # the two outside the filter triggered nothing


def test_sns_delivers_what_the_filter_policy_admits(stack):
    sns = client(stack, "sns")
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":triggers-topic"))
    attributes = lambda kind, amount: {"kind": {"DataType": "String", "StringValue": kind},  # noqa: E731
                                       "amount": {"DataType": "Number", "StringValue": str(amount)}}
    sns.publish(TopicArn=topic, Message="refund", MessageAttributes=attributes("refund", 50))
    sns.publish(TopicArn=topic, Message="small", MessageAttributes=attributes("order.paid", 5))
    published = sns.publish(TopicArn=topic, Message='{"order": 1}', Subject="paid",
                            MessageAttributes=attributes("order.paid", 12))
    event, = events_of(stack, "triggers-topic", 1)
    SnsModel.model_validate(event)
    record = event["Records"][0]["Sns"]
    assert (record["MessageId"], record["Message"], record["Subject"]) == (
        published["MessageId"], '{"order": 1}', "paid")
    assert record["MessageAttributes"]["kind"] == {"Type": "String", "Value": "order.paid"}
    time.sleep(1)
    assert len(seen(stack, "triggers-topic")) == 1


def test_eventbridge_rules_match_within_one_array_element_and_transform_the_input(stack):
    events = client(stack, "events")
    detail = lambda order, items: json.dumps({"order": order, "items": items})  # noqa: E731
    answer = events.put_events(Entries=[
        {"Source": "shop", "DetailType": "order", "EventBusName": "triggers-bus",
         "Detail": detail(41, [{"sku": "A-1", "quantity": 1}, {"sku": "B-2", "quantity": 5}])},  # split: no match
        {"Source": "shop", "DetailType": "order", "EventBusName": "triggers-bus",
         "Detail": detail(42, [{"sku": "B-2", "quantity": 1}, {"sku": "A-1", "quantity": 3}])},
        {"Source": "shop", "DetailType": "noise", "EventBusName": "triggers-bus", "Detail": "{}"},
    ])
    assert answer["FailedEntryCount"] == 0
    assert events_of(stack, "triggers-rule", 1) == [{"order": 42, "from": "shop"}]  # the InputTransformer's
    audited = events_of(stack, "triggers-audit", 2)  # the plain rule: the events themselves, noise excluded
    for event in audited:
        EventBridgeModel.model_validate(event)
    assert sorted(json.loads(json.dumps(e["detail"]))["order"] for e in audited) == [41, 42]
    assert {e["detail-type"] for e in audited} == {"order"}
    time.sleep(1)
    assert len(seen(stack, "triggers-rule")) == 1


def test_a_dynamodb_stream_delivers_changes_in_order_through_its_filter(stack):
    table = client(stack, "dynamodb")
    table.put_item(TableName="triggers-items", Item={"id": {"S": "x"}, "v": {"N": "1"}})
    table.put_item(TableName="triggers-items", Item={"id": {"S": "x"}, "v": {"N": "2"}})
    table.delete_item(TableName="triggers-items", Key={"id": {"S": "x"}})  # REMOVE: filtered out
    table.put_item(TableName="triggers-items", Item={"id": {"S": "y"}, "v": {"N": "3"}})
    records = eventually(lambda: len(found := records_of(stack, "triggers-table")) >= 3 and found, within=20)
    assert records, records_of(stack, "triggers-table")
    for entry in seen(stack, "triggers-table"):
        DynamoDBStreamModel.model_validate(entry["event"])
    assert [(r["eventName"], r["dynamodb"]["NewImage"]["v"]["N"]) for r in records] == [
        ("INSERT", "1"), ("MODIFY", "2"), ("INSERT", "3")]
    assert records[1]["dynamodb"]["OldImage"]["v"]["N"] == "1"
    assert all(r["awsRegion"] == "us-east-1" and ":table/triggers-items/stream/" in r["eventSourceARN"]
               for r in records)


def test_kinesis_keeps_order_per_shard_and_sends_what_keeps_failing_to_on_failure(stack):
    kinesis = client(stack, "kinesis")
    for n in range(8):
        kinesis.put_record(StreamName="triggers-clicks", PartitionKey=f"user-{n % 2}",
                           Data=json.dumps({"user": n % 2, "n": n}).encode())
    kinesis.put_record(StreamName="triggers-clicks", PartitionKey="user-0", Data=b"PARTIAL")
    failure, = [json.loads(m["Body"]) for m in messages(stack, "triggers-failures", 1,
                                                         lambda body: "KinesisBatchInfo" in body)]
    info = failure["KinesisBatchInfo"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["batchSize"] == 1 and info["streamArn"].endswith(":stream/triggers-clicks")
    by_user: dict[int, list[int]] = {0: [], 1: []}
    for entry in seen(stack, "triggers-clicks"):
        KinesisDataStreamModel.model_validate(entry["event"])
        for record in entry["event"]["Records"]:
            data = base64.b64decode(record["kinesis"]["data"])
            if data != b"PARTIAL":
                value = json.loads(data)
                if value["n"] not in by_user[value["user"]]:  # a batch retried after a partial failure
                    by_user[value["user"]].append(value["n"])
    assert by_user == {0: [0, 2, 4, 6], 1: [1, 3, 5, 7]}  # in order, per partition key


def test_schedules_fire_on_the_fast_clock_and_on_demand(stack):
    ticks = events_of(stack, "triggers-scheduled", 2, within=10)  # rate(1 minute) at 60 times the speed
    for tick in ticks:
        EventBridgeModel.model_validate(tick)
        assert tick["detail-type"] == "Scheduled Event" and tick["source"] == "aws.events"
    result = subprocess.run([sys.executable, "-m", "local", "events", "fire", "ScheduledFunction", "Nightly"],
                            cwd=PROJECT_ROOT, env=stack.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert eventually(lambda: any(e["event"] == {"job": "nightly"} for e in seen(stack, "triggers-scheduled")))


def test_an_asynchronous_invocation_is_retried_then_sent_to_its_destinations(stack):
    lam = client(stack, "lambda", stack.lambda_url)
    accepted = lam.invoke(FunctionName="triggers-async", InvocationType="Event", Payload=b'{"hello": 1}')
    assert accepted["StatusCode"] == 202
    request_id = accepted["ResponseMetadata"]["RequestId"]
    success, = [json.loads(m["Body"]) for m in messages(
        stack, "triggers-successes", 1, lambda body: body["requestContext"]["requestId"] == request_id)]
    assert success["requestContext"]["requestId"] == request_id
    assert (success["requestContext"]["condition"], success["requestPayload"]) == ("Success", {"hello": 1})
    assert success["responsePayload"] == {"handled": 1}

    failing = lam.invoke(FunctionName="triggers-async", InvocationType="Event", Payload=b'{"FAIL-ME": true}')
    failing_id = failing["ResponseMetadata"]["RequestId"]
    failure, = [json.loads(m["Body"]) for m in messages(
        stack, "triggers-failures", 1, lambda body: body.get("requestContext", {}).get("requestId") == failing_id)]
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2  # MaximumRetryAttempts: 1
    assert failure["responseContext"]["functionError"] == "Unhandled"
    dead, = messages(stack, "triggers-dead-letters", 1)
    assert json.loads(dead["Body"]) == {"FAIL-ME": True}
    assert dead["MessageAttributes"]["RequestID"]["StringValue"] == failing_id
    assert dead["MessageAttributes"]["ErrorMessage"]["StringValue"] == "asked to fail"
    attempts = [e for e in seen(stack, "triggers-async") if e["request_id"] == failing_id]
    assert len(attempts) == 2
    assert attempts[1]["at"] - attempts[0]["at"] >= 0.9  # a minute on the fast clock: a second


def test_every_source_is_listed_with_its_state_and_each_delivery_is_logged(stack):
    listed = subprocess.run([sys.executable, "-m", "local", "list", "--json"], cwd=PROJECT_ROOT, env=stack.env,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    sources = {source["id"]: source for function in json.loads(listed.stdout)["functions"]
               for source in function["events"]}
    assert {"s3:triggers-uploads", "sns:triggers-topic", "dynamodb:triggers-items", "kinesis:triggers-clicks",
            "rule:local-RuleFunctionShop", "schedule:ScheduledFunctionNightly"} <= set(sources)
    assert eventually(lambda: (state := json.loads(subprocess.run(
        [sys.executable, "-m", "local", "list", "--json"], cwd=PROJECT_ROOT, env=stack.env, capture_output=True,
        text=True, timeout=60).stdout)) and all(source["state"] and source["state"]["state"] == "Enabled"
                                                  for function in state["functions"] for source in function["events"]
                                                  if source.get("runs_here") is not False), within=10)
    tail = subprocess.run([sys.executable, "-m", "local", "events", "tail", "--from-start", "--count", "5"],
                          cwd=PROJECT_ROOT, env=stack.env, capture_output=True, text=True, timeout=60)
    assert tail.returncode == 0 and len(tail.stdout.splitlines()) == 5, tail.stderr


def runner_pid(stack) -> int | None:
    try:
        return json.loads((stack.state_dir / "run" / "events.pid").read_text())["pid"]
    except (FileNotFoundError, ValueError):
        return None


def test_a_killed_runner_loses_nothing_and_repeats_nothing_from_a_stream(stack):
    table = client(stack, "dynamodb")
    table.put_item(TableName="triggers-items", Item={"id": {"S": "before"}, "v": {"N": "10"}})
    keys = lambda: [r["dynamodb"]["Keys"]["id"]["S"] for r in records_of(stack, "triggers-table")]  # noqa: E731
    assert eventually(lambda: "before" in keys())
    # Killed once the shard's checkpoint is past it (local/events/checkpoints.py's files).
    sequence = next(int(r["dynamodb"]["SequenceNumber"]) for r in records_of(stack, "triggers-table")
                    if r["dynamodb"]["Keys"]["id"]["S"] == "before")
    checkpoints = stack.state_dir / "events" / "checkpoints"
    assert eventually(lambda: any(int(json.loads(path.read_text())["sequence_number"] or 0) >= sequence
                                  for path in checkpoints.glob("TableFunction.*.json")), within=10)
    runner = runner_pid(stack)
    os.kill(runner, signal.SIGKILL)
    table.put_item(TableName="triggers-items", Item={"id": {"S": "meanwhile"}, "v": {"N": "11"}})
    assert eventually(lambda: runner_pid(stack) not in (None, runner), within=30)  # `local up` started another
    assert eventually(lambda: "meanwhile" in keys(), within=30), keys()
    time.sleep(1)
    assert keys().count("before") == 1 and keys().count("meanwhile") == 1
