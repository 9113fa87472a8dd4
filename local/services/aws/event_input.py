"""What an EventBridge rule's target receives: the event itself, or the target's `Input`
(constant JSON text), `InputPath` (the part of the event a JSON path selects) or
`InputTransformer` (an `InputTemplate` filled from an `InputPathsMap`). Pure Python, no moto.

As the EventBridge user guide's "input transformation" page documents it:
- JSON paths are the subset EventBridge evaluates: `$`, dot notation (names with letters,
  digits, dashes, underscores, slashes), `[n]` indices, `*` and `[*]` wildcards, and here
  also `['name']` for names with other characters;
- a template that is JSON text gets each `<variable>` outside quotes as a JSON value, and inside
  quotes as text (so a string loses its quotes); a path that selects nothing gives null outside
  quotes and nothing inside; the result is minified;
- a template that is not JSON text (no leading `{`, `[` or `"`) gets plain text throughout;
- the reserved variables: `aws.events.rule-arn`, `aws.events.rule-name`,
  `aws.events.event.ingestion-time` (ISO 8601), `aws.events.event` (the event without its
  `detail`) and `aws.events.event.json` (the whole event); no InputPathsMap key may take them.
"""

import json
import re

MAX_INPUT_PATHS = 100  # InputPathsMap entries, the page's limit
RESERVED = ("aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time",
            "aws.events.event", "aws.events.event.json")
_MISSING = object()
_NAME = re.compile(r"[A-Za-z0-9_\-/@$:]+")


class InvalidTargetInput(ValueError):
    """An Input, InputPath or InputTransformer PutTargets refuses; the message says why."""


def validate(target: dict) -> None:
    """Refuse what PutTargets refuses of a target's input settings."""
    given = [key for key in ("Input", "InputPath", "InputTransformer") if target.get(key) is not None]
    if len(given) > 1:
        raise InvalidTargetInput(f"Only one of Input, InputPath, or InputTransformer may be set on target "
                                 f"{target.get('Id')}")
    if target.get("Input") is not None:
        try:
            json.loads(target["Input"])
        except ValueError:
            raise InvalidTargetInput(f"Input of target {target.get('Id')} is not valid JSON") from None
    if target.get("InputPath") is not None:
        _parse_path(target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer is not None:
        if not isinstance(transformer.get("InputTemplate"), str):
            raise InvalidTargetInput("InputTransformer requires an InputTemplate")
        paths = transformer.get("InputPathsMap") or {}
        if len(paths) > MAX_INPUT_PATHS:
            raise InvalidTargetInput(f"InputPathsMap has {len(paths)} entries; at most {MAX_INPUT_PATHS} are allowed")
        for name, path in paths.items():
            if name in RESERVED or name.startswith("aws.events."):
                raise InvalidTargetInput(f"InputPathsMap key {name} is reserved")
            _parse_path(path)


def render(target: dict, event: dict, *, rule_arn: str, rule_name: str, ingestion_time: str) -> str:
    """The text the target receives for `event` (a parsed event in EventBridge's shape)."""
    if target.get("Input") is not None:
        return target["Input"]
    if target.get("InputPath") is not None:
        found = select(event, target["InputPath"])
        return _compact(None if found is _MISSING else found)
    transformer = target.get("InputTransformer")
    if transformer is None:
        return _compact(event)
    values = {name: select(event, path) for name, path in (transformer.get("InputPathsMap") or {}).items()}
    values.update({"aws.events.rule-arn": rule_arn, "aws.events.rule-name": rule_name,
                   "aws.events.event.ingestion-time": ingestion_time,
                   "aws.events.event": {key: value for key, value in event.items() if key != "detail"},
                   "aws.events.event.json": event})
    return fill(transformer["InputTemplate"], values)


def as_json_payload(text: str) -> str:
    """A payload for a function, which must be JSON: a text that is not JSON becomes a JSON string."""
    try:
        json.loads(text)
    except ValueError:
        return json.dumps(text, ensure_ascii=False)
    return text


def fill(template: str, values: dict) -> str:
    """The template with each `<name>` of `values` replaced (the module's rules); other `<...>` stay."""
    as_json = template.lstrip()[:1] in ("{", "[", '"')
    out, inside, position = [], False, 0
    while position < len(template):
        char = template[position]
        if inside and char == "\\":  # an escape inside a JSON string: keep it whole
            out.append(template[position:position + 2])
            position += 2
            continue
        if char == '"' and as_json:
            inside = not inside
        elif char == "<":
            end = template.find(">", position)
            name = template[position + 1:end] if end > 0 else None
            if name in values:
                out.append(_insert(values[name], as_json and not inside, as_json))
                position = end + 1
                continue
        out.append(char)
        position += 1
    text = "".join(out)
    if not as_json:
        return text
    try:
        return _compact(json.loads(text))
    except ValueError:  # not JSON after all (a template's own mistake): delivered as written
        return text


def _insert(value, as_value: bool, in_json: bool) -> str:
    if as_value:  # outside quotes: the JSON value itself
        return _compact(None if value is _MISSING else value)
    if value is _MISSING:
        return ""
    text = value if isinstance(value, str) else _compact(value)
    return json.dumps(text, ensure_ascii=False)[1:-1] if in_json else text  # inside a JSON string: escaped


def _compact(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# -- JSON paths ------------------------------------------------------------------------------


def select(document, path: str):
    """What the JSON path selects in document: one value, a list for a path with a wildcard,
    or _MISSING when nothing is there."""
    steps = _parse_path(path)
    found = [document]
    for step in steps:
        found = [child for node in found for child in _children(node, step)]
    if any(step == "*" for step in steps):
        return found
    return found[0] if found else _MISSING


def _children(node, step) -> list:
    if step == "*":
        return list(node.values()) if isinstance(node, dict) else list(node) if isinstance(node, list) else []
    if isinstance(step, int):
        if isinstance(node, list) and -len(node) <= step < len(node):
            return [node[step]]
        return []
    return [node[step]] if isinstance(node, dict) and step in node else []


def _parse_path(path) -> list:
    """A JSON path as steps: names (str), indices (int) and "*"; InvalidTargetInput if it is not one."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise InvalidTargetInput(f"{path!r} is not a valid JSON path: it must start with $")
    steps, position = [], 1
    while position < len(path):
        if path.startswith(".*", position):
            steps.append("*")
            position += 2
        elif path[position] == ".":
            name = _NAME.match(path, position + 1)
            if name is None:
                raise InvalidTargetInput(f"{path!r} is not a valid JSON path at position {position}")
            steps.append(name.group())
            position = name.end()
        elif path[position] == "[":
            end = path.find("]", position)
            inside = path[position + 1:end] if end > 0 else ""
            if inside == "*":
                steps.append("*")
            elif re.fullmatch(r"-?\d+", inside):
                steps.append(int(inside))
            elif len(inside) >= 2 and inside[0] == inside[-1] and inside[0] in "'\"":
                steps.append(inside[1:-1])
            else:
                raise InvalidTargetInput(f"{path!r} is not a valid JSON path at position {position}")
            position = end + 1
        else:
            raise InvalidTargetInput(f"{path!r} is not a valid JSON path at position {position}")
    return steps
