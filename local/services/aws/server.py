"""The local AWS endpoint: moto, with its per-request costs taken out and, with --state-dir,
its state kept on disk across kills (state.py); run as
`python -m local.services.aws.server -H HOST -p PORT [--state-dir DIR]`.

moto as it ships cost the server several milliseconds for a trivial request, closed the
connection after every answer, and grew slower with every message a queue held (the
figures: docs/ARCHITECTURE.md, bench/events.py). Three layers take that out:

- the server is keepalive_http.py's (connections stay open), not werkzeug's;
- the event pipeline's own requests (SNS Publish, SQS ReceiveMessage and
  DeleteMessageBatch) are answered by fast_path.py straight from moto's backends;
  everything else goes to moto's application as before;
- speedups.py's patches of moto's private functions.

tests/unit/test_moto_server.py checks the patches, tests/integration/test_local_aws_endpoint.py that the
fast path answers as moto's handlers do.
"""

import argparse
import signal
import sys
import threading
import traceback
from pathlib import Path

from . import hooks, speedups, stream_wait, targets
from .state import StateNotWritten
from .touched import services_touched


def moto_environ(headers) -> dict:
    """What moto's own request handler adds to the environ: headers whose names have an
    underscore (S3 metadata keys may), under their original spelling. A dashed header of
    the same name wins, as in moto."""
    from moto.moto_server.werkzeug_app import (
        PRESERVED_HEADER_NAMES_ENVIRON_KEY,
        environ_key_for_header,
        should_preserve_original_header_name,
    )

    dashed = {environ_key_for_header(name) for name in headers.keys() if "_" not in name}
    names: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for name, value in headers.items():
        key = environ_key_for_header(name)
        if should_preserve_original_header_name(name) and key not in dashed:
            names.setdefault(key, name)
            values.setdefault(key, []).append(value.replace("\r\n", ""))
    return {**{key: ",".join(found) for key, found in values.items()}, PRESERVED_HEADER_NAMES_ENVIRON_KEY: names}


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
    answered by the fast path first (keepalive_http.py and fast_path.py say why), and
    with `state_dir`, its state kept there across restarts (state.py)."""
    import os

    from moto.server import DomainDispatcherApplication, create_backend_app

    from .fast_path import FastPath
    from .keepalive_http import KeepAliveServer, wsgi_responder

    os.environ.setdefault("MOTO_PORT", str(port))  # as moto's server does: the URLs it makes use it
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    respond = answering(FastPath(), wsgi_responder(DomainDispatcherApplication(create_backend_app), host, port,
                                                   moto_environ), log)
    state = None
    if state_dir is not None:
        from .state import PersistentState

        state = PersistentState(Path(state_dir), log)
        respond = durably(respond, state)
    server = KeepAliveServer((host, port), respond)  # bound first: a port in use fails at once
    from moto.sqs import models as sqs_models

    speedups.patch(sqs_models.Queue, "wait_for_messages", speedups.long_poll(state.lock if state else None))
    stream_wait.install(state.lock if state else None)  # a GetRecords waiting for a record lets go of it
    if state is not None:
        print(f"local AWS endpoint state: {state.open()}", flush=True)
    if speedups.SKIPPED:
        log(f"local AWS endpoint: not patched (moved in this moto version): {', '.join(speedups.SKIPPED)}")
    if targets.SKIPPED:  # a trigger that would fail as moto fails it: said, never silent
        log(f"local AWS endpoint: triggers NOT delivered to functions (moved in this moto version): "
            f"{', '.join(targets.SKIPPED)}")
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
    parser.add_argument("--state-dir", help="keep the state in this folder across restarts (state.py)")
    args = parser.parse_args()
    speedups.apply()
    hooks.apply()
    serve(args.host, args.port, args.state_dir)


if __name__ == "__main__":
    main()
