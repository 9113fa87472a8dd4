"""The embedded AWS endpoint keeps its state across a SIGKILL and a stop and start
(local/services/aws/state.py): everything a client was told had happened is there after a
restart: queues with their messages (receive counts, visibility, dead letters), topics and
subscriptions, SSM parameters with their versions, S3 objects with their metadata."""

import json
import os
import signal
import threading
import time

import boto3
import pytest
from botocore.config import Config
from support import eventually
from support.ports import free_port

from infra.aws import emulator_client
from local.services.aws.launcher import EmbeddedAws

REGION, ACCOUNT = "us-east-1", "123456789012"


class Endpoint:
    """The embedded AWS endpoint as `local up` runs it, in a state folder of the test's."""

    def __init__(self, state_dir):
        self.service = EmbeddedAws(state_dir, free_port())
        self.run_dir = state_dir / "run"
        self.process = None

    def start(self) -> "Endpoint":
        self.process = self.service.process(self.run_dir)
        self.process.start()
        self.process.wait_ready(self.service.ready, 30)
        return self

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.popen.wait(10)

    def stop(self) -> None:
        self.process.stop()

    def restart(self, kill: bool = True) -> "Endpoint":
        self.kill() if kill else self.stop()
        return self.start()

    def client(self, service: str, **config):
        return emulator_client(service, self.service.url, REGION, Config(retries={"max_attempts": 1}, **config))


@pytest.fixture
def endpoint(tmp_path):
    started = Endpoint(tmp_path)
    yield started.start()
    if started.process.exit_code() is None:
        started.stop()


def _everything(endpoint: Endpoint, queues: list[str], bucket: str) -> dict:
    """What a client can read back of the state the test made (messages read without
    changing them: a visibility timeout of 0 returns them at once)."""
    sqs, sns, ssm, s3 = (endpoint.client(name) for name in ("sqs", "sns", "ssm", "s3"))
    seen = {}
    for name in queues:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        seen[name] = {key: value for key, value in attributes.items() if key != "LastModifiedTimestamp"}
    topics = sns.list_topics()["Topics"]
    seen["subscriptions"] = sorted(
        (s["TopicArn"], s["Endpoint"], json.dumps(sns.get_subscription_attributes(
            SubscriptionArn=s["SubscriptionArn"])["Attributes"], sort_keys=True))
        for topic in topics for s in sns.list_subscriptions_by_topic(TopicArn=topic["TopicArn"])["Subscriptions"])
    seen["parameters"] = [(p["Name"], p["Value"], p["Version"], p["Type"]) for p in
                          ssm.get_parameters_by_path(Path="/app", Recursive=True, WithDecryption=True)["Parameters"]]
    seen["history"] = [p["Value"] for p in ssm.get_parameter_history(Name="/app/limit")["Parameters"]]
    seen["objects"] = {}
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        got = s3.get_object(Bucket=bucket, Key=item["Key"])
        seen["objects"][item["Key"]] = (got["Body"].read(), got["Metadata"], got["ContentType"], got["ETag"])
    return seen


