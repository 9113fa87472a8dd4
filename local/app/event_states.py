"""Where the event runner keeps its delivery log and its sources' state (local/events/deliveries.py
writes them), for the commands and the console, which read them from other processes."""

import json
from pathlib import Path


def events_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "events"


def read_states(state_dir: Path) -> dict | None:
    """The runner's last word on its sources ({"pid", "at", "sources": [...]}), or None when it wrote none."""
    try:
        return json.loads((events_dir(state_dir) / "sources.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
