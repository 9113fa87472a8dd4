"""The pollers' SQS client (local/events/sqs_client.py) against the embedded AWS endpoint, and the
event log they write through a thread of its own."""

import json
import uuid

import pytest
import redis
from support.ports import free_port

from infra.aws import emulator_client
from local.events.log import EVENT_LOG_STREAM, EventLog
from local.events.sqs_client import SqsClient, SqsError
from local.services.aws.launcher import EmbeddedAws


def _queue(aws_url: str) -> tuple:
    sqs = emulator_client("sqs", aws_url, "us-east-1")
    return sqs, sqs.create_queue(QueueName=f"client-{uuid.uuid4().hex[:8]}")["QueueUrl"]


def test_receive_and_delete_a_batch(aws_url):
    sqs, url = _queue(aws_url)
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(n), "MessageBody": f"m{n}", "MessageAttributes": {"n": {"DataType": "String", "StringValue": str(n)}}}
        for n in range(3)])
    client = SqsClient(aws_url, "us-east-1")
    messages = client.receive_message(url, 10, 0, ["All"], ["All"])
    assert sorted(m["Body"] for m in messages) == ["m0", "m1", "m2"]
    assert all(m["Attributes"]["ApproximateReceiveCount"] == "1" and "n" in m["MessageAttributes"] for m in messages)
    answer = client.delete_message_batch(url, [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                                               for n, m in enumerate(messages)])
    assert len(answer["Successful"]) == 3 and not answer["Failed"]
    assert client.receive_message(url, 10, 0, ["All"], ["All"]) == []
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])[
        "Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_sqs_errors_come_back_with_their_code(aws_url):
    _, url = _queue(aws_url)
    client = SqsClient(aws_url, "us-east-1")
    with pytest.raises(SqsError) as missing:
        client.receive_message(url + "-missing", 1, 0, [], [])
    assert missing.value.code == "QueueDoesNotExist"  # the JSON protocol's name for it
    with pytest.raises(SqsError) as out_of_range:
        client.receive_message(url, 11, 0, [], [])
    assert out_of_range.value.code == "InvalidParameterValue"


def test_the_client_reconnects_after_the_endpoint_restarts(tmp_path):
    service = EmbeddedAws(tmp_path, free_port())
    client = SqsClient(service.url, "us-east-1")
    process = service.process(tmp_path / "run")
    process.start()
    try:
        process.wait_ready(service.ready, 30)
        _, url = _queue(service.url)
        assert client.receive_message(url, 1, 0, [], []) == []  # the connection is now open and kept
        process.stop()
        with pytest.raises(SqsError) as down:
            client.receive_message(url, 1, 0, [], [])
        assert down.value.code == "Unreachable"
        process.start()
        process.wait_ready(service.ready, 30)
        _, url = _queue(service.url)  # a new emulator: the queue is made again, as provisioning does
        assert client.receive_message(url, 1, 0, [], []) == []
    finally:
        process.stop()


def test_the_event_log_writes_what_is_pending_when_closed(redis_url):
    connection = redis.Redis.from_url(redis_url)
    before = connection.xlen(EVENT_LOG_STREAM)
    log = EventLog(connection, flush_every_s=60)  # nothing is written by the timer here: only by close()
    records = [{"messageId": f"m{n}", "body": json.dumps({"id": f"e{n}", "type": "recipe.created"})} for n in range(3)]
    log.write("Audit", records, {"m1"}, "sqs")
    log.close()
    lines = connection.xrevrange(EVENT_LOG_STREAM, count=3)[::-1]
    assert connection.xlen(EVENT_LOG_STREAM) == before + 3
    assert [(f[b"id"], f[b"outcome"], f[b"consumer"]) for _, f in lines] == [
        (b"e0", b"ok", b"Audit"), (b"e1", b"failed", b"Audit"), (b"e2", b"ok", b"Audit")]


def test_the_event_log_drops_lines_rather_than_wait_for_a_redis_that_is_down():
    log = EventLog(redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2), max_pending=5,
                   flush_every_s=60)  # only close() writes here
    records = [{"messageId": f"m{n}", "body": "{}"} for n in range(20)]
    log.write("Audit", records, set(), "sqs")
    assert log.pending() == 5  # bounded: the oldest 15 lines were dropped, not kept for a Redis that is down
    log.close()  # the one write fails (nothing listens on that port) and does not raise
    assert log.pending() == 0