def test_what_was_acknowledged_before_a_sigkill_is_there_after_the_restart(endpoint):
    sqs, sns, ssm, s3 = (endpoint.client(name) for name in ("sqs", "sns", "ssm", "s3"))
    dlq = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
    work = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "30", "RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:work-dlq", "maxReceiveCount": "1"})})["QueueUrl"]
    topic = sns.create_topic(Name="events")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:work",
                  Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"type": ["keep"]})})
    for n in range(4):
        sns.publish(TopicArn=topic, Message=f"event {n}",
                    MessageAttributes={"type": {"DataType": "String", "StringValue": "keep"}})
    sns.publish(TopicArn=topic, Message="filtered out",
                MessageAttributes={"type": {"DataType": "String", "StringValue": "drop"}})
    taken = sqs.receive_message(QueueUrl=work, MaxNumberOfMessages=2)["Messages"]  # in flight for 30 s
    sqs.delete_message(QueueUrl=work, ReceiptHandle=taken[0]["ReceiptHandle"])
    poison = sqs.receive_message(QueueUrl=work, VisibilityTimeout=0)["Messages"][0]  # received once, visible again
    # Past its maxReceiveCount the poison moves to the DLQ; the one after it is taken, in flight.
    in_flight = sqs.receive_message(QueueUrl=work)["Messages"][0]
    sns.publish(TopicArn=topic, Message="event 4", MessageAttributes={"type": {"DataType": "String",
                                                                               "StringValue": "keep"}})
    ssm.put_parameter(Name="/app/limit", Value="10", Type="String")
    ssm.put_parameter(Name="/app/limit", Value="20", Type="String", Overwrite=True)
    ssm.put_parameter(Name="/app/secret", Value="s3cret", Type="SecureString")
    s3.create_bucket(Bucket="uploads")
    s3.put_object(Bucket="uploads", Key="images/1.png", Body=b"\x89PNG" + bytes(range(256)) * 400,
                  ContentType="image/png", Metadata={"owner": "recipe-1"})
    s3.put_object(Bucket="uploads", Key="gone.txt", Body=b"x")
    s3.delete_object(Bucket="uploads", Key="gone.txt")
    before = _everything(endpoint, ["work", "work-dlq"], "uploads")

    endpoint.restart(kill=True)

    after = _everything(endpoint, ["work", "work-dlq"], "uploads")
    assert after == before
    assert [m["Body"] for m in (*taken, poison, in_flight)] == ["event 0", "event 1", "event 2", "event 3"]
    assert (before["work"]["ApproximateNumberOfMessages"], before["work"]["ApproximateNumberOfMessagesNotVisible"]) \
        == ("1", "2")
    assert list(before["objects"]) == ["images/1.png"]
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    # Received once before it moved, once here.
    assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in dead] == [("event 2", "2")]
    # The two taken before the kill are still invisible (their 30 s had not passed), as on SQS.
    left = sqs.receive_message(QueueUrl=work, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in left] == [("event 4", "1")]
    assert endpoint.service.state_note().startswith(
        "state restored: s3, sns, sqs, ssm; 2 queues holding 4 messages, 1 S3 key")


def test_every_write_acknowledged_up_to_the_kill_survives_it(endpoint):
    """Eight clients send as fast as they can; the emulator is killed mid-stream. Each answer
    waits for its change to be on disk, so every acknowledged message must be there."""
    sqs = endpoint.client("sqs")
    queue = sqs.create_queue(QueueName="stream")["QueueUrl"]
    acknowledged, stop = [], threading.Event()

    def send(sender: int) -> None:
        client = endpoint.client("sqs", connect_timeout=1, read_timeout=5)
        for n in range(100_000):
            if stop.is_set():
                return
            try:
                client.send_message(QueueUrl=queue, MessageBody=f"{sender}-{n}")
            except Exception:  # noqa: BLE001 - the kill: this one was never acknowledged
                return
            acknowledged.append(f"{sender}-{n}")

    senders = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in senders:
        thread.start()
    eventually(lambda: len(acknowledged) >= 200, within=20, every=0.01)
    endpoint.kill()
    stop.set()
    for thread in senders:
        thread.join(10)

    endpoint.start()
    restored = set()
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                          VisibilityTimeout=300).get("Messages", []):
        restored |= {message["Body"] for message in messages}
    assert len(acknowledged) >= 200
    assert set(acknowledged) - restored == set()


def test_a_stop_and_start_keeps_the_state_and_a_torn_last_frame_is_left_out(endpoint, tmp_path):
    sqs = endpoint.client("sqs")
    queue = sqs.create_queue(QueueName="kept")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="before the stop")
    endpoint.stop()
    folder = tmp_path / "aws"
    manifest = json.loads((folder / "manifest.json").read_text())
    with open(folder / manifest["journal"], "ab") as journal:  # a frame cut short, as by a kill mid-write
        journal.write(b"\xff\x00\x00\x00garbage")
    endpoint.start()
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"]] \
        == ["before the stop"]
    sqs.send_message(QueueUrl=queue, MessageBody="after the start")
    endpoint.restart(kill=True)
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                                     VisibilityTimeout=0)["Messages"]]
    assert sorted(bodies) == ["after the start", "before the stop"]


