"""`python -m local events tail`: each delivery the event runner makes, as it happens, read from
the log it keeps (deliveries.py); and the per-record detail a queue's delivery line carries."""

import json
import time
from datetime import datetime
from pathlib import Path

from local.app.event_states import events_dir
from local.events.deliveries import FAILED, OK, Delivery


def record_detail(record: dict) -> str:
    """What a queue's record is, for people watching: an event's type and id when its body (or
    the SNS notification it wraps) names them, as most event envelopes do; else the message id."""
    try:
        event = json.loads(record["body"])
        if isinstance(event, dict) and "TopicArn" in event and "Message" in event:
            event = json.loads(event["Message"])
    except (ValueError, KeyError, TypeError):
        event = None
    if isinstance(event, dict):
        kind = event.get("type") or event.get("detail-type")
        if kind and event.get("id"):
            return f"{kind} {event['id']}"
    return str(record.get("messageId", "?"))


def line(delivery: dict) -> str:
    at = datetime.fromtimestamp(delivery.get("at", 0)).strftime("%H:%M:%S.%f")[:-3]
    took = f" {delivery['duration_ms']:.0f} ms" if delivery.get("duration_ms") is not None else ""
    records = f" x{delivery['records']}" if delivery.get("records", 1) != 1 else ""
    return (f"{at} {delivery['function']:<26} {delivery['source']:<34} via {delivery.get('via') or '-':<9} "
            f"{delivery['outcome']:<11}{records}{took}  {delivery.get('detail', '')}").rstrip()


def tail(state_dir: Path, say, count: int | None = None, from_start: bool = False, poll_s: float = 0.2) -> None:
    """Print each delivery as the runner logs it; with `from_start`, the log kept so far first."""
    path = events_dir(state_dir) / "deliveries.jsonl"
    position = 0 if from_start or not path.exists() else path.stat().st_size
    shown, partial, last = 0, b"", b""
    while count is None or shown < count:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < position:  # the runner cut the log to its last half: go on after the last line shown
            position, partial = _after(path, last), b""
            continue
        if size > position:
            with open(path, "rb") as log:
                log.seek(position)
                data = partial + log.read(size - position)
            position = size
            *whole, partial = data.split(b"\n")
            for raw in whole:
                try:
                    say(line(json.loads(raw)))
                except (ValueError, KeyError, TypeError):
                    continue
                shown, last = shown + 1, raw
                if count is not None and shown >= count:
                    return
        else:
            time.sleep(poll_s)


def _after(path: Path, last: bytes) -> int:
    """Where the line after `last` starts in the log as it is now; its end when `last` is not there."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    found = data.rfind(last + b"\n") if last else -1
    return found + len(last) + 1 if found >= 0 else len(data)


def log_batch(deliveries, source: str, function: str, records: list[dict], failed: set[str], via: str,
              duration_ms: float | None = None) -> None:
    """A queue's batch, one line per record (as `events tail` shows them): failed or ok."""
    for record in records:
        deliveries.record(Delivery(source=source, function=function, via=via, detail=record_detail(record),
                                   outcome=FAILED if record["messageId"] in failed else OK, duration_ms=duration_ms))
