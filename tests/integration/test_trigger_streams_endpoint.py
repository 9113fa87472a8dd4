"""DynamoDB and Kinesis stream event sources (local/events/stream_source.py) against the embedded
AWS endpoint: tables and streams made with boto3, written to, and read by a source whose
function records what it is given. Order per shard and per key, the records' shapes, a
restart going on from its checkpoints, and the endpoint's waiting GetRecords
(local/services/aws/stream_wait.py) answering as soon as a record is written."""

import base64
import threading
import time
import uuid

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel, KinesisDataStreamModel
from support import eventually

from infra.aws import emulator_client
from local.app.event_model import StreamEvent
from local.events.checkpoints import CheckpointStore
from local.events.deliveries import Deliveries
from local.events.stream_client import StreamClient
from local.events.stream_source import StreamSource
from local.runtime.pool import Invocation

REGION = "eu-west-1"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:Consumer"


class Recorder:
    """The function: every event it was invoked with, in order."""

    def __init__(self):
        self.events, self.lock = [], threading.Lock()

    def __call__(self, function, event):
        with self.lock:
            self.events.append(event)
        return Invocation(str(uuid.uuid4()), function)

    def records(self) -> list[dict]:
        with self.lock:
            return [record for event in self.events for record in event["Records"]]


def _run(aws_url, event: StreamEvent, folder, function: Recorder) -> tuple[StreamSource, threading.Event]:
    stop = threading.Event()
    source = StreamSource("Consumer", FUNCTION_ARN, event, function, lambda: StreamClient(aws_url, REGION),
                          CheckpointStore(folder), REGION, stop, deliveries=Deliveries(None))
    source.start()
    return source, stop


def _stop(source: StreamSource, stop: threading.Event) -> None:
    stop.set()
    source.join(15)
    assert not source.is_alive()


@pytest.fixture
def table(aws_url):
    name = f"items-{uuid.uuid4().hex[:8]}"
    dynamodb = emulator_client("dynamodb", aws_url, REGION)
    dynamodb.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST",
                          StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    return dynamodb, name


@pytest.fixture
def stream(aws_url):
    name = f"clicks-{uuid.uuid4().hex[:8]}"
    kinesis = emulator_client("kinesis", aws_url, REGION)
    kinesis.create_stream(StreamName=name, ShardCount=2)
    return kinesis, name


def test_a_table_stream_delivers_every_change_in_order_in_aws_shape(aws_url, table, tmp_path):
    dynamodb, name = table
    event = StreamEvent(name="Changes", kind="dynamodb", source_arn="", stream_name=name,
                        starting_position="TRIM_HORIZON", batch_size=2)
    dynamodb.put_item(TableName=name, Item={"id": {"S": "a"}, "n": {"N": "1"}})
    function = Recorder()
    source, stop = _run(aws_url, event, tmp_path, function)
    try:
        dynamodb.put_item(TableName=name, Item={"id": {"S": "b"}, "n": {"N": "1"}})
        dynamodb.put_item(TableName=name, Item={"id": {"S": "a"}, "n": {"N": "2"}})
        dynamodb.delete_item(TableName=name, Key={"id": {"S": "b"}})
        assert eventually(lambda: len(function.records()) == 4)
    finally:
        _stop(source, stop)
    stream_arn = dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    parsed = DynamoDBStreamModel(Records=function.records()).Records
    assert [(r.eventName, r.dynamodb.Keys["id"]) for r in parsed] == [("INSERT", "a"), ("INSERT", "b"),
                                                                      ("MODIFY", "a"), ("REMOVE", "b")]
    assert parsed[2].dynamodb.OldImage == {"id": "a", "n": 1} and parsed[2].dynamodb.NewImage == {"id": "a", "n": 2}
    assert {r.awsRegion for r in parsed} == {REGION} and {r.eventSourceARN for r in parsed} == {stream_arn}
    assert all(len(e["Records"]) <= 2 for e in function.events)
    sequences = [int(r.dynamodb.SequenceNumber) for r in parsed]
    assert sequences == sorted(sequences)


