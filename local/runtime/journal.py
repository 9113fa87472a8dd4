"""Every finished invocation, kept on disk for `local logs` and the console, whichever process
ran it (the gateway's and Invoke API's in `up`, the event runner's, a one-shot `invoke`).

One JSON line per invocation in `<state>/logs/<logical id>.jsonl`: when it started and
finished, how long it ran (and its init, when cold), the event, the answer or the error, its
log lines as CloudWatch would hold them, and which process ran it. Each line is one os.write
on an O_APPEND descriptor, so two processes writing the same function's file never interleave
(the kernel appends a regular file's write whole). An event or answer past FIELD_CAP_BYTES is
not kept (the record says how big it was; such an invocation cannot be replayed); a file past
MAX_FILE_BYTES is moved aside to `.jsonl.1`, the one before it dropped.
"""

import collections
import json
import os
import threading
from pathlib import Path

import orjson

FIELD_CAP_BYTES = 256 * 1024
MAX_FILE_BYTES = 5 * 1024 * 1024
SUFFIX = ".jsonl"


class InvocationJournal:
    def __init__(self, folder: Path, process: str, max_file_bytes: int = MAX_FILE_BYTES,
                 field_cap_bytes: int = FIELD_CAP_BYTES):
        self.folder, self.process = Path(folder), process  # process: "up", "events" or "invoke"
        self.max_file_bytes, self.field_cap_bytes = max_file_bytes, field_cap_bytes
        self._lock = threading.Lock()
        self._broken = False
        self._made = False  # the folder exists
        self._open: dict[str, int] = {}
        self._paths: dict[str, str] = {}  # function -> its file

    def record(self, invocation) -> None:
        """Called with each finished Invocation (runtime/pool.py); never raises: the journal is
        for people reading it, and a full disk must not fail a request."""
        if self._broken:
            return
        line = self._line(invocation)
        path = self._paths.get(invocation.function)
        if path is None:
            path = self._paths[invocation.function] = str(self.folder / f"{_file_name(invocation.function)}{SUFFIX}")
        try:
            with self._lock:
                if not self._made:
                    self.folder.mkdir(parents=True, exist_ok=True)
                    self._made = True
                descriptor = self._descriptor(path)
                os.write(descriptor, line)
                if os.fstat(descriptor).st_size > self.max_file_bytes:
                    os.replace(path, path + ".1")
                    os.close(self._open.pop(path))
        except OSError as error:
            self._broken = True
            print(f"[local] invocations are not kept in {self.folder}: {error}", flush=True)

    def _descriptor(self, path: str) -> int:
        """A kept descriptor of the file, opened again when the file it writes is no longer the
        one at `path` (another process moved it aside): cheaper than an open per record."""
        descriptor = self._open.get(path)
        if descriptor is not None:
            try:
                if os.stat(path).st_ino == os.fstat(descriptor).st_ino:
                    return descriptor
            except FileNotFoundError:
                pass
            os.close(self._open.pop(path))
        descriptor = self._open[path] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return descriptor

    def close(self) -> None:
        with self._lock:
            for descriptor in self._open.values():
                os.close(descriptor)
            self._open.clear()

    def _line(self, invocation) -> bytes:
        entry = record_of(invocation, self.process, with_fields=False)
        # The event and the answer are serialized once, and spliced in whole or not at all.
        fields = []
        for name, value in (("event", invocation.event), ("payload", invocation.payload)):
            data = orjson.dumps(value, default=str)
            if len(data) > self.field_cap_bytes:
                entry[f"{name}_bytes"] = len(data)  # too big to keep: the record says so instead
            else:
                fields.append(b',"' + name.encode() + b'":' + data)
        return orjson.dumps(entry, default=str)[:-1] + b"".join(fields) + b"}\n"


def record_of(invocation, process: str, with_fields: bool = True) -> dict:
    """An Invocation as the journal keeps it (the console shows this process's own ones so
    when there is no journal)."""
    entry = {
        "request_id": invocation.request_id, "function": invocation.function,
        "started_at": invocation.finished_at - (invocation.duration_ms + (invocation.init_ms or 0)) / 1000,
        "finished_at": invocation.finished_at, "duration_ms": round(invocation.duration_ms, 3),
        "init_ms": None if invocation.init_ms is None else round(invocation.init_ms, 3),
        "process": process, "log": invocation.log, "error": invocation.error,
    }
    if with_fields:
        entry["event"], entry["payload"] = invocation.event, invocation.payload
    return entry


