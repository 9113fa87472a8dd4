"""The log lines Lambda writes around each invocation, and the emulator's tagged copy."""

import math
import sys
import threading
from datetime import datetime, timezone


def start_line(request_id: str) -> str:
    return f"START RequestId: {request_id} Version: $LATEST"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(request_id: str, duration_ms: float, memory_mb: int, max_used_mb: int,
                init_ms: float | None) -> str:
    line = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, math.ceil(duration_ms))} ms\tMemory Size: {memory_mb} MB\t"
            f"Max Memory Used: {max_used_mb} MB")
    if init_ms is not None:
        line += f"\tInit Duration: {init_ms:.2f} ms"
    return line


def timeout_line(request_id: str, timeout_s: float) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return f"{stamp} {request_id} Task timed out after {timeout_s:.2f} seconds"


class ConsoleLog:
    """Where invocation logs go on the console: each line tagged with the function (and the
    request id for the function's own output), written whole so lines never interleave."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()

    def write(self, function: str, lines: list[str]) -> None:
        text = "".join(f"[{function}] {line}\n" for line in lines)
        with self._lock:
            self.stream.write(text)
            self.stream.flush()


def tag_output(request_id: str, output: str) -> list[str]:
    """The function's own output, a line each, with its request id."""
    return [f"{request_id} {line}" for line in output.splitlines()]
