"""The speed patches of local/services/moto_server.py: all of them apply to the installed
moto, and each answers as the code it replaces does."""

import importlib.util
import string
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def patched():
    from moto import backends
    from moto.core import utils as core_utils
    from moto.sqs import models as sqs_models

    originals = {"modules": list(backends.list_of_moto_modules()), "camel": core_utils.camelcase_to_underscores,
                 "unix_time": sqs_models.unix_time, "unix_time_millis": sqs_models.unix_time_millis,
                 "receipt_handle": sqs_models.generate_receipt_handle}
    spec = importlib.util.spec_from_file_location("moto_server", ROOT / "local" / "services" / "moto_server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.apply()
    return module, originals


def test_every_patch_finds_its_target_in_the_installed_moto(patched):
    module, _ = patched
    assert module.SKIPPED == []
    assert len(module.PATCHED) == 11


def test_the_patched_functions_answer_as_the_originals(patched):
    _, originals = patched
    from moto import backends
    from moto.core import responses as core_responses
    from moto.sqs import models as sqs_models

    assert list(backends.list_of_moto_modules()) == originals["modules"]
    for name in ("ReceiveMessage", "MessageRetentionPeriod", "ApproximateNumberOfMessagesNotVisible", "QueueArn"):
        assert core_responses.camelcase_to_underscores(name) == originals["camel"](name)
    assert sqs_models.unix_time() == pytest.approx(originals["unix_time"](), abs=0.05)
    assert sqs_models.unix_time_millis() == pytest.approx(originals["unix_time_millis"](), abs=50)
    handles = {sqs_models.generate_receipt_handle() for _ in range(1000)}
    original = originals["receipt_handle"]()
    assert len(handles) == 1000  # none repeats
    assert {len(handle) for handle in handles} == {len(original)}
    assert set("".join(handles)) == set(string.ascii_lowercase) >= set(original)


def test_receiving_some_message_attributes_leaves_the_others_on_the_queued_message(patched):
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="filtered")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="m", MessageAttributes={
            "kept": {"DataType": "String", "StringValue": "1"}, "other": {"DataType": "String", "StringValue": "2"}})
        first = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["kept"], VisibilityTimeout=0)["Messages"][0]
        again = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
        assert set(first["MessageAttributes"]) == {"kept"} and set(again["MessageAttributes"]) == {"kept", "other"}
        assert first["ReceiptHandle"] != again["ReceiptHandle"]


def test_messages_past_the_retention_period_are_still_not_received(patched):
    from moto.sqs.models import sqs_backends

    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="retention", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="old")
        sqs.send_message(QueueUrl=url, MessageBody="fresh")
        queue = sqs_backends["123456789012"]["us-east-1"].get_queue("retention")
        old = next(message for message in queue._messages if message.body == "old")
        old.sent_timestamp = int((time.time() - 61) * 1000)  # sent 61 s ago, past its 60 s
        received = []
        for _ in range(2):  # moto stops a receive at the first expired message; the next one goes on
            received += [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]
        assert received == ["fresh"]
