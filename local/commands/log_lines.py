"""How `local logs` shows a function's log lines on a terminal: Powertools Logger's JSON
lines (one object a line with level, message, timestamp and whatever keys the code added)
become `LEVEL message  key=value ...`; every other line is shown as the function wrote it."""

import json
import re
from datetime import datetime, timezone

# Keys every Powertools record has and the readable line shows elsewhere (level, message,
# time) or that repeat on every line of a function (service, cold start, its name and ARN...).
_SHOWN_APART = {"level", "message", "timestamp"}
_REPEATED = {"service", "cold_start", "function_name", "function_memory_size", "function_arn", "function_request_id",
             "sampling_rate", "xray_trace_id"}
_COLOURS = {"DEBUG": "\033[2m", "INFO": "\033[36m", "WARNING": "\033[33m", "ERROR": "\033[31m",
            "CRITICAL": "\033[1;31m"}
_RESET = "\033[0m"
_LAMBDA_LINES = re.compile(r"^(START|END|REPORT) RequestId: ")


def readable(line: str, colour: bool = False) -> str:
    record = _powertools_record(line)
    if record is None:
        if colour and _LAMBDA_LINES.match(line):
            return f"\033[2m{line}{_RESET}"
        return line
    level = str(record.get("level", "")).upper()
    extra = {key: value for key, value in record.items() if key not in _SHOWN_APART | _REPEATED}
    location = extra.pop("location", None)
    message = record.get("message")
    text = message if isinstance(message, str) else json.dumps(message, default=str)
    parts = [f"{_COLOURS.get(level, '')}{level:<7}{_RESET}" if colour else f"{level:<7}", text]
    if location:
        parts.append(f"({location})")
    parts += [f"{key}={_compact(value)}" for key, value in extra.items()]
    return "  ".join(parts)


def _powertools_record(line: str) -> dict | None:
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) and "level" in record and "message" in record else None


def _compact(value) -> str:
    return value if isinstance(value, str) and " " not in value else json.dumps(value, default=str)


def stamp(epoch: float) -> str:
    """CloudWatch's timestamps as `sam logs` prints them, in UTC."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)"
                  r"(\s+ago)?\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def since_epoch(text: str, now: float) -> float:
    """`--since`: an age (30s, 5m, 2h, 1d; `5mins ago` as sam logs takes it) or an ISO 8601
    time (UTC unless it says otherwise). ValueError names what is expected."""
    found = _AGO.match(text)
    if found:
        unit = found.group(2)
        return now - float(found.group(1)) * _UNIT_S["m" if unit.startswith("min") else unit[0]]
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r}: give an age such as 30s, 5m, 2h, 1d, or a time such as "
                         f"2026-12-05T10:00:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
