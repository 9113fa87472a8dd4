"""Every delivery the event runner makes, for people watching: `python -m local events tail`
follows them, `local list` and the console show each source's state and last deliveries.

Lines are appended to `<state>/events/deliveries.jsonl` by a thread of their own, a tenth of
a second at a time (a write inside every delivery would cost the pollers' CPU); the file is
cut to its last half when it passes 4 MB. Each source's counts and its last deliveries are
written beside it (`sources.json`) once a second. Neither needs Redis, so any template's
runner keeps them."""

import collections
import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


log = logging.getLogger("local.events")

MAX_LOG_BYTES = 4 * 1024 * 1024
KEPT_PER_SOURCE = 10

OK, FAILED, PARTIAL, RETRY, DEAD_LETTER, DROPPED = "ok", "failed", "partial", "retry", "dead-letter", "dropped"


@dataclass
class Delivery:
    source: str  # the source's id: "sqs:<queue>", "dynamodb:<table>", "kinesis:<stream>", "async", "schedule:<name>"
    function: str  # the logical id of the function it went to
    outcome: str  # OK, FAILED, PARTIAL, RETRY, DEAD_LETTER or DROPPED
    records: int = 1
    via: str = ""  # what delivered it: sqs, sns, s3, events, scheduler, invoke, lambda, dynamodb, kinesis, redis
    detail: str = ""  # ids, or why it failed
    duration_ms: float | None = None
    at: float = field(default_factory=time.time)


@dataclass
class SourceState:
    """What `local list` and the console show of one source."""
    source: str
    function: str
    kind: str
    state: str = "Enabled"  # Enabled, Disabled, Failing (the last turn could not read its source)
    delivered: int = 0
    failed: int = 0
    last: list[dict] = field(default_factory=list)
    note: str = ""  # e.g. the lag of a stream, or why it is disabled
    epoch: int = field(default=0, repr=False, compare=False)  # of its last registration (forget)


class Deliveries:
    """The log and the state of every source, kept by the event runner."""

    def __init__(self, folder: Path | None, flush_every_s: float = 0.1):
        self.folder = Path(folder) if folder is not None else None
        self.flush_every_s = flush_every_s
        self._pending: collections.deque[Delivery] = collections.deque(maxlen=10_000)
        self._sources: dict[tuple[str, str], SourceState] = {}
        self._epoch = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._writer: threading.Thread | None = None

    def register(self, source: str, function: str, kind: str, state: str = "Enabled", note: str = "") -> None:
        """A source, or a source again after a template reload: its counts and last deliveries kept."""
        with self._lock:
            known = self._sources.get((source, function))
            if known is None:
                known = self._sources[(source, function)] = SourceState(source, function, kind, state, note=note)
            else:
                known.kind, known.state, known.note = kind, state, note
            known.epoch = self._epoch

    def new_epoch(self) -> int:
        """Before a template reload registers its sources: what `forget` compares with."""
        with self._lock:
            self._epoch += 1
            return self._epoch

    def forget(self, function: str, epoch: int) -> None:
        """The function's sources not registered again since `epoch`: a reloaded template took
        them away (or the function)."""
        with self._lock:
            for key in [key for key, known in self._sources.items() if key[1] == function and known.epoch < epoch]:
                del self._sources[key]

    def set_state(self, source: str, function: str, state: str, note: str | None = None) -> None:
        with self._lock:
            known = self._sources.get((source, function))
            if known is not None:
                known.state = state
                if note is not None:
                    known.note = note

    def record(self, delivery: Delivery) -> None:
        with self._lock:
            known = self._sources.get((delivery.source, delivery.function))
            if known is not None:
                known.delivered += delivery.records if delivery.outcome == OK else 0
                known.failed += 1 if delivery.outcome in (FAILED, DEAD_LETTER, DROPPED) else 0
                known.last = [asdict(delivery), *known.last][:KEPT_PER_SOURCE]
        self._pending.append(delivery)

    def states(self) -> list[dict]:
        with self._lock:
            return [asdict(state) for state in self._sources.values()]

    def start(self) -> None:
        if self.folder is None or self._writer is not None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # the log is for people watching: the deliveries go on without it
            log.warning("the delivery log cannot be kept in %s (%s); `events tail` will show nothing", self.folder,
                        error)
            self.folder = None
            return
        self._writer = threading.Thread(target=self._write, name="deliveries", daemon=True)
        self._writer.start()

    def close(self) -> None:
        """Write what is pending, then stop."""
        self._closed.set()
        if self._writer is not None:
            self._writer.join(5)

    def _write(self) -> None:
        last_states = 0.0
        while True:
            closing = self._closed.wait(self.flush_every_s)
            self._flush()
            if closing or time.monotonic() - last_states >= 1:
                write_json(self.folder / "sources.json", {"pid": os.getpid(), "at": time.time(), "sources": self.states()})
                last_states = time.monotonic()
            if closing:
                return

    def _flush(self) -> None:
        lines = []
        while self._pending:
            lines.append(json.dumps(asdict(self._pending.popleft())) + "\n")
        if not lines:
            return
        path = self.folder / "deliveries.jsonl"
        try:
            with open(path, "a", encoding="utf-8") as log:
                log.writelines(lines)
            if path.stat().st_size > MAX_LOG_BYTES:
                _keep_last_half(path)
        except OSError:
            pass  # the log is for people watching; the deliveries themselves went on


def write_json(path: Path, value) -> None:
    temporary = path.with_suffix(".tmp")
    try:
        temporary.write_text(json.dumps(value))
        os.replace(temporary, path)  # readers never see half a file
    except OSError:
        pass


def _keep_last_half(path: Path) -> None:
    data = path.read_bytes()
    tail = data[len(data) // 2:]
    tail = tail[tail.find(b"\n") + 1:]
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(tail)
    os.replace(temporary, path)
