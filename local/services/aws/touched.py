"""Which services' state a request to the AWS endpoint may change, told from the request
alone (its signing service, target and Action), so that only those are compared after it."""




# What a request to one service can change in others: an SNS publish delivers to SQS (and
# changes nothing of SNS but moto's record of sent messages, which is not kept), S3 and
# EventBridge notify queues. "sqs:items" is a change to the messages of queues only, the
# common case, compared without the queues themselves. A DynamoDB write changes nothing of
# the dynamodbstreams backend: moto keeps a stream's records in its table (dynamodb), and
# the streams backend holds only shard iterators, which are not kept (stream_wait.py).
DELIVERS_TO = {"sns": {"sqs:items"}, "s3": {"sqs:items"}, "events": {"sqs:items"}}
_SQS_MESSAGE_OPERATIONS = {"SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
                           "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"}
_READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Head", "BatchGet", "Query", "Scan")
ITEMS = ":items"
ALL = frozenset({"*"})  # a request whose service cannot be told: everything may have changed


def services_touched(method: str, target: str, headers, body: bytes) -> frozenset[str]:
    """The moto services whose state this request may change; empty for a read. A read is an
    operation named Get*, List*, Describe*, ... or a GET of a REST protocol; should a change
    ever hide behind such a name, the next change to that service writes it."""
    service = _signing_service(target, headers)
    operation = None if service == "s3" else _operation(target, headers, body)  # S3 is REST only
    if operation is not None:
        if operation.startswith(_READ_ONLY_PREFIXES):
            return frozenset()
    elif method in ("GET", "HEAD", "OPTIONS"):  # REST protocols (S3, Lambda, ...) and moto's own pages
        return frozenset()
    if service is None:
        return ALL
    if service == "sns" and operation in ("Publish", "PublishBatch"):
        return frozenset(DELIVERS_TO["sns"])
    if service == "sqs" and operation in _SQS_MESSAGE_OPERATIONS:
        return frozenset({"sqs" + ITEMS})
    return frozenset({service, *DELIVERS_TO.get(service, ())})


def _signing_service(target: str, headers) -> str | None:
    """The service named in the SigV4 credential scope (header, or query for a presigned URL)."""
    credential = headers.get("Authorization", "")
    marker = "Credential="
    if marker not in credential:
        query = target.partition("?")[2]
        credential, marker = query.replace("%2F", "/").replace("%2f", "/"), "X-Amz-Credential="
        if marker not in credential:
            return None
    scope = credential.split(marker, 1)[1].split(",", 1)[0].split("&", 1)[0].split("/")
    return scope[3] if len(scope) >= 5 else None


def _operation(target: str, headers, body: bytes) -> str | None:
    """The operation of a JSON (X-Amz-Target) or query (Action=) protocol request."""
    amz_target = headers.get("X-Amz-Target")
    if amz_target:
        return amz_target.rsplit(".", 1)[-1]
    form = headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
    for text in (target.partition("?")[2], body[:512].decode("latin-1") if body and form else ""):
        for pair in text.split("&"):
            if pair.startswith("Action="):
                return pair[len("Action="):]
    return None


