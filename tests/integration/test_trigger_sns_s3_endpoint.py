"""SNS → Lambda and S3 → Lambda inside the embedded AWS endpoint (sns_lambda.py,
s3_lambda.py), against the endpoint process `local up` runs: what a publish or an object
change puts on a function's internal queue (async_queue.py), which the event runner then
invokes. Each event must validate with Powertools' model for its source.

The internal queues are made here, as provisioning makes them for a template's functions."""

import json
import urllib.request
import uuid

import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model, SnsModel
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.aws import emulator_client
from local.services.aws.async_queue import AsyncInvocation, queue_name

REGION, ACCOUNT = "us-east-1", "123456789012"  # moto's default account: the emulator's credentials map to it


@pytest.fixture(scope="module")
def aws(aws_url):
    config = Config(retries={"max_attempts": 1})
    return {name: emulator_client(name, aws_url, REGION, config) for name in ("sns", "sqs", "s3")}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _function(aws, prefix="fn") -> tuple[str, str]:
    """A function's ARN and its internal queue's URL."""
    name = _name(prefix)
    url = aws["sqs"].create_queue(QueueName=queue_name(name))["QueueUrl"]
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}", url


def _queue(aws, prefix="q") -> tuple[str, str]:
    url = aws["sqs"].create_queue(QueueName=_name(prefix))["QueueUrl"]
    return aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"], url


def _take(aws, url) -> list:
    """Every message on a queue, deleted; delivery happens inside the request, so no wait."""
    taken = []
    while messages := aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                 MessageAttributeNames=["All"]).get("Messages", []):
        taken += messages
        aws["sqs"].delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])
    return taken


def _invocations(aws, url) -> list[AsyncInvocation]:
    return [AsyncInvocation.from_message(m["Body"], m["MessageAttributes"]) for m in _take(aws, url)]


def _sns_records(aws, url) -> list[dict]:
    records = []
    for invocation in _invocations(aws, url):
        SnsModel(**invocation.event())
        assert invocation.source == "sns" and invocation.attempt == 1
        records += [{**record, "sourceArn": invocation.source_arn} for record in invocation.event()["Records"]]
    return records


def _aws_log(services_dir) -> str:
    return (services_dir / "logs" / "aws.log").read_text(errors="replace")


# -- SNS ------------------------------------------------------------------------------------

@pytest.fixture
def topic(aws):
    """A topic, a function subscribed to it, and a queue subscribed after it."""
    sns = aws["sns"]
    topic_arn = sns.create_topic(Name=_name("topic"))["TopicArn"]
    function_arn, internal = _function(aws)
    subscription = sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=function_arn)["SubscriptionArn"]
    queue_arn, queue_url = _queue(aws)
    queue_subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                                       Attributes={"RawMessageDelivery": "true"})["SubscriptionArn"]
    return {"arn": topic_arn, "internal": internal, "subscription": subscription, "queue": queue_url,
            "queue_subscription": queue_subscription}


def test_a_publish_puts_sns_record_on_the_function_queue_and_still_reaches_the_queue_after_it(aws, topic):
    published = aws["sns"].publish(TopicArn=topic["arn"], Message="hello", Subject="Greeting")
    [record] = _sns_records(aws, topic["internal"])
    assert record["sourceArn"] == topic["arn"]
    assert record["EventSubscriptionArn"] == topic["subscription"]
    sns = record["Sns"]
    assert sns["MessageId"] == published["MessageId"] and sns["TopicArn"] == topic["arn"]
    assert sns["Message"] == "hello" and sns["Subject"] == "Greeting" and sns["MessageAttributes"] == {}
    assert [m["Body"] for m in _take(aws, topic["queue"])] == ["hello"]


