"""EventBridge rules delivering as EventBridge does: moto 5.2.5 (`moto/events/models.py`)
matches every rule whatever its State, matches a schedule rule (no pattern) against every
PutEvents, gets arrays of objects wrong, ignores Input and InputPath, drops `account` from the
events it sends to targets, and raises NotImplementedError for a Lambda (or SNS) target, which
fails the whole PutEvents. These patches (applied through targets.patch) replace:

- `Rule.send_to_targets`: a rule that is not enabled, or a schedule rule, delivers nothing;
  the pattern is matched with event_pattern.py; Lambda targets get the event (after Input,
  InputPath or InputTransformer: event_input.py) on the function's internal queue, or when the
  function is not one of the template's, on the target's dead-letter queue with the attributes
  EventBridge documents; SQS and SNS targets get the same payload; the other targets (logs,
  archives, buses, API destinations) go to moto's own method, one at a time on a copy of the
  rule holding only that target (moto stops at the first target it cannot run);
- `EventPattern.matches_event`: our matcher, for every rule and archive;
- `EventPatternParser.parse`: PutRule (and CreateArchive) refuse a pattern our grammar refuses;
- `EventsBackend.put_targets`: PutTargets refuses input settings EventBridge refuses;
- `EventTemplateParser.parse`: moto's default template keeps `account` (the log-group target).

Nothing here raises into moto while delivering: a failing target is logged once per kind.
"""

import copy
import json
import sys
from datetime import UTC, datetime

from . import event_input, targets
from .async_queue import EVENTS, AsyncInvocation, function_of
from .event_pattern import InvalidEventPattern, compiled

_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail", "replay-name")
_logged: set[str] = set()


def apply(patch) -> None:
    from moto.events import models, utils

    patch(models.Rule, "send_to_targets", _send_to_targets)
    patch(models.EventPattern, "matches_event", _matches_event)
    patch(models.EventPatternParser, "parse", _validated_parse)
    patch(models.EventsBackend, "put_targets", _validated_put_targets)
    patch(utils.EventTemplateParser, "parse", _default_template)


def aws_event(event: dict) -> dict:
    """moto's event as EventBridge sends it: its fields in order, `time` in ISO 8601 (moto keeps
    epoch seconds), and no `ingestion-time` (moto's own field)."""
    shaped = {key: event[key] for key in _FIELDS if key in event}
    shaped["time"] = _iso(shaped.get("time", ""))
    return shaped


def _iso(moment) -> str:
    if isinstance(moment, (int, float)) and not isinstance(moment, bool):
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment


def _send_to_targets(original):
    def send_to_targets(self, original_event, transform_input: bool = True):
        # moto's replays pass transform_input=False; ours apply the target's input to replays too,
        # as EventBridge does (a replay sends the archived events to the bus again)
        if not str(self.state).startswith("ENABLED"):  # ENABLED, or ENABLED_WITH_ALL_CLOUDTRAIL_...
            return
        if self.scheduled_expression and not self.event_pattern.dump():
            return  # a schedule rule: fired by the clock (local/events/schedules.py), never by PutEvents
        if not self.event_pattern.matches_event(original_event):
            return
        event = aws_event(original_event)
        others = []
        for target in self.targets:
            service = target.get("Arn", "").split(":")[2:3]
            if service not in (["lambda"], ["sqs"], ["sns"]):
                others.append(target)
                continue
            try:
                _deliver(self, target, service[0], event, original_event)
            except Exception as error:  # noqa: BLE001 - a delivery never fails the PutEvents
                _log_once(f"target:{service[0]}", f"EventBridge rule {self.arn}: delivery to {target.get('Arn')} "
                                                  f"failed: {error!r}")
        for target in others:  # one at a time: moto stops at the first target it cannot run
            alone = copy.copy(self)
            alone.targets = [target]
            try:
                original(alone, original_event, transform_input)
            except NotImplementedError:
                _log_once(f"unsupported:{target.get('Arn', '').split(':')[2:3]}",
                          f"EventBridge targets of this kind are not run locally: {target.get('Arn')} "
                          f"(rule {self.arn})")
            except Exception as error:  # noqa: BLE001 - as above: logged, never failing the PutEvents
                _log_once(f"target:{target.get('Arn', '').split(':')[2:3]}",
                          f"EventBridge rule {self.arn}: delivery to {target.get('Arn')} failed: {error!r}")
    return send_to_targets


