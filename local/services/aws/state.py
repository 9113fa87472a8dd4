"""The local AWS endpoint's state on disk, so that it survives a SIGKILL of the emulator and
a stop and start of `local up`, the way Postgres rows do: an answer goes out only once the
change it made is on disk (written and fdatasync'ed), so whatever a client was told has
happened is there after a restart. What is kept is moto's whole state: queues and their
messages (dead-letter queues included, with receive counts and visibility), topics and
subscriptions, SSM parameters with their history, S3 buckets and objects, and every other
service a client has used.

How:
- every request runs under one lock, and the SQS long poll lets go of it while it waits. moto
  is not thread-safe anyway: two receives of one queue at once could take the same message;
- after a request, a writer thread compares moto's state with what is on disk and appends
  what changed as one frame to a journal, then syncs it. Requests that arrived meanwhile share
  that frame (group commit), and each answer waits for the frame that holds its change;
- the comparison stays cheap where state is large: each message of a queue, each object
  of a bucket, each item and stream record of a DynamoDB table and each Kinesis record is
  a unit of its own, compared by a signature of its fields, so a receive rewrites one
  message, not the queue. Every other backend is pickled whole (it is small) and compared
  by digest;
- when the journal has grown past several times the live state, the state is written as a
  new snapshot beside the old one, and the manifest is switched to it by a rename.

moto's objects are pickled as they are (with cloudpickle, for the lambdas some backends keep
in defaultdicts), so the files belong to the moto and Python versions that wrote them; with
others they are moved aside, not read (the pin in pyproject.toml keeps moto's the same).
"""

import os
import sys
import threading
import time
from pathlib import Path

from .itemized import track_updates
from .journal import Files, StateNotWritten, StateUnreadable
from .pickling import ITEMIZED, backend_dicts
from .touched import ITEMS
from .units import apply, install, references_of, units_of

FORMAT = 1
# The journal is folded into a new snapshot when it is this many times the snapshot's size
# (and at least COMPACT_MIN_BYTES): the cost of rewriting stays proportional to what is written.
COMPACT_RATIO = 4
COMPACT_MIN_BYTES = 16 * 1024 * 1024
# How long an answer waits for its change to be on disk before it is refused with a 503.
DURABLE_WITHIN_S = 10.0

