"""Create, idempotently, what carries events in the template: DynamoDB tables (with their
streams), Kinesis streams, EventBridge buses and rules with their targets, a topic's inline
subscriptions, and buckets' notification configurations. provision.py calls it; the same
rules apply (what exists and matches is left alone, what differs is brought in line)."""

import json

from botocore.exceptions import ClientError

# CloudFormation's properties of a table that CreateTable takes as they are.
_TABLE_PROPERTIES = ("AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput",
                     "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification", "SSESpecification")


def provision_events(clients, resolver, by_type, properties, report) -> None:
    for name in by_type("AWS::DynamoDB::Table"):
        _table(clients, resolver.physical_name(name), properties(name), report)
    for name in by_type("AWS::Kinesis::Stream"):
        _stream(clients, resolver.physical_name(name), properties(name), report)
    for name in by_type("AWS::Events::EventBus"):
        _bus(clients, resolver.physical_name(name), report)
    for name in by_type("AWS::Events::Rule"):
        _rule(clients, resolver.physical_name(name), properties(name), report)
    for name in by_type("AWS::S3::Bucket"):
        configuration = properties(name).get("NotificationConfiguration")
        if configuration:
            _notifications(clients, resolver.physical_name(name), configuration, report)


def inline_subscriptions(topic_arn: str, props: dict) -> list[dict]:
    """An AWS::SNS::Topic's `Subscription` list, as AWS::SNS::Subscription properties."""
    return [{"TopicArn": topic_arn, "Protocol": entry.get("Protocol"), "Endpoint": entry.get("Endpoint")}
            for entry in props.get("Subscription") or [] if isinstance(entry, dict)]


def _table(clients, name: str, props: dict, report) -> None:
    wanted_stream = props.get("StreamSpecification")
    try:
        current = clients.dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        given = {key: props[key] for key in _TABLE_PROPERTIES if key in props}
        if wanted_stream:
            given["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": wanted_stream["StreamViewType"]}
        if "ProvisionedThroughput" not in given and given.get("BillingMode") != "PROVISIONED":
            given["BillingMode"] = "PAY_PER_REQUEST"  # CloudFormation's default when none is given
        clients.dynamodb.create_table(TableName=name, **_numbers(given))
        report.created.append(f"table {name}")
        return
    have = current.get("StreamSpecification") or {}
    if wanted_stream and have.get("StreamViewType") != wanted_stream.get("StreamViewType"):
        if have.get("StreamEnabled"):  # DynamoDB changes a view type only by turning the stream off first
            clients.dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
        clients.dynamodb.update_table(TableName=name, StreamSpecification={
            "StreamEnabled": True, "StreamViewType": wanted_stream["StreamViewType"]})
        report.updated.append(f"table {name}")
    else:
        report.unchanged.append(f"table {name}")


def _numbers(value):
    """CloudFormation gives numbers as strings at times (`ReadCapacityUnits: "5"`); the API wants numbers."""
    if isinstance(value, dict):
        return {key: int(item) if key.endswith("CapacityUnits") else _numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    return value


def _stream(clients, name: str, props: dict, report) -> None:
    try:
        clients.kinesis.describe_stream_summary(StreamName=name)
        report.unchanged.append(f"kinesis stream {name}")
        return
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    mode = (props.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
    # An on-demand stream starts with four shards on AWS; a provisioned one has ShardCount.
    shards = int(props.get("ShardCount", 4 if mode == "ON_DEMAND" else 1))
    clients.kinesis.create_stream(StreamName=name, ShardCount=shards)
    report.created.append(f"kinesis stream {name}")


def _bus(clients, name: str, report) -> None:
    try:
        clients.events.describe_event_bus(Name=name)
        report.unchanged.append(f"event bus {name}")
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        clients.events.create_event_bus(Name=name)
        report.created.append(f"event bus {name}")


def _rule(clients, name: str, props: dict, report) -> None:
    bus = str(props.get("EventBusName") or "default").rsplit("/", 1)[-1]
    wanted = {"Name": name, "EventBusName": bus, "State": str(props.get("State", "ENABLED")).upper()}
    if "EventPattern" in props:
        pattern = props["EventPattern"]
        wanted["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern, sort_keys=True)
    if "ScheduleExpression" in props:
        wanted["ScheduleExpression"] = props["ScheduleExpression"]
    if "Description" in props:
        wanted["Description"] = props["Description"]
    targets = [_target(target) for target in props.get("Targets") or []]
    try:
        current = clients.events.describe_rule(Name=name, EventBusName=bus)
        have = clients.events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        current, have = None, []
    same_rule = current is not None and all(_same(current.get(key), value) for key, value in wanted.items())
    if same_rule and _by_id(have) == _by_id(targets):
        report.unchanged.append(f"rule {name}")
        return
    clients.events.put_rule(**wanted)
    stale = set(_by_id(have)) - set(_by_id(targets))
    if stale:
        clients.events.remove_targets(Rule=name, EventBusName=bus, Ids=sorted(stale))
    if targets:
        clients.events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    (report.created if current is None else report.updated).append(f"rule {name}")


def _target(target: dict) -> dict:
    shaped = {key: target[key] for key in ("Id", "Arn", "Input", "InputPath", "RoleArn", "RetryPolicy",
                                           "DeadLetterConfig") if key in target}
    if "InputTransformer" in target:
        transformer = dict(target["InputTransformer"])
        template = transformer.get("InputTemplate")
        transformer["InputTemplate"] = template if isinstance(template, str) else json.dumps(template)
        shaped["InputTransformer"] = transformer
    if isinstance(shaped.get("Input"), (dict, list)):
        shaped["Input"] = json.dumps(shaped["Input"])
    return shaped


def _by_id(targets: list[dict]) -> dict[str, str]:
    return {target["Id"]: json.dumps(target, sort_keys=True, default=str) for target in targets}


def _same(current, wanted) -> bool:
    if isinstance(wanted, str) and isinstance(current, str) and wanted.startswith("{"):
        try:
            return json.loads(current) == json.loads(wanted)
        except ValueError:
            return False
    return current == wanted


def _notifications(clients, bucket: str, configuration: dict, report) -> None:
    def rules(entry):
        found = ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
        return {"Filter": {"Key": {"FilterRules": [{"Name": r["Name"].lower(), "Value": r["Value"]} for r in found]}}} \
            if found else {}

    wanted = {}
    for cfn, api, key, arn_key in (("LambdaConfigurations", "LambdaFunctionConfigurations", "Function",
                                    "LambdaFunctionArn"),
                                   ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
                                   ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn")):
        entries = [{arn_key: entry[key], "Events": [entry["Event"]], **rules(entry)}
                   for entry in configuration.get(cfn) or []]
        if entries:
            wanted[api] = entries
    if "EventBridgeConfiguration" in configuration:
        wanted["EventBridgeConfiguration"] = {}
    current = clients.s3.get_bucket_notification_configuration(Bucket=bucket)
    current = {key: [{k: v for k, v in entry.items() if k != "Id"} for entry in value] if isinstance(value, list)
               else value for key, value in current.items() if key != "ResponseMetadata"}
    if current == wanted:
        report.unchanged.append(f"notifications of bucket {bucket}")
        return
    clients.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=wanted)
    (report.updated if current else report.created).append(f"notifications of bucket {bucket}")
