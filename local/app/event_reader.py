"""What triggers each function, read from the template's CloudFormation resources (SAM's
`Events` are such resources by now: infra/sam_events.py): event source mappings, SNS
subscriptions with protocol lambda (and a topic's inline Subscription), EventBridge rules
and Scheduler schedules that target a function, bucket notifications, EventInvokeConfig.

What Lambda or CloudFormation would refuse at deploy (a batch size out of range, more than
five filters, a stream mapping without StartingPosition) is a TemplateError here too."""

import json

from infra.errors import TemplateError
from local.app.event_model import (
    DYNAMODB,
    KINESIS,
    RULE,
    SCHEDULER,
    AsyncConfig,
    RuleEvent,
    S3Event,
    ScheduleEvent,
    SnsEvent,
    SqsEvent,
    StreamEvent,
)
from local.app.model import FunctionSpec
from local.app.values import true

MAPPING = "AWS::Lambda::EventSourceMapping"
INVOKE_CONFIG = "AWS::Lambda::EventInvokeConfig"


class EventReader:
    def __init__(self, builder, functions: dict[str, FunctionSpec]):
        self.b, self.functions = builder, functions
        self.region, self.account = builder.resolver.deployment.region, builder.resolver.deployment.account_id

    def read(self) -> None:
        for lid in self.b.of_type(MAPPING):
            self.mapping(lid)
        for lid in self.b.of_type("AWS::SNS::Subscription"):
            props = self.props(lid)
            if str(props.get("Protocol", "")).lower() == "lambda":
                self.subscription(lid, props, props.get("TopicArn"))
        for lid in self.b.of_type("AWS::SNS::Topic"):
            for n, inline in enumerate(self.props(lid).get("Subscription") or []):
                if str(inline.get("Protocol", "")).lower() == "lambda":
                    self.subscription(f"{lid}.Subscription[{n}]", inline, self.b.resolver.ref(lid))
        for lid in self.b.of_type("AWS::Events::Rule"):
            self.rule(lid)
        for lid in self.b.of_type("AWS::Scheduler::Schedule"):
            self.schedule_v2(lid)
        for lid in self.b.of_type("AWS::S3::Bucket"):
            self.bucket(lid)
        for lid in self.b.of_type(INVOKE_CONFIG):
            self.invoke_config(lid)

    def props(self, lid: str) -> dict:
        return self.b.resolver.resolve(self.b.resources[lid].get("Properties", {}) or {}, lid)

    def target(self, reference, lid: str, prop: str) -> FunctionSpec | None:
        """The function a name or ARN points at; None (and a warning) for one outside the template."""
        name = str(reference or "")
        parts = name.split(":")
        if name.startswith("arn:") and len(parts) >= 7:
            name = parts[6]  # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        for spec in self.functions.values():
            if name in (spec.logical_id, spec.function_name):
                return spec
        self.b.warn(lid, prop, f"{reference} is not a function of this template; not run")
        return None

    def event_name(self, lid: str, spec: FunctionSpec) -> str:
        # SAM names what it makes of an event <Function><Event>: show the event's own name.
        rest = lid.removeprefix(spec.logical_id)
        return rest if rest and rest != lid else lid

    # -- event source mappings ------------------------------------------------------------------

    def mapping(self, lid: str) -> None:
        props = self.props(lid)
        spec = self.target(props.get("FunctionName"), lid, "FunctionName")
        if spec is None:
            return
        arn = str(props.get("EventSourceArn", ""))
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        name = self.event_name(lid, spec)
        filters = self.filters(lid, props)
        if service == "sqs":
            self.sqs(lid, name, spec, arn, props, filters)
        elif service in (DYNAMODB, KINESIS):
            self.stream(lid, name, spec, service, arn, props, filters)
        else:
            self.b.warn(lid, "EventSourceArn", f"{arn or 'nothing'}: only SQS, DynamoDB and Kinesis sources run here")

    def sqs(self, lid: str, name: str, spec: FunctionSpec, arn: str, props: dict, filters: list[dict]) -> None:
        queue = next((q for q in self.b.of_type("AWS::SQS::Queue") if self.b.resolver.get_att(q, "Arn") == arn), None)
        if queue is None:
            self.b.warn(lid, "EventSourceArn", f"{arn} is not a queue of this template; not polled")
            return
        if "StartingPosition" in props:
            raise TemplateError(self.b.path, "StartingPosition is not valid for an SQS source", resource=lid)
        window = int(props.get("MaximumBatchingWindowInSeconds", 0))
        batch = self.bounded(lid, "BatchSize", props.get("BatchSize", 10), 1, 10 if window == 0 else 10_000)
        concurrency = (props.get("ScalingConfig") or {}).get("MaximumConcurrency")
        spec.sqs_events.append(SqsEvent(
            name=name, queue=queue, queue_arn=arn, queue_url=self.b.resolver.ref(queue), batch_size=batch,
            max_batching_window_s=self.bounded(lid, "MaximumBatchingWindowInSeconds", window, 0, 300),
            report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            enabled=true(props.get("Enabled", True)), filters=filters,
            max_concurrency=None if concurrency is None else self.bounded(lid, "ScalingConfig.MaximumConcurrency",
                                                                           concurrency, 2, 1000)))

    def stream(self, lid: str, name: str, spec: FunctionSpec, kind: str, arn: str, props: dict,
               filters: list[dict]) -> None:
        position = props.get("StartingPosition")
        allowed = ("TRIM_HORIZON", "LATEST") + (("AT_TIMESTAMP",) if kind == KINESIS else ())
        if position not in allowed:
            raise TemplateError(self.b.path, f"StartingPosition must be one of {', '.join(allowed)} for a {kind} "
                                             f"stream (got {position!r})", resource=lid)
        resource = arn.split(":", 5)[5]  # table/NAME/stream/LABEL or stream/NAME
        for prop, value in (("ParallelizationFactor", 1), ("TumblingWindowInSeconds", None)):
            if props.get(prop, value) not in (value, 0):
                self.b.warn(lid, prop, "not run here: batches go one at a time per shard, with no windows")
        spec.stream_events.append(StreamEvent(
            name=name, kind=kind, source_arn=arn, stream_name=resource.split("/")[1],
            starting_position=position, starting_timestamp=props.get("StartingPositionTimestamp"),
            batch_size=self.bounded(lid, "BatchSize", props.get("BatchSize", 100), 1, 10_000),
            max_batching_window_s=self.bounded(lid, "MaximumBatchingWindowInSeconds",
                                               props.get("MaximumBatchingWindowInSeconds", 0), 0, 300),
            filters=filters,
            report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            bisect_on_error=true(props.get("BisectBatchOnFunctionError", False)),
            max_retries=self.bounded(lid, "MaximumRetryAttempts", props.get("MaximumRetryAttempts", -1), -1, 10_000),
            max_record_age_s=self.record_age(lid, props.get("MaximumRecordAgeInSeconds", -1)),
            on_failure=((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"),
            enabled=true(props.get("Enabled", True))))

    def record_age(self, lid: str, value) -> int:
        age = int(value)
        if age != -1 and not 60 <= age <= 604_800:
            raise TemplateError(self.b.path, f"MaximumRecordAgeInSeconds must be -1 or 60-604800 (got {age})",
                                resource=lid)
        return age

    def filters(self, lid: str, props: dict) -> list[dict]:
        given = (props.get("FilterCriteria") or {}).get("Filters") or []
        if len(given) > 5:
            raise TemplateError(self.b.path, f"FilterCriteria has {len(given)} filters; Lambda takes at most 5",
                                resource=lid)
        patterns = []
        for entry in given:
            pattern = entry.get("Pattern") if isinstance(entry, dict) else None
            try:
                parsed = json.loads(pattern) if isinstance(pattern, str) else pattern
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise TemplateError(self.b.path, f"FilterCriteria pattern {pattern!r} is not a JSON object",
                                    resource=lid)
            patterns.append(parsed)
        return patterns

    def bounded(self, lid: str, prop: str, value, low: int, high: int) -> int:
        number = int(value)
        if not low <= number <= high:
            raise TemplateError(self.b.path, f"{prop} must be from {low} to {high} (got {number})", resource=lid)
        return number

    # -- pushes: SNS, EventBridge, the Scheduler, S3 ---------------------------------------------

    def subscription(self, lid: str, props: dict, topic_arn) -> None:
        spec = self.target(props.get("Endpoint"), lid, "Endpoint")
        if spec is not None:
            spec.sns_events.append(SnsEvent(
                name=self.event_name(lid, spec), topic_arn=str(topic_arn), filter_policy=props.get("FilterPolicy"),
                filter_policy_scope=props.get("FilterPolicyScope"),
                dead_letter_arn=(props.get("RedrivePolicy") or {}).get("deadLetterTargetArn")))

    def rule(self, lid: str) -> None:
        props = self.props(lid)
        for target in props.get("Targets") or []:
            if ":lambda:" not in str(target.get("Arn", "")):
                continue  # an SQS, SNS, ... target: the endpoint delivers to it itself
            spec = self.target(target.get("Arn"), lid, "Targets")
            if spec is None:
                continue
            enabled = _enabled(props.get("State"))
            name, arn = self.event_name(lid, spec), self.b.resolver.rule_arn(lid)
            if "ScheduleExpression" in props:
                spec.schedule_events.append(ScheduleEvent(
                    name=name, schedule=str(props["ScheduleExpression"]), kind=RULE, arn=arn,
                    input=self.json_text(target.get("Input"), lid), enabled=enabled))
            elif "EventPattern" in props:
                pattern = props["EventPattern"]
                pattern = json.loads(pattern) if isinstance(pattern, str) else pattern
                spec.rule_events.append(RuleEvent(
                    name=name, rule_name=self.b.resolver.physical_name(lid), rule_arn=arn,
                    bus=str(props.get("EventBusName") or "default").rsplit("/", 1)[-1], pattern=pattern,
                    target_id=str(target.get("Id", "")), input=self.json_text(target.get("Input"), lid),
                    input_path=target.get("InputPath"), input_transformer=target.get("InputTransformer"),
                    enabled=enabled, dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn")))

    def schedule_v2(self, lid: str) -> None:
        props = self.props(lid)
        target = props.get("Target") or {}
        if ":lambda:" not in str(target.get("Arn", "")):
            self.b.warn(lid, "Target", "only schedules that invoke a function run here")
            return
        spec = self.target(target.get("Arn"), lid, "Target.Arn")
        if spec is None:
            return
        window = props.get("FlexibleTimeWindow") or {}
        given_input = target.get("Input")
        spec.schedule_events.append(ScheduleEvent(
            name=self.event_name(lid, spec), schedule=str(props.get("ScheduleExpression")), kind=SCHEDULER,
            arn=self.b.resolver.get_att(lid, "Arn"), enabled=_enabled(props.get("State")),
            input=None if given_input is None else (given_input if isinstance(given_input, str)
                                                    else json.dumps(given_input)),
            timezone=props.get("ScheduleExpressionTimezone"), start=props.get("StartDate"), end=props.get("EndDate"),
            flexible_window_min=int(window["MaximumWindowInMinutes"]) if window.get("Mode") == "FLEXIBLE" else None))

    def bucket(self, lid: str) -> None:
        configuration = self.props(lid).get("NotificationConfiguration") or {}
        for n, entry in enumerate(configuration.get("LambdaConfigurations") or []):
            spec = self.target(entry.get("Function"), lid, f"NotificationConfiguration.LambdaConfigurations[{n}]")
            if spec is None:
                continue
            rules = {str(rule.get("Name", "")).lower(): rule.get("Value")
                     for rule in ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []}
            bucket, prefix, suffix = self.b.resolver.physical_name(lid), rules.get("prefix"), rules.get("suffix")
            same = next((e for e in spec.s3_events if (e.bucket, e.prefix, e.suffix) == (bucket, prefix, suffix)), None)
            if same is not None:  # one notification per event type, as SAM writes them: one source
                same.events.append(str(entry.get("Event")))
            else:
                spec.s3_events.append(S3Event(name=lid, bucket=bucket, events=[str(entry.get("Event"))],
                                              prefix=prefix, suffix=suffix))

    def invoke_config(self, lid: str) -> None:
        props = self.props(lid)
        spec = self.target(props.get("FunctionName"), lid, "FunctionName")
        if spec is None:
            return
        destinations = props.get("DestinationConfig") or {}
        spec.async_config = AsyncConfig(
            max_retries=self.bounded(lid, "MaximumRetryAttempts", props.get("MaximumRetryAttempts", 2), 0, 2),
            max_event_age_s=self.bounded(lid, "MaximumEventAgeInSeconds", props.get("MaximumEventAgeInSeconds", 21_600),
                                         60, 21_600),
            on_success=(destinations.get("OnSuccess") or {}).get("Destination"),
            on_failure=(destinations.get("OnFailure") or {}).get("Destination"),
            dead_letter_arn=spec.async_config.dead_letter_arn)

    def json_text(self, value, lid: str) -> str | None:
        # EventBridge refuses a target whose Input is not JSON text, so the deployment would fail.
        if value is None:
            return None
        text = value if isinstance(value, str) else json.dumps(value)
        try:
            json.loads(text)
        except ValueError:
            raise TemplateError(self.b.path, f"a target's Input must be JSON text (got {value!r})", resource=lid) from None
        return text


def _enabled(state) -> bool:
    """A rule's or schedule's State: ENABLED (the default) or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS."""
    return str(state or "ENABLED").upper().startswith("ENABLED")
