"""Run any function the template declares: the one entry point the gateway, the CLI, the
Lambda Invoke API and the event sources all call.

Each function gets its own pool of warm worker processes, each with only the function's
code folder and layers on the import path and only its environment, so two functions'
modules (every one has an app.py) never meet.
"""

import asyncio
import collections
import os
import uuid

from local.app.model import AppModel, FunctionSpec
from local.errors import LocalError
from local.loop_thread import BackgroundLoop
from local.runtime.instance import MAX_PAYLOAD_BYTES
from local.runtime.logs import ConsoleLog
from local.runtime.pool import FunctionPool, Invocation

# What a function inherits of the emulator's own environment: enough to run Python, no more.
INHERITED_VARIABLES = ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "TMPDIR")


class UnknownFunction(LocalError):
    def __init__(self, name: str, known: list[str]):
        self.name = name
        super().__init__(f"no function named {name!r} in the template; the functions are: {', '.join(sorted(known))}")


class RequestEntityTooLarge(LocalError):
    error_type = "RequestEntityTooLargeException"

    def __init__(self, size: int):
        super().__init__(f"{size} byte payload is too large for the Invoke operation "
                         f"(maximum {MAX_PAYLOAD_BYTES} bytes)")


def check_payload_size(raw: bytes) -> None:
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise RequestEntityTooLarge(len(raw))


class Runtime:
    """Pools of instances per function, on one event loop. Async callers (the gateway, the
    Invoke API) await `invoke_async`; everything else calls `invoke`."""

    def __init__(self, model: AppModel, region: str, account_id: str, console: ConsoleLog | None = None,
                 concurrency: int | None = None, loop: BackgroundLoop | None = None):
        self.model = model
        self.region, self.account_id = region, account_id
        self.console = console or ConsoleLog()
        self.concurrency = concurrency
        self._owns_loop = loop is None
        self.loop = loop or BackgroundLoop()
        self._pools: dict[str, FunctionPool] = {}  # touched only on the loop
        self.recent: collections.deque[Invocation] = collections.deque(maxlen=200)  # for the web console

    def spec(self, name: str) -> FunctionSpec:
        spec = self.model.function(name)
        if spec is None:
            raise UnknownFunction(name, list(self.model.functions))
        return spec

    async def invoke_async(self, name: str, event, request_id: str | None = None) -> Invocation:
        return await self._pool(name).invoke(event, request_id)

    def invoke(self, name: str, event, request_id: str | None = None) -> Invocation:
        self.spec(name)  # an unknown name fails here, in the caller's thread
        return self.loop.run(self.invoke_async(name, event, request_id))

    def stop(self) -> None:
        if not self.loop.loop.is_closed():
            self.loop.run(self._stop_pools())
        if self._owns_loop:
            self.loop.stop()

    async def _stop_pools(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        await asyncio.gather(*(pool.stop() for pool in pools))

    def _pool(self, name: str) -> FunctionPool:
        spec = self.spec(name)
        pool = self._pools.get(spec.logical_id)
        if pool is None:
            pool = FunctionPool(spec, self._instance_config(spec), self._environment(spec), self.console,
                                self.concurrency, record=self.recent.append)
            self._pools[spec.logical_id] = pool
        return pool

    def _instance_config(self, spec: FunctionSpec) -> dict:
        return {
            "function_name": spec.function_name,
            "function_arn": spec.arn,
            "memory_mb": spec.memory_mb,
            "log_stream": uuid.uuid4().hex,
            "handler": spec.handler,
            "code_dir": str(spec.code_dir),
            "layer_dirs": [str(path) for path in spec.layer_dirs],
        }

    def _environment(self, spec: FunctionSpec) -> dict[str, str]:
        inherited = {k: os.environ[k] for k in INHERITED_VARIABLES if k in os.environ}
        return {
            **inherited,
            **spec.environment,
            # Lambda's reserved variables last: a function cannot override them.
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
        }
