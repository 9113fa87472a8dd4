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


_STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def _make_tables(ddb) -> None:
    """A table keyed by a hash key, one by hash and range keys with a GSI, both with a stream."""
    ddb.create_table(TableName="recipes", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST", StreamSpecification=_STREAM)
    ddb.create_table(TableName="ratings", BillingMode="PAY_PER_REQUEST", StreamSpecification=_STREAM,
                     KeySchema=[{"AttributeName": "recipe", "KeyType": "HASH"},
                                {"AttributeName": "at", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "recipe", "AttributeType": "S"},
                                           {"AttributeName": "at", "AttributeType": "N"},
                                           {"AttributeName": "user", "AttributeType": "S"}],
                     GlobalSecondaryIndexes=[{"IndexName": "by-user", "Projection": {"ProjectionType": "ALL"},
                                              "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"},
                                                            {"AttributeName": "at", "KeyType": "RANGE"}]}])


def _stream_records(endpoint: Endpoint, table: str) -> list[dict]:
    ddb, streams = endpoint.client("dynamodb"), endpoint.client("dynamodbstreams")
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return streams.get_records(ShardIterator=iterator)["Records"]


def _tables(endpoint: Endpoint) -> dict:
    """What a client reads back of both tables: items, counts, streams, a query of the GSI."""
    ddb = endpoint.client("dynamodb")
    seen = {}
    for table in ("recipes", "ratings"):
        seen[table] = sorted(json.dumps(item, sort_keys=True) for item in ddb.scan(TableName=table)["Items"])
        seen[f"{table} count"] = ddb.describe_table(TableName=table)["Table"]["ItemCount"]
        seen[f"{table} stream"] = _stream_records(endpoint, table)
    seen["ann's ratings"] = ddb.query(TableName="ratings", IndexName="by-user", KeyConditionExpression="#u = :u",
                                      ExpressionAttributeNames={"#u": "user"},
                                      ExpressionAttributeValues={":u": {"S": "ann"}})["Items"]
    return seen


