"""The SQS calls an event source mapping's poller makes (ReceiveMessage and
DeleteMessageBatch; SendMessage for Lambda's asynchronous queues), over SQS's JSON protocol on one kept-alive connection, signed with
botocore's SigV4 so that an endpoint which checks signatures accepts them.

Why not boto3 here, when the functions use boto3: on AWS the pollers are Lambda's own
service, not an SDK client inside anyone's function, so nothing a function sees changes.
And on two cores the pollers' CPU is the pipeline's: through boto3 a receive and a delete
cost about twice the client CPU, most of it botocore's generic request machinery (the
figures: docs/ARCHITECTURE.md). One client per poller thread: an
http.client connection is not shared between threads.
"""

from local.events.json_client import JsonClient, ServiceError


class SqsError(ServiceError):
    """The queue could not be reached, or SQS answered with an error."""


class SqsClient(JsonClient):
    error = SqsError

    def __init__(self, endpoint_url: str, region: str, access_key: str = "test", secret_key: str = "test",
                 connect_timeout_s: float = 1.0, read_timeout_s: float = 3.0):
        super().__init__(endpoint_url, region, ("sqs",), access_key, secret_key, connect_timeout_s, read_timeout_s)

    def receive_message(self, queue_url: str, max_messages: int, wait_s: int, attribute_names: list[str],
                        message_attribute_names: list[str]) -> list[dict]:
        answer = self._call("ReceiveMessage", {
            "QueueUrl": queue_url, "MaxNumberOfMessages": max_messages, "WaitTimeSeconds": wait_s,
            "AttributeNames": attribute_names, "MessageAttributeNames": message_attribute_names}, wait_s)
        return answer.get("Messages", [])

    def send_message(self, queue_url: str, body: str, attributes: dict | None = None, delay_s: int = 0) -> str:
        """The message's id. Sent again on a dropped connection, like the others: at least once."""
        request = {"QueueUrl": queue_url, "MessageBody": body, "MessageAttributes": attributes or {}}
        if delay_s:
            request["DelaySeconds"] = delay_s
        return self._call("SendMessage", request)["MessageId"]

    def change_message_visibility(self, queue_url: str, receipt_handle: str, timeout_s: int) -> None:
        self._call("ChangeMessageVisibility", {"QueueUrl": queue_url, "ReceiptHandle": receipt_handle,
                                               "VisibilityTimeout": timeout_s})

    def delete_message_batch(self, queue_url: str, entries: list[dict]) -> dict:
        return self._call("DeleteMessageBatch", {"QueueUrl": queue_url, "Entries": entries})

    def _call(self, operation: str, payload: dict, wait_s: float = 0) -> dict:
        return self.call("sqs", f"AmazonSQS.{operation}", "application/x-amz-json-1.0", payload, wait_s)
