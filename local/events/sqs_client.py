"""The two SQS calls an event source mapping's poller makes (ReceiveMessage and
DeleteMessageBatch), over SQS's JSON protocol on one kept-alive connection, signed with
botocore's SigV4 so that an endpoint which checks signatures accepts them.

Why not boto3 here, when the functions use boto3: on AWS the pollers are Lambda's own
service, not an SDK client inside anyone's function, so nothing a function sees changes.
And on two cores the pollers' CPU is the pipeline's: through boto3 a receive and a delete
cost about twice the client CPU, most of it botocore's generic request machinery (the
figures: docs/ARCHITECTURE.md). One client per poller thread: an
http.client connection is not shared between threads.
"""

import http.client
import json
import socket
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


class SqsError(Exception):
    """The queue could not be reached, or SQS answered with an error."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


class SqsClient:
    def __init__(self, endpoint_url: str, region: str, access_key: str = "test", secret_key: str = "test",
                 connect_timeout_s: float = 1.0, read_timeout_s: float = 3.0):
        endpoint = urllib.parse.urlsplit(endpoint_url)
        if endpoint.scheme not in ("http", "https") or not endpoint.hostname:
            raise ValueError(f"not an http(s) endpoint: {endpoint_url!r}")
        self._endpoint = endpoint
        self._url = f"{endpoint.scheme}://{endpoint.netloc}/"
        self._signer = SigV4Auth(Credentials(access_key, secret_key), "sqs", region)
        self._connect_timeout_s, self._read_timeout_s = connect_timeout_s, read_timeout_s
        self._connection: http.client.HTTPConnection | None = None

    def receive_message(self, queue_url: str, max_messages: int, wait_s: int, attribute_names: list[str],
                        message_attribute_names: list[str]) -> list[dict]:
        answer = self._call("ReceiveMessage", {
            "QueueUrl": queue_url, "MaxNumberOfMessages": max_messages, "WaitTimeSeconds": wait_s,
            "AttributeNames": attribute_names, "MessageAttributeNames": message_attribute_names}, wait_s)
        return answer.get("Messages", [])

    def delete_message_batch(self, queue_url: str, entries: list[dict]) -> dict:
        return self._call("DeleteMessageBatch", {"QueueUrl": queue_url, "Entries": entries})

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _call(self, operation: str, payload: dict, wait_s: float = 0) -> dict:
        body = json.dumps(payload).encode()
        request = AWSRequest(method="POST", url=self._url, data=body, headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AmazonSQS.{operation}"})
        self._signer.add_auth(request)
        headers = dict(request.headers.items())
        for attempt in (1, 2):
            reused = self._connection is not None and self._connection.sock is not None
            try:
                connection = self._connect()
                connection.sock.settimeout(wait_s + self._read_timeout_s)
                connection.request("POST", "/", body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException) as error:
                self.close()
                # A kept-alive connection the server had closed (it restarted, or dropped an idle
                # one) fails on first use: that one is opened again. A receive sent twice is
                # harmless (what the first took comes back after its visibility timeout), and
                # so is a delete.
                if attempt == 2 or not reused:
                    raise SqsError("Unreachable", f"{operation} failed: {type(error).__name__}: {error}") from None
        if response.status != 200:
            raise SqsError(*_error(data, response.status))
        try:
            return json.loads(data) if data else {}
        except ValueError:
            raise SqsError("BadResponse", f"{operation} answered {len(data)} bytes that are not JSON") from None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None or self._connection.sock is None:  # never opened, or closed by the server
            self.close()
            kind = http.client.HTTPSConnection if self._endpoint.scheme == "https" else http.client.HTTPConnection
            connection = kind(self._endpoint.hostname, self._endpoint.port, timeout=self._connect_timeout_s)
            connection.connect()
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._connection = connection
        return self._connection


def _error(data: bytes, status: int) -> tuple[str, str]:
    try:
        error = json.loads(data)
        code = str(error.get("__type", "")).rsplit("#", 1)[-1] or f"HTTP{status}"
        return code, str(error.get("message") or error.get("Message") or "")
    except (ValueError, AttributeError):
        return f"HTTP{status}", data[:200].decode("utf-8", "replace")