def test_dynamodb_items_and_stream_records_survive_a_sigkill(endpoint):
    ddb = endpoint.client("dynamodb")
    _make_tables(ddb)
    for n in range(4):
        ddb.put_item(TableName="recipes", Item={"id": {"S": f"r{n}"}, "title": {"S": f"recipe {n}"},
                                                "cooked": {"N": "0"}, "tags": {"SS": ["new"]},
                                                "meta": {"M": {"source": {"S": "import"}}}})
        ddb.put_item(TableName="ratings", Item={"recipe": {"S": "r1"}, "at": {"N": str(n)},
                                                "user": {"S": "ann" if n % 2 else "bob"}, "stars": {"N": "3"}})
    # Changed in place by moto, deep inside the item: a nested SET, ADD to a number and to a set.
    ddb.update_item(TableName="recipes", Key={"id": {"S": "r1"}},
                    UpdateExpression="SET meta.#s = :s, title = :t ADD cooked :one, tags :tag",
                    ExpressionAttributeNames={"#s": "source"},
                    ExpressionAttributeValues={":s": {"S": "edited"}, ":t": {"S": "Pie"}, ":one": {"N": "1"},
                                               ":tag": {"SS": ["sweet"]}})
    ddb.update_item(TableName="recipes", Key={"id": {"S": "r2"}}, UpdateExpression="ADD cooked :n DELETE tags :tag",
                    ExpressionAttributeValues={":n": {"N": "5"}, ":tag": {"SS": ["new"]}})
    ddb.update_item(TableName="ratings", Key={"recipe": {"S": "r1"}, "at": {"N": "2"}},
                    UpdateExpression="SET #u = :u ADD stars :one", ExpressionAttributeNames={"#u": "user"},
                    ExpressionAttributeValues={":u": {"S": "ann"}, ":one": {"N": "1"}})
    ddb.update_item(TableName="ratings", Key={"recipe": {"S": "r9"}, "at": {"N": "7"}},  # makes the item
                    UpdateExpression="SET #u = :u", ExpressionAttributeNames={"#u": "user"},
                    ExpressionAttributeValues={":u": {"S": "ann"}})
    ddb.transact_write_items(TransactItems=[{"Update": {
        "TableName": "recipes", "Key": {"id": {"S": "r0"}}, "UpdateExpression": "ADD cooked :n",
        "ExpressionAttributeValues": {":n": {"N": "2"}}}}])
    ddb.delete_item(TableName="recipes", Key={"id": {"S": "r3"}})
    ddb.delete_item(TableName="ratings", Key={"recipe": {"S": "r1"}, "at": {"N": "0"}})
    before = _tables(endpoint)

    endpoint.restart(kill=True)

    after = _tables(endpoint)
    assert after == before
    recipes = {json.loads(item)["id"]["S"]: json.loads(item) for item in before["recipes"]}
    assert sorted(recipes) == ["r0", "r1", "r2"]
    assert (recipes["r1"]["meta"], recipes["r1"]["cooked"], sorted(recipes["r1"]["tags"]["SS"])) \
        == ({"M": {"source": {"S": "edited"}}}, {"N": "1"}, ["new", "sweet"])
    assert (recipes["r0"]["cooked"], recipes["r2"]["cooked"], "tags" in recipes["r2"]) \
        == ({"N": "2"}, {"N": "5"}, False)
    assert [(item["recipe"]["S"], item["at"]["N"]) for item in before["ann's ratings"]] \
        == [("r1", "1"), ("r1", "2"), ("r1", "3"), ("r9", "7")]
    assert [r["eventName"] for r in before["recipes stream"]] == ["INSERT"] * 4 + ["MODIFY"] * 3 + ["REMOVE"]
    # moto writes an UpdateItem that makes its item as two INSERTs.
    assert [r["eventName"] for r in before["ratings stream"]] \
        == ["INSERT"] * 4 + ["MODIFY", "INSERT", "INSERT", "REMOVE"]
    assert endpoint.service.state_note().startswith("state restored: dynamodb; 0 queues holding 0 messages, "
                                                    "0 S3 keys, 7 DynamoDB items")

    # A write after the restart continues the stream's sequence numbers.
    ddb.put_item(TableName="recipes", Item={"id": {"S": "r4"}})
    records = _stream_records(endpoint, "recipes")
    assert records[:-1] == before["recipes stream"]
    numbers = [int(record["dynamodb"]["SequenceNumber"]) for record in records]
    assert numbers == list(range(numbers[0], numbers[0] + 9))
    assert (records[-1]["eventName"], records[-1]["dynamodb"]["Keys"]) == ("INSERT", {"id": {"S": "r4"}})


def _kinesis_records(kinesis) -> dict:
    seen = {}
    for shard in kinesis.list_shards(StreamName="clicks")["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName="clicks", ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        seen[json.dumps(shard, sort_keys=True)] = [
            (r["SequenceNumber"], r["PartitionKey"], r["Data"], r["ApproximateArrivalTimestamp"])
            for r in kinesis.get_records(ShardIterator=iterator)["Records"]]
    return seen


def test_kinesis_records_survive_a_sigkill(endpoint):
    kinesis = endpoint.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=2)
    for n in range(6):
        kinesis.put_record(StreamName="clicks", PartitionKey=f"user-{n}", Data=f"click {n}".encode())
    kinesis.split_shard(StreamName="clicks", ShardToSplit="shardId-000000000000",  # its records move
                        NewStartingHashKey=str(2**126))
    kinesis.put_record(StreamName="clicks", PartitionKey="user-0", Data=b"after the split")
    before = _kinesis_records(kinesis)

    endpoint.restart(kill=True)

    assert _kinesis_records(kinesis) == before
    assert sorted(data for records in before.values() for _, _, data, _ in records) \
        == [b"after the split"] + [f"click {n}".encode() for n in range(6)]
    put = kinesis.put_record(StreamName="clicks", PartitionKey="user-0", Data=b"after the restart")
    shard = next(records for key, records in _kinesis_records(kinesis).items() if put["ShardId"] in key)
    assert int(put["SequenceNumber"]) == int(shard[-2][0]) + 1 and shard[-1][2] == b"after the restart"


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