class PersistentState:
    def __init__(self, folder: Path, log=print, compact_min_bytes: int = COMPACT_MIN_BYTES,
                 durable_within_s: float = DURABLE_WITHIN_S):
        self.files = Files(folder)
        self.compact_min_bytes, self.durable_within_s = compact_min_bytes, durable_within_s
        self.lock = threading.Lock()  # held by every request while moto serves it
        self.log = log
        self._index: dict[str, dict[str, dict]] = {}  # service -> "meta" | "items" -> key -> fingerprint
        self._sequence = 0
        self._journal = None
        self._journal_bytes = 0
        self._snapshot_bytes = 0
        self._generation = 0  # requests that changed (or may have changed) the state, counted
        self._durable = 0  # the generation whose changes are all on disk
        self._dirty: set[str] = set()
        self._failure: Exception | None = None
        self._skipped: set[str] = set()
        self._known: dict[str, object] = {}  # every BackendDict seen, by service
        self._written = threading.Condition()
        self._stopping = False
        self._compact_not_before = 0.0
        self._thread = threading.Thread(target=self._write_forever, name="moto-state", daemon=True)

    # -- start: what was on disk becomes moto's state ---------------------------------------

    def open(self) -> str:
        """Read the state on disk into moto, then start afresh from a snapshot of it. Files
        another moto or Python wrote are moved aside (with the reason); returns a summary."""
        self.files.folder.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        track_updates(ITEMIZED)  # before any item is read or written: the diff relies on it
        summary = "no state on disk yet"
        try:
            manifest = self.files.manifest()
            if manifest is not None:
                # New files are numbered after the ones in use, never written over them.
                self._sequence = int(manifest["snapshot"].split("-")[1].split(".")[0])
                summary = self._restore(manifest)
        except Exception as error:  # noqa: BLE001 - whatever failed, the files are kept for a person to look at
            aside = self.files.folder.with_name(f"{self.files.folder.name}.unreadable-{int(time.time())}")
            self.files.folder.rename(aside)
            self.files.folder.mkdir()
            self._sequence = 0
            self._reset_moto()
            summary = f"the state on disk could not be read ({error}); it was moved to {aside}, starting empty"
        self._compact()
        self._thread.start()
        return f"{summary} ({time.monotonic() - began:.2f} s)"

    def _restore(self, manifest: dict) -> str:
        if manifest.get("format") != FORMAT or manifest.get("moto") != _moto_version() \
                or manifest.get("python") != _python_version():
            raise StateUnreadable(f"written by moto {manifest.get('moto')} on Python {manifest.get('python')}, "
                                  f"this is moto {_moto_version()} on Python {_python_version()}")
        units: dict[tuple, tuple] = {}
        for name, whole in ((manifest["snapshot"], True), (manifest["journal"], False)):
            for records in self.files.frames(self.files.folder / name, whole):
                for record in records:
                    apply(units, record)
        install(units)
        queues = sum(1 for key in units if key[0] == "container" and key[1] == "sqs")
        messages = sum(1 for key in units if key[0] == "item" and key[1] == "sqs")
        objects = sum(1 for key in units if key[0] == "item" and key[1] == "s3")
        # A table's items are keyed by their key attributes (tuples), its stream records by position.
        rows = sum(1 for key in units if key[0] == "item" and key[1] == "dynamodb" and isinstance(key[5], tuple))
        services = sorted({key[1] for key in units if key[0] == "registry"})
        tables = any(key[0] == "container" and key[1] == "dynamodb" for key in units)
        return (f"state restored: {', '.join(services) or 'no services'}; {_count(queues, 'queue')} holding "
                f"{_count(messages, 'message')}, {_count(objects, 'S3 key')}"
                + (f", {_count(rows, 'DynamoDB item')}" if tables else ""))

    @staticmethod
    def _reset_moto() -> None:
        from moto.core.base_backend import BackendDict

        BackendDict.reset()

    # -- each request ------------------------------------------------------------------------

    def changed(self, services: frozenset[str]) -> int:
        """Called under `lock` after moto served a request: the generation the answer must
        wait for (the current one for a read, which must not see what is not on disk yet)."""
        if services:
            self._generation += 1
            self._dirty |= services
            with self._written:
                self._written.notify_all()
        return self._generation

    def wait_durable(self, generation: int) -> None:
        """Return once `generation` is on disk; raise when it cannot be made so in time."""
        deadline = time.monotonic() + self.durable_within_s
        with self._written:
            while self._durable < generation:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StateNotWritten(f"the state could not be written: {self._failure or 'timed out'}")
                self._written.wait(left)

    # -- the writer --------------------------------------------------------------------------

    def _write_forever(self) -> None:
        while True:
            with self._written:
                while self._durable == self._generation and not self._stopping:
                    self._written.wait()
                if self._stopping and self._durable == self._generation:
                    return
            dirty: set[str] = set()
            try:
                with self.lock:
                    generation, dirty = self._generation, self._dirty
                    self._dirty = set()
                    records, index = self._diff(dirty)
                if records:
                    self._append(records)
                self._index.update(index)
            except Exception as error:  # noqa: BLE001 - a full disk, say: the answers wait, then are refused
                with self.lock:
                    self._dirty |= dirty  # compared again next time, against what is on disk
                if self._failure is None:
                    self.log(f"local AWS endpoint: could not write its state to {self.files.folder}: {error!r}")
                self._failure = error
                time.sleep(0.5)
                continue
            if self._failure is not None:
                self.log(f"local AWS endpoint: writing its state to {self.files.folder} again")
                self._failure = None
            with self._written:
                self._durable = generation
                self._written.notify_all()
            self._compact_when_due()

    def _append(self, records: list) -> None:
        frame = self.files.frame(records)
        try:
            written = self._journal.write(frame)
            if written != len(frame):
                raise OSError(f"wrote {written} of {len(frame)} bytes")
            os.fdatasync(self._journal.fileno())
        except BaseException:
            # What did get written is cut off again, so that later frames follow a whole one.
            os.ftruncate(self._journal.fileno(), self._journal_bytes)
            raise
        self._journal_bytes += len(frame)

    def _compact_when_due(self) -> None:
        if self._journal_bytes <= max(self.compact_min_bytes, COMPACT_RATIO * self._snapshot_bytes) \
                or time.monotonic() < self._compact_not_before:
            return
        try:
            with self.lock:
                self._compact()
        except Exception as error:  # noqa: BLE001 - the journal stays valid; try again later
            self._compact_not_before = time.monotonic() + 30
            self.log(f"local AWS endpoint: could not write a new snapshot in {self.files.folder}: {error!r}")

    def _services(self, dirty: set[str]) -> dict[str, tuple[object, bool]]:
        """The BackendDicts to compare, each with whether only its items may have changed."""
        self._known.update(backend_dicts())
        if "*" in dirty:
            dirty = set(self._known)
        wanted = {}
        for entry in dirty:
            service, items_only = (entry[:-len(ITEMS)], True) if entry.endswith(ITEMS) else (entry, False)
            wanted[service] = wanted.get(service, True) and items_only
        return {service: (self._known[service], items_only) for service, items_only in wanted.items()
                if service in self._known and service not in self._skipped}

    def _diff(self, dirty: set[str], everything: bool = False) -> tuple[list, dict]:
        """The records that bring the disk in line with moto for these services (or, for a
        snapshot, every unit of every service), and the index once they are written: per
        service, the fingerprints of its units ("meta") and of its items ("items")."""
        records, index = [], {}
        for service, (backends, items_only) in self._services({"*"} if everything else dirty).items():
            before = {"meta": {}, "items": {}} if everything else self._index.get(service, {"meta": {}, "items": {}})
            after = {"meta": before["meta"] if items_only else {}, "items": {}}
            changes = []
            try:
                for part, key, fingerprint, make_blob, kind in units_of(service, backends, references_of(self._known), items_only):
                    after[part][key] = fingerprint
                    if before[part].get(key) != fingerprint:
                        changes.append(("put", key, make_blob(), kind))
            except Exception as error:  # noqa: BLE001 - a backend pickle cannot take: that service is not kept
                self._skipped.add(service)
                self.log(f"local AWS endpoint: the state of {service} is not kept across restarts: {error!r}")
                continue
            records += changes
            for part in ("meta", "items"):
                records += [("del", key) for key in before[part] if key not in after[part]]
            index[service] = after
        return records, index

    def _compact(self) -> None:
        """Write the whole state as a new snapshot with an empty journal, then switch to them.
        Called with `lock` held (or before serving), so nothing changes meanwhile. Until the
        manifest names the new files, the old ones stay in use and valid."""
        records, index = self._diff(set(), everything=True)
        sequence = self._sequence + 1
        snapshot, journal = f"snapshot-{sequence:06d}.bin", f"journal-{sequence:06d}.bin"
        data = self.files.frame(records)
        self.files.write_new(snapshot, data)
        self.files.write_new(journal, b"")
        new_journal = open(self.files.folder / journal, "ab", buffering=0)
        try:
            self.files.switch({"format": FORMAT, "moto": _moto_version(), "python": _python_version(),
                               "snapshot": snapshot, "journal": journal})
        except BaseException:
            new_journal.close()
            raise
        old_journal, self._journal = self._journal, new_journal
        if old_journal is not None:
            old_journal.close()
        self._sequence = sequence
        self._journal_bytes, self._snapshot_bytes = 0, len(data)
        self._index = index

    def close(self) -> None:
        """Stop the writer once what was changed is on disk."""
        with self._written:
            self._stopping = True
            self._written.notify_all()
        if self._thread.is_alive():
            self._thread.join(self.durable_within_s)
        if self._journal is not None:
            self._journal.close()


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def _python_version() -> str:
    return ".".join(map(str, sys.version_info[:3]))
