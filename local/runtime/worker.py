"""One function instance, in a process of its own, started by local.instance.

Run as a script (`python -I -S worker.py CONFIG_JSON`), not as part of the `local` package,
and without site-packages: the function sees only the folders local/runtime/surroundings.py
lists (its code, its layers, what they declare, the runtime's boto3) and the standard library,
as on Lambda, so an import that would fail there fails here.

Protocol, one JSON object a line. In, on stdin: {"id", "deadline_ms", "event"}. Out, on a
private copy of stdout: {"t": "ready"} or {"t": "init_error", "error"} once, after the
handler's module is imported; then per invocation any number of {"t": "log", "s": text}
(whatever the function writes to sys.stdout, sys.stderr or the logging module), and one
{"t": "result", "payload", "mem"} or {"t": "error", "error", "mem"}.
"""

import importlib
import importlib.machinery
import io
import json
import logging
import os
import resource
import sys
import time
import traceback
from decimal import Decimal


def _load_hidden(name: str, folder: str | None):
    """Import the emulator's own `name` from `folder` for the worker's use, then take it out of
    sys.modules so that the function's `import name` fails as on Lambda (unless it declares it)."""
    if not folder:
        return None
    sys.path.insert(0, folder)
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    finally:
        sys.path.remove(folder)
        for loaded in [key for key in sys.modules if key == name or key.startswith(name + ".")]:
            del sys.modules[loaded]
    return module


orjson = None  # the emulator's fast JSON, set by main() when the emulator has it


def _decimal(value):
    # Lambda's Python runtime writes Decimal as a JSON number; so do we.
    if isinstance(value, Decimal):
        return float(value) if value % 1 else int(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def to_json(value) -> bytes:
    if orjson is not None:
        try:
            return orjson.dumps(value, default=_decimal, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:
            pass  # big integers and the like: the standard library knows them
    return json.dumps(value, default=_decimal, separators=(",", ":")).encode()


def from_json(line):
    return orjson.loads(line) if orjson is not None else json.loads(line)


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


class RequestIdFilter(logging.Filter):
    """Adds the current request id to log records, as the Lambda runtime's handler does."""

    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def install_lambda_logging(stream) -> RequestIdFilter:
    request_ids = RequestIdFilter()
    handler = logging.StreamHandler(stream)
    formatter = logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                                  "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.terminator = ""
    handler.addFilter(request_ids)
    logging.getLogger().addHandler(handler)
    return request_ids


def error_payload(error: BaseException, error_type: str | None = None, message: str | None = None) -> dict:
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


def max_memory_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux


def main() -> None:
    global orjson
    config = json.loads(sys.argv[1])
    orjson = _load_hidden("orjson", config.get("orjson_dir"))
    channel = Channel(os.fdopen(os.dup(1), "wb"))
    os.dup2(2, 1)  # writes below Python (C extensions) go to the emulator's stderr, not the protocol
    sys.stdout = sys.stderr = LogStream(channel)
    request_ids = install_lambda_logging(sys.stderr)
    sys.path[:0] = config["path"]
    compile_from_source(config["source_dirs"])
    os.chdir(config["code_dir"])

    handler, init_error = load_handler(config["handler"])
    if init_error is not None:
        # Lambda initialises a fresh instance for the next call; the emulator does the same,
        # so fixing the file is enough.
        channel.send({"t": "init_error", "error": init_error})
        return
    channel.send({"t": "ready"})

    for line in sys.__stdin__.buffer:
        request = from_json(line)
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
