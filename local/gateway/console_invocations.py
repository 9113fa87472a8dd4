"""The invocations the console lists, shows and replays: every process's (the gateway's and
Invoke API's here, the event runner's, one-shot `invoke`s) from the invocation journal
(local/runtime/journal.py) when there is a state folder; this process's own latest from
memory (Runtime.recent) when there is none, as in tests that build a gateway alone."""

from pathlib import Path

from local.runtime.journal import JournalTail, find, record_of

LISTED = 100  # the newest, of all functions


def summary(record: dict) -> dict:
    """What the list shows of an invocation: no event or answer, which may be large (the page
    asks for them when one is opened)."""
    error = record.get("error")
    return {"function": record["function"], "request_id": record["request_id"], "ok": error is None,
            "error": error.get("errorType") if isinstance(error, dict) else None,
            "duration_ms": round(record["duration_ms"], 2), "init_ms": record.get("init_ms"),
            "cold": record.get("init_ms") is not None, "at": record["finished_at"], "started_at": record["started_at"],
            "process": record.get("process", ""), "log": record.get("log", []),
            "event_kept": "event" in record}


class Invocations:
    def __init__(self, runtime, journal_dir: Path | None):
        self.runtime = runtime
        self.tail = JournalTail(journal_dir, keep=LISTED, shape=summary) if journal_dir is not None else None
        self.journal_dir = journal_dir

    def latest(self) -> list[dict]:
        """Newest first. Reads files: call it off the event loop."""
        if self.tail is not None:
            return self.tail.latest(LISTED)
        return [summary(record) for record in self._in_memory()][:LISTED]

    def find(self, function: str, request_id: str, finished_at: float | None = None) -> dict | None:
        """One invocation whole (event, answer, log), or None. Reads files: off the event loop."""
        if self.journal_dir is not None:
            found = find(self.journal_dir, function, request_id, finished_at)
            if found is not None:
                return found
        return next((record for record in self._in_memory() if record["function"] == function
                     and record["request_id"] == request_id
                     and (finished_at is None or record["finished_at"] == finished_at)), None)

    def _in_memory(self) -> list[dict]:
        return [record_of(invocation, "up") for invocation in reversed(list(self.runtime.recent))]