def test_message_attributes_reach_the_function_as_sns_gives_them(aws, topic):
    aws["sns"].publish(TopicArn=topic["arn"], Message="m", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "created"},
        "count": {"DataType": "Number", "StringValue": "3"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"}})
    [record] = _sns_records(aws, topic["internal"])
    assert record["Sns"]["Subject"] is None
    assert record["Sns"]["MessageAttributes"] == {"kind": {"Type": "String", "Value": "created"},
                                                  "count": {"Type": "Number", "Value": "3"},
                                                  "blob": {"Type": "Binary", "Value": "AAEC"}}


def test_message_structure_json_gives_the_function_its_lambda_entry_else_the_default(aws, topic):
    sns = aws["sns"]
    sns.publish(TopicArn=topic["arn"], MessageStructure="json",
                Message=json.dumps({"default": "for all", "lambda": "for functions", "sqs": "for queues"}))
    sns.publish(TopicArn=topic["arn"], MessageStructure="json", Message=json.dumps({"default": "only default"}))
    assert [r["Sns"]["Message"] for r in _sns_records(aws, topic["internal"])] == ["for functions", "only default"]
    assert sorted(m["Body"] for m in _take(aws, topic["queue"])) == ["for queues", "only default"]


def test_publish_batch_delivers_each_entry_with_its_message_id(aws, topic):
    answer = aws["sns"].publish_batch(TopicArn=topic["arn"], PublishBatchRequestEntries=[
        {"Id": "one", "Message": "first", "MessageAttributes": {"n": {"DataType": "String", "StringValue": "1"}}},
        {"Id": "two", "Message": "second", "Subject": "S"}])
    ids = {entry["Id"]: entry["MessageId"] for entry in answer["Successful"]}
    records = {r["Sns"]["MessageId"]: r["Sns"] for r in _sns_records(aws, topic["internal"])}
    assert records[ids["one"]]["Message"] == "first"
    assert records[ids["one"]]["MessageAttributes"] == {"n": {"Type": "String", "Value": "1"}}
    assert (records[ids["two"]]["Message"], records[ids["two"]]["Subject"]) == ("second", "S")
    assert len(_take(aws, topic["queue"])) == 2


def test_a_body_policy_filters_what_the_function_gets(aws, topic):
    sns = aws["sns"]
    sns.set_subscription_attributes(SubscriptionArn=topic["subscription"], AttributeName="FilterPolicyScope",
                                    AttributeValue="MessageBody")
    sns.set_subscription_attributes(SubscriptionArn=topic["subscription"], AttributeName="FilterPolicy",
                                    AttributeValue=json.dumps({"recipe": {"status": ["published"]}}))
    sns.publish(TopicArn=topic["arn"], Message=json.dumps({"recipe": {"status": "draft"}}))
    assert _take(aws, topic["internal"]) == []  # filtered out: nothing enqueued
    sns.publish(TopicArn=topic["arn"], Message=json.dumps({"recipe": {"status": "published", "id": 7}}))
    [record] = _sns_records(aws, topic["internal"])
    assert json.loads(record["Sns"]["Message"])["recipe"]["id"] == 7
    assert len(_take(aws, topic["queue"])) == 2  # the queue has no policy


def test_a_function_with_no_queue_here_goes_to_the_dead_letter_queue_or_to_the_log(aws, services_dir):
    sns = aws["sns"]
    topic_arn = sns.create_topic(Name=_name("orphans"))["TopicArn"]
    dead_letter_arn, dead_letter_url = _queue(aws, "dlq")
    missing = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{_name('absent')}"
    sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=missing,
                  Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letter_arn})})
    unknown = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{_name('unknown')}"
    sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=unknown)
    queue_arn, queue_url = _queue(aws)
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    message_id = sns.publish(TopicArn=topic_arn, Message="lost")["MessageId"]
    [dead] = _take(aws, dead_letter_url)
    assert json.loads(dead["Body"])["Message"] == "lost" and json.loads(dead["Body"])["MessageId"] == message_id
    assert json.loads(_take(aws, queue_url)[0]["Body"])["Message"] == "lost"
    log = _aws_log(services_dir)
    assert f"SNS message {message_id} from {topic_arn} dropped: no function {unknown} here" in log
    assert f"sent to the subscription's dead-letter queue {dead_letter_arn}" in log