def test_state_another_moto_wrote_is_moved_aside_and_named(endpoint, tmp_path):
    endpoint.client("sqs").create_queue(QueueName="from-another-version")
    endpoint.stop()
    manifest_path = tmp_path / "aws" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "moto": "4.0.0"}))
    endpoint.start()
    assert endpoint.client("sqs").list_queues().get("QueueUrls") is None
    aside = [path for path in tmp_path.iterdir() if path.name.startswith("aws.unreadable-")]
    assert len(aside) == 1 and (aside[0] / "manifest.json").exists()
    note = endpoint.service.state_note()
    assert "could not be read (written by moto 4.0.0" in note and str(aside[0]) in note


def test_a_long_poll_does_not_hold_up_other_requests(endpoint):
    """Requests run one at a time under the state lock; a receive waiting for a message lets
    go of it, or the send it waits for could never run."""
    sqs = endpoint.client("sqs", read_timeout=30)
    queue = sqs.create_queue(QueueName="long-poll")["QueueUrl"]
    got = []
    poll = threading.Thread(target=lambda: got.extend(
        sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10).get("Messages", [])))
    poll.start()
    time.sleep(0.5)
    began = time.monotonic()
    endpoint.client("sqs").send_message(QueueUrl=queue, MessageBody="late")
    assert time.monotonic() - began < 2
    poll.join(10)
    assert [message["Body"] for message in got] == ["late"]


def test_a_long_poll_whose_client_died_takes_no_message(endpoint):
    """A poller killed mid long poll: the message that arrives next goes to the next
    receive, not to the dead connection (where it would be lost until its visibility
    timeout)."""
    import socket

    sqs = endpoint.client("sqs")
    queue = sqs.create_queue(QueueName="orphaned-poll", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    body = json.dumps({"QueueUrl": queue, "WaitTimeSeconds": 10, "MaxNumberOfMessages": 1}).encode()
    request = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
               f"X-Amz-Target: AmazonSQS.ReceiveMessage\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/"
               f"20261201/{REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", endpoint.service.port)) as doomed:
        doomed.sendall(request)
        time.sleep(0.5)  # the poll is waiting in the server
    sqs.send_message(QueueUrl=queue, MessageBody="for the living")
    got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5).get("Messages", [])
    assert [message["Body"] for message in got] == ["for the living"]


# -- in this process, on moto's in-memory backends -------------------------------------------------

@pytest.fixture
def moto_in_process():
    from moto import mock_aws

    with mock_aws():
        yield


def _durably(state, change):
    """What the server does around each request: the change under the lock, then its wait."""
    with state.lock:
        change()
        generation = state.changed(frozenset({"sqs"}))
    state.wait_durable(generation)


def test_the_journal_is_folded_into_a_new_snapshot_and_nothing_is_lost(moto_in_process, tmp_path):
    from moto.core.base_backend import BackendDict

    from local.services.aws.state import PersistentState

    state = PersistentState(tmp_path / "aws", log=lambda text: None, compact_min_bytes=8_000)
    state.open()
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="busy")["QueueUrl"]
    for n in range(100):
        _durably(state, lambda n=n: sqs.send_message(QueueUrl=queue, MessageBody=f"m{n}"))
    for _ in range(4):  # receives rewrite messages: more journal, the same live state
        _durably(state, lambda: sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0))
    state.close()
    manifest = json.loads((tmp_path / "aws" / "manifest.json").read_text())
    assert manifest["snapshot"] != "snapshot-000001.bin"  # compacted at least once since the start
    assert sorted(path.name for path in (tmp_path / "aws").iterdir()) == sorted(
        ["manifest.json", manifest["snapshot"], manifest["journal"]])

    BackendDict.reset()  # moto as a new process finds it: empty
    restored = PersistentState(tmp_path / "aws", log=lambda text: None)
    assert "1 queue holding 100 messages" in restored.open()
    bodies = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                          VisibilityTimeout=300).get("Messages", []):
        bodies += [message["Body"] for message in messages]
    assert bodies == [f"m{n}" for n in range(100)]  # in the order they were sent
    restored.close()


