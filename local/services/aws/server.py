"""The local AWS endpoint: moto, with its per-request costs taken out and, with --state-dir,
its state kept on disk across kills (moto_state.py); run as
`python local/services/moto_server.py -H HOST -p PORT [--state-dir DIR]`.

Measured on moto 5.2 (bench/events.py, docs/ARCHITECTURE.md), moto as it ships cost the
server about 5 ms for a trivial request, closed the connection after every answer, and
grew slower with every message a queue held. Three layers take that out:

- the server is keepalive_http.py's (connections stay open), not werkzeug's;
- the event pipeline's own requests (SNS Publish, SQS ReceiveMessage and
  DeleteMessageBatch) are answered by moto_fast_path.py straight from moto's backends;
  everything else goes to moto's application as before;
- the patches below, each replacing a pure function, a clock read or a copy, so that no
  answer changes, only how long it takes:
  - to route a request, moto lists its own package folder and stats each entry (about 170
    stat calls per request): the list is the same for the life of the process, so it is
    read once;
  - camelCase to snake_case conversion runs dozens of times per request on the same few
    names: memoised;
  - SQS reads the clock through datetime arithmetic (about 10 µs) once or more per message
    in the queue on every send and receive: the same epoch seconds come from time.time();
  - for each message it receives, SQS checks the retention period by building every queue
    attribute three times, counting all messages each time: it now reads the one attribute;
  - a receipt handle took 185 calls to the random generator, one per letter: now one;
  - each received message was deep-copied, attributes and all, so that filtering its message
    attributes would not touch the queue's message: a shallow copy does that (see below).

A patch whose target moved in another moto version is skipped with a warning: moto then
runs as it ships, slower but right. moto is pinned for that reason; tests/test_moto_server.py
checks that all apply and answer as pristine moto does, and tests/test_local_aws_endpoint.py
that the fast path answers as moto's handlers do.
"""

import argparse
import copy
import functools
import signal
import string
import sys
import threading
import time
import traceback
from pathlib import Path

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

    _patch(backends, "list_of_moto_modules", _cached_module_list)
    # Modules that imported the function by name hold their own reference: patch each.
    for module in (core_utils, core_responses, sqs_models, sns_models):
        _patch(module, "camelcase_to_underscores", _memoised)
    _patch(sqs_models, "unix_time", _fast_unix_time)
    _patch(sqs_models, "unix_time_millis", _fast_unix_time_millis)
    _patch(sqs_models.SQSBackend, "is_message_valid_based_on_retention_period", _direct_retention_check)
    for module in (sqs_utils, sqs_models):
        _patch(module, "generate_receipt_handle", _fast_receipt_handle)
    _patch(sqs_models, "deepcopy", _shallow_message_copies)


def _moto_environ(headers) -> dict:
    """What moto's own request handler adds to the environ: headers whose names have an
    underscore (S3 metadata keys may), under their original spelling. A dashed header of
    the same name wins, as in moto."""
    from moto.moto_server.werkzeug_app import (PRESERVED_HEADER_NAMES_ENVIRON_KEY, environ_key_for_header,
                                               should_preserve_original_header_name)

    dashed = {environ_key_for_header(name) for name in headers.keys() if "_" not in name}
    names: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for name, value in headers.items():
        key = environ_key_for_header(name)
        if should_preserve_original_header_name(name) and key not in dashed:
            names.setdefault(key, name)
            values.setdefault(key, []).append(value.replace("\r\n", ""))
    return {**{key: ",".join(found) for key, found in values.items()}, PRESERVED_HEADER_NAMES_ENVIRON_KEY: names}


def _long_poll(lock):
    """The SQS long poll waits inside moto's receive for a message to arrive. While it waits
    it lets go of the state lock (when there is one), so that the send it waits for, and
    everyone else, can run. When it wakes, it checks that its client is still there: a
    poller killed mid-poll would otherwise have the next message taken for it and lost
    until its visibility timeout, which on a restart of the event runner held every
    consumer's first event back for a minute."""
    from keepalive_http import ClientGone, client_gone

    def patch(original):
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
    return patch


def answering(fast_path, moto_app, log=print):
    """Each request to the fast path first, then to moto's application. An exception inside
    the fast path is a fault of ours, not the client's: it is logged (with its traceback, the
    first time) and moto answers the request instead, as it would without the fast path. A
    request the fast path had already carried out is then carried out again: a publish
    delivered twice, a batch received again after its visibility timeout; SNS and SQS deliver
    at least once, and consumers must dedupe anyway."""
    reported = set()

    def respond(method, target, headers, body):
        try:
            answer = fast_path.answer(method, target, headers, body)
        except Exception as error:  # noqa: BLE001 - whatever it was, moto's own handler answers
            kind = type(error).__name__
            if kind not in reported:
                reported.add(kind)
                log(f"local AWS endpoint: the fast path failed on {method} {target}; moto answers instead:\n"
                    + traceback.format_exc().rstrip())
            answer = None
        return answer or moto_app(method, target, headers, body)

    return respond


def durably(respond, state):
    """Each request under the state lock; its answer once what it changed is on disk."""
    from moto_state import StateNotWritten, services_touched

    def respond_durably(method, target, headers, body):
        touched = services_touched(method, target, headers, body)
        with state.lock:
            try:
                answer = respond(method, target, headers, body)
            finally:  # a request moto failed half-way may have changed something too
                generation = state.changed(touched)
        try:
            state.wait_durable(generation)
        except StateNotWritten as error:
            return 503, [("Content-Type", "text/plain")], str(error).encode()
        return answer

    return respond_durably


def serve(host: str, port: int, state_dir: str | None = None) -> None:
    """moto's application behind a keep-alive server, with the event pipeline's requests
    answered by the fast path first (keepalive_http.py and moto_fast_path.py say why), and
    with `state_dir`, its state kept there across restarts (moto_state.py)."""
    import os

    from keepalive_http import KeepAliveServer, wsgi_responder
    from moto.server import DomainDispatcherApplication, create_backend_app
    from moto_fast_path import FastPath

    os.environ.setdefault("MOTO_PORT", str(port))  # as moto's server does: the URLs it makes use it
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    respond = answering(FastPath(), wsgi_responder(DomainDispatcherApplication(create_backend_app), host, port,
                                                   _moto_environ), log)
    state = None
    if state_dir is not None:
        from moto_state import PersistentState

        state = PersistentState(Path(state_dir), log)
        respond = durably(respond, state)
    server = KeepAliveServer((host, port), respond)  # bound first: a port in use fails at once
    from moto.sqs import models as sqs_models

    _patch(sqs_models.Queue, "wait_for_messages", _long_poll(state.lock if state else None))
    if state is not None:
        print(f"local AWS endpoint state: {state.open()}", flush=True)
    if SKIPPED:
        log(f"moto_server: not patched (moved in this moto version): {', '.join(SKIPPED)}")
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"local AWS endpoint (moto {_moto_version()}) on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # SIGINT: stop as quietly as SIGTERM does
        pass
    finally:
        server.server_close()
        if state is not None:
            state.close()


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def main() -> None:
    parser = argparse.ArgumentParser(description="moto, patched and served with keep-alive")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument("--state-dir", help="keep the state in this folder across restarts (moto_state.py)")
    args = parser.parse_args()
    apply()
    serve(args.host, args.port, args.state_dir)


if __name__ == "__main__":
    main()
