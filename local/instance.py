"""One instance of a function: a worker process (local/worker.py) and its protocol."""

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase of an on-demand function
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024


@dataclass
class Outcome:
    payload: object = None
    error: dict | None = None
    output: str = ""        # what the function wrote to stdout, stderr and logging
    max_memory_mb: int = 0
    timed_out: bool = False


class FrameReader:
    """Reads the worker's JSON lines with a deadline. select() on the raw descriptor plus our
    own buffer: a buffered file object could hold a whole line select() does not see."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = b""
        self.last_size = 0

    def read(self, deadline: float) -> dict | None:
        """The next frame; None at end of stream; TimeoutError past the monotonic deadline."""
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        self.last_size = len(line)
        return json.loads(line)


class FunctionInstance:
    def __init__(self, config: dict, environment: dict[str, str], generation: int):
        self.config = config
        self.environment = environment
        self.generation = generation
        self.process: subprocess.Popen | None = None
        self.reader: FrameReader | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> dict | None:
        """Start the worker and wait for its init; returns the init error, if any."""
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(WORKER_SCRIPT), json.dumps(self.config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.environment,
            # Not in the terminal's process group: Ctrl-C is for `local up`, which stops the
            # instances itself. An instance whose parent dies sees stdin close and exits.
            start_new_session=True,
        )
        self.reader = FrameReader(self.process.stdout.fileno())
        try:
            frame = self.reader.read(time.monotonic() + INIT_TIMEOUT_S)
        except TimeoutError:
            self.kill()
            return {"errorMessage": f"Init phase timed out after {INIT_TIMEOUT_S:.2f} seconds",
                    "errorType": "Runtime.InitTimeout", "stackTrace": []}
        if frame is None:
            return _exit_error(self._wait())
        if frame["t"] == "init_error":
            self._wait()
            return frame["error"]
        return None

    def invoke(self, request_id: str, event, timeout_s: float) -> Outcome:
        deadline = time.monotonic() + timeout_s
        request = {"id": request_id, "deadline_ms": int((time.time() + timeout_s) * 1000), "event": event}
        try:
            self.process.stdin.write(json.dumps(request, separators=(",", ":")).encode() + b"\n")
            self.process.stdin.flush()
        except OSError:  # the instance died between two invocations
            return Outcome(error=_exit_error(self._wait()))
        output: list[str] = []
        while True:
            try:
                frame = self.reader.read(deadline)
            except TimeoutError:
                self.kill()
                return Outcome(output="".join(output), timed_out=True, error={
                    "errorMessage": f"Task timed out after {timeout_s:.2f} seconds",
                    "errorType": "Sandbox.Timedout", "stackTrace": []})
            if frame is None:
                error = _exit_error(self._wait())
                return Outcome(error=error, output="".join(output))
            kind = frame["t"]
            if kind == "log":
                output.append(frame["s"])
            elif kind == "result":
                if self.reader.last_size > MAX_PAYLOAD_BYTES:
                    return Outcome(output="".join(output), max_memory_mb=frame["mem"], error={
                        "errorMessage": f"Response payload size ({self.reader.last_size} bytes) exceeded maximum "
                                        f"allowed payload size ({MAX_PAYLOAD_BYTES} bytes).",
                        "errorType": "Function.ResponseSizeTooLarge", "stackTrace": []})
                return Outcome(payload=frame["payload"], output="".join(output), max_memory_mb=frame["mem"])
            else:
                return Outcome(error=frame["error"], output="".join(output), max_memory_mb=frame["mem"])

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        self._wait()

    def _wait(self) -> int | None:
        if self.process is None:
            return None
        code = self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        return code


def _exit_error(code: int | None) -> dict:
    reason = f"signal: {_signal_name(-code)}" if code is not None and code < 0 else f"exit status {code}"
    return {"errorMessage": f"Runtime exited with error: {reason}", "errorType": "Runtime.ExitError",
            "stackTrace": []}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name.removeprefix("SIG").lower().replace("kill", "killed")
    except ValueError:
        return str(number)
