"""S3 → Lambda inside the endpoint: bucket notifications with LambdaFunctionConfigurations
put on the function's internal queue (async_queue.py), as S3 invokes Lambda asynchronously.

moto 5.2.5 matches the notifications correctly (`Notification.matches`: the event or its
`s3:ObjectCreated:*` / `s3:ObjectRemoved:*` wildcard, then the S3Key prefix and suffix on
the raw key) and fires on PUT and POST (a presigned PUT included), copy, multipart
completion, delete, DeleteObjects, tagging, ACL and restore. What it gets wrong:
- its record fails S3Model: no userIdentity, requestParameters, responseElements,
  bucket.ownerIdentity, sequencer or versionId, and a key encoded with "/" as %2F. The
  record is replaced by aws_shapes' (`_get_s3_event`), which also corrects what the bucket's
  SQS and SNS destinations receive;
- it looks the function up in its own Lambda backend and drops every error silently
  (`_invoke_awslambda`): here the event is enqueued, and a function with no queue here gets
  one line in aws.log and nothing else, as S3 drops a notification to a missing function;
- a delete in a versioned bucket (a delete marker) fires nothing, where S3 sends
  `s3:ObjectRemoved:DeleteMarkerCreated` (`S3Backend._set_delete_marker`, the one place a
  marker is made);
- completing a multipart upload also fires `ObjectCreated:Put` and `ObjectTagging:Put`
  (it stores the object through put_object and put_object_tagging), so an
  `s3:ObjectCreated:*` function would run twice: during `complete_multipart_upload` only
  its own `ObjectCreated:CompleteMultipartUpload` is sent.
One event goes to every matching destination with the same time, request ids and
sequencer (`send_event` stamps it); the sequencer grows with every event, so it orders the
events of any one key, as S3's does.
"""

import json
import sys
import threading
import time
import traceback

from . import aws_shapes, targets
from .async_queue import S3, AsyncInvocation, function_of, queue_name

_reported: set[str] = set()
_current = threading.local()  # the stamp of the event send_event is delivering


def _say(line: str) -> None:
    print(f"local AWS endpoint: {line}", file=sys.stderr, flush=True)


def _report_once(kind: str) -> None:
    """A fault of ours: logged with its traceback the first time, never raised into moto
    (S3 notifications are asynchronous on AWS: they never fail the request)."""
    if kind not in _reported:
        _reported.add(kind)
        _say(f"S3 notification failed ({kind}):\n{traceback.format_exc()}")


class _Sequencer:
    """S3's sequencer: a hex string that grows with each event of a key. A clock in
    nanoseconds, kept strictly increasing, grows for every key at once and keeps growing
    across restarts of the endpoint, without any state of its own."""

    def __init__(self):
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return f"{self._last:018X}"


sequencer = _Sequencer()


def apply(patch) -> None:
    from moto.s3 import models, notifications

    patch(notifications, "send_event", _stamping)
    patch(notifications, "_get_s3_event", _shaped_as_aws)
    patch(notifications, "_invoke_awslambda", lambda original: _invoke)
    patch(models.S3Backend, "_set_delete_marker", _announcing_delete_markers)
    patch(models.S3Backend, "complete_multipart_upload", _one_event_per_upload)


def _stamping(original):
    def send_event(account_id, event_name, bucket, key):
        name = getattr(event_name, "value", event_name)
        if getattr(_current, "completing", False) and name != "s3:ObjectCreated:CompleteMultipartUpload":
            return None  # a step of the completion, not an event of S3's
        if bucket.notification_configuration is None:  # the common case: nothing to stamp
            return original(account_id, event_name, bucket, key)
        _current.stamp = (time.time(), aws_shapes.s3_request_ids(), sequencer.next())
        try:
            return original(account_id, event_name, bucket, key)
        finally:
            _current.stamp = None

    return send_event


def _shaped_as_aws(original):
    def _get_s3_event(event_name, bucket, key, notification_id):
        try:
            return _s3_event(event_name, bucket, key, notification_id)
        except Exception as error:  # noqa: BLE001 - moto's own record rather than a failed request
            _report_once(type(error).__name__)
            return original(event_name, bucket, key, notification_id)

    return _get_s3_event


def _s3_event(event_name, bucket, key, notification_id) -> dict:
    """The event for one notification configuration, as S3 sends it."""
    now, request_ids, sequence = getattr(_current, "stamp", None) or (
        time.time(), aws_shapes.s3_request_ids(), sequencer.next())
    name = getattr(event_name, "value", event_name)  # moto passes its str Enum
    version = getattr(key, "version_id", None)
    etag = getattr(key, "etag", None) if not aws_shapes.is_removal(name) else None
    return aws_shapes.s3_event(
        event_name=name, region=bucket.region_name, bucket=bucket.name, bucket_arn=bucket.arn, key=key.name,
        configuration_id=notification_id, account_id=bucket.account_id, sequencer=sequence,
        size=getattr(key, "size", None), etag=etag, version_id=version if version not in (None, "null") else None,
        now=now, request_ids=request_ids)


def _invoke(account_id, event_body, fn_arn, region_name) -> None:
    """moto.s3.notifications._invoke_awslambda: the event on the function's queue."""
    try:
        record = event_body["Records"][0]
        parts = fn_arn.split(":")
        function = function_of(fn_arn)
        account = parts[4] if len(parts) >= 7 and parts[4] else account_id
        region = parts[3] if len(parts) >= 7 and parts[3] else region_name
        invocation = AsyncInvocation(payload=json.dumps(event_body), source=S3,
                                     source_arn=record["s3"]["bucket"]["arn"])
        if function and targets.enqueue(account, region, function, invocation):
            return
        _say(f"S3 notification {record['eventName']} of s3://{record['s3']['bucket']['name']}/"
             f"{record['s3']['object']['key']} dropped: no function {fn_arn} here "
             f"(no queue {queue_name(function or '?')})")
    except Exception as error:  # noqa: BLE001 - see _report_once
        _report_once(type(error).__name__)


def _announcing_delete_markers(original):
    def _set_delete_marker(self, bucket_name, key_name):
        marker = original(self, bucket_name, key_name)
        try:
            from moto.s3 import notifications

            notifications.send_event(self.account_id,
                                     notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT,
                                     self.get_bucket(bucket_name), marker)
        except Exception as error:  # noqa: BLE001 - the delete itself has happened: never undo it
            _report_once(type(error).__name__)
        return marker

    return _set_delete_marker


def _one_event_per_upload(original):
    def complete_multipart_upload(self, *args, **kwargs):
        _current.completing = True
        try:
            return original(self, *args, **kwargs)
        finally:
            _current.completing = False

    return complete_multipart_upload
