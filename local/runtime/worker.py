"""One function instance, in a process of its own, started by local.instance.

Run as a script (`python -I -S worker.py CONFIG_JSON`), not as part of the `local` package,
and without site-packages: the function sees only the folders local/runtime/surroundings.py
lists (its code, its layers, what they declare, the runtime's boto3) and the standard library,
as on Lambda, so an import that would fail there fails here.

Protocol, one JSON object a line. In, on stdin: {"id", "deadline_ms", "event"}. Out, on a
private copy of stdout: {"t": "ready"} or {"t": "init_error", "error"} once, after the
handler's module is imported (a debugged worker, config["debug"], first says
{"t": "debugger"} once it listens, then waits for the debugger to attach: debug_worker.py);
then per invocation any number of {"t": "log", "s": text} (whatever the function writes to
sys.stdout, sys.stderr or the logging module), and one {"t": "result", "payload", "mem"} or
{"t": "error", "error", "mem"}.
"""

import importlib
import importlib.machinery
import io
import json
import os
import resource
import sys
import time

# What this script imports is part of every cold start (a bare interpreter starts in ~14 ms
# here, `import logging` adds ~25 ms, orjson ~30 ms): the standard library's json only, and
# logging, traceback and decimal when something needs them. bench/runtime.py measures it.


def _decimal(value):
    # Lambda's Python runtime writes Decimal as a JSON number; so do we. Only objects JSON
    # does not know come here, so decimal is imported only when one of them is seen.
    from decimal import Decimal
    if isinstance(value, Decimal):
        return float(value) if value % 1 else int(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def to_json(value) -> bytes:
    # NaN and Infinity are not JSON: refused (Runtime.MarshalError) rather than sent as a frame
    # the emulator cannot read.
    return json.dumps(value, default=_decimal, separators=(",", ":"), allow_nan=False).encode()


class Channel:
    def __init__(self, stream):
        self.stream = stream  # binary

    def send(self, frame: dict) -> None:
        try:
            data = to_json(frame)
        except (TypeError, ValueError) as error:
            data = to_json({"t": "error", "mem": frame.get("mem", 0), "error": {
                "errorMessage": f"Unable to marshal response: {error}",
                "errorType": "Runtime.MarshalError", "stackTrace": []}})
        self.stream.write(data + b"\n")
        self.stream.flush()


class LogStream(io.TextIOBase):
    """sys.stdout and sys.stderr of the function: each write goes to the emulator as a log
    frame, in order with the result."""

    def __init__(self, channel: Channel):
        self.channel = channel

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            self.channel.send({"t": "log", "s": text})
        return len(text)


class LambdaContext:
    def __init__(self, config: dict, request_id: str, deadline_ms: int):
        self.function_name = config["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = config["function_arn"]
        self.memory_limit_in_mb = str(config["memory_mb"])
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = config["log_stream"]
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


class RequestIdFilter:
    """Adds the current request id to log records, as the Lambda runtime's handler does (any
    object with a filter method serves as a logging filter: no logging import needed here)."""

    request_id = ""

    def filter(self, record) -> bool:
        record.aws_request_id = self.request_id
        return True


def install_lambda_logging(logging, stream, request_ids: RequestIdFilter) -> None:
    handler = logging.StreamHandler(stream)
    formatter = logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                                  "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.terminator = ""
    handler.addFilter(request_ids)
    logging.getLogger().addHandler(handler)


class LoggingOnImport:
    """A meta path finder that lets the first `import logging` (by the function, its layers or
    a library) run as usual and then installs Lambda's handler on the root logger, so that the
    handler is there before any code can log, and a function that never logs never pays for it."""

    def __init__(self, stream, request_ids: RequestIdFilter):
        self.stream, self.request_ids = stream, request_ids

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            install_lambda_logging(module, self.stream, self.request_ids)

        spec.loader.exec_module = exec_module
        return spec


def error_payload(error: BaseException, error_type: str | None = None, message: str | None = None) -> dict:
    import traceback  # on errors only: not part of every cold start
    return {
        "errorMessage": message if message is not None else str(error),
        "errorType": error_type or type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


class FreshSourceLoader(importlib.machinery.SourceFileLoader):
    """Loads the function's and its layers' modules from source, never from __pycache__:
    a .pyc is trusted by the source's mtime in whole seconds and its size, so an edit made
    within the same second could otherwise run the old code."""

    def path_stats(self, path):
        raise OSError("function code is always compiled from source")


def compile_from_source(folders: list[str]) -> None:
    fresh_finder = importlib.machinery.FileFinder.path_hook(
        (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
        (FreshSourceLoader, importlib.machinery.SOURCE_SUFFIXES))
    roots = tuple(os.path.join(folder, "") for folder in folders)

    def hook(path: str):
        if os.path.join(path, "").startswith(roots):
            return fresh_finder(path)
        raise ImportError  # not ours: the next hook (the normal one) takes it

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()


def load_handler(handler_path: str):
    """Import the handler as Lambda's Python runtime does, with its error types."""
    module_name, _, function_name = handler_path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        return None, error_payload(error, "Runtime.ImportModuleError",
                                   f"Unable to import module '{module_name}': {error}")
    except SyntaxError as error:
        return None, error_payload(error, "Runtime.UserCodeSyntaxError",
                                   f"Syntax error in module '{module_name}': {error}")
    except Exception as error:
        return None, error_payload(error)
    handler = getattr(module, function_name, None)
    if not callable(handler):
        return None, {"errorMessage": f"Handler '{function_name}' missing on module '{module_name}'",
                      "errorType": "Runtime.HandlerNotFound", "stackTrace": []}
    return handler, None


def wait_for_debugger(settings: dict, channel: Channel) -> dict | None:
    """debug_worker.py, loaded by its file location (this script's folder is not on the
    function's path), and only in a debugged worker: nothing of it is in an ordinary cold start."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "local_debug_worker", os.path.join(os.path.dirname(os.path.abspath(__file__)), "debug_worker.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.wait_for_debugger(settings, channel.send)


def max_memory_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux


def main() -> None:
    config = json.loads(sys.argv[1])
    channel = Channel(os.fdopen(os.dup(1), "wb"))
    os.dup2(2, 1)  # writes below Python (C extensions) go to the emulator's stderr, not the protocol
    sys.stdout = sys.stderr = LogStream(channel)
    request_ids = RequestIdFilter()
    sys.meta_path.insert(0, LoggingOnImport(sys.stderr, request_ids))
    sys.path[:0] = config["path"]
    compile_from_source(config["source_dirs"])
    os.chdir(config["code_dir"])

    if "debug" in config:
        init_error = wait_for_debugger(config["debug"], channel)
        if init_error is not None:
            channel.send({"t": "init_error", "error": init_error})
            return
    handler, init_error = load_handler(config["handler"])
    if init_error is not None:
        # Lambda initialises a fresh instance for the next call; the emulator does the same,
        # so fixing the file is enough.
        channel.send({"t": "init_error", "error": init_error})
        return
    channel.send({"t": "ready"})

    for line in sys.__stdin__.buffer:
        request = json.loads(line)
        request_ids.request_id = request["id"]
        context = LambdaContext(config, request["id"], request["deadline_ms"])
        try:
            payload = handler(request["event"], context)
        except Exception as error:
            channel.send({"t": "error", "error": error_payload(error), "mem": max_memory_mb()})
        else:
            channel.send({"t": "result", "payload": payload, "mem": max_memory_mb()})


if __name__ == "__main__":
    main()
