"""moto's server, with four of its per-request costs taken out; run as
`python local/services/moto_server.py -H HOST -p PORT` (the arguments of `moto.server`).

Measured on moto 5.2 (bench/events.py, docs/ARCHITECTURE.md): a trivial request cost the
server about 5 ms and SQS grew slower with every message a queue held, so a consumer that
fell behind never caught up. The causes, each a pure function or a clock read, so the
replacements change no answer, only how long it takes:

- to route a request, moto lists its own package folder and stats each entry (about 170
  stat calls per request): the list is the same for the life of the process, so it is
  read once;
- camelCase to snake_case conversion runs dozens of times per request on the same few
  names: memoised;
- SQS reads the clock through datetime arithmetic (about 10 µs) once or more per message
  in the queue on every send and receive: the same epoch seconds come from time.time();
- for each message it receives, SQS checks the retention period by building every queue
  attribute three times, counting all messages each time: it now reads the one attribute.

A patch whose target moved in another moto version is skipped with a warning: moto then
runs as it ships, slower but right. tests/test_moto_server.py checks that all apply.
"""

import functools
import sys
import time

PATCHED: list[str] = []
SKIPPED: list[str] = []


def _patch(module, name: str, make_replacement) -> None:
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


def apply() -> None:
    from moto import backends
    from moto.core import responses as core_responses
    from moto.core import utils as core_utils
    from moto.sns import models as sns_models
    from moto.sqs import models as sqs_models

    _patch(backends, "list_of_moto_modules", _cached_module_list)
    # Modules that imported the function by name hold their own reference: patch each.
    for module in (core_utils, core_responses, sqs_models, sns_models):
        _patch(module, "camelcase_to_underscores", _memoised)
    _patch(sqs_models, "unix_time", _fast_unix_time)
    _patch(sqs_models, "unix_time_millis", _fast_unix_time_millis)
    _patch(sqs_models.SQSBackend, "is_message_valid_based_on_retention_period", _direct_retention_check)


def main() -> None:
    apply()
    if SKIPPED:
        print(f"moto_server: not patched (moved in this moto version): {', '.join(SKIPPED)}", file=sys.stderr)
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