def _s(value):
    return {"DataType": "String", "StringValue": value}


# (policy, scope, message, attributes, delivered): the SNS developer guide's filter grammar.
FILTER_CASES = [
    ({"sport": ["rugby", "tennis"]}, None, "m", {"sport": _s("rugby")}, True),
    ({"sport": ["rugby", "tennis"]}, None, "m", {"sport": _s("baseball")}, False),
    ({"sport": [{"prefix": "bas"}]}, None, "m", {"sport": _s("basketball")}, True),
    ({"sport": [{"suffix": "ball"}]}, None, "m", {"sport": _s("rugby")}, False),
    ({"sport": [{"equals-ignore-case": "TENNIS"}]}, None, "m", {"sport": _s("Tennis")}, True),
    ({"sport": [{"anything-but": ["rugby", "tennis"]}]}, None, "m", {"sport": _s("rugby")}, False),
    ({"event": [{"anything-but": {"prefix": "order-"}}]}, None, "m", {"event": _s("order_number")}, True),
    ({"event": [{"anything-but": {"prefix": "order-"}}]}, None, "m", {"event": _s("order-cancelled")}, False),
    ({"event": [{"anything-but": ["x"]}, {"exists": False}]}, None, "m", {"other": _s("y")}, True),
    ({"store": [{"exists": False}]}, None, "m", {}, False),  # never matches a message with no attributes
    ({"store": [{"exists": True}]}, None, "m", {"store": _s("fans")}, True),
    ({"price": [{"numeric": [">", 0, "<=", 150]}]}, None, "m", {"price": {"DataType": "Number", "StringValue": "150"}},
     True),
    ({"price": [{"numeric": [">", 0, "<=", 150]}]}, None, "m", {"price": {"DataType": "Number", "StringValue": "0"}},
     False),
    ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, None, "m", {"source_ip": _s("10.0.0.255")}, True),
    ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, None, "m", {"source_ip": _s("10.1.1.0")}, False),
    ({"source": ["aws.cloudwatch"], "$or": [{"metric": ["CPU"]}, {"namespace": ["AWS/EC2"]}]}, None, "m",
     {"source": _s("aws.cloudwatch"), "namespace": _s("AWS/EC2")}, True),
    ({"source": ["aws.cloudwatch"], "$or": [{"metric": ["CPU"]}, {"namespace": ["AWS/EC2"]}]}, None, "m",
     {"source": _s("aws.cloudwatch"), "namespace": _s("AWS/S3")}, False),
    ({"order": {"items": {"sku": ["a-1"]}}}, "MessageBody",
     json.dumps({"order": {"items": [{"sku": "b"}, {"sku": "a-1"}]}}), {}, True),
    ({"$or": [{"kind": ["a"]}, {"size": [{"numeric": [">", 10]}]}]}, "MessageBody", json.dumps({"size": 11}), {},
     True),
    ({"$or": [{"kind": ["a"]}, {"size": [{"numeric": [">", 10]}]}]}, "MessageBody", json.dumps({"kind": "b"}), {},
     False),
    ({"ip": [{"cidr": "192.168.0.0/16"}]}, "MessageBody", json.dumps({"ip": "192.168.4.2"}), {}, True),
    ({"size": [{"numeric": [">", 1]}]}, "MessageBody", json.dumps({"size": "2"}), {}, False),  # a string: no number
    ({"name": [{"prefix": "a"}]}, "MessageBody", json.dumps({"name": 1}), {}, False),
    ({"tags": [{"suffix": "-x"}]}, "MessageBody", json.dumps({"tags": ["b", "a-x"]}), {}, True),
]


