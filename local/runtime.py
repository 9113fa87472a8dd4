"""Invoke a function in a warm worker process of its own.

Each function gets its own process, with only its code folder and layers on the import path
and only its environment, so two functions' modules (every one has an app.py) never meet.
A worker that crashes or runs past the function's Timeout is killed and replaced on the
next call; the caller gets Lambda's error shape.
"""

import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .functions import FunctionSpec

WORKER_SCRIPT = Path(__file__).with_name("worker.py")


@dataclass
class Invocation:
    request_id: str
    payload: object = None
    error: dict | None = None


class FunctionWorker:
    """One warm instance of one function; calls are served one at a time."""

    def __init__(self, spec: FunctionSpec, region: str, account_id: str):
        self.spec = spec
        self.region, self.account_id = region, account_id
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None

    def invoke(self, event: dict) -> Invocation:
        request_id = str(uuid.uuid4())
        with self._lock:
            process = self._ensure_started()
            deadline = time.time() + self.spec.timeout
            request = {"request_id": request_id, "deadline_ms": int(deadline * 1000), "event": event}
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
            except (BrokenPipeError, OSError):
                return self._crashed(request_id)
            ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.time()))
            if not ready:
                self.stop()
                return Invocation(request_id, error={
                    "errorMessage": f"Task timed out after {self.spec.timeout:.2f} seconds",
                    "errorType": "Sandbox.Timedout", "stackTrace": []})
            line = process.stdout.readline()
            if not line:
                return self._crashed(request_id)
            reply = json.loads(line)
            return Invocation(request_id, payload=reply.get("result"), error=reply.get("error"))

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def _ensure_started(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-I", str(WORKER_SCRIPT), json.dumps(self._worker_config())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=self._environment(),
                # Not in the terminal's process group: Ctrl-C is for `local up`, which stops
                # workers itself. A worker whose parent dies sees stdin close and exits.
                start_new_session=True,
            )
        return self._process

    def _crashed(self, request_id: str) -> Invocation:
        code = self._process.wait() if self._process else None
        self._process = None
        return Invocation(request_id, error={"errorMessage": f"Runtime exited with error: exit status {code}",
                                             "errorType": "Runtime.ExitError", "stackTrace": []})

    def _worker_config(self) -> dict:
        name = self.spec.logical_id
        return {
            "function_name": name,
            "function_arn": f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}",
            "memory_mb": self.spec.memory_mb,
            "log_stream": uuid.uuid4().hex,
            "handler": self.spec.handler,
            "code_dir": str(self.spec.code_dir),
            "layer_dirs": [str(path) for path in self.spec.layer_dirs],
        }

    def _environment(self) -> dict[str, str]:
        # Only what Lambda would give: a few system variables, the function's own, and
        # Lambda's reserved ones. Nothing else of the emulator's environment leaks in.
        inherited = {k: os.environ[k] for k in ("PATH", "LANG", "TZ", "HOME") if k in os.environ}
        return {
            **inherited,
            **self.spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": self.spec.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "LAMBDA_TASK_ROOT": str(self.spec.code_dir),
        }
