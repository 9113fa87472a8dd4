"""One instance of a function: a worker process (local/runtime/worker.py) and its protocol, driven
from the runtime's event loop."""

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase of an on-demand function
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# A frame may carry a whole 6 MB payload and then some; the reader must not refuse it.
FRAME_LIMIT = 64 * 1024 * 1024


@dataclass
class Outcome:
    payload: object = None
    error: dict | None = None
    output: str = ""        # what the function wrote to stdout, stderr and logging
    max_memory_mb: int = 0
    timed_out: bool = False


class FunctionInstance:
    # -S: no site-packages, only the folders the config lists (surroundings.py). bench/runtime.py
    # measures against the interpreter with its site-packages, as workers ran before.
    interpreter_flags = ("-I", "-S")
    # Under a debugger (config["debug"]): frozen standard-library modules have no source file a
    # breakpoint can bind to, and debugpy warns so on every start (docs/DEBUGGING.md).
    debug_flags = ("-X", "frozen_modules=off")

    def __init__(self, environment: dict[str, str], generation: int, on_debugger=None):
        self.environment = environment
        self.generation = generation
        self.process: asyncio.subprocess.Process | None = None
        self.init_output = ""  # what the handler's module wrote while it was imported
        self.on_debugger = on_debugger  # called once a debugging worker listens (debug_pool.py)

    @property
    def started(self) -> bool:
        return self.process is not None

    @property
    def alive(self) -> bool:
        if self.process is None or self.process.returncode is not None:
            return False
        # The event loop learns of a worker's death a moment after it happens, and an instance
        # killed while idle must not be handed the next request: Lambda starts a new sandbox
        # instead. So the kernel is asked, leaving the child for the loop to reap (WNOWAIT).
        try:
            return os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
        except ChildProcessError:  # reaped already; the loop has yet to say so
            return False
        except (AttributeError, OSError):  # no waitid here (not Linux): the loop's word alone
            return True

    async def start(self, config: dict) -> dict | None:
        """Start the worker and wait for its init; returns the init error, if any. `config`:
        see worker.py and Runtime._instance_config."""
        flags = (*self.interpreter_flags, *(self.debug_flags if "debug" in config else ()))
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, *flags, str(WORKER_SCRIPT), json.dumps(config),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=self.environment, limit=FRAME_LIMIT,
            # Not in the terminal's process group: Ctrl-C is for `local up`, which stops the
            # instances itself. An instance whose parent dies sees stdin close and exits.
            start_new_session=True,
        )
        deadline, output = time.monotonic() + INIT_TIMEOUT_S, []
        try:
            frame = await self._frame(deadline)
            while frame is not None and frame["t"] in ("log", "debugger"):
                if frame["t"] == "log":  # a print() at module level, say
                    output.append(frame["s"])
                else:
                    # Listening for a debugger, which the worker waits for before it imports the
                    # handler: that wait, and an init paused at a breakpoint, have no limit.
                    deadline = None
                    if self.on_debugger is not None:
                        self.on_debugger()
                frame = await self._frame(deadline)
        except TimeoutError:
            await self.kill()
            return {"errorMessage": f"Init phase timed out after {INIT_TIMEOUT_S:.2f} seconds",
                    "errorType": "Runtime.InitTimeout", "stackTrace": []}
        finally:
            self.init_output = "".join(output)
        if frame is None:
            return _exit_error(await self._wait())
        if frame["t"] == "init_error":
            await self._wait()
            return frame["error"]
        return None

    async def invoke(self, request_id: str, event, timeout_s: float) -> Outcome:
        request = {"id": request_id, "deadline_ms": int((time.time() + timeout_s) * 1000), "event": event}
        try:
            self.process.stdin.write(encode(request) + b"\n")
        except (OSError, RuntimeError):  # the instance died between two invocations
            return Outcome(error=_exit_error(await self._wait()))
        # Past the timeout the process is killed, which ends its stream: cheaper than wrapping
        # every read in asyncio.wait_for.
        expired = []
        timer = asyncio.get_running_loop().call_later(timeout_s, self._expire, expired)
        output: list[str] = []
        try:
            while True:
                line = await self.process.stdout.readline()
                if not line:
                    if expired:
                        await self._wait()
                        return Outcome(output="".join(output), timed_out=True, error={
                            "errorMessage": f"Task timed out after {timeout_s:.2f} seconds",
                            "errorType": "Sandbox.Timedout", "stackTrace": []})
                    return Outcome(error=_exit_error(await self._wait()), output="".join(output))
                frame, size = orjson.loads(line), len(line)
                kind = frame["t"]
                if kind == "log":
                    output.append(frame["s"])
                elif kind == "result":
                    if size > MAX_PAYLOAD_BYTES:
                        return Outcome(output="".join(output), max_memory_mb=frame["mem"], error={
                            "errorMessage": f"Response payload size ({size} bytes) exceeded maximum "
                                            f"allowed payload size ({MAX_PAYLOAD_BYTES} bytes).",
                            "errorType": "Function.ResponseSizeTooLarge", "stackTrace": []})
                    return Outcome(payload=frame["payload"], output="".join(output), max_memory_mb=frame["mem"])
                else:
                    return Outcome(error=frame["error"], output="".join(output), max_memory_mb=frame["mem"])
        finally:
            timer.cancel()

    def _expire(self, expired: list) -> None:
        expired.append(True)
        if self.alive:
            self.process.kill()

    async def kill(self) -> None:
        if self.alive:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass
        await self._wait()

    async def _frame(self, deadline: float | None):
        """The next frame; None at end of stream; TimeoutError past the monotonic deadline (if any)."""
        if deadline is None:
            line = await self.process.stdout.readline()
            return orjson.loads(line) if line else None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            raise TimeoutError from None
        return orjson.loads(line) if line else None

    async def _wait(self) -> int | None:
        if self.process is None:
            return None
        if self.process.stdin is not None:
            self.process.stdin.close()
        return await self.process.wait()


def encode(value) -> bytes:
    """JSON bytes, fast; numbers beyond 64 bits (valid JSON, which orjson refuses) go the slow way."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode()


def _exit_error(code: int | None) -> dict:
    reason = f"signal: {_signal_name(-code)}" if code is not None and code < 0 else f"exit status {code}"
    return {"errorMessage": f"Runtime exited with error: {reason}", "errorType": "Runtime.ExitError",
            "stackTrace": []}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name.removeprefix("SIG").lower().replace("kill", "killed")
    except ValueError:
        return str(number)
