"""The pollers' SQS client (local/events/sqs_client.py) against the embedded AWS endpoint, and the
event log they write through a thread of its own."""

import uuid

import pytest
from support.ports import free_port

from infra.aws import emulator_client
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
