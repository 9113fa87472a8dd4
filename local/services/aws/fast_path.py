"""The three requests an event pipeline makes all the time (SNS Publish, SQS ReceiveMessage
and DeleteMessageBatch) answered straight from moto's own backends, the same objects
moto's request handlers use, so state and semantics are moto's: fan-out, filter
policies, visibility timeouts, receive counts, redrive to the dead-letter queue.

What is skipped is moto's generic request layer: per request it rebuilds its response
class, inspects its members, parses the body against the service model and serializes the
answer through the model again: for one publish, several times the CPU of the model's own
work (the figures: docs/ARCHITECTURE.md).

Only the plain form of each request is taken here: a known queue or topic, parameters
within their limits, no FIFO. Anything else (an unknown parameter, a value out of range,
a missing queue) returns None, and moto answers it as it always did, errors included.
"""

import base64
import json
import os
import re
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from . import stream_wait

_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/")
_ATTRIBUTE_ENTRY = re.compile(r"MessageAttributes\.entry\.(\d+)\.(Name|Value\.DataType|Value\.StringValue)")
_PUBLISH_PARAMETERS = {"Action", "Version", "TopicArn", "Message", "Subject"}
_RECEIVE_PARAMETERS = {"QueueUrl", "MaxNumberOfMessages", "WaitTimeSeconds", "VisibilityTimeout",
                       "AttributeNames", "MessageSystemAttributeNames", "MessageAttributeNames"}
_SYSTEM_ATTRIBUTES = ("SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp")
MAX_VISIBILITY_TIMEOUT_S = 43200
MOTO_ACCOUNT_VARIABLE = "MOTO_ACCOUNT_ID"  # moto's own setting: another account than the default

Answer = tuple[int, list[tuple[str, str]], bytes]


