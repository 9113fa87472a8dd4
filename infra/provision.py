"""Create, idempotently, the AWS resources template.yaml declares, on the AWS endpoint in use.

The same boto3 calls work against moto's server and LocalStack, so nothing here knows which
one answers. Running it twice changes nothing: what exists and matches is left alone, what
exists and differs from the template is brought in line, except SSM values, which belong to
whoever last set them (that is the point of a configuration store).
"""

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from .aws import AwsClients
from .errors import ProvisioningError
from .intrinsics import Deployment, Resolver
from .provision_events import inline_subscriptions, provision_events
from .template import resources_of_type

# CloudFormation property -> SQS attribute (attributes are strings on the wire).
_QUEUE_ATTRIBUTES = {
    "VisibilityTimeout": "VisibilityTimeout",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "DelaySeconds": "DelaySeconds",
    "MaximumMessageSize": "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy": "RedrivePolicy",
    "FifoQueue": "FifoQueue",
    "ContentBasedDeduplication": "ContentBasedDeduplication",
}


@dataclass
class Report:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged"


def deployment_for(clients: AwsClients, stack_name: str, overrides: dict[str, str] | None = None) -> Deployment:
    """The Deployment the endpoint answers for (moto and LocalStack use different accounts)."""
    try:
        account = clients.account_id()
    except (BotoCoreError, ClientError) as error:
        raise ProvisioningError(f"AWS endpoint {clients.endpoint_url or 'AWS'} did not answer: {error}") from None
    return Deployment(region=clients.region, account_id=account, stack_name=stack_name,
                      endpoint_url=clients.endpoint_url, parameter_overrides=dict(overrides or {}))


def provision(template: dict, resolver: Resolver, clients: AwsClients, secrets_file: Path,
              secure_parameters: list[dict] = ()) -> Report:
    """Bring the endpoint in line with the template; returns what was done to each resource.
    `secure_parameters` are SecureStrings to generate once ({"Name", "GenerateBytes",
    "Description"}; CloudFormation cannot create them, so an app declares them apart)."""
    report = Report()
    template = resolver.template  # what the Conditions leave of it
    resources = template["Resources"]
    by_type = lambda kind: resources_of_type(template, kind)  # noqa: E731
    properties = lambda name: resolver.resolve(resources[name].get("Properties", {}), name)  # noqa: E731
    try:
        for name in by_type("AWS::SNS::Topic"):
            _topic(clients, resolver.physical_name(name), report)
        # Dead-letter queues first: a RedrivePolicy names its DLQ's ARN, which must exist.
        queues = sorted(by_type("AWS::SQS::Queue"), key=lambda n: "RedrivePolicy" in resources[n].get("Properties", {}))
        for name in queues:
            _queue(clients, resolver.physical_name(name), properties(name), report)
        for name in by_type("AWS::SQS::QueuePolicy"):
            _queue_policy(clients, name, properties(name), report)
        for name in by_type("AWS::SNS::Subscription"):
            _subscription(clients, name, properties(name), report)
        for name in by_type("AWS::SNS::Topic"):
            for n, inline in enumerate(inline_subscriptions(resolver.ref(name), properties(name))):
                _subscription(clients, f"{name}.Subscription[{n}]", inline, report)
        for name in by_type("AWS::SSM::Parameter"):
            _parameter(clients, properties(name), report)
        for spec in secure_parameters:
            _secure_parameter(clients, str(resolver.resolve(spec["Name"])), spec, secrets_file, report)
        for name in by_type("AWS::S3::Bucket"):
            _bucket(clients, resolver.physical_name(name), properties(name), report)
        provision_events(clients, resolver, by_type, properties, report)
        for child in (resolver.children or {}).values():  # nested stacks: their resources, under their names
            nested = provision(child.template, child, clients, secrets_file)
            report.created += nested.created
            report.updated += nested.updated
            report.unchanged += nested.unchanged
    except EndpointConnectionError as error:
        raise ProvisioningError(f"AWS endpoint unreachable: {error}") from None
    except ClientError as error:
        raise ProvisioningError(f"AWS refused a provisioning call: {error}") from None
    return report


def _topic(clients: AwsClients, name: str, report: Report) -> None:
    existing = {t["TopicArn"].rsplit(":", 1)[1] for page in clients.sns.get_paginator("list_topics").paginate()
                for t in page["Topics"]}
    if name in existing:
        report.unchanged.append(f"topic {name}")
        return
    clients.sns.create_topic(Name=name)
    report.created.append(f"topic {name}")


def _queue(clients: AwsClients, name: str, props: dict, report: Report) -> None:
    wanted = {attr: _attribute_text(props[prop]) for prop, attr in _QUEUE_ATTRIBUTES.items() if prop in props}
    try:
        url = clients.sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as error:
        if not _is_missing_queue(error):
            raise
        clients.sqs.create_queue(QueueName=name, Attributes=wanted)
        report.created.append(f"queue {name}")
        return
    current = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
    differing = {k: v for k, v in wanted.items() if not _same_attribute(current.get(k), v)}
    if differing:
        clients.sqs.set_queue_attributes(QueueUrl=url, Attributes=differing)
        report.updated.append(f"queue {name}")
    else:
        report.unchanged.append(f"queue {name}")


