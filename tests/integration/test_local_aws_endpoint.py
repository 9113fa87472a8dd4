"""The local AWS endpoint: moto's application behind the keep-alive server, with SNS Publish,
SQS ReceiveMessage and DeleteMessageBatch answered by the fast path over moto's backends.

Two servers run in this process on the same moto backends: one as `local up` runs it (fast
path first), one with moto's own handlers only. The same requests through both must get
the same answers, as boto3 parses and checks them (it verifies every MD5)."""

import json
import socket
import threading
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.aws import emulator_client
from local.services.aws import server as aws_server
from local.services.aws import speedups
from local.services.aws.fast_path import FastPath
from local.services.aws.keepalive_http import KeepAliveServer, serve_in_thread, wsgi_responder


@pytest.fixture(scope="module")
def endpoints():
    """(url with the fast path, url with moto's handlers only, the fast path), one backend."""
    speedups.apply()
    from moto.server import DomainDispatcherApplication, create_backend_app

    servers, urls = [], []
    fast_path = FastPath()
    answer = fast_path.answer

    def answer_and_note(*request):  # which requests the fast path answered, for the tests to check
        answered = answer(*request)
        if answered is not None:
            fast_path.taken.append(request[2].get("X-Amz-Target") or "Publish")
        return answered

    fast_path.answer, fast_path.taken = answer_and_note, []
    for with_fast_path in (True, False):
        server = KeepAliveServer(("127.0.0.1", 0), lambda *request: None)  # the port first: moto's app needs it
        port = server.server_address[1]
        moto_app = wsgi_responder(DomainDispatcherApplication(create_backend_app), "127.0.0.1", port,
                                  aws_server.moto_environ)
        if with_fast_path:
            def respond(*request, moto_app=moto_app):
                return fast_path.answer(*request) or moto_app(*request)
        else:
            respond = moto_app
        server.RequestHandlerClass.responder = staticmethod(respond)
        serve_in_thread(server)
        servers.append(server)
        urls.append(f"http://127.0.0.1:{port}")
    yield urls[0], urls[1], fast_path
    for server in servers:
        server.shutdown()
        server.server_close()


def client(service: str, url: str):
    return emulator_client(service, url, "us-east-1", Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def topic(endpoints):
    """A topic fanned out to a raw-delivery queue and an enveloped one, and a FIFO queue."""
    fast, _, _ = endpoints
    sns, sqs = client("sns", fast), client("sqs", fast)
    arn = sns.create_topic(Name="fast-path")["TopicArn"]
    queues = {}
    for name, raw in (("fast-raw", "true"), ("fast-enveloped", "false")):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": raw})
        queues[name] = url
    return arn, queues


def _drain(sqs, url):
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])


def _comparable(message: dict) -> dict:
    """What must agree between two deliveries of the same publish: all but ids and clocks."""
    body = message["Body"]
    if body.startswith("{") and "TopicArn" in body:  # the SNS envelope: its own id, time, signature
        envelope = json.loads(body)
        body = {key: envelope[key] for key in ("Type", "TopicArn", "Message", "MessageAttributes")}
    return {"Body": body, "MD5OfBody": message["MD5OfBody"] if isinstance(body, str) else None,
            "MessageAttributes": message.get("MessageAttributes"),
            "MD5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
            "Attributes": sorted(message.get("Attributes", {})),
            "ApproximateReceiveCount": message.get("Attributes", {}).get("ApproximateReceiveCount")}


def test_publish_receive_and_delete_answer_as_moto_does(endpoints, topic):
    fast, plain, fast_path = endpoints
    arn, queues = topic
    answers = {}
    fast_path.taken.clear()
    for url in (fast, plain):
        sns, sqs = client("sns", url), client("sqs", url)
        for queue in queues.values():
            _drain(sqs, queue)
        published = sns.publish(TopicArn=arn, Message=json.dumps({"id": "e-1", "type": "recipe.created"}),
                                MessageAttributes={"type": {"DataType": "String", "StringValue": "recipe.created"},
                                                   "source": {"DataType": "String", "StringValue": "test"}})
        assert published["MessageId"]
        received = {}
        for name, queue in queues.items():
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           AttributeNames=["All"], MessageAttributeNames=["All"])["Messages"]
            deleted = sqs.delete_message_batch(QueueUrl=queue, Entries=[
                {"Id": "only", "ReceiptHandle": messages[0]["ReceiptHandle"]},
                {"Id": "stale", "ReceiptHandle": "not-a-receipt-handle"}])
            received[name] = ([_comparable(m) for m in messages], deleted["Successful"],
                              [(f["Id"], f["Code"], f["SenderFault"]) for f in deleted["Failed"]])
        answers[url] = received
    assert answers[fast] == answers[plain]
    assert {"Publish", "AmazonSQS.ReceiveMessage", "AmazonSQS.DeleteMessageBatch"} <= set(fast_path.taken)
    raw_messages, successful, failed = answers[fast]["fast-raw"]
    assert raw_messages[0]["MessageAttributes"]["type"] == {"StringValue": "recipe.created", "DataType": "String"}
    assert successful == [{"Id": "only"}] and failed == [("stale", "ReceiptHandleIsInvalid", True)]


