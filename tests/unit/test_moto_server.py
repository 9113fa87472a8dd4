"""The speed patches of local/services/aws/speedups.py: all of them apply to the installed
(pinned) moto, and each answers as the code it replaces does, compared with moto as it ships
in a fresh interpreter (tests/support/moto_patch_check.py)."""

import json
import subprocess
import sys
import time

import boto3
import pytest
from moto import mock_aws
from support import PROJECT_ROOT


def _check(*args: str) -> dict:
    """tests/support/moto_patch_check.py in a fresh interpreter: moto as it ships, then patched."""
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "tests" / "support" / "moto_patch_check.py"), *args], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_patch_finds_its_target_and_answers_as_pristine_moto_does():
    checked = _check()
    assert checked["skipped"] == [] and len(checked["patched"]) == 11
    assert checked["mismatches"] == []


def test_every_trigger_patch_finds_its_target_in_a_fresh_interpreter():
    """The fidelity patches (local/services/aws/hooks.py) change answers on purpose, so they are
    not compared with pristine moto; each must find its target, or its trigger is off (`local
    up` says so). What each delivers is tested against the endpoint (tests/integration/test_trigger_*)."""
    script = ("import json; from local.services.aws import hooks, targets; hooks.apply(); "
              "print(json.dumps({'patched': targets.PATCHED, 'skipped': targets.SKIPPED}))")
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    checked = json.loads(result.stdout.strip().splitlines()[-1])
    assert checked["skipped"] == []
    assert {"Subscription.publish", "Rule.send_to_targets", "EventPattern.matches_event"} <= set(checked["patched"])
    assert any(name.endswith("_get_s3_event") for name in checked["patched"])


def test_the_comparison_catches_a_patch_that_answers_differently():
    assert _check("--break-receipt-handles")["mismatches"] == ["generate_receipt_handle"]


def test_the_installed_moto_is_the_pinned_one():
    from importlib.metadata import requires, version

    pinned = next(line for line in requires("recipes-serverless") if line.startswith("moto"))
    assert pinned.split(";")[0].endswith(f"=={version('moto')}"), pinned


@pytest.fixture(scope="module")
def patched():
    """The patches applied in this process, for the behaviour tests below (moto in process)."""
    from local.services.aws import speedups

    speedups.apply()
    return speedups


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
