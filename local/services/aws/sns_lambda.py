"""SNS → Lambda inside the endpoint, and SNS's filter policies as AWS applies them.

moto 5.2.5 hands a lambda subscription's message to its own Lambda backend, which knows none
of this project's functions: the whole Publish fails, and the subscriptions after it get
nothing. Here a lambda subscription filters as every other protocol does (moto's matcher,
either scope), takes the "lambda" entry of a MessageStructure=json message, and puts SNS's
record for Lambda on the function's internal queue (async_queue.py), as SNS invokes Lambda
asynchronously. A function with no queue here (not one of the template's) is a failed
delivery: to the subscription's RedrivePolicy queue if it has one, else a line in aws.log.
The fast path's Publish and PublishBatch reach this too: both go through
Subscription.publish.

The matcher is moto's, so that SNS → SQS, SNS → Lambda and the event runner's Redis fallback
(filter_policy.py, with apply_filter_fixes) filter alike; its per-field rule is replaced
(`_field_match`), and its policy check wrapped, where they part from the grammar of the SNS
developer guide (string-value-matching, numeric-value-matching, attribute-key-matching,
and-or-logic pages):
- `cidr` (IP address matching) was refused as an unknown match type, and never matched;
- `anything-but` took any nested operator and then never matched; SNS accepts only `prefix`
  there and refuses the policy otherwise ("Unsupported anything-but pattern");
- `equals-ignore-case` never matched a policy value with capitals;
- a value rule on a missing key ended the search, so `[{"anything-but": [...]}, {"exists":
  false}]`, which the guide combines, never matched a message without the key; and
  `"exists": false` matched a message with no attributes at all, which the guide says it
  does not;
- prefix and suffix skipped the elements of String.Array attributes;
- in the body scope, `$or` and any operator meeting a value of another type (a number for
  prefix, a string for numeric, an array for suffix) raised, failing the whole Publish.
"""

import ipaddress
import json
import sys
import traceback

from . import aws_shapes, targets
from .async_queue import SNS, AsyncInvocation, function_of, queue_name

_reported: set[str] = set()


def _say(line: str) -> None:
    print(f"local AWS endpoint: {line}", file=sys.stderr, flush=True)


def _report_once(kind: str) -> None:
    """A fault of ours in a delivery: logged with its traceback the first time, never raised
    into moto (that would fail the Publish, which AWS would have accepted)."""
    if kind not in _reported:
        _reported.add(kind)
        _say(f"SNS delivery to Lambda failed ({kind}):\n{traceback.format_exc()}")


def apply(patch) -> None:
    from moto.sns import models

    patch(models.Subscription, "publish", _publishing_to_lambda)
    apply_filter_fixes(patch)


def apply_filter_fixes(patch) -> None:
    """The filter-policy fixes alone, for a process that matches policies with moto's matcher
    without serving SNS (the event runner's Redis fallback)."""
    from moto.sns import models, utils

    patch(utils.FilterPolicyMatcher, "_field_match", lambda original: staticmethod(_field_match))
    patch(models.SNSBackend, "_validate_filter_policy", _validating)


# -- delivery --------------------------------------------------------------------------------

def _publishing_to_lambda(original):
    def publish(self, message, message_id, subject=None, message_attributes=None, group_id=None,
                deduplication_id=None, message_structure=None):
        if self.protocol != "lambda":
            return original(self, message, message_id, subject=subject, message_attributes=message_attributes,
                            group_id=group_id, deduplication_id=deduplication_id,
                            message_structure=message_structure)
        if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
                message_attributes, message):
            return None
        if message_structure == "json":  # an invalid structure is refused as for the other protocols
            message = self._parse_message_structure(message, self.protocol)
        try:
            _deliver(self, message, message_id, subject, message_attributes or {})
        except Exception as error:  # noqa: BLE001 - see _report_once
            _report_once(type(error).__name__)
        return None

    return publish


