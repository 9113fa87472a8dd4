"""What triggers a function, in typed objects: event source mappings (SQS, DynamoDB and
Kinesis streams), the pushes AWS delivers asynchronously (SNS subscriptions, EventBridge
rules, S3 notifications, schedules) and how Lambda treats an asynchronous invocation
(retries, event age, destinations, the dead-letter queue). event_reader.py makes them from
the template's CloudFormation resources, SAM's `Events` expanded first (infra/sam_events.py)."""

from pydantic import BaseModel

# Lambda's defaults for an asynchronous invocation ("Configuring error handling for
# asynchronous invocation"): two retries, events kept for six hours.
ASYNC_MAX_RETRIES = 2
ASYNC_MAX_EVENT_AGE_S = 21_600


class AsyncConfig(BaseModel):
    """AWS::Lambda::EventInvokeConfig and the function's DeadLetterConfig."""
    max_retries: int = ASYNC_MAX_RETRIES  # 0-2
    max_event_age_s: int = ASYNC_MAX_EVENT_AGE_S  # 60-21600
    on_success: str | None = None  # a destination's ARN: SQS, SNS, Lambda or an event bus
    on_failure: str | None = None
    dead_letter_arn: str | None = None  # DeadLetterConfig.TargetArn: an SQS queue or SNS topic


class SqsEvent(BaseModel):
    name: str  # the event's name in SAM's Events, else the mapping's logical id
    queue: str  # logical id
    queue_arn: str
    queue_url: str
    batch_size: int = 10
    max_batching_window_s: int = 0
    report_batch_item_failures: bool = False
    enabled: bool = True
    filters: list[dict] = []  # FilterCriteria.Filters[].Pattern, parsed: a record passes if any matches
    max_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency (2-1000)


DYNAMODB, KINESIS = "dynamodb", "kinesis"


class StreamEvent(BaseModel):
    """A DynamoDB or Kinesis stream's event source mapping."""
    name: str
    kind: str  # DYNAMODB or KINESIS
    source_arn: str  # as the template names it: a table's StreamArn, or a Kinesis stream's Arn
    stream_name: str  # the table's or the Kinesis stream's name
    starting_position: str = "LATEST"  # TRIM_HORIZON, LATEST, AT_TIMESTAMP (Kinesis)
    starting_timestamp: float | None = None  # epoch seconds, for AT_TIMESTAMP
    batch_size: int = 100
    max_batching_window_s: int = 0
    filters: list[dict] = []
    report_batch_item_failures: bool = False
    bisect_on_error: bool = False
    max_retries: int = -1  # -1: until the record expires, as on AWS
    max_record_age_s: int = -1
    on_failure: str | None = None  # DestinationConfig.OnFailure.Destination: SQS, SNS (or S3)
    enabled: bool = True


class SnsEvent(BaseModel):
    """A subscription of the function to a topic: the AWS endpoint delivers to it."""
    name: str
    topic_arn: str
    filter_policy: dict | None = None
    filter_policy_scope: str | None = None  # MessageAttributes (AWS's default) or MessageBody
    dead_letter_arn: str | None = None  # the subscription's RedrivePolicy


class RuleEvent(BaseModel):
    """An EventBridge rule with an event pattern and the function as one of its targets."""
    name: str  # the rule's logical id
    rule_name: str
    rule_arn: str
    bus: str = "default"
    pattern: dict
    enabled: bool = True
    target_id: str
    input: str | None = None  # JSON text
    input_path: str | None = None
    input_transformer: dict | None = None  # {InputPathsMap, InputTemplate}
    # The target's DeadLetterConfig.Arn: where the endpoint sends an event for a function that is
    # not there (the target as provisioned carries it; this is for `local list`). Its RetryPolicy
    # is not kept: a delivery to a function that is there does not fail here.
    dead_letter_arn: str | None = None


class S3Event(BaseModel):
    """A bucket's notification to the function (NotificationConfiguration.LambdaConfigurations)."""
    name: str
    bucket: str
    events: list[str]  # s3:ObjectCreated:*, s3:ObjectRemoved:Delete, ...
    prefix: str | None = None
    suffix: str | None = None


RULE, SCHEDULER = "rule", "scheduler"


class ScheduleEvent(BaseModel):
    """A schedule: an EventBridge rule's ScheduleExpression, or an EventBridge Scheduler schedule."""
    name: str
    schedule: str  # rate(...), cron(...), or for the Scheduler also at(...)
    enabled: bool = True
    input: str | None = None  # JSON text (a rule's target), or any text (the Scheduler's)
    kind: str = RULE  # RULE or SCHEDULER
    arn: str = ""  # the rule's or the schedule's ARN
    timezone: str | None = None  # Scheduler: ScheduleExpressionTimezone (IANA name), UTC without
    start: str | None = None  # Scheduler: StartDate, EndDate (ISO 8601)
    end: str | None = None
    flexible_window_min: int | None = None  # Scheduler: FlexibleTimeWindow FLEXIBLE's maximum