def test_an_answer_whose_change_cannot_be_written_is_refused_not_sent(moto_in_process, tmp_path):
    from local.services.aws.state import PersistentState, StateNotWritten

    logged = []
    state = PersistentState(tmp_path / "aws", log=logged.append, durable_within_s=1)
    state.open()

    def full_disk(records):
        raise OSError(28, "No space left on device")

    state._append = full_disk
    sqs = boto3.client("sqs", region_name=REGION)
    with pytest.raises(StateNotWritten, match="No space left"):
        _durably(state, lambda: sqs.create_queue(QueueName="never-acknowledged"))
    assert any("could not write its state" in line for line in logged)
    state.close()


def test_a_write_cut_off_half_way_is_cut_back_so_the_frames_after_it_are_read(moto_in_process, tmp_path):
    """A disk that fills up in the middle of a frame: the half frame is truncated away and the
    change written again, whole; a torn frame left in the middle of the journal would hide
    every frame after it."""
    from moto.core.base_backend import BackendDict

    from local.services.aws.state import PersistentState

    class FillsUpOnce:
        def __init__(self, journal):
            self.journal, self.full = journal, True

        def write(self, data):
            if self.full:
                self.full = False
                self.journal.write(data[:len(data) // 2])
                raise OSError(28, "No space left on device")
            return self.journal.write(data)

        def fileno(self):
            return self.journal.fileno()

        def close(self):
            self.journal.close()

    logged = []
    state = PersistentState(tmp_path / "aws", log=logged.append)
    state.open()
    sqs = boto3.client("sqs", region_name=REGION)
    _durably(state, lambda: sqs.create_queue(QueueName="filling"))
    queue = sqs.get_queue_url(QueueName="filling")["QueueUrl"]
    state._journal = FillsUpOnce(state._journal)
    _durably(state, lambda: sqs.send_message(QueueUrl=queue, MessageBody="written on the second try"))
    _durably(state, lambda: sqs.send_message(QueueUrl=queue, MessageBody="and the one after"))
    state.close()
    assert any("No space left on device" in line for line in logged)

    BackendDict.reset()
    PersistentState(tmp_path / "aws", log=lambda text: None).open()
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]]
    assert bodies == ["written on the second try", "and the one after"]


def _signed(service: str, **headers) -> dict:
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential=AK/20261201/us-east-1/{service}/aws4_request, "
                             "SignedHeaders=host, Signature=0", **headers}


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("method, target, headers, body, touched", [
    ("POST", "/", _signed("sqs", **{"X-Amz-Target": "AmazonSQS.ReceiveMessage"}), b"{}", {"sqs:items"}),
    ("POST", "/", _signed("sqs", **{"X-Amz-Target": "AmazonSQS.SetQueueAttributes"}), b"{}", {"sqs"}),
    ("POST", "/", _signed("sqs", **{"X-Amz-Target": "AmazonSQS.GetQueueAttributes"}), b"{}", set()),
    ("POST", "/", _signed("sns", **FORM), b"Action=Publish&TopicArn=t", {"sqs:items"}),  # delivers, changes no topic
    ("POST", "/", _signed("sns", **FORM), b"Action=Subscribe&TopicArn=t", {"sns", "sqs:items"}),
    ("POST", "/", _signed("ssm", **{"X-Amz-Target": "AmazonSSM.PutParameter"}), b"{}", {"ssm"}),
    ("PUT", "/bucket/key", _signed("s3"), b"Action=GetAnything", {"s3", "sqs:items"}),  # a body, not an action
    ("GET", "/bucket/key", _signed("s3"), b"", set()),
    ("PUT", "/bucket/key?X-Amz-Credential=AK%2F20261201%2Fus-east-1%2Fs3%2Faws4_request", {}, b"x",
     {"s3", "sqs:items"}),  # a presigned URL names its service in the query
    ("POST", "/moto-api/reset", {}, b"", {"*"}),  # cannot tell: everything
    ("GET", "/moto-api/", {}, b"", set()),
])
def test_which_services_a_request_may_change(method, target, headers, body, touched):
    from local.services.aws.touched import services_touched

    assert services_touched(method, target, headers, body) == touched
