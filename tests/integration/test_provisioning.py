"""Provisioning against the embedded moto server: complete, idempotent, and working."""

import json
import urllib.request

import pytest
from support import PROJECT_ROOT

from infra.aws import AwsClients
from infra.intrinsics import Resolver
from infra.provision import deployment_for, provision
from infra.template import load_template
from local.app.declaration import read_declaration

TEMPLATE = PROJECT_ROOT / "template.yaml"


@pytest.fixture
def aws(aws_url):
    # Every test starts from an empty endpoint.
    urllib.request.urlopen(urllib.request.Request(f"{aws_url}/moto-api/reset", method="POST"), timeout=10).close()
    return AwsClients(aws_url, "us-east-1")


def run(aws, secrets_file, stage="local"):
    template = load_template(TEMPLATE)
    resolver = Resolver(template, deployment_for(aws, "recipes-test", {"Stage": stage}), TEMPLATE)
    return provision(template, resolver, aws, secrets_file, read_declaration(TEMPLATE, template).secure_parameters), resolver


def snapshot(aws) -> dict:
    queues = {}
    for url in aws.sqs.list_queues().get("QueueUrls", []):
        attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        queues[url] = {k: v for k, v in attributes.items()
                       if k not in ("ApproximateNumberOfMessages", "LastModifiedTimestamp")}
    subscriptions = {s["SubscriptionArn"]: aws.sns.get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])["Attributes"]
                     for s in aws.sns.list_subscriptions()["Subscriptions"]}
    parameters = {p["Name"]: (p["Value"], p["Version"]) for p in
                  aws.ssm.get_parameters_by_path(Path="/", Recursive=True, WithDecryption=True)["Parameters"]}
    return {
        "topics": sorted(t["TopicArn"] for t in aws.sns.list_topics()["Topics"]),
        "queues": queues,
        "subscriptions": subscriptions,
        "parameters": parameters,
        "buckets": sorted(b["Name"] for b in aws.s3.list_buckets()["Buckets"]),
        "notifications": {b["Name"]: {k: v for k, v in aws.s3.get_bucket_notification_configuration(
            Bucket=b["Name"]).items() if k != "ResponseMetadata"} for b in aws.s3.list_buckets()["Buckets"]},
    }


def test_everything_declared_is_created(aws, tmp_path):
    report, resolver = run(aws, tmp_path / "secrets.json")
    assert report.updated == [] and report.unchanged == []
    state = snapshot(aws)
    assert state["topics"] == [resolver.resolve({"Ref": "EventsTopic"})]
    assert len(state["queues"]) == 4
    audit = state["queues"][resolver.resolve({"Ref": "AuditQueue"})]
    assert json.loads(audit["RedrivePolicy"]) == {
        "deadLetterTargetArn": resolver.resolve({"Fn::GetAtt": ["AuditDLQ", "Arn"]}), "maxReceiveCount": 5}
    assert "sns.amazonaws.com" in audit["Policy"]
    assert len(state["subscriptions"]) == 2
    uploads = resolver.resolve({"Ref": "UploadsBucket"})
    notification, = state["notifications"][uploads]["LambdaFunctionConfigurations"]
    assert notification["LambdaFunctionArn"] == resolver.resolve({"Fn::GetAtt": ["RecipeImageCheckFunction", "Arn"]})
    assert notification["Events"] == ["s3:ObjectCreated:*"]
    assert notification["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "recipes/"}]
    assert all(s["RawMessageDelivery"] == "true" for s in state["subscriptions"].values())
    assert state["parameters"]["/recipes/local/cache/ttl-seconds"][0] == "60"
    secret = aws.ssm.get_parameter(Name="/recipes/local/secrets/token-signing-key")["Parameter"]
    assert secret["Type"] == "SecureString"
    assert state["buckets"] == [resolver.resolve({"Ref": "UploadsBucket"})]


def test_running_twice_changes_nothing(aws, tmp_path):
    first, _ = run(aws, tmp_path / "secrets.json")
    before = snapshot(aws)
    second, _ = run(aws, tmp_path / "secrets.json")
    assert second.created == [] and second.updated == []
    assert sorted(second.unchanged) == sorted(first.created)
    assert snapshot(aws) == before


def test_a_value_changed_in_the_store_is_kept_and_drift_in_queues_is_repaired(aws, tmp_path):
    _, resolver = run(aws, tmp_path / "secrets.json")
    aws.ssm.put_parameter(Name="/recipes/local/cache/ttl-seconds", Value="5", Type="String", Overwrite=True)
    audit_url = resolver.resolve({"Ref": "AuditQueue"})
    aws.sqs.set_queue_attributes(QueueUrl=audit_url, Attributes={"VisibilityTimeout": "7"})

    report, _ = run(aws, tmp_path / "secrets.json")
    assert report.updated == ["queue recipes-local-audit"]
    assert aws.ssm.get_parameter(Name="/recipes/local/cache/ttl-seconds")["Parameter"]["Value"] == "5"
    attributes = aws.sqs.get_queue_attributes(QueueUrl=audit_url, AttributeNames=["VisibilityTimeout"])
    assert attributes["Attributes"]["VisibilityTimeout"] == "60"


def test_the_generated_secret_outlives_an_endpoint_that_forgets(aws, aws_url, tmp_path):
    secrets_file = tmp_path / "secrets.json"
    run(aws, secrets_file)
    name = "/recipes/local/secrets/token-signing-key"
    original = aws.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    assert len(original) >= 40
    assert secrets_file.stat().st_mode & 0o077 == 0  # owner-only

    urllib.request.urlopen(urllib.request.Request(f"{aws_url}/moto-api/reset", method="POST"), timeout=10).close()
    run(aws, secrets_file)
    assert aws.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == original

    run(aws, tmp_path / "other-secrets.json", stage="other")  # another stage gets its own
    assert aws.ssm.get_parameter(Name="/recipes/other/secrets/token-signing-key",
                                 WithDecryption=True)["Parameter"]["Value"] != original


def test_the_topic_fans_out_to_the_queues_through_the_filter(aws, tmp_path):
    _, resolver = run(aws, tmp_path / "secrets.json")
    topic = resolver.resolve({"Ref": "EventsTopic"})
    for event_type in ("recipe.created", "audit.only"):
        aws.sns.publish(TopicArn=topic, Message=json.dumps({"type": event_type}),
                        MessageAttributes={"type": {"DataType": "String", "StringValue": event_type}})

    def bodies(queue: str) -> list[str]:
        messages = aws.sqs.receive_message(QueueUrl=resolver.resolve({"Ref": queue}), MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", [])
        return sorted(json.loads(m["Body"])["type"] for m in messages)  # raw delivery: the message itself

    assert bodies("AuditQueue") == ["audit.only", "recipe.created"]
    assert bodies("CacheInvalidationQueue") == ["recipe.created"]
