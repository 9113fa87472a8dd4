"""A SAM function's event sources as the CloudFormation resources SAM turns them into.

`sam deploy` translates each entry of a function's `Events` (other than APIs) into plain
resources: an SQS, Kinesis or DynamoDB event becomes an AWS::Lambda::EventSourceMapping, an
SNS event an AWS::SNS::Subscription with protocol lambda, an EventBridgeRule, CloudWatchEvent
or Schedule event an AWS::Events::Rule targeting the function, a ScheduleV2 event an
AWS::Scheduler::Schedule, an S3 event a LambdaConfiguration in its bucket's
NotificationConfiguration; EventInvokeConfig becomes an AWS::Lambda::EventInvokeConfig. The
same is done here, with SAM's logical ids (`<Function><Event>`), so that provisioning and the
emulator read one form, whichever way a template was written: a template in plain
CloudFormation declares these resources itself. What SAM would create besides (permissions,
roles, a dead-letter queue given only as `Type: SQS`) is created where the emulator needs it.
The expanded events leave the function's `Events`, as in SAM's output."""

import copy

FUNCTION = "AWS::Serverless::Function"
PULL = {"SQS", "Kinesis", "DynamoDB"}
RULES = {"EventBridgeRule", "CloudWatchEvent"}
EXPANDED = PULL | RULES | {"SNS", "S3", "Schedule", "ScheduleV2"}


def expand_events(template: dict) -> dict:
    """The template with its functions' event sources as CloudFormation resources (a copy;
    the template given is left alone). A template without SAM functions comes back as it is."""
    resources = template.get("Resources") or {}
    functions = [lid for lid, resource in resources.items() if resource.get("Type") == FUNCTION]
    if not functions:
        return template
    template = copy.deepcopy(template)
    resources = template["Resources"]
    function_globals = ((template.get("Globals") or {}).get("Function") or {})
    for lid in functions:
        _Expansion(template, lid, function_globals).run()
    return template