def test_filter_policies_filter_a_function_and_a_queue_alike(aws, topic):
    sns = aws["sns"]
    outcomes = []
    for policy, scope, message, attributes, _ in FILTER_CASES:
        for subscription in (topic["subscription"], topic["queue_subscription"]):
            sns.set_subscription_attributes(SubscriptionArn=subscription, AttributeName="FilterPolicyScope",
                                            AttributeValue=scope or "MessageAttributes")
            sns.set_subscription_attributes(SubscriptionArn=subscription, AttributeName="FilterPolicy",
                                            AttributeValue=json.dumps(policy))
        sns.publish(TopicArn=topic["arn"], Message=message, MessageAttributes=attributes)
        outcomes.append((len(_sns_records(aws, topic["internal"])), len(_take(aws, topic["queue"]))))
    assert outcomes == [(int(delivered), int(delivered)) for *_, delivered in FILTER_CASES]


@pytest.mark.parametrize("policy, reason", [
    ({"key": [{"anything-but": {"suffix": "x"}}]}, "Unsupported anything-but pattern: suffix"),
    ({"key": [{"cidr": "10.0.0.0"}]}, "Malformed CIDR, one '/' required"),
    ({"key": [{"cidr": "10.0.0.300/24"}]}, "Nonstandard IP address: 10.0.0.300"),
    ({"key": [{"prefix": 1}]}, "prefix match pattern must be a string"),
])
def test_policies_sns_refuses_are_refused(aws, topic, policy, reason):
    with pytest.raises(ClientError) as refused:
        aws["sns"].set_subscription_attributes(SubscriptionArn=topic["subscription"], AttributeName="FilterPolicy",
                                               AttributeValue=json.dumps(policy))
    assert refused.value.response["Error"]["Code"] == "InvalidParameter"
    assert reason in refused.value.response["Error"]["Message"]


# -- S3 -------------------------------------------------------------------------------------

@pytest.fixture
def bucket(aws):
    """A bucket whose recipes/*.jpg objects notify a function, and all of whose objects
    notify a queue."""
    name = _name("images")
    function_arn, internal = _function(aws, "image-check")
    queue_arn, queue_url = _queue(aws)
    aws["s3"].create_bucket(Bucket=name)
    aws["s3"].put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{
            "Id": "recipe-images", "LambdaFunctionArn": function_arn,
            "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "recipes/"},
                                               {"Name": "suffix", "Value": ".jpg"}]}}}],
        "QueueConfigurations": [{"Id": "all", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]})
    _take(aws, queue_url)  # S3's s3:TestEvent
    return {"name": name, "internal": internal, "queue": queue_url}


def _s3_records(aws, url) -> list[dict]:
    records = []
    for invocation in _invocations(aws, url):
        S3Model(**invocation.event())
        assert invocation.source == "s3" and invocation.attempt == 1
        assert invocation.source_arn == invocation.event()["Records"][0]["s3"]["bucket"]["arn"]
        records += invocation.event()["Records"]
    return records


def _summary(records) -> list[tuple]:
    return [(r["eventName"], r["s3"]["object"]["key"]) for r in records]