def _deliver(subscription, message: str, message_id: str, subject: str | None, attributes: dict) -> None:
    topic_arn, endpoint = subscription.topic.arn, subscription.endpoint
    event = aws_shapes.sns_event(message=message, message_id=message_id, topic_arn=topic_arn,
                                 subscription_arn=subscription.arn, subject=subject, attributes=attributes)
    function, parts = function_of(endpoint), endpoint.split(":")
    if function and len(parts) >= 7 and targets.enqueue(
            parts[4], parts[3], function, AsyncInvocation(payload=json.dumps(event), source=SNS, source_arn=topic_arn)):
        return
    missing = f"no function {endpoint} here (no queue {queue_name(function or '?')})"
    dead_letter = _dead_letter_arn(subscription)
    if dead_letter:
        # The body is the notification as an SQS subscription gets it (moto's own builder).
        body = json.dumps(subscription.get_post_data(message, message_id, subject, message_attributes=attributes),
                          sort_keys=True, indent=2, separators=(",", ": "))
        if targets.send_to_queue(dead_letter, body, {}):
            _say(f"SNS message {message_id} from {topic_arn}: {missing}; sent to the subscription's "
                 f"dead-letter queue {dead_letter}")
            return
        missing += f", and its dead-letter queue {dead_letter} does not exist"
    _say(f"SNS message {message_id} from {topic_arn} dropped: {missing}")


def _dead_letter_arn(subscription) -> str | None:
    try:
        return json.loads(subscription.attributes.get("RedrivePolicy") or "{}").get("deadLetterTargetArn")
    except (ValueError, AttributeError):
        return None


# -- filter policies -------------------------------------------------------------------------

def _values(field: str, where: dict, attributes: bool) -> list:
    """What a policy compares: a String attribute's text, a Number attribute's number, each
    element of a String.Array attribute or of a body array, a body scalar. Binary attributes
    are never compared."""
    value = where[field]
    if attributes:
        kind, text = value.get("Type", ""), value.get("Value")
        if kind.startswith("String.Array"):
            try:
                items = json.loads(text)
            except (TypeError, ValueError):
                return []
            return items if isinstance(items, list) else [items]
        if kind.startswith("Number"):
            try:
                return [float(text)]
            except (TypeError, ValueError):
                return []
        return [text] if kind.startswith("String") else []
    return value if isinstance(value, list) else [value]


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same_number(a: float, b: float) -> bool:
    return round(a * 100000) == round(b * 100000)  # the guide: five digits after the point