def test_only_attributes_asked_for_are_returned_and_the_queue_keeps_the_rest(endpoints, topic):
    fast, _, _ = endpoints
    arn, queues = topic
    sns, sqs = client("sns", fast), client("sqs", fast)
    _drain(sqs, queues["fast-raw"])
    sns.publish(TopicArn=arn, Message="m", MessageAttributes={
        "type": {"DataType": "String", "StringValue": "t"}, "other": {"DataType": "String", "StringValue": "o"}})
    first = sqs.receive_message(QueueUrl=queues["fast-raw"], MessageAttributeNames=["type"], VisibilityTimeout=0,
                                AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert set(first["MessageAttributes"]) == {"type"} and first["Attributes"] == {"ApproximateReceiveCount": "1"}
    again = sqs.receive_message(QueueUrl=queues["fast-raw"], MessageAttributeNames=["All"])["Messages"][0]
    assert set(again["MessageAttributes"]) == {"type", "other"} and "Attributes" not in again


def test_a_long_poll_answers_when_a_message_arrives(endpoints, topic):
    fast, _, _ = endpoints
    arn, queues = topic
    sqs = client("sqs", fast)
    _drain(sqs, queues["fast-raw"])
    got = []
    poll = threading.Thread(target=lambda: got.extend(
        sqs.receive_message(QueueUrl=queues["fast-raw"], WaitTimeSeconds=10).get("Messages", [])))
    poll.start()
    time.sleep(0.3)
    client("sns", fast).publish(TopicArn=arn, Message="late")
    poll.join(10)
    assert [m["Body"] for m in got] == ["late"]


@pytest.mark.parametrize("call, code", [
    (lambda sns, sqs, arn, queue: sns.publish(TopicArn=arn + "-missing", Message="m"), "NotFound"),
    (lambda sns, sqs, arn, queue: sns.publish(TopicArn=arn, Message="m", MessageAttributes={
        "n": {"DataType": "Number", "StringValue": "not a number"}}), "InvalidParameter"),
    (lambda sns, sqs, arn, queue: sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=11), "InvalidParameterValue"),
    (lambda sns, sqs, arn, queue: sqs.receive_message(QueueUrl=queue + "-missing"),
     "AWS.SimpleQueueService.NonExistentQueue"),
    (lambda sns, sqs, arn, queue: sqs.delete_message_batch(QueueUrl=queue, Entries=[]), "EmptyBatchRequest"),
    (lambda sns, sqs, arn, queue: sqs.delete_message_batch(QueueUrl=queue, Entries=[
        {"Id": "a", "ReceiptHandle": "same"}, {"Id": "b", "ReceiptHandle": "same"}]), "BatchEntryIdsNotDistinct"),
])
def test_what_the_fast_path_does_not_take_moto_answers_with_its_errors(endpoints, topic, call, code):
    fast, plain, _ = endpoints
    arn, queues = topic
    codes = []
    for url in (fast, plain):
        with pytest.raises(ClientError) as raised:
            call(client("sns", url), client("sqs", url), arn, queues["fast-raw"])
        codes.append(raised.value.response["Error"]["Code"])
    assert codes[0] == codes[1]
    assert code in codes[0]


def test_the_fast_path_declines_what_it_does_not_render(endpoints, topic):
    _, _, fast_path = endpoints
    arn, queues = topic
    sns_headers = {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/sns/aws4_request, "
                                    "SignedHeaders=host, Signature=0",
                   "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    sqs_headers = {**sns_headers, "Authorization": sns_headers["Authorization"].replace("/sns/", "/sqs/"),
                   "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ReceiveMessage"}
    from urllib.parse import urlencode
    declined = [
        ("POST", "/", sns_headers, urlencode({"Action": "Publish", "TopicArn": arn, "Message": "m",
                                              "MessageStructure": "json"}).encode()),
        ("POST", "/", sns_headers, urlencode({"Action": "Publish", "TargetArn": arn, "Message": "m"}).encode()),
        ("POST", "/", sns_headers, urlencode({"Action": "Publish", "TopicArn": arn, "Message": ""}).encode()),
        ("POST", "/", sns_headers, urlencode({"Action": "ListTopics"}).encode()),
        ("POST", "/", sqs_headers, json.dumps({"QueueUrl": queues["fast-raw"], "ReceiveRequestAttemptId": "x"}).encode()),
        ("POST", "/", sqs_headers, json.dumps({"QueueUrl": queues["fast-raw"], "AttributeNames": ["SequenceNumber"]}).encode()),
        ("POST", "/", sqs_headers, json.dumps({"QueueUrl": queues["fast-raw"], "WaitTimeSeconds": True}).encode()),
        ("POST", "/", sqs_headers, json.dumps({"QueueUrl": queues["fast-raw"], "MessageAttributeNames": 7}).encode()),
        ("POST", "/", sqs_headers, b"not json"),
        ("GET", "/", sqs_headers, b""),
    ]
    for request in declined:
        assert FastPath().answer(*request) is None, request


