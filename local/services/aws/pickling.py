"""moto's objects pickled as they are (cloudpickle, for the lambdas some backends keep in
defaultdicts), each queue's messages and each bucket's keys as units of their own (and
itemized.py's: DynamoDB's items and stream records, Kinesis's records), and the
BackendDicts found again by where moto keeps them."""


import io
import pickle
import sys
import threading
from collections import defaultdict

import cloudpickle

from .itemized import Itemized, StreamRecords, TableItems


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


class Pickler(cloudpickle.Pickler):
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


def load(data: bytes, shells: dict[tuple, object]):
    return _Unpickler(data, shells).load()


# -- the large parts of a backend, kept a unit per item ---------------------------------------

class QueueMessages(Itemized):
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


class BucketKeys(Itemized):
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


ITEMIZED = {"sqs": QueueMessages, "s3": BucketKeys, "dynamodb": TableItems, "kinesis": StreamRecords}

# Attributes every BackendDict has; any other (S3's bucket_accounts) is state of the service.
BACKEND_DICT_FIELDS = {"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"}


def backend_dicts() -> dict[str, object]:
    from moto.core.base_backend import BackendDict

    return {backends.service_name: backends for backends in list(BackendDict._instances)}


def locate(backends) -> tuple[str, str]:
    """The module and name under which moto keeps a BackendDict, to find it again."""
    module = sys.modules[backends.backend.__module__]
    for name, value in vars(module).items():
        if value is backends:
            return module.__name__, name
    raise LookupError(f"{backends.service_name}: its BackendDict is not a global of {module.__name__}")