def _durably(state, change, touched=frozenset({"sqs"})):
    """What the server does around each request: the change under the lock, then its wait."""
    with state.lock:
        change()
        generation = state.changed(touched)
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


def test_what_one_put_item_into_a_table_of_a_thousand_costs_in_the_journal(moto_in_process, tmp_path, capsys):
    """A measurement, printed: an item and a stream record are units of their own, so a
    PutItem writes one of each, not the table."""
    from local.services.aws.state import PersistentState

    state = PersistentState(tmp_path / "aws", log=lambda text: None)
    state.open()
    ddb, dynamodb = boto3.client("dynamodb", region_name=REGION), frozenset({"dynamodb"})
    _durably(state, lambda: _make_tables(ddb), dynamodb)

    def fill():
        for n in range(1000):
            ddb.put_item(TableName="recipes", Item={"id": {"S": f"r{n}"}, "title": {"S": f"recipe {n}"}})
    _durably(state, fill, dynamodb)
    journal = tmp_path / "aws" / json.loads((tmp_path / "aws" / "manifest.json").read_text())["journal"]
    size = journal.stat().st_size
    _durably(state, lambda: ddb.put_item(TableName="recipes", Item={"id": {"S": "one more"}}), dynamodb)
    written = journal.stat().st_size - size
    state.close()
    with capsys.disabled():
        print(f"\njournal bytes written by one PutItem into a table of 1,000 items (with a stream): {written}")


def test_stream_records_come_back_in_order_across_full_blocks(moto_in_process, tmp_path):
    """A full block of a stream's records is one unit (itemized.BLOCK), the records after it
    one unit each: a block that fills between two writes takes the place of its records'
    units in the journal."""
    from moto.core.base_backend import BackendDict
    from moto.dynamodb.models import dynamodb_backends
    from moto.kinesis.models import kinesis_backends

    from local.services.aws.itemized import BLOCK
    from local.services.aws.state import PersistentState

    state = PersistentState(tmp_path / "aws", log=lambda text: None)
    state.open()
    ddb, kinesis = boto3.client("dynamodb", region_name=REGION), boto3.client("kinesis", region_name=REGION)
    touched = frozenset({"dynamodb", "kinesis"})
    _durably(state, lambda: (_make_tables(ddb), kinesis.create_stream(StreamName="clicks", ShardCount=1)), touched)

    def put(n: int) -> None:
        ddb.put_item(TableName="recipes", Item={"id": {"S": f"r{n}"}})
        kinesis.put_record(StreamName="clicks", PartitionKey="user", Data=f"click {n}".encode())
    _durably(state, lambda: [put(n) for n in range(BLOCK - 1)], touched)
    for n in range(BLOCK - 1, BLOCK + 2):  # one write at a time across the end of the first block
        _durably(state, lambda n=n: put(n), touched)
    _durably(state, lambda: [put(n) for n in range(BLOCK + 2, 2 * BLOCK + 5)], touched)

    def records() -> tuple[list, list]:
        table = dynamodb_backends[ACCOUNT][REGION].tables["recipes"]
        [shard] = kinesis_backends[ACCOUNT][REGION].streams["clicks"].shards.values()
        return ([(r.record["eventID"], r.record["eventName"], r.record["dynamodb"]["SequenceNumber"])
                 for r in table.stream_shard.items],
                [(number, r.sequence_number, r.data) for number, r in shard.records.items()])
    before = records()
    state.close()

    BackendDict.reset()
    restored = PersistentState(tmp_path / "aws", log=lambda text: None)
    restored.open()
    after = records()
    restored.close()
    assert len(before[0]) == len(before[1]) == 2 * BLOCK + 5
    assert after == before


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
    # The stream's records are the table's (dynamodb); the streams backend holds iterators only.
    ("POST", "/", _signed("dynamodb", **{"X-Amz-Target": "DynamoDB_20120810.PutItem"}), b"{}", {"dynamodb"}),
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