def _in_range(value: float, terms: list) -> bool:
    checks = {"=": _same_number, "<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}
    try:  # a policy the event runner reads from the template was never checked by SNS
        return all(checks[operator](float(value), float(bound))
                   for operator, bound in zip(terms[0::2], terms[1::2], strict=False))
    except (KeyError, TypeError, ValueError):
        return False


def _in_network(value: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _equal(value, rule) -> bool:
    if rule is None or isinstance(rule, bool):
        return value is rule
    if _number(rule):
        return _number(value) and _same_number(value, rule)
    return isinstance(value, str) and value == rule


def _matches(rule, values: list) -> bool:
    """Whether one policy value (anything but `exists`) accepts the message's values."""
    if not isinstance(rule, dict):
        return any(_equal(value, rule) for value in values)
    if len(rule) != 1:
        return False
    (operator, operand), = rule.items()
    strings = [value for value in values if isinstance(value, str)]
    if operator in ("prefix", "suffix", "equals-ignore-case", "cidr") and not isinstance(operand, str):
        return False  # unchecked policies (see _in_range)
    if operator == "prefix":
        return any(value.startswith(operand) for value in strings)
    if operator == "suffix":
        return any(value.endswith(operand) for value in strings)
    if operator == "equals-ignore-case":
        return any(value.lower() == operand.lower() for value in strings)
    if operator == "cidr":
        return any(_in_network(value, operand) for value in strings)
    if operator == "numeric":
        return any(_in_range(value, operand) for value in values if _number(value))
    if operator == "anything-but":
        # Matches when none of the values is excluded (the guide: for a String.Array,
        # when none of its elements is listed); the key must be there.
        if isinstance(operand, dict):
            prefix = operand.get("prefix")
            return (isinstance(prefix, str) and bool(values) and len(strings) == len(values)
                    and not any(value.startswith(prefix) for value in strings))
        excluded = operand if isinstance(operand, list) else [operand]
        return bool(values) and not any(_equal(value, rule) for value in values for rule in excluded)
    return False


def _present(field: str, where: dict, attributes: bool) -> bool:
    """For `exists`: the key is there with a value that is not null or empty."""
    if field not in where:
        return False
    value = where[field]
    return attributes or value not in (None, "", [])


def _field_match(field, rules, dict_body, attributes_based_check=True) -> bool:
    """FilterPolicyMatcher._field_match: whether one key of the policy (or its `$or`) accepts
    the message. `dict_body` is the message's attributes, or the body's object at the key's
    level; any of the key's rules may accept it."""
    from moto.sns.utils import FilterPolicyMatcher

    if not isinstance(dict_body, dict):
        return False
    if field == "$or" and isinstance(rules, list):
        if attributes_based_check:
            return any(FilterPolicyMatcher._attributes_based_match(dict_body, branch) for branch in rules)
        return any(FilterPolicyMatcher(branch, "MessageBody")._body_based_match(dict_body) for branch in rules)
    values = _values(field, dict_body, attributes_based_check) if field in dict_body else None
    for rule in rules if isinstance(rules, list) else [rules]:
        if isinstance(rule, dict) and "exists" in rule:
            present = _present(field, dict_body, attributes_based_check)
            # The guide: "exists": false never matches a message without any attributes.
            if rule["exists"] is present and (present or dict_body or not attributes_based_check):
                return True
        elif values is not None and _matches(rule, values):
            return True
    return False


def _check_rules(policy: dict) -> None:
    """What SNS refuses and moto's check lets through (or refuses wrongly, as `cidr`)."""
    from moto.sns.exceptions import SNSInvalidParameter

    def refuse(reason: str):
        raise SNSInvalidParameter(f"Invalid parameter: FilterPolicy: {reason}")

    for key, value in policy.items():
        if key == "$or" and isinstance(value, list):
            for branch in value:
                if isinstance(branch, dict):
                    _check_rules(branch)
        elif isinstance(value, dict):
            _check_rules(value)
        elif isinstance(value, list):
            for rule in value:
                if not isinstance(rule, dict):
                    continue
                if len(rule) != 1:
                    refuse("Only one key allowed in match expression")
                (operator, operand), = rule.items()
                if operator in ("prefix", "suffix", "equals-ignore-case") and not isinstance(operand, str):
                    refuse(f"{operator} match pattern must be a string")
                if operator == "cidr":
                    if not isinstance(operand, str) or operand.count("/") != 1:
                        refuse("Malformed CIDR, one '/' required")
                    try:
                        ipaddress.ip_network(operand, strict=False)
                    except ValueError:
                        refuse(f"Nonstandard IP address: {operand.split('/')[0]}")
                if operator == "anything-but" and isinstance(operand, dict):
                    for inner, pattern in operand.items():
                        if inner != "prefix":
                            refuse(f"Unsupported anything-but pattern: {inner}")
                        if not isinstance(pattern, str):
                            refuse("prefix match pattern must be a string")


def _without_cidr(policy):
    """The policy with each `cidr` rule in a form moto's own check accepts (it knows no
    `cidr`); checked already, and the count of values it limits is the same."""
    if isinstance(policy, dict):
        if set(policy) == {"cidr"}:
            return {"prefix": "cidr"}
        return {key: _without_cidr(value) for key, value in policy.items()}
    if isinstance(policy, list):
        return [_without_cidr(item) for item in policy]
    return policy


def _validating(original):
    def _validate_filter_policy(self, value, scope):
        if isinstance(value, dict):
            _check_rules(value)
        return original(self, _without_cidr(value), scope)

    return _validate_filter_policy