def test_a_kinesis_stream_keeps_each_shard_and_key_in_order_and_a_restart_delivers_nothing_twice(aws_url, stream,
                                                                                                tmp_path):
    kinesis, name = stream
    event = StreamEvent(name="Clicks", kind="kinesis", source_arn="", stream_name=name,
                        starting_position="TRIM_HORIZON", batch_size=5)
    keys = [f"user-{n}" for n in range(6)]
    written = []
    for n in range(30):
        key = keys[n % len(keys)]
        answer = kinesis.put_record(StreamName=name, Data=f"{key}:{n}".encode(), PartitionKey=key)
        written.append((answer["ShardId"], key, n))
    assert len({shard for shard, _, _ in written}) == 2  # the keys spread over both shards
    function = Recorder()
    source, stop = _run(aws_url, event, tmp_path, function)
    try:
        assert eventually(lambda: len(function.records()) == 30)
    finally:
        _stop(source, stop)
    parsed = KinesisDataStreamModel(Records=function.records()).Records
    assert {r.eventSourceARN for r in parsed} == {f"arn:aws:kinesis:{REGION}:123456789012:stream/{name}"}
    assert all(isinstance(record["kinesis"]["data"], str) for record in function.records())  # base64, as AWS sends
    got = [(r.eventID.split(":")[0], r.kinesis.partitionKey, int(r.kinesis.data.decode().split(":")[1]))
           for r in parsed]
    for shard in {shard for shard, _, _ in written}:
        assert [entry for entry in got if entry[0] == shard] == [entry for entry in written if entry[0] == shard]
    for key in keys:
        numbers = [n for _, k, n in got if k == key]
        assert numbers == sorted(numbers) and len(numbers) == 5
    for event_ in function.events:  # a batch never mixes shards
        assert len({record["eventID"].split(":")[0] for record in event_["Records"]}) == 1

    more = [kinesis.put_record(StreamName=name, Data=f"later:{n}".encode(), PartitionKey=keys[n])["SequenceNumber"]
            for n in range(4)]
    again = Recorder()
    source, stop = _run(aws_url, event, tmp_path, again)
    try:
        assert eventually(lambda: len(again.records()) >= 4)
        time.sleep(1.5)  # time enough for anything delivered twice to show up
    finally:
        _stop(source, stop)
    assert sorted(record["kinesis"]["sequenceNumber"] for record in again.records()) == sorted(more)
    assert sorted(base64.b64decode(r["kinesis"]["data"]).decode() for r in again.records()) == \
        sorted(f"later:{n}" for n in range(4))


def test_a_waiting_get_records_answers_as_soon_as_a_record_is_written(aws_url, stream, table):
    kinesis, name = stream
    dynamodb, table_name = table
    client = StreamClient(aws_url, REGION)
    shard = client.list_shards(name)[0]["ShardId"]
    iterator = client.get_shard_iterator("kinesis", name, shard, "LATEST")
    began = time.monotonic()
    idle = client.get_records("kinesis", iterator, 100, wait_ms=400)
    assert idle["Records"] == [] and time.monotonic() - began >= 0.3  # nothing came: it waited

    def write_later():
        time.sleep(0.4)
        for n in range(20):  # some key lands on the shard read
            kinesis.put_record(StreamName=name, Data=b"x", PartitionKey=f"k{n}")

    for read, start_writing in (
            (lambda: client.get_records("kinesis", idle["NextShardIterator"], 100, wait_ms=8000), write_later),
            (_table_reader(client, table_name), lambda: (time.sleep(0.4),
                                                          dynamodb.put_item(TableName=table_name,
                                                                            Item={"id": {"S": "z"}})))):
        writer = threading.Thread(target=start_writing)
        writer.start()
        began = time.monotonic()
        answer = read()
        waited = time.monotonic() - began
        writer.join()
        assert answer["Records"] and 0.3 <= waited < 5, waited  # woken by the write, not at the end of 8 s
    client.close()


def _table_reader(client: StreamClient, table_name: str):
    arn = client.describe_table(table_name)["LatestStreamArn"]
    shard = client.describe_stream(arn)["Shards"][0]["ShardId"]
    iterator = client.get_shard_iterator("dynamodb", arn, shard, "LATEST")
    return lambda: client.get_records("dynamodb", iterator, 100, wait_ms=8000)