def test_presigned_put_copy_and_deletes_reach_the_function_in_s3s_shape(aws, bucket):
    s3, name = aws["s3"], bucket["name"]
    url = s3.generate_presigned_url("put_object", Params={"Bucket": name, "Key": "recipes/my photo.jpg",
                                                          "ContentType": "image/jpeg"})
    upload = urllib.request.Request(url, data=b"jpeg bytes", method="PUT", headers={"Content-Type": "image/jpeg"})
    with urllib.request.urlopen(upload, timeout=10) as answer:
        etag = answer.headers["ETag"].strip('"')
    [put] = _s3_records(aws, bucket["internal"])
    assert put["eventName"] == "ObjectCreated:Put" and put["awsRegion"] == REGION
    assert put["s3"]["configurationId"] == "recipe-images"
    assert put["s3"]["bucket"] == {"name": name, "ownerIdentity": put["s3"]["bucket"]["ownerIdentity"],
                                   "arn": f"arn:aws:s3:::{name}"}
    assert put["s3"]["object"]["key"] == "recipes/my+photo.jpg"  # URL-encoded as S3 does, "/" kept
    assert (put["s3"]["object"]["size"], put["s3"]["object"]["eTag"]) == (10, etag)

    s3.copy_object(Bucket=name, Key="recipes/copy.jpg", CopySource={"Bucket": name, "Key": "recipes/my photo.jpg"})
    s3.delete_object(Bucket=name, Key="recipes/copy.jpg")
    s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "recipes/my photo.jpg"}]})
    records = _s3_records(aws, bucket["internal"])
    assert _summary(records) == [("ObjectCreated:Copy", "recipes/copy.jpg"),
                                 ("ObjectRemoved:Delete", "recipes/copy.jpg"),
                                 ("ObjectRemoved:Delete", "recipes/my+photo.jpg")]
    assert all("size" not in r["s3"]["object"] and "eTag" not in r["s3"]["object"] for r in records[1:])
    sequencers = [put["s3"]["object"]["sequencer"]] + [r["s3"]["object"]["sequencer"] for r in records]
    assert sequencers == sorted(sequencers) and len(set(sequencers)) == 4  # they order a key's events


def test_objects_outside_the_filter_notify_nothing(aws, bucket):
    s3, name = aws["s3"], bucket["name"]
    for key in ("other/a.jpg", "recipes/a.png", "recipes.jpg"):
        s3.put_object(Bucket=name, Key=key, Body=b"x")
    assert _take(aws, bucket["internal"]) == []
    for message in _take(aws, bucket["queue"]):  # the queue's configuration has no filter
        S3Model(**json.loads(message["Body"]))  # its records are corrected too


def test_a_multipart_upload_notifies_once_complete(aws, bucket):
    s3, name = aws["s3"], bucket["name"]
    upload = s3.create_multipart_upload(Bucket=name, Key="recipes/big.jpg")["UploadId"]
    part = s3.upload_part(Bucket=name, Key="recipes/big.jpg", UploadId=upload, PartNumber=1, Body=b"x" * 100)
    assert _take(aws, bucket["internal"]) == []
    s3.complete_multipart_upload(Bucket=name, Key="recipes/big.jpg", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert _summary(_s3_records(aws, bucket["internal"])) == [("ObjectCreated:CompleteMultipartUpload",
                                                               "recipes/big.jpg")]


def test_a_versioned_bucket_names_versions_and_creates_delete_markers(aws, bucket):
    s3, name = aws["s3"], bucket["name"]
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket=name, Key="recipes/v.jpg", Body=b"one")["VersionId"]
    deleted = s3.delete_object(Bucket=name, Key="recipes/v.jpg")
    put, marker = _s3_records(aws, bucket["internal"])
    assert (put["eventName"], put["s3"]["object"]["versionId"]) == ("ObjectCreated:Put", version)
    assert deleted["DeleteMarker"] is True
    assert (marker["eventName"], marker["s3"]["object"]["versionId"]) == ("ObjectRemoved:DeleteMarkerCreated",
                                                                        deleted["VersionId"])
    assert "size" not in marker["s3"]["object"]


def test_a_notification_to_a_function_with_no_queue_is_dropped_and_logged(aws, services_dir):
    s3, name = aws["s3"], _name("orphan")
    missing = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{_name('absent')}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": missing, "Events": ["s3:ObjectCreated:Put"]}]})
    s3.put_object(Bucket=name, Key="a.txt", Body=b"x")  # answered as usual
    assert f"S3 notification ObjectCreated:Put of s3://{name}/a.txt dropped: no function {missing} here" in (
        _aws_log(services_dir))
