"""The records AWS sends a function (local/services/aws/aws_shapes.py): each validates with
Powertools' parser model for its source, and carries what AWS's own records carry."""

import re

import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model, SnsModel

from local.services.aws import aws_shapes

TOPIC = "arn:aws:sns:eu-west-1:123456789012:recipes"
SUBSCRIPTION = TOPIC + ":21be56ed-a058-49f5-8c98-aedd2564c486"
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _sns(**overrides) -> dict:
    record = dict(message="hello", message_id="95df01b4-ee98-5cb9-9903-4c221d41eb5e", topic_arn=TOPIC,
                  subscription_arn=SUBSCRIPTION, now=1546433107.0)
    return aws_shapes.sns_event(**{**record, **overrides})


def test_an_sns_event_validates_and_carries_the_message_as_published():
    event = _sns(subject="Order", attributes={
        "kind": {"Type": "String", "Value": "created"}, "count": {"Type": "Number", "Value": "3"},
        "blob": {"Type": "Binary", "Value": "AAEC"}})
    parsed = SnsModel(**event).Records[0]
    assert parsed.EventSource == "aws:sns" and parsed.EventVersion == "1.0"
    assert parsed.EventSubscriptionArn == SUBSCRIPTION
    sns = event["Records"][0]["Sns"]
    assert sns["Type"] == "Notification" and sns["Message"] == "hello" and sns["Subject"] == "Order"
    assert sns["MessageId"] == "95df01b4-ee98-5cb9-9903-4c221d41eb5e" and sns["TopicArn"] == TOPIC
    assert sns["Timestamp"] == "2019-01-02T12:45:07.000Z"
    assert sns["MessageAttributes"] == {"kind": {"Type": "String", "Value": "created"},
                                        "count": {"Type": "Number", "Value": "3"},
                                        "blob": {"Type": "Binary", "Value": "AAEC"}}
    assert sns["UnsubscribeUrl"].startswith("https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe")
    assert sns["UnsubscribeUrl"].endswith(SUBSCRIPTION)
    assert re.fullmatch(r"https://sns\.eu-west-1\.amazonaws\.com/SimpleNotificationService-[0-9a-f]{32}\.pem",
                        sns["SigningCertUrl"])
    assert sns["SignatureVersion"] == "1" and len(sns["Signature"]) == 344  # base64 of a 2048-bit signature


def test_an_sns_event_without_subject_or_attributes_has_a_null_subject_and_no_attributes():
    sns = _sns()["Records"][0]["Sns"]
    assert sns["Subject"] is None and sns["MessageAttributes"] == {}
    assert SnsModel(**_sns()).Records[0].Sns.Subject is None


def test_timestamps_are_iso_with_milliseconds_in_utc():
    assert aws_shapes.iso_ms(0.25) == "1970-01-01T00:00:00.250Z"
    assert ISO_MS.fullmatch(_sns(now=None)["Records"][0]["Sns"]["Timestamp"])


def _s3(event_name="s3:ObjectCreated:Put", key="recipes/a.jpg", **overrides) -> dict:
    record = dict(event_name=event_name, region="eu-west-1", bucket="images", key=key, configuration_id="images-put",
                  account_id="123456789012", sequencer="0018EE2C11FEE047E0", size=1305107,
                  etag='"b21b84d653bb07b05b1e6b33684dc11b"', now=1546433107.0)
    return aws_shapes.s3_event(**{**record, **overrides})


def test_an_s3_event_validates_and_carries_what_s3_sends():
    event = _s3()
    S3Model(**event)
    record = event["Records"][0]
    assert record["eventVersion"] == "2.1" and record["eventSource"] == "aws:s3"
    assert record["awsRegion"] == "eu-west-1" and record["eventTime"] == "2019-01-02T12:45:07.000Z"
    assert record["eventName"] == "ObjectCreated:Put"  # without "s3:", unlike the configuration's names
    assert record["userIdentity"]["principalId"].startswith("AWS:")
    assert record["requestParameters"] == {"sourceIPAddress": "127.0.0.1"}
    assert re.fullmatch(r"[0-9A-F]{16}", record["responseElements"]["x-amz-request-id"])
    assert record["responseElements"]["x-amz-id-2"]
    s3 = record["s3"]
    assert s3["s3SchemaVersion"] == "1.0" and s3["configurationId"] == "images-put"
    assert s3["bucket"]["name"] == "images" and s3["bucket"]["arn"] == "arn:aws:s3:::images"
    assert s3["bucket"]["ownerIdentity"]["principalId"] == record["userIdentity"]["principalId"][len("AWS:"):]
    assert s3["object"] == {"key": "recipes/a.jpg", "size": 1305107, "eTag": "b21b84d653bb07b05b1e6b33684dc11b",
                            "sequencer": "0018EE2C11FEE047E0"}


@pytest.mark.parametrize("key, encoded", [
    ("recipes/my photo.jpg", "recipes/my+photo.jpg"),
    ("recipes/a+b.jpg", "recipes/a%2Bb.jpg"),
    ("a/b/c=d&e.txt", "a/b/c%3Dd%26e.txt"),
    ("café/ñ.png", "caf%C3%A9/%C3%B1.png"),
    ("100%.txt", "100%25.txt"),
])
def test_keys_are_url_encoded_as_s3_encodes_them(key, encoded):
    assert aws_shapes.s3_key(key) == encoded
    assert _s3(key=key)["Records"][0]["s3"]["object"]["key"] == encoded


@pytest.mark.parametrize("event_name", ["s3:ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated",
                                        "s3:LifecycleExpiration:Delete"])
def test_removed_records_carry_no_size_or_etag_and_still_validate(event_name):
    event = _s3(event_name=event_name)
    S3Model(**event)
    obj = event["Records"][0]["s3"]["object"]
    assert "size" not in obj and "eTag" not in obj
    assert obj["sequencer"] == "0018EE2C11FEE047E0"


def test_the_version_is_given_only_for_a_versioned_object():
    assert "versionId" not in _s3()["Records"][0]["s3"]["object"]
    versioned = _s3(version_id="096fKKXTRTtl3on89fVO.nfljtsv6qko")
    S3Model(**versioned)
    assert versioned["Records"][0]["s3"]["object"]["versionId"] == "096fKKXTRTtl3on89fVO.nfljtsv6qko"


def test_an_empty_object_has_size_zero_and_the_bucket_arn_can_be_given():
    event = _s3(size=0, bucket_arn="arn:aws-cn:s3:::images")
    S3Model(**event)
    assert event["Records"][0]["s3"]["object"]["size"] == 0
    assert event["Records"][0]["s3"]["bucket"]["arn"] == "arn:aws-cn:s3:::images"


def test_request_ids_are_fresh_per_event_unless_given():
    assert _s3()["Records"][0]["responseElements"] != _s3()["Records"][0]["responseElements"]
    given = _s3(request_ids=("0123456789ABCDEF", "aG9zdA=="))["Records"][0]["responseElements"]
    assert given == {"x-amz-request-id": "0123456789ABCDEF", "x-amz-id-2": "aG9zdA=="}
