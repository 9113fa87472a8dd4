"""What the event runner's own AWS clients share (sqs_client.py, stream_client.py): a JSON
protocol call (X-Amz-Target) signed with botocore's SigV4, on one kept-alive connection.

Why not boto3 there: the pollers are Lambda's service, not an SDK in a function, and on two
cores their CPU is the pipeline's (the figures: docs/ARCHITECTURE.md). One client per
thread: an http.client connection is not shared between threads."""

import http.client
import json
import socket
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


class ServiceError(Exception):
    """The endpoint could not be reached, or the service answered with an error."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


class JsonClient:
    error = ServiceError  # what a subclass raises: its own kind of ServiceError

    def __init__(self, endpoint_url: str, region: str, services: tuple[str, ...], access_key: str = "test",
                 secret_key: str = "test", connect_timeout_s: float = 1.0, read_timeout_s: float = 3.0):
        endpoint = urllib.parse.urlsplit(endpoint_url)
        if endpoint.scheme not in ("http", "https") or not endpoint.hostname:
            raise ValueError(f"not an http(s) endpoint: {endpoint_url!r}")
        self._endpoint = endpoint
        self._url = f"{endpoint.scheme}://{endpoint.netloc}/"
        credentials = Credentials(access_key, secret_key)
        self._signers = {service: SigV4Auth(credentials, service, region) for service in services}
        self._connect_timeout_s, self._read_timeout_s = connect_timeout_s, read_timeout_s
        self._connection: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def call(self, service: str, target: str, content_type: str, payload: dict, wait_s: float = 0,
             unsigned_headers: dict[str, str] | None = None) -> dict:
        """POST one operation; its answer as JSON. `wait_s`: how long the endpoint may hold it
        (a long poll). `unsigned_headers` go out after signing, so an endpoint that does not know
        them ignores them."""
        body = json.dumps(payload).encode()
        request = AWSRequest(method="POST", url=self._url, data=body, headers={
            "Content-Type": content_type, "X-Amz-Target": target})
        self._signers[service].add_auth(request)
        headers = {**dict(request.headers.items()), **(unsigned_headers or {})}
        operation = target.rsplit(".", 1)[-1]
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
                # one) fails on first use: that one is opened again. Each caller's operations are
                # safe to send twice (reads; a receive whose messages come back after their
                # visibility timeout; a delete; a send that is at least once anyway).
                if attempt == 2 or not reused:
                    raise self.error("Unreachable", f"{operation} failed: {type(error).__name__}: {error}") from None
        if response.status != 200:
            raise self.error(*_error(data, response.status))
        try:
            return json.loads(data) if data else {}
        except ValueError:
            raise self.error("BadResponse", f"{operation} answered {len(data)} bytes that are not JSON") from None

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
