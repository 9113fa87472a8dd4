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
- the comparison stays cheap where state is large: each message of a queue and each object
  of a bucket is a unit of its own, compared by a signature of its fields, so a receive
  rewrites one message, not the queue. Every other backend is pickled whole (it is small)
  and compared by digest;
- when the journal has grown past several times the live state, the state is written as a
  new snapshot beside the old one, and the manifest is switched to it by a rename.

moto's objects are pickled as they are (with cloudpickle, for the lambdas some backends keep
in defaultdicts), so the files belong to the moto and Python versions that wrote them; with
others they are moved aside, not read (the pin in pyproject.toml keeps moto's the same).
"""

import hashlib
import importlib
import io
import json
import os
import pickle
import struct
import sys
import threading
import time
import zlib
from collections import defaultdict
from pathlib import Path

import cloudpickle

FORMAT = 1
# A frame: payload length and CRC-32, then the pickled list of records. A frame cut short by a
# kill (never acknowledged, since its sync had not returned) is where reading stops.
_FRAME = struct.Struct("<II")
# The journal is folded into a new snapshot when it is this many times the snapshot's size
# (and at least COMPACT_MIN_BYTES): the cost of rewriting stays proportional to what is written.
COMPACT_RATIO = 4
COMPACT_MIN_BYTES = 16 * 1024 * 1024
# How long an answer waits for its change to be on disk before it is refused with a 503.
DURABLE_WITHIN_S = 10.0

# What a request to one service can change in others: an SNS publish delivers to SQS (and
# changes nothing of SNS but moto's record of sent messages, which is not kept), S3 and
# EventBridge notify queues, DynamoDB writes its streams. "sqs:items" is a change to the
# messages of queues only, the common case, compared without the queues themselves.
DELIVERS_TO = {"sns": {"sqs:items"}, "s3": {"sqs:items"}, "events": {"sqs:items"},
               "dynamodb": {"dynamodbstreams"}}
_SQS_MESSAGE_OPERATIONS = {"SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
                           "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"}
_READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Head", "BatchGet", "Query", "Scan")
ITEMS = ":items"
ALL = frozenset({"*"})  # a request whose service cannot be told: everything may have changed


# -- which services a request may change --------------------------------------------------------

def services_touched(method: str, target: str, headers, body: bytes) -> frozenset[str]:
    """The moto services whose state this request may change; empty for a read. A read is an
    operation named Get*, List*, Describe*, ... or a GET of a REST protocol; should a change
    ever hide behind such a name, the next change to that service writes it."""
    service = _signing_service(target, headers)
    operation = None if service == "s3" else _operation(target, headers, body)  # S3 is REST only
    if operation is not None:
        if operation.startswith(_READ_ONLY_PREFIXES):
            return frozenset()
    elif method in ("GET", "HEAD", "OPTIONS"):  # REST protocols (S3, Lambda, ...) and moto's own pages
        return frozenset()
    if service is None:
        return ALL
    if service == "sns" and operation in ("Publish", "PublishBatch"):
        return frozenset(DELIVERS_TO["sns"])
    if service == "sqs" and operation in _SQS_MESSAGE_OPERATIONS:
        return frozenset({"sqs" + ITEMS})
    return frozenset({service, *DELIVERS_TO.get(service, ())})


def _signing_service(target: str, headers) -> str | None:
    """The service named in the SigV4 credential scope (header, or query for a presigned URL)."""
    credential = headers.get("Authorization", "")
    marker = "Credential="
    if marker not in credential:
        query = target.partition("?")[2]
        credential, marker = query.replace("%2F", "/").replace("%2f", "/"), "X-Amz-Credential="
        if marker not in credential:
            return None
    scope = credential.split(marker, 1)[1].split(",", 1)[0].split("&", 1)[0].split("/")
    return scope[3] if len(scope) >= 5 else None


def _operation(target: str, headers, body: bytes) -> str | None:
    """The operation of a JSON (X-Amz-Target) or query (Action=) protocol request."""
    amz_target = headers.get("X-Amz-Target")
    if amz_target:
        return amz_target.rsplit(".", 1)[-1]
    form = headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
    for text in (target.partition("?")[2], body[:512].decode("latin-1") if body and form else ""):
        for pair in text.split("&"):
            if pair.startswith("Action="):
                return pair[len("Action="):]
    return None


# -- pickling moto's objects ----------------------------------------------------------------------

# Fields of moto's objects that are not AWS state, left out and given a fresh default:
# moto keeps every message published to a topic, for its own tests.
def _transient_fields() -> dict[type, dict[str, type]]:
    from moto.sns.models import Topic

    return {Topic: {"sent_notifications": list}}


_LOCKS = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock,
          threading.Condition: threading.Condition, threading.Event: threading.Event,
          threading.Semaphore: threading.Semaphore}


def _new_object(kind: type, defaults: dict[str, type]):
    made = kind.__new__(kind)
    made.__dict__.update({name: factory() for name, factory in defaults.items()})
    return made


def _rebuild_defaultdict(kind: type, factory, items: dict, state: dict):
    made = kind.__new__(kind)
    made.default_factory = factory
    made.update(items)
    made.__dict__.update(state)
    return made


class _Pickler(cloudpickle.Pickler):
    """moto's objects as they are, except: locks and conditions come back new (their state
    belongs to this process), fields that are not AWS state are left out, and a queue or a
    bucket met inside another unit is written as a reference to that unit."""

    def __init__(self, references: dict[int, tuple]):
        self._buffer = io.BytesIO()
        super().__init__(self._buffer, protocol=pickle.HIGHEST_PROTOCOL)
        self._references = references
        self._transient = _transient_fields()

    def blob(self, value) -> bytes:
        self._buffer.seek(0)
        self._buffer.truncate()
        self.clear_memo()
        self.dump(value)
        return self._buffer.getvalue()

    def persistent_id(self, obj):
        return self._references.get(id(obj))

    def reducer_override(self, obj):
        kind = type(obj)
        if kind in _LOCKS:
            return _LOCKS[kind], ()
        transient = self._transient.get(kind)
        if transient is not None:
            state = {name: value for name, value in obj.__dict__.items() if name not in transient}
            return _new_object, (kind, transient), state
        if isinstance(obj, defaultdict) and kind is not defaultdict:
            # A subclass whose __init__ takes other arguments (SSM's ParameterDict): pickle's
            # own reduction would call it with the factory alone.
            return _rebuild_defaultdict, (kind, obj.default_factory, dict(obj), getattr(obj, "__dict__", {}))
        return super().reducer_override(obj)


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, shells: dict[tuple, object]):
        super().__init__(io.BytesIO(data))
        self._shells = shells

    def persistent_load(self, key):
        return self._shells[tuple(key)]


def _load(data: bytes, shells: dict[tuple, object]):
    return _Unpickler(data, shells).load()


# -- the large parts of a backend, kept a unit per item ---------------------------------------

class QueueMessages:
    """SQS: each queue, and each of its messages. A message's signature covers every field a
    request changes (receive, change of visibility); its body and attributes never change.
    Not kept: the receipt handles of deleted messages (moto keeps every one, for ever, so that
    a second delete succeeds; written with the queue they would make each write cost more
    than the last)."""

    containers = "queues"
    held = ("_messages", "_pending_messages", "deleted_messages")

    @staticmethod
    def items(queue):
        pending = queue._pending_messages
        for message in queue._messages:
            in_flight = message in pending
            yield message.id, (message.receipt_handle, message.visible_at, message.approximate_receive_count,
                               message.delayed_until, in_flight), (message, in_flight)

    @staticmethod
    def restore(queue, items: list) -> None:
        queue._messages = [message for message, _ in items]
        queue._pending_messages = {message for message, in_flight in items if in_flight}
        queue.deleted_messages = set()


class BucketKeys:
    """S3: each bucket, and each object key with all its versions. An object's signature is
    the identity of each version and of each of its fields: moto replaces a version on every
    write and a field on every change of ACL, lock or storage class."""

    containers = "buckets"
    held = ("keys",)

    @staticmethod
    def items(bucket):
        for name, versions in dict.items(bucket.keys):
            signature = tuple((id(version), *(id(value) for value in vars(version).values())) for version in versions)
            # The versions are kept with the signature so that their ids cannot be reused meanwhile.
            yield name, (signature, tuple(versions)), (name, list(versions))

    @staticmethod
    def restore(bucket, items: list) -> None:
        from moto.s3.utils import _VersionedKeyStore

        store = _VersionedKeyStore()
        for name, versions in items:
            dict.__setitem__(store, name, versions)
        bucket.keys = store


ITEMIZED = {"sqs": QueueMessages, "s3": BucketKeys}

# Attributes every BackendDict has; any other (S3's bucket_accounts) is state of the service.
_BACKEND_DICT_FIELDS = {"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"}


def _backend_dicts() -> dict[str, object]:
    from moto.core.base_backend import BackendDict

    return {backends.service_name: backends for backends in list(BackendDict._instances)}


def _locate(backends) -> tuple[str, str]:
    """The module and name under which moto keeps a BackendDict, to find it again."""
    module = sys.modules[backends.backend.__module__]
    for name, value in vars(module).items():
        if value is backends:
            return module.__name__, name
    raise LookupError(f"{backends.service_name}: its BackendDict is not a global of {module.__name__}")


# -- what is on disk --------------------------------------------------------------------------------

class StateUnreadable(Exception):
    pass


class StateNotWritten(Exception):
    pass


class _Files:
    """manifest.json names the snapshot and the journal in use; both are frames of records.
    A record is ("put", key, blob, kind) or ("del", key)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.manifest_path = self.folder / "manifest.json"

    def manifest(self) -> dict | None:
        try:
            return json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            return None

    @staticmethod
    def frames(path: Path, whole: bool) -> list[list]:
        """The frames in a file. A torn last frame of the journal is left out (it was never
        acknowledged); a snapshot is synced before the manifest names it, so it must be whole."""
        frames, offset = [], 0
        data = path.read_bytes()
        while offset + _FRAME.size <= len(data):
            length, crc = _FRAME.unpack_from(data, offset)
            payload = data[offset + _FRAME.size:offset + _FRAME.size + length]
            if len(payload) < length or zlib.crc32(payload) != crc:
                break
            frames.append(pickle.loads(payload))
            offset += _FRAME.size + length
        if whole and offset != len(data):
            raise StateUnreadable(f"{path.name} is damaged at byte {offset} of {len(data)}")
        return frames

    @staticmethod
    def frame(records: list) -> bytes:
        payload = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)
        return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload

    def write_new(self, name: str, data: bytes) -> None:
        with open(self.folder / name, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fdatasync(handle.fileno())

    def switch(self, manifest: dict) -> None:
        temporary = self.manifest_path.with_suffix(".tmp")
        with open(temporary, "w") as handle:
            json.dump(manifest, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.manifest_path)  # from here on, the new files are the state
        try:
            directory = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
            for leftover in self.folder.iterdir():
                if leftover.name not in (manifest["snapshot"], manifest["journal"], self.manifest_path.name):
                    leftover.unlink()
        except OSError:
            pass  # the rename is done; old files left behind are removed at the next switch


class PersistentState:
    def __init__(self, folder: Path, log=print, compact_min_bytes: int = COMPACT_MIN_BYTES,
                 durable_within_s: float = DURABLE_WITHIN_S):
        self.files = _Files(folder)
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
                    _apply(units, record)
        self._install(units)
        queues = sum(1 for key in units if key[0] == "container" and key[1] == "sqs")
        messages = sum(1 for key in units if key[0] == "item" and key[1] == "sqs")
        objects = sum(1 for key in units if key[0] == "item" and key[1] == "s3")
        services = sorted({key[1] for key in units if key[0] == "registry"})
        return (f"state restored: {', '.join(services) or 'no services'}; {_count(queues, 'queue')} holding "
                f"{_count(messages, 'message')}, {_count(objects, 'S3 key')}")

    def _install(self, units: dict[tuple, tuple]) -> None:
        """moto's BackendDicts filled from the units: the backends, then a shell for every
        queue and bucket (references point at them), then their states and items."""
        shells = {key: kind.__new__(kind) for key, (_, kind) in units.items() if key[0] == "container"}
        registries = {}
        for key, (blob, _) in units.items():
            if key[0] == "registry":
                module, name, extra = _load(blob, shells)
                backends = getattr(importlib.import_module(module), name)
                backends.__dict__.update(extra)
                registries[key[1]] = backends
        held: dict[tuple, list] = defaultdict(list)
        for key, (blob, kind) in units.items():
            if key[0] == "backend":
                _, service, account, region = key
                backend = kind.__new__(kind)
                backend.__dict__.update(_load(blob, shells))
                itemized = ITEMIZED.get(service)
                if itemized:
                    setattr(backend, itemized.containers, {})
                dict.__setitem__(registries[service][account], region, backend)
            elif key[0] == "item":
                held[("container", *key[1:5])].append(_load(blob, shells))
        for key, (blob, _) in units.items():
            if key[0] == "container":
                _, service, account, region, name = key
                container = shells[key]
                container.__dict__.update(_load(blob, shells))
                ITEMIZED[service].restore(container, held.get(key, []))
                backend = dict.__getitem__(registries[service][account], region)
                getattr(backend, ITEMIZED[service].containers)[name] = container

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
        self._known.update(_backend_dicts())
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
                for part, key, fingerprint, make_blob, kind in self._units(service, backends, items_only):
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

    def _units(self, service: str, backends, items_only: bool = False):
        """(part, key, fingerprint, blob maker, class to make it from) for every unit of a
        service, in order: the BackendDict's own state, each backend, and for SQS and S3 each
        queue or bucket followed by its items; only the items when `items_only`. An item is
        pickled only when its signature changed."""
        pickler = _Pickler(self._references())

        def pickled(value, kind=None):
            blob = pickler.blob(value)
            return hashlib.blake2b(blob, digest_size=16).digest(), lambda: blob, kind

        def item_blob(value) -> bytes:
            try:  # a message or an object key needs none of the pickler's overrides: the C pickler is faster
                return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - then the pickler that knows moto's oddities
                return pickler.blob(value)

        itemized = ITEMIZED.get(service)
        if not items_only:
            module, name = _locate(backends)
            extra = {field: value for field, value in vars(backends).items() if field not in _BACKEND_DICT_FIELDS}
            yield "meta", ("registry", service), *pickled((module, name, extra))
        for account, regional in list(dict.items(backends)):
            for region, backend in list(dict.items(regional)):
                state = dict(vars(backend))
                containers = state.pop(itemized.containers, {}) if itemized else {}
                if not items_only:
                    yield "meta", ("backend", service, account, region), *pickled(state, type(backend))
                for container_name, container in list(containers.items()):
                    if not items_only:
                        container_state = {field: value for field, value in vars(container).items()
                                           if field not in itemized.held}
                        yield ("meta", ("container", service, account, region, container_name),
                               *pickled(container_state, type(container)))
                    for item_key, signature, value in itemized.items(container):
                        yield ("items", ("item", service, account, region, container_name, item_key), signature,
                               lambda value=value: item_blob(value), None)

    def _references(self) -> dict[int, tuple]:
        """Every queue and bucket, by object id, under the key other units refer to it by."""
        references = {}
        for service, itemized in ITEMIZED.items():
            backends = self._known.get(service)
            if backends is None:
                continue
            for account, regional in list(dict.items(backends)):
                for region, backend in list(dict.items(regional)):
                    for name, container in list(getattr(backend, itemized.containers, {}).items()):
                        references[id(container)] = ("container", service, account, region, name)
        return references

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


def _apply(units: dict[tuple, tuple], record) -> None:
    if record[0] == "put":
        _, key, blob, kind = record
        units[key] = (blob, kind)
        return
    _, key = record
    units.pop(key, None)
    if key[0] == "container":  # its items go with it
        for other in [other for other in units if other[0] == "item" and other[1:5] == key[1:5]]:
            del units[other]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def _python_version() -> str:
    return ".".join(map(str, sys.version_info[:3]))