class FastPath:
    def __init__(self):
        # Imported here, not at module level: the launcher applies its patches first.
        from moto.core.exceptions import ServiceException
        from moto.iam.models import get_account_id_from
        from moto.moto_api._internal import mock_random
        from moto.sns.models import MAXIMUM_MESSAGE_LENGTH, sns_backends
        from moto.sqs.models import sqs_backends

        self._account_for = get_account_id_from
        self._service_error = ServiceException
        self._sns, self._sqs = sns_backends, sqs_backends
        self._max_message = MAXIMUM_MESSAGE_LENGTH
        # moto's own seeded generator: uuid.uuid4() reads os.urandom, a system call per request.
        self._new_id = lambda: str(mock_random.uuid4())

    def answer(self, method: str, target: str, headers, body: bytes) -> Answer | None:
        """The answer, or None when moto's own handlers should take the request."""
        # A request moto would file under another account (its header, or moto's own variable,
        # which is moto's setting, not the emulator's) goes to moto, which knows where it belongs.
        if method != "POST" or target != "/" or "x-moto-account-id" in headers or MOTO_ACCOUNT_VARIABLE in os.environ:
            return None
        credential = _CREDENTIAL.search(headers.get("Authorization", ""))
        if not credential:
            return None
        access_key, region, service = credential.groups()
        if service == "sns" and headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self._publish(body, self._account_for(access_key), region)
        operation = headers.get("X-Amz-Target", "")
        if operation in stream_wait.GET_RECORDS and stream_wait.WAIT_HEADER in headers:
            stream_wait.wait_for_records(operation, body, headers[stream_wait.WAIT_HEADER],
                                         self._account_for(access_key), region)
            return None  # moto answers, with what was written meanwhile
        if service == "sqs" and operation.startswith("AmazonSQS."):
            try:
                request = json.loads(body)
            except ValueError:
                return None
            if not isinstance(request, dict):
                return None
            account = self._account_for(access_key)
            if operation == "AmazonSQS.ReceiveMessage":
                return self._receive(request, account, region)
            if operation == "AmazonSQS.DeleteMessageBatch":
                return self._delete_batch(request, account, region)
        return None

    def _json_answer(self, result: dict) -> Answer:
        return (200, [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", self._new_id())],
                json.dumps(result).encode())

    # SNS: query protocol in, XML out.

    def _publish(self, body: bytes, account: str, region: str) -> Answer | None:
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return None
        if form.get("Action") != ["Publish"] or any(len(values) != 1 for values in form.values()):
            return None
        entries: dict[str, dict[str, str]] = {}
        for key, (value,) in form.items():
            entry = _ATTRIBUTE_ENTRY.fullmatch(key)
            if entry:
                entries.setdefault(entry.group(1), {})[entry.group(2)] = value
            elif key not in _PUBLISH_PARAMETERS:
                return None
        topic_arn, message = form.get("TopicArn", [""])[0], form.get("Message", [""])[0]
        subject = form["Subject"][0] if "Subject" in form else None
        backend = self._sns[account][region]
        topic = backend.topics.get(topic_arn)
        if (topic is None or topic.fifo_topic or not message or len(message) > self._max_message
                or (subject is not None and len(subject) > 100)):
            return None
        attributes = _sns_attributes(entries)
        if attributes is None:
            return None
        try:
            message_id = backend.publish(message, arn=topic_arn, subject=subject, message_attributes=attributes)
        except self._service_error as error:  # e.g. a subscribed queue that was deleted: moto refuses
            return self._sns_error(error)
        request_id = self._new_id()
        xml = (f'<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
               f'<MessageId>{escape(message_id)}</MessageId></PublishResult><ResponseMetadata>'
               f'<RequestId>{request_id}</RequestId></ResponseMetadata></PublishResponse>')
        return 200, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], xml.encode()

    def _sns_error(self, error) -> Answer:
        request_id = self._new_id()
        xml = (f'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
               f'<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>'
               f'<RequestId>{request_id}</RequestId></ErrorResponse>')
        return 400, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], xml.encode()

    # SQS: JSON protocol both ways.

    def _sqs_error(self, error) -> Answer:
        # The JSON protocol's error, and the query protocol's code for SDKs that map it back.
        code = error.code.rsplit(".", 1)[-1] if error.code.startswith("AWS.") else error.code
        body = json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": error.message}).encode()
        return 400, [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", self._new_id()),
                     ("x-amzn-query-error", f"{error.code};Sender")], body

    def _queue(self, request: dict, account: str, region: str):
        url = request.get("QueueUrl")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return None, None
        *_, url_account, name = url.split("/")
        if url_account != account:
            return None, None
        backend = self._sqs[account][region]
        queue = backend.queues.get(name)
        if queue is None or queue.fifo_queue:
            return None, None
        return backend, queue

    def _receive(self, request: dict, account: str, region: str) -> Answer | None:
        if not set(request) <= _RECEIVE_PARAMETERS:
            return None
        backend, queue = self._queue(request, account, region)
        if queue is None:
            return None
        count = request.get("MaxNumberOfMessages", 1)
        wait = request.get("WaitTimeSeconds", int(queue.receive_message_wait_time_seconds))
        visibility = request.get("VisibilityTimeout", int(queue.visibility_timeout))
        lists = [request.get(key, []) for key in ("AttributeNames", "MessageSystemAttributeNames",
                                                  "MessageAttributeNames")]
        if not all(isinstance(names, list) for names in lists):
            return None
        names, attribute_names = [*lists[0], *lists[1]], lists[2]
        if not (_int_within(count, 1, 10) and _int_within(wait, 0, 20)
                and _int_within(visibility, 0, MAX_VISIBILITY_TIMEOUT_S)
                and all(isinstance(name, str) for name in [*names, *attribute_names])):
            return None
        wanted = [name for name in _SYSTEM_ATTRIBUTES if "All" in names or name in names]
        if set(names) - {"All", *_SYSTEM_ATTRIBUTES}:
            return None  # attributes this path does not render (FIFO, tracing): moto's handler does
        try:
            messages = backend.receive_message(queue.name, count, wait, visibility, attribute_names)
        except self._service_error as error:  # e.g. the queue deleted during a long poll
            return self._sqs_error(error)
        rendered = []
        for message in messages:
            entry = {"MessageId": message.id, "ReceiptHandle": message.receipt_handle,
                     "MD5OfBody": message.body_md5, "Body": message.body}
            if message.message_attributes:
                entry["MessageAttributes"] = _json_attributes(message.message_attributes)
                entry["MD5OfMessageAttributes"] = message.attribute_md5
            if wanted:
                values = {"SenderId": message.sender_id, "SentTimestamp": message.sent_timestamp,
                          "ApproximateReceiveCount": message.approximate_receive_count,
                          "ApproximateFirstReceiveTimestamp": message.approximate_first_receive_timestamp}
                entry["Attributes"] = {name: str(values[name]) for name in wanted}
            rendered.append(entry)
        return self._json_answer({"Messages": rendered} if rendered else {})

    def _delete_batch(self, request: dict, account: str, region: str) -> Answer | None:
        if set(request) != {"QueueUrl", "Entries"}:
            return None
        backend, queue = self._queue(request, account, region)
        entries = request["Entries"]
        if queue is None or not isinstance(entries, list) or not 1 <= len(entries) <= 10:
            return None
        if not all(isinstance(entry, dict) and set(entry) == {"Id", "ReceiptHandle"}
                   and all(isinstance(value, str) for value in entry.values())
                   and re.fullmatch(r"[\w-]{1,80}", entry["Id"]) for entry in entries):
            return None
        if len({entry["Id"] for entry in entries}) != len(entries) or \
                len({entry["ReceiptHandle"] for entry in entries}) != len(entries):
            return None  # moto's handler answers the duplicate-entry error
        try:
            done, failed = backend.delete_message_batch(queue.name, entries)
        except self._service_error as error:
            return self._sqs_error(error)
        return self._json_answer({"Successful": [{"Id": entry_id} for entry_id in done], "Failed": failed})


def _sns_attributes(entries: dict[str, dict[str, str]]) -> dict | None:
    """SNS message attributes as moto's backend keeps them; None for anything but plain
    non-empty String values (Number and Binary go through moto's own validation)."""
    attributes = {}
    for entry in entries.values():
        if set(entry) != {"Name", "Value.DataType", "Value.StringValue"}:
            return None
        if entry["Value.DataType"] != "String" or not entry["Value.StringValue"] or entry["Name"] in attributes:
            return None
        attributes[entry["Name"]] = {"Type": "String", "Value": entry["Value.StringValue"]}
    return attributes if len(attributes) <= 10 else None


def _json_attributes(attributes: dict) -> dict:
    """SQS message attributes for the JSON protocol: moto keeps binary values as bytes, and
    JSON carries them in base64."""
    def encoded(value):
        return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value

    return {name: {key: [encoded(item) for item in field] if isinstance(field, list) else encoded(field)
                   for key, field in value.items()} for name, value in attributes.items()}


def _int_within(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

