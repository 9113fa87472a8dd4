"""moto's slowest per-request costs, taken out by replacing moto's private functions (moto is
pinned for that reason; tests/unit/test_moto_server.py checks that each patch applies and answers
as pristine moto does). Each replaces a pure function, a clock read or a copy, so that no
answer changes, only how long it takes:

- to route a request, moto lists its own package folder and stats each entry (about 170
  stat calls per request): the list is the same for the life of the process, so it is
  read once;
- camelCase to snake_case conversion runs dozens of times per request on the same few
  names: memoised;
- SQS reads the clock through datetime arithmetic once or more per message in the queue on
  every send and receive: the same epoch seconds come from time.time();
- for each message it receives, SQS checks the retention period by building every queue
  attribute three times, counting all messages each time: it now reads the one attribute;
- a receipt handle took 185 calls to the random generator, one per letter: now one;
- each received message was deep-copied, attributes and all, so that filtering its message
  attributes would not touch the queue's message: a shallow copy does that.

A patch whose target moved in another moto version is skipped with a warning: moto then
runs as it ships, slower but right. One more, `long_poll`, is not about speed: see there.
"""

import copy
import functools
import string
import time

from .keepalive_http import ClientGone, client_gone

PATCHED: list[str] = []
SKIPPED: list[str] = []


def patch(module, name: str, make_replacement) -> None:
    original = getattr(module, name, None)
    if original is None:
        SKIPPED.append(f"{module.__qualname__ if isinstance(module, type) else module.__name__}.{name}")
        return
    setattr(module, name, make_replacement(original))
    PATCHED.append(f"{module.__qualname__ if isinstance(module, type) else module.__name__}.{name}")


def _cached_module_list(original):
    listing = tuple(original())
    return lambda: listing


def _memoised(original):
    return functools.lru_cache(maxsize=4096)(original)


def _fast_unix_time(original):
    def unix_time(dt=None):
        return time.time() if dt is None else original(dt)
    return unix_time


def _fast_unix_time_millis(original):
    def unix_time_millis(dt=None):
        return time.time() * 1000.0 if dt is None else original(dt)
    return unix_time_millis


def _direct_retention_check(original):
    def is_message_valid_based_on_retention_period(self, queue_name: str, message) -> bool:
        queue = self.get_queue(queue_name)
        return int(queue.message_retention_period) + message.sent_timestamp / 1000 > time.time()
    return is_message_valid_based_on_retention_period


def _fast_receipt_handle(original):
    from moto.moto_api._internal import mock_random

    length = len(original())
    letters = string.ascii_lowercase
    table = bytes(ord(letters[byte % len(letters)]) for byte in range(256))
    # One call to moto's seeded generator for the whole handle, not one per letter.
    return lambda: mock_random.randbytes(length).translate(table).decode("ascii")


def _shallow_message_copies(original):
    from moto.sqs.models import Message

    def deepcopy(value, memo=None):
        # SQS copies each message it receives so that filtering the copy's message attributes
        # leaves the queue's message alone; the filter replaces that dict, it never changes
        # one in place, so a shallow copy keeps the queue's message just as untouched.
        if type(value) is Message:
            return copy.copy(value)
        return original(value, memo)
    return deepcopy


def apply() -> None:
    from moto import backends
    from moto.core import responses as core_responses
    from moto.core import utils as core_utils
    from moto.sns import models as sns_models
    from moto.sqs import models as sqs_models
    from moto.sqs import utils as sqs_utils

    patch(backends, "list_of_moto_modules", _cached_module_list)
    # Modules that imported the function by name hold their own reference: patch each.
    for module in (core_utils, core_responses, sqs_models, sns_models):
        patch(module, "camelcase_to_underscores", _memoised)
    patch(sqs_models, "unix_time", _fast_unix_time)
    patch(sqs_models, "unix_time_millis", _fast_unix_time_millis)
    patch(sqs_models.SQSBackend, "is_message_valid_based_on_retention_period", _direct_retention_check)
    for module in (sqs_utils, sqs_models):
        patch(module, "generate_receipt_handle", _fast_receipt_handle)
    patch(sqs_models, "deepcopy", _shallow_message_copies)


def long_poll(lock):
    """The SQS long poll waits inside moto's receive for a message to arrive. While it waits
    it lets go of the state lock (when there is one), so that the send it waits for, and
    everyone else, can run. When it wakes, it checks that its client is still there: a
    poller killed mid-poll would otherwise have the next message taken for it and lost
    until its visibility timeout, which on a restart of the event runner held every
    consumer's first event back for a minute."""
    def make(original):
        def wait_for_messages(self, timeout):
            if lock is not None:
                lock.release()
            try:
                original(self, timeout)
            finally:
                if lock is not None:
                    lock.acquire()
            if client_gone():
                raise ClientGone()
        return wait_for_messages
    return make