def _file_name(function: str) -> str:
    # A nested stack's functions are `Child/Name`: one file each, still in the one folder.
    return function.replace("/", "__")


def journal_files(folder: Path, function: str | None = None) -> list[Path]:
    """The files of one function (or of all), the older (.1) before the current."""
    pattern = f"{_file_name(function)}{SUFFIX}" if function else f"*{SUFFIX}"
    files = []
    for current in sorted(Path(folder).glob(pattern)):
        older = current.with_name(current.name + ".1")
        files += [older, current] if older.exists() else [current]
    return files


def read_records(path: Path, offset: int = 0) -> tuple[list[dict], int]:
    """The whole records in a file from `offset` on, and where the next read starts (a line
    still being written is left for it)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    records = []
    for line in data[:end].splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # a line cut by a crash mid-write: the others are whole
    return records, offset + end


def records(folder: Path, function: str | None = None, since: float | None = None) -> list[dict]:
    """Every kept record, oldest first by start time."""
    found = [record for path in journal_files(folder, function) for record in read_records(path)[0]
             if since is None or record["finished_at"] >= since]
    return sorted(found, key=lambda record: record["started_at"])


class JournalTail:
    """The latest records of every function's file, read as they are appended: each call reads
    only what was written since the one before (the console asks every two seconds), and never
    more than `tail_bytes` of a file. `shape` makes what is kept of a record (the console keeps
    no events or answers in memory: it reads one from the file when asked, with `find`)."""

    def __init__(self, folder: Path, keep: int = 100, tail_bytes: int = 1024 * 1024, shape=lambda record: record):
        self.folder, self.keep, self.tail_bytes, self.shape = Path(folder), keep, tail_bytes, shape
        self._lock = threading.Lock()
        self._files: dict[str, list] = {}  # file name -> [inode, offset read to, deque of (finished_at, shaped)]

    def latest(self, limit: int = 100) -> list[dict]:
        """Newest first, every function's together."""
        with self._lock:
            present = set()
            for path in self.folder.glob(f"*{SUFFIX}"):
                present.add(path.name)
                self._catch_up(path)
            for gone in set(self._files) - present:
                del self._files[gone]
            found = [entry for _, _, kept in self._files.values() for entry in kept]
        found.sort(key=lambda entry: entry[0], reverse=True)
        return [shaped for _, shaped in found[:limit]]

    def _catch_up(self, path: Path) -> None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return
        followed = self._files.get(path.name)
        if followed is None:
            followed = self._files[path.name] = [stat.st_ino, 0, collections.deque(maxlen=self.keep)]
        elif followed[0] != stat.st_ino:  # moved aside to .1 by a writer: the rest of it first
            older = path.with_name(path.name + ".1")
            try:
                if older.stat().st_ino == followed[0]:
                    self._read(older, followed)
            except FileNotFoundError:
                pass
            followed[0], followed[1] = stat.st_ino, 0
        self._read(path, followed)

    def _read(self, path: Path, followed: list) -> None:
        try:
            size = path.stat().st_size
        except FileNotFoundError:  # being moved aside: the next call reads it
            return
        # The start of a long file is not looked at. Read from mid-line, the line's end is no
        # JSON (its closing brace has no opening one), so read_records leaves it out.
        found, followed[1] = read_records(path, max(followed[1], size - self.tail_bytes))
        followed[2].extend((record["finished_at"], self.shape(record)) for record in found)


def find(folder: Path, function: str, request_id: str, finished_at: float | None = None) -> dict | None:
    """The latest record of `request_id` (an asynchronous invocation's retries share one;
    `finished_at` tells them apart), looked for from the end of the function's files."""
    needle = b'"request_id":' + orjson.dumps(request_id)
    for path in reversed(journal_files(folder, function)):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        for line in reversed(data.splitlines()):
            if needle not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("request_id") == request_id and (finished_at is None or record["finished_at"] == finished_at):
                return record
    return None