def _queue_policy(clients: AwsClients, logical_id: str, props: dict, report: Report) -> None:
    policy = json.dumps(props["PolicyDocument"], sort_keys=True)
    outcome = report.unchanged
    for url in props["Queues"]:
        current = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
        if not _same_attribute(current.get("Policy"), policy):
            clients.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
            outcome = report.updated if "Policy" in current else report.created
    outcome.append(f"queue policy {logical_id}")


def _subscription(clients: AwsClients, logical_id: str, props: dict, report: Report) -> None:
    topic_arn, protocol, endpoint = props["TopicArn"], props["Protocol"], props["Endpoint"]
    wanted = {}
    if "RawMessageDelivery" in props:
        wanted["RawMessageDelivery"] = _attribute_text(props["RawMessageDelivery"])
    if "FilterPolicy" in props:
        wanted["FilterPolicy"] = json.dumps(props["FilterPolicy"], sort_keys=True)
        wanted["FilterPolicyScope"] = props.get("FilterPolicyScope", "MessageAttributes")
    if "RedrivePolicy" in props:
        wanted["RedrivePolicy"] = json.dumps(props["RedrivePolicy"], sort_keys=True)
    existing = [s for page in clients.sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
                for s in page["Subscriptions"] if s["Protocol"] == protocol and s["Endpoint"] == endpoint]
    if not existing:
        clients.sns.subscribe(TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint,
                              Attributes=wanted, ReturnSubscriptionArn=True)
        report.created.append(f"subscription {logical_id}")
        return
    arn = existing[0]["SubscriptionArn"]
    current = clients.sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    changed = False
    for key, value in wanted.items():
        if not _same_attribute(current.get(key), value):
            clients.sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName=key, AttributeValue=value)
            changed = True
    (report.updated if changed else report.unchanged).append(f"subscription {logical_id}")


def _parameter(clients: AwsClients, props: dict, report: Report) -> None:
    name = props["Name"]
    extra = {"Description": props["Description"]} if "Description" in props else {}
    try:
        clients.ssm.put_parameter(Name=name, Value=str(props["Value"]), Type=props["Type"], Overwrite=False, **extra)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ParameterAlreadyExists":
            raise
        report.unchanged.append(f"parameter {name}")
        return
    report.created.append(f"parameter {name}")


def _secure_parameter(clients: AwsClients, name: str, spec: dict, secrets_file: Path, report: Report) -> None:
    """A secret is generated once. The value is also kept in secrets_file, so an endpoint that
    forgets its state on restart (moto's server does) gets the same secret back, and tokens
    signed before the restart stay valid."""
    try:
        clients.ssm.get_parameter(Name=name)
        report.unchanged.append(f"secure parameter {name}")
        return
    except ClientError as error:
        if error.response["Error"]["Code"] != "ParameterNotFound":
            raise
    kept = _read_secrets(secrets_file)
    value = kept.get(name) or secrets.token_urlsafe(int(spec.get("GenerateBytes", 32)))
    if kept.get(name) != value:
        kept[name] = value
        _write_secrets(secrets_file, kept)
    clients.ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=False,
                              Description=spec.get("Description", "generated secret"))
    report.created.append(f"secure parameter {name}")


def _bucket(clients: AwsClients, name: str, props: dict, report: Report) -> None:
    try:
        clients.s3.head_bucket(Bucket=name)
        report.unchanged.append(f"bucket {name}")
        return
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    location = {} if clients.region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": clients.region}}
    clients.s3.create_bucket(Bucket=name, **location)
    if "PublicAccessBlockConfiguration" in props:
        block = {key: bool(value) for key, value in props["PublicAccessBlockConfiguration"].items()}
        clients.s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
    report.created.append(f"bucket {name}")


def _attribute_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _same_attribute(current: str | None, wanted: str) -> bool:
    """Compare attribute values the way AWS means them: JSON documents by content and with
    numbers and strings alike (SQS gives maxReceiveCount back as either)."""
    if current is None:
        return False
    if current == wanted:
        return True
    try:
        return _loosen(json.loads(current)) == _loosen(json.loads(wanted))
    except (TypeError, ValueError):
        return current.lower() == wanted.lower()


def _loosen(value):
    if isinstance(value, dict):
        return {k: _loosen(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_loosen(v) for v in value]
    return str(value).lower() if isinstance(value, bool) else str(value)


def _is_missing_queue(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    return code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


def _read_secrets(path: Path) -> dict[str, str]:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}


def _write_secrets(path: Path, values: dict[str, str]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    # Created owner-only before the secret is written into it.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle, indent=2)
    os.replace(temporary, path)