def test_the_server_keeps_the_connection_open_between_requests(endpoints):
    fast, _, _ = endpoints
    port = int(fast.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as connection:
        stream = connection.makefile("rb")
        for _ in range(3):
            connection.sendall(b"GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status = stream.readline()
            headers = _headers(stream)
            stream.read(int(headers["content-length"]))
            assert status.startswith(b"HTTP/1.1 200") and "connection" not in headers


def test_chunked_bodies_head_requests_and_underscored_metadata_reach_moto(endpoints):
    fast, _, _ = endpoints
    s3 = client("s3", fast)
    s3.create_bucket(Bucket="keepalive-bucket")
    port = int(fast.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as connection:
        stream = connection.makefile("rb")
        connection.sendall(b"PUT /keepalive-bucket/chunked.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Authorization: AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/s3/aws4_request, "
                           b"SignedHeaders=host, Signature=0\r\nx-amz-meta-my_key: kept\r\n"
                           b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
        assert stream.readline().startswith(b"HTTP/1.1 100")
        assert stream.readline() == b"\r\n"
        connection.sendall(b"6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n")
        assert stream.readline().startswith(b"HTTP/1.1 200")
    stored = s3.get_object(Bucket="keepalive-bucket", Key="chunked.txt")
    assert stored["Body"].read() == b"hello world" and stored["Metadata"] == {"my_key": "kept"}
    head = s3.head_object(Bucket="keepalive-bucket", Key="chunked.txt")
    assert head["ContentLength"] == 11


def test_a_bad_request_is_answered_400_and_a_failing_responder_500(endpoints):
    def failing(*request):
        raise RuntimeError("boom")

    server = KeepAliveServer(("127.0.0.1", 0), failing)
    serve_in_thread(server)
    try:
        for request, status in ((b"NONSENSE\r\n\r\n", b"400"), (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"500"),
                                (b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", b"400")):
            with socket.create_connection(server.server_address) as connection:
                connection.sendall(request)
                assert connection.makefile("rb").readline().split()[1] == status
    finally:
        server.shutdown()
        server.server_close()


def _headers(stream) -> dict[str, str]:
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


def test_an_error_inside_the_fast_path_is_answered_as_moto_answers_it(endpoints):
    """A topic whose subscribed queue was deleted: moto refuses the publish; the fast path
    takes the request (it cannot know beforehand) and answers with moto's error."""
    fast, plain, fast_path = endpoints
    errors = []
    for url in (fast, plain):
        sns, sqs = client("sns", url), client("sqs", url)
        arn = sns.create_topic(Name=f"orphaned-{len(errors)}")["TopicArn"]
        queue = sqs.create_queue(QueueName=f"orphaned-{len(errors)}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
        sqs.delete_queue(QueueUrl=queue)
        try:
            sns.publish(TopicArn=arn, Message="m")
            errors.append(None)
        except ClientError as error:
            errors.append((error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]))
    assert errors[0] is not None and errors[0] == errors[1]


def test_binary_and_number_attributes_sent_to_sqs_are_received_as_moto_gives_them(endpoints):
    fast, plain, _ = endpoints
    received = []
    for url in (fast, plain):
        sqs = client("sqs", url)
        queue = sqs.create_queue(QueueName=f"typed-{len(received)}")["QueueUrl"]
        sqs.send_message(QueueUrl=queue, MessageBody="m", MessageAttributes={
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01binary"},
            "count": {"DataType": "Number", "StringValue": "42"}})
        message = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"][0]
        received.append((message["MessageAttributes"], message["MD5OfMessageAttributes"]))
    assert received[0] == received[1]
    assert received[0][0]["blob"]["BinaryValue"] == b"\x00\x01binary"


def test_an_exception_inside_the_fast_path_falls_back_to_moto_never_a_500(endpoints):
    """A fault of the fast path (here, every call raises) is logged once with its traceback,
    and moto's own handler answers the request, as it would without the fast path."""
    from moto.server import DomainDispatcherApplication, create_backend_app

    class Broken:
        def answer(self, *request):
            raise KeyError("a bug in the fast path")

    logged = []
    server = KeepAliveServer(("127.0.0.1", 0), lambda *request: None)
    port = server.server_address[1]
    moto_app = wsgi_responder(DomainDispatcherApplication(create_backend_app), "127.0.0.1", port,
                              aws_server.moto_environ)
    server.RequestHandlerClass.responder = staticmethod(aws_server.answering(Broken(), moto_app, logged.append))
    serve_in_thread(server)
    try:
        url = f"http://127.0.0.1:{port}"
        sns, sqs = client("sns", url), client("sqs", url)
        queue = sqs.create_queue(QueueName="fallback")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        topic = sns.create_topic(Name="fallback")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        sns.publish(TopicArn=topic, Message="delivered by moto")
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
        sqs.delete_message_batch(QueueUrl=queue, Entries=[{"Id": "1", "ReceiptHandle": messages[0]["ReceiptHandle"]}])
    finally:
        server.shutdown()
        server.server_close()
    assert [m["Body"] for m in messages] == ["delivered by moto"]
    assert len(logged) == 1 and "KeyError: 'a bug in the fast path'" in logged[0] and "Traceback" in logged[0]
