"""The records AWS sends a Lambda function, as pure builders: an SNS notification and an S3
event notification. The endpoint's patches (sns_lambda.py, s3_lambda.py) fill them from
moto's objects; `generate-event` and the event sources build the same shapes, so a function
sees one format whichever way it is called. Nothing here imports moto.

The fields follow the Lambda developer guide's SNS sample event and the S3 user guide's
"Event message structure", and each validates with Powertools' parser models (SnsModel,
S3Model). Fields AWS fills from its own machinery (the SNS signature, S3's request and host
ids, principal ids) are well-formed stand-ins: nothing can verify them locally.
"""

import base64
import hashlib
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import quote_plus

SNS_EVENT_VERSION = "1.0"
# The S3 user guide now shows 2.5 (one version for every event type since 2.4); 2.1 is
# what the general events carried before and what most recorded samples show.
S3_EVENT_VERSION = "2.1"
LOCAL_SOURCE_IP = "127.0.0.1"


def iso_ms(now: float) -> str:
    """AWS's timestamp: ISO 8601 in UTC with milliseconds and a Z (2019-01-02T12:45:07.000Z)."""
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _region_of(arn: str) -> str:
    return arn.split(":")[3]


# -- SNS -------------------------------------------------------------------------------------

def sns_signature(*parts: str) -> str:
    """A stand-in for SNS's base64 RSA signature: the same length (2048-bit key), derived
    from the message so that it is stable for one message. Signing for real would cost a key
    and an RSA operation per delivery, and nothing local holds the certificate to check it."""
    digest = hashlib.sha512("\n".join(parts).encode()).digest()
    return base64.b64encode(digest * 4).decode("ascii")


def sns_record(*, message: str, message_id: str, topic_arn: str, subscription_arn: str,
               subject: str | None = None, attributes: dict | None = None, now: float | None = None) -> dict:
    """One record of the event SNS invokes a function with. `attributes` are the message's
    attributes as SNS keeps them: {name: {"Type": ..., "Value": ...}} (Binary in base64)."""
    now = time.time() if now is None else now
    region = _region_of(topic_arn)
    timestamp = iso_ms(now)
    cert = hashlib.md5(topic_arn.encode()).hexdigest()
    return {
        "EventSource": "aws:sns",
        "EventVersion": SNS_EVENT_VERSION,
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": topic_arn,
            "Subject": subject,  # null when the publisher gave none, as on AWS
            "Message": message,
            "Timestamp": timestamp,
            "SignatureVersion": "1",
            "Signature": sns_signature(message, message_id, timestamp, topic_arn),
            "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-{cert}.pem",
            "UnsubscribeUrl": (f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
                               f"&SubscriptionArn={subscription_arn}"),
            "MessageAttributes": {name: {"Type": value["Type"], "Value": value["Value"]}
                                  for name, value in (attributes or {}).items()},
        },
    }


def sns_event(**record) -> dict:
    """The whole event: SNS invokes a function with one record at a time."""
    return {"Records": [sns_record(**record)]}


# -- S3 --------------------------------------------------------------------------------------

def s3_key(name: str) -> str:
    """An object key as S3 writes it in an event: URL-encoded as a form value is (a space
    becomes "+", "+" becomes "%2B"), with "/" kept."""
    return quote_plus(name, safe="/")


def s3_principal(account_id: str) -> str:
    """A stable opaque principal id for an account (AWS shows ids such as A3NL1KOZZKExample)."""
    return "A" + hashlib.sha1(account_id.encode()).hexdigest()[:13].upper()


def s3_request_ids() -> tuple[str, str]:
    """(x-amz-request-id, x-amz-id-2) in S3's forms: 16 hex digits, and a base64 host id."""
    request_id = uuid.uuid4().hex[:16].upper()
    host_id = base64.b64encode(hashlib.sha384(request_id.encode()).digest()).decode("ascii")
    return request_id, host_id


def is_removal(event_name: str) -> bool:
    """Events for an object that is gone: their records carry neither size nor eTag."""
    return event_name.removeprefix("s3:").startswith(("ObjectRemoved:", "LifecycleExpiration:"))


def s3_record(*, event_name: str, region: str, bucket: str, key: str, configuration_id: str,
              account_id: str, sequencer: str, size: int | None = None, etag: str | None = None,
              version_id: str | None = None, bucket_arn: str | None = None, now: float | None = None,
              request_ids: tuple[str, str] | None = None, source_ip: str = LOCAL_SOURCE_IP) -> dict:
    """One record of an S3 event notification. `event_name` with or without "s3:" (the record
    has it without), `key` as stored (it is encoded here), `etag` with or without quotes,
    `version_id` only for a versioned bucket."""
    now = time.time() if now is None else now
    request_id, host_id = request_ids or s3_request_ids()
    name = event_name.removeprefix("s3:")
    obj: dict = {"key": s3_key(key)}
    if not is_removal(name):
        obj["size"] = size or 0
        obj["eTag"] = (etag or "").strip('"')
    if version_id is not None:
        obj["versionId"] = version_id
    obj["sequencer"] = sequencer
    principal = s3_principal(account_id)
    return {
        "eventVersion": S3_EVENT_VERSION,
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": iso_ms(now),
        "eventName": name,
        "userIdentity": {"principalId": f"AWS:{principal}"},
        "requestParameters": {"sourceIPAddress": source_ip},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": principal},
                       "arn": bucket_arn or f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }


def s3_event(**record) -> dict:
    """The whole event: S3 sends one record per notification."""
    return {"Records": [s3_record(**record)]}
