"""The endpoint's side of stream reading (local/services/aws/stream_wait.py), on moto in this
process: a GetRecords at a shard's end waits for the next write and lets go of the state lock
meanwhile; DynamoDB shard iterators are not written with the state and expire as AWS's do.
(tests/integration/test_trigger_streams_endpoint.py runs the same through the endpoint.)"""

import json
import threading
import time

import boto3
import pytest
from moto import mock_aws

from local.services.aws import stream_wait
from local.services.aws.pickling import Pickler, load

ACCOUNT, REGION = "123456789012", "eu-west-1"


@pytest.fixture(scope="module", autouse=True)
def patched():
    from local.services.aws import targets

    stream_wait.apply(targets.patch)


@pytest.fixture
def aws():
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName="items", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST",
                              StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        kinesis = boto3.client("kinesis", region_name=REGION)
        kinesis.create_stream(StreamName="s", ShardCount=1)
        yield dynamodb, kinesis


def _dynamodb_iterator(dynamodb, iterator_type="LATEST") -> str:
    # Through moto's backend: boto3's dynamodbstreams client does not reach moto in process.
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    arn = dynamodb.describe_table(TableName="items")["Table"]["LatestStreamArn"]
    backend = dynamodbstreams_backends[ACCOUNT][REGION]
    shard = backend.describe_stream(arn)["Shards"][0]["ShardId"]
    return backend.get_shard_iterator(arn, shard, iterator_type).arn


def _wait(operation: str, iterator: str, ms: int) -> float:
    began = time.monotonic()
    stream_wait.wait_for_records(operation, json.dumps({"ShardIterator": iterator}).encode(), str(ms), ACCOUNT, REGION)
    return time.monotonic() - began


@pytest.mark.parametrize("kind", ["dynamodb", "kinesis"])
def test_a_read_at_the_end_waits_for_the_next_write_without_holding_the_lock(aws, kind):
    dynamodb, kinesis = aws
    if kind == "dynamodb":
        operation, iterator = "DynamoDBStreams_20120810.GetRecords", _dynamodb_iterator(dynamodb)
        write = lambda: dynamodb.put_item(TableName="items", Item={"id": {"S": "a"}})  # noqa: E731
    else:
        operation = "Kinesis_20131202.GetRecords"
        iterator = kinesis.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                              ShardIteratorType="LATEST")["ShardIterator"]
        write = lambda: kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k")  # noqa: E731
    lock = threading.Lock()
    stream_wait.install(lock)
    try:
        assert 0.15 <= _with_lock(lock, lambda: _wait(operation, iterator, 200)) < 5  # nothing came: the whole wait

        def writer():
            time.sleep(0.2)
            with lock:  # as every request does: it gets the lock the reader let go of
                write()

        thread = threading.Thread(target=writer)
        thread.start()
        waited = _with_lock(lock, lambda: _wait(operation, iterator, 8000))
        thread.join()
        assert 0.15 <= waited < 5  # woken by the write, long before the 8 s asked
        assert _with_lock(lock, lambda: _wait(operation, iterator, 8000)) < 0.5  # a record is there: no wait
    finally:
        stream_wait.install(None)


def _with_lock(lock, action):
    with lock:  # the request holds the state lock around the fast path
        result = action()
        assert lock.locked()  # and holds it again once the wait is over
        return result


def test_an_unknown_iterator_does_not_wait(aws):
    assert _wait("DynamoDBStreams_20120810.GetRecords", "arn:nope|1|x", 5000) < 0.5
    assert _wait("Kinesis_20131202.GetRecords", "bm90IGFuIGl0ZXJhdG9y", 5000) < 0.5


def test_dynamodb_iterators_are_not_kept_with_the_state_and_expire(aws, monkeypatch):
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    iterator = _dynamodb_iterator(aws[0], "TRIM_HORIZON")
    backend = dynamodbstreams_backends[ACCOUNT][REGION]
    assert iterator in backend.shard_iterators
    restored = load(Pickler({}).blob(dict(vars(backend))), {})  # as units.py writes a backend
    assert restored["shard_iterators"] == {}
    monkeypatch.setattr(stream_wait, "ITERATOR_LIFETIME_S", -1)  # as if fifteen minutes had passed
    with pytest.raises(JsonRESTError) as expired:
        backend.get_records(iterator, 10)
    assert expired.value.error_type == "ExpiredIteratorException"  # AWS's answer; moto's own was a KeyError
    assert iterator not in backend.shard_iterators