class _Expansion:
    def __init__(self, template: dict, function: str, function_globals: dict):
        self.resources = template["Resources"]
        self.function = function
        self.resource = self.resources[function]
        self.props = self.resource.setdefault("Properties", {}) or {}
        self.globals = function_globals
        # What SAM passes from a function to the resources it makes for it.
        self.attributes = {"Condition": self.resource["Condition"]} if "Condition" in self.resource else {}
        self.arn = {"Fn::GetAtt": [function, "Arn"]}

    def run(self) -> None:
        events = self.props.get("Events")
        if isinstance(events, dict):
            for name, event in list(events.items()):
                if isinstance(event, dict) and event.get("Type") in EXPANDED \
                        and self.event(f"{self.function}{name}", event["Type"], event.get("Properties") or {}):
                    del events[name]
        invoke_config = {**(self.globals.get("EventInvokeConfig") or {}), **(self.props.get("EventInvokeConfig") or {})}
        if invoke_config:
            self.invoke_config(invoke_config)

    def add(self, logical_id: str, kind: str, properties: dict) -> None:
        # A resource the template declares itself under that id wins, as it would clash on deploy.
        self.resources.setdefault(logical_id, {"Type": kind, "Properties": properties, **self.attributes})

    def event(self, lid: str, kind: str, props: dict) -> bool:
        """Add the resources of one event; False for one left in Events (the reader says why)."""
        if kind == "S3":
            return self.s3(props)
        if kind in PULL:
            source = props.get("Queue" if kind == "SQS" else "Stream")
            rest = {k: v for k, v in props.items() if k not in ("Queue", "Stream")}
            self.add(lid, "AWS::Lambda::EventSourceMapping",
                     {"EventSourceArn": source, "FunctionName": {"Ref": self.function}, **rest})
        elif kind == "SNS":
            self.sns(lid, props)
        elif kind in RULES:
            target = {"Arn": self.arn, "Id": (props.get("Target") or {}).get("Id", f"{lid}LambdaTarget"),
                      **_some(props, "Input", "InputPath", "InputTransformer", "RetryPolicy")}
            self.dead_letter(lid, props, target)
            self.add(lid, "AWS::Events::Rule", {
                **_some(props, "EventBusName"), "EventPattern": props.get("Pattern"),
                **({"Name": props["RuleName"]} if "RuleName" in props else {}), **_state(props), "Targets": [target]})
        elif kind == "Schedule":
            target = {"Arn": self.arn, "Id": f"{lid}LambdaTarget", **_some(props, "Input", "RetryPolicy")}
            self.dead_letter(lid, props, target)
            self.add(lid, "AWS::Events::Rule", {"ScheduleExpression": props.get("Schedule"), **_state(props),
                                                **_some(props, "Name", "Description"), "Targets": [target]})
        elif kind == "ScheduleV2":
            target = {"Arn": self.arn, **_some(props, "RoleArn", "Input", "RetryPolicy")}
            self.dead_letter(lid, props, target)
            name = {} if props.get("OmitName") else {"Name": props.get("Name", lid)}
            self.add(lid, "AWS::Scheduler::Schedule", {
                "ScheduleExpression": props.get("ScheduleExpression"), **name,
                "FlexibleTimeWindow": props.get("FlexibleTimeWindow", {"Mode": "OFF"}),
                **_some(props, "State", "Description", "StartDate", "EndDate", "ScheduleExpressionTimezone",
                        "GroupName"),
                "Target": target})
        return True

    def sns(self, lid: str, props: dict) -> None:
        options = _some(props, "Region", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy")
        sqs = props.get("SqsSubscription")
        if not sqs:
            self.add(lid, "AWS::SNS::Subscription", {"Protocol": "lambda", "Endpoint": self.arn,
                                                     "TopicArn": props.get("Topic"), **options})
            return
        # SqsSubscription: the topic feeds a queue, which the function polls.
        if sqs is True or not isinstance(sqs, dict):
            self.add(f"{lid}Queue", "AWS::SQS::Queue", {})
            queue_arn, batch = {"Fn::GetAtt": [f"{lid}Queue", "Arn"]}, {}
        else:
            queue_arn = sqs.get("QueueArn")
            batch = _some(sqs, "BatchSize", "Enabled")
        self.add(lid, "AWS::SNS::Subscription", {"Protocol": "sqs", "Endpoint": queue_arn,
                                                 "TopicArn": props.get("Topic"), **options})
        self.add(f"{lid}EventSourceMapping", "AWS::Lambda::EventSourceMapping",
                 {"EventSourceArn": queue_arn, "FunctionName": {"Ref": self.function}, **batch})

    def s3(self, props: dict) -> bool:
        bucket = props.get("Bucket")
        bucket_id = bucket.get("Ref") if isinstance(bucket, dict) else None
        target = self.resources.get(bucket_id) if isinstance(bucket_id, str) else None
        if target is None or target.get("Type") != "AWS::S3::Bucket":
            return False  # SAM refuses it too: "S3 events must reference an S3 bucket in the same template"
        configuration = target.setdefault("Properties", {}).setdefault("NotificationConfiguration", {})
        lambdas = configuration.setdefault("LambdaConfigurations", [])
        kinds = props.get("Events")
        for kind in kinds if isinstance(kinds, list) else [kinds]:
            entry = {"Event": kind, "Function": self.arn, **_some(props, "Filter")}
            if entry not in lambdas:
                lambdas.append(entry)
        return True

    def dead_letter(self, lid: str, props: dict, target: dict) -> None:
        """A rule's or schedule's DeadLetterConfig: an Arn, or `Type: SQS` for a queue SAM makes."""
        config = props.get("DeadLetterConfig")
        if not isinstance(config, dict):
            return
        if "Arn" in config:
            target["DeadLetterConfig"] = {"Arn": config["Arn"]}
            return
        queue = config.get("QueueLogicalId") or f"{lid}Queue"
        self.add(queue, "AWS::SQS::Queue", {})
        target["DeadLetterConfig"] = {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}

    def invoke_config(self, config: dict) -> None:
        lid = f"{self.function}EventInvokeConfig"
        destinations = {}
        for outcome in ("OnSuccess", "OnFailure"):
            given = (config.get("DestinationConfig") or {}).get(outcome)
            if not isinstance(given, dict):
                continue
            destination = given.get("Destination")
            if destination is None and given.get("Type") in ("SQS", "SNS"):  # SAM makes one
                made = f"{lid}{outcome}{'Queue' if given['Type'] == 'SQS' else 'Topic'}"
                self.add(made, "AWS::SQS::Queue" if given["Type"] == "SQS" else "AWS::SNS::Topic", {})
                destination = {"Fn::GetAtt": [made, "Arn"]} if given["Type"] == "SQS" else {"Ref": made}
            if destination is not None:
                destinations[outcome] = {"Destination": destination}
        self.add(lid, "AWS::Lambda::EventInvokeConfig", {
            "FunctionName": {"Ref": self.function}, "Qualifier": "$LATEST", "DestinationConfig": destinations,
            **_some(config, "MaximumEventAgeInSeconds", "MaximumRetryAttempts")})


def _some(props: dict, *names: str) -> dict:
    return {name: props[name] for name in names if name in props}


def _state(props: dict) -> dict:
    if "State" in props:
        return {"State": props["State"]}
    if "Enabled" in props:
        enabled = props["Enabled"]
        return {"State": "ENABLED" if enabled is True or str(enabled).lower() == "true" else "DISABLED"}
    return {}