def _deliver(rule, target: dict, service: str, event: dict, original_event: dict) -> None:
    text = event_input.render(target, event, rule_arn=rule.arn, rule_name=rule.name,
                              ingestion_time=_iso(original_event.get("ingestion-time", event["time"])))
    arn = target["Arn"]
    parts = arn.split(":")
    region, account = parts[3] or rule.region_name, parts[4] or rule.account_id
    if service == "lambda":
        function = function_of(arn)
        invocation = AsyncInvocation(payload=event_input.as_json_payload(text), source=EVENTS, source_arn=rule.arn)
        delivered = function is not None and targets.enqueue(account, region, function, invocation)
        what = f"Function not found: {arn}"  # Lambda's ResourceNotFoundException message
    elif service == "sqs":
        delivered, what = _to_queue(target, account, region, parts[5], text), f"Queue not found: {arn}"
    else:
        delivered, what = _to_topic(account, region, arn, text), f"Topic not found: {arn}"
    if not delivered:
        _dead_letter(rule, target, event, what)


def _to_queue(target: dict, account: str, region: str, name: str, text: str) -> bool:
    from moto.sqs.exceptions import QueueDoesNotExist
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[account][region]
    group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
    try:
        if group_id and backend.get_queue(name).attributes.get("ContentBasedDeduplication") != "true":
            # EventBridge sends to a FIFO queue only with content-based deduplication (as moto warns)
            _log_once(f"fifo:{name}", f"EventBridge: FIFO queue {name} needs ContentBasedDeduplication; not delivered")
            return True
        backend.send_message(name, text, group_id=group_id)
    except QueueDoesNotExist:
        return False
    return True


def _to_topic(account: str, region: str, arn: str, text: str) -> bool:
    from moto.sns.exceptions import TopicNotFound
    from moto.sns.models import sns_backends

    try:
        sns_backends[account][region].publish(text, arn=arn)
    except TopicNotFound:
        return False
    return True


def _dead_letter(rule, target: dict, event: dict, message: str) -> None:
    """A target whose resource does not exist: EventBridge does not retry, and sends the event
    to the target's dead-letter queue if it has one (the user guide's "dead-letter queues"
    page: the event as the body, the attributes below); else it is dropped."""
    queue = (target.get("DeadLetterConfig") or {}).get("Arn")
    attributes = {"RULE_ARN": rule.arn, "TARGET_ARN": target["Arn"], "ERROR_CODE": "NO_RESOURCE",
                  "ERROR_MESSAGE": message, "RETRY_ATTEMPTS": "0"}
    if queue and targets.send_to_queue(queue, json.dumps(event, separators=(",", ":"), ensure_ascii=False),
                                       attributes):
        return
    print(f"local AWS endpoint: EventBridge rule {rule.arn}: {message}"
          f"{'; dead-letter queue ' + queue + ' not found' if queue else ''}; event {event.get('id')} dropped",
          file=sys.stderr, flush=True)


def _matches_event(original):
    def matches_event(self, event) -> bool:
        raw = self.dump()
        if not raw:
            return True  # no pattern: moto's archives of a whole bus (schedule rules stop earlier)
        try:
            pattern = compiled(raw)
        except InvalidEventPattern:  # kept from before these patches: moto's reading of it
            return original(self, event)
        return pattern.matches(aws_event(event))
    return matches_event


def _validated_parse(original):
    def parse(self):
        pattern = original(self)  # moto's checks first (JSON, objects and arrays), its messages
        if self.pattern:
            from moto.events.exceptions import InvalidEventPatternException
            try:
                compiled(self.pattern if isinstance(self.pattern, str) else json.dumps(self.pattern))
            except InvalidEventPattern as error:
                raise InvalidEventPatternException(reason=str(error)) from None
        return pattern
    return parse


def _validated_put_targets(original):
    def put_targets(self, name, event_bus_arn, targets_given):
        from moto.events.exceptions import ValidationException
        for target in targets_given:
            try:
                event_input.validate(target)
            except event_input.InvalidTargetInput as error:
                raise ValidationException(str(error)) from None
        return original(self, name, event_bus_arn, targets_given)
    return put_targets


def _default_template(original):
    def parse(input_template, input_paths_map, event):
        if input_template:
            return original(input_template, input_paths_map, event)
        # the whole event as EventBridge sends it, but `time` left as moto keeps it: its
        # log-group target converts it to ISO itself
        return {key: event[key] for key in _FIELDS if key in event}
    return parse


def _log_once(kind: str, text: str) -> None:
    if kind not in _logged:
        _logged.add(kind)
        print(f"local AWS endpoint: {text}", file=sys.stderr, flush=True)
