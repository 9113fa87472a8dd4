"""Lambda's event filtering for event source mappings (`FilterCriteria`): which SQS messages
and stream records reach the function. Each filter's `Pattern` is an EventBridge event pattern
(event_pattern.py); a record passes when any filter matches it, and every record passes when
there are no filters. What a pattern sees of a record, as the Lambda developer guide's "Lambda
event filtering" page and its SQS, Kinesis and DynamoDB pages describe it:
- SQS: the record, its `body` as JSON when it is a JSON object, else as the plain string. A
  pattern on `body` that expects the other form (an object for a plain string, a value list
  for a JSON body) matches nothing: Lambda drops such messages.
- Kinesis: the `kinesis` part of the record (`partitionKey`, `sequenceNumber`, ...), with
  `data` decoded from base64 and parsed as JSON; data that is not JSON matches no pattern on
  `data`, and a pattern on `data` must be an object.
- DynamoDB: the record as it is, the `dynamodb` images typed (`{"S": ...}`) as they come.
Pure Python, no moto: the event runner filters, the template reader validates.
"""

import base64
import binascii
import json

from .event_pattern import InvalidEventPattern, compiled

MAX_FILTERS = 5  # the default quota on filters per event source mapping
KINDS = ("sqs", "kinesis", "dynamodb")
DATA_KEY = {"sqs": "body", "kinesis": "data", "dynamodb": "dynamodb"}  # the page's "data properties"


def validate(filters, kind: str | None = None) -> list[dict]:
    """The parsed patterns of `FilterCriteria.Filters` (a list of `{"Pattern": text}`, or of
    parsed patterns); InvalidEventPattern for what CreateEventSourceMapping refuses."""
    if not isinstance(filters, list):
        raise InvalidEventPattern("FilterCriteria.Filters must be a list")
    if len(filters) > MAX_FILTERS:
        raise InvalidEventPattern(f"FilterCriteria has {len(filters)} filters; at most {MAX_FILTERS} are allowed")
    patterns = []
    for entry in filters:
        pattern = entry.get("Pattern") if isinstance(entry, dict) and "Pattern" in entry else entry
        if isinstance(pattern, str):
            try:
                pattern = json.loads(pattern)
            except ValueError:
                raise InvalidEventPattern(f"Filter pattern is not valid JSON: {pattern!r}") from None
        if not isinstance(pattern, dict):
            raise InvalidEventPattern("A filter pattern must be a JSON object")
        compiled(_key(pattern))
        if kind in ("kinesis", "dynamodb") and DATA_KEY[kind] in pattern \
                and not isinstance(pattern[DATA_KEY[kind]], dict):
            raise InvalidEventPattern(f"The filter pattern for {DATA_KEY[kind]} must be a JSON object")
        patterns.append(pattern)
    return patterns


def matches(filters: list[dict], record: dict, kind: str) -> bool:
    """Whether the record passes: any pattern matches it, or there are no patterns."""
    if kind not in KINDS:
        raise ValueError(f"unknown event source kind {kind!r}: one of {', '.join(KINDS)}")
    if not filters:
        return True
    view = _view(record, kind)
    return any(_one(pattern, view, kind) for pattern in filters)


def _one(pattern: dict, view: dict, kind: str) -> bool:
    key = DATA_KEY[kind]
    # the forms must agree (the page's tables): an object pattern wants JSON data, a value list
    # wants a plain string (SQS only: stream data patterns are objects, see validate)
    if key in pattern and key in view and isinstance(pattern[key], dict) != isinstance(view[key], dict):
        return False
    return compiled(_key(pattern)).matches(view)


def _view(record: dict, kind: str) -> dict:
    """The record as a pattern sees it."""
    if kind == "sqs":
        body = record.get("body")
        return {**record, "body": _json_object(body) if isinstance(body, str) else body}
    if kind == "kinesis":
        fields = dict(record.get("kinesis") or {})
        if "data" in fields:
            fields["data"] = _decoded(fields["data"])
        return fields
    return record


def _json_object(text: str):
    """The text parsed when it is a JSON object, else the text itself."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return parsed if isinstance(parsed, dict) else text


def _decoded(data):
    """Kinesis data: base64 decoded, then parsed when it is JSON; None (matching no object
    pattern) when it is neither."""
    try:
        raw = base64.b64decode(data, validate=True)
        return json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        return None


def _key(pattern: dict) -> str:
    """The pattern as canonical text, the key of its compiled form."""
    return json.dumps(pattern, sort_keys=True, separators=(",", ":"))
