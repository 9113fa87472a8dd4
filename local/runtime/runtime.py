"""Run any function the template declares: the one entry point the gateway, the CLI, the
Lambda Invoke API and the event sources all call.

Each function gets its own pool of warm worker processes, each with only the function's
code folder and layers on the import path and only its environment, so two functions'
modules (every one has an app.py) never meet.
"""

import asyncio
import collections
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from local.app.model import AppModel, FunctionSpec
from local.build.dependencies import DependencyCache
from local.build.lambda_python import runtime_sdk
from local.build.pip_target import BuildFailed
from local.errors import LocalError
from local.loop_thread import BackgroundLoop
from local.runtime.debug_pool import DebugPool
from local.runtime.debugging import DebuggedElsewhere, DebugTarget
from local.runtime.instance import MAX_PAYLOAD_BYTES, WORKER_SCRIPT
from local.runtime.journal import InvocationJournal
from local.runtime.logs import ConsoleLog
from local.runtime.pool import FunctionPool, Invocation, PoolRetired
from local.runtime.remote_invoke import invoke_through_api
from local.runtime.surroundings import build_units, import_path
from local.settings import DEFAULT_BUILD_DIR, DEFAULT_MAX_INSTANCES

# What a function inherits of the emulator's own environment: enough to run Python, no more.
INHERITED_VARIABLES = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR")


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
                 concurrency: int | None = None, loop: BackgroundLoop | None = None, build_dir: Path | None = None,
                 max_instances: int = DEFAULT_MAX_INSTANCES, debug: DebugTarget | DebuggedElsewhere | None = None,
                 journal: InvocationJournal | None = None):
        self.model = model
        self.journal = journal  # every finished invocation on disk, for `local logs` and the console
        self.debug = debug  # the function being debugged, here or in `up` (debugging.py)
        self.build_dir = Path(build_dir or DEFAULT_BUILD_DIR)
        self.dependencies = DependencyCache(self.build_dir, announce=self._announce_build)
        self._sdk: Path | None = None
        self._sdk_lock = threading.Lock()
        self.region, self.account_id = region, account_id
        self.console = console or ConsoleLog()
        self.concurrency = concurrency
        self.max_instances = max_instances
        self._owns_loop = loop is None
        self.loop = loop or BackgroundLoop()
        self._pools: dict[str, FunctionPool] = {}  # touched only on the loop
        self._stopping = False
        self.recent: collections.deque[Invocation] = collections.deque(maxlen=200)  # for the web console

    def spec(self, name: str) -> FunctionSpec:
        spec = self.model.function(name)
        if spec is None:
            raise UnknownFunction(name, list(self.model.functions))
        return spec

    async def invoke_async(self, name: str, event, request_id: str | None = None, *, on_start=None,
                           throttle: bool = False) -> Invocation:
        """See FunctionPool.invoke for `on_start` and `throttle`."""
        while True:
            pool = self._pool(name)
            try:
                return await pool.invoke(event, request_id, on_start=on_start, throttle=throttle)
            except PoolRetired:
                if self._stopping:
                    raise
                # A template reload retired the pool while this call waited for an instance:
                # the function's new pool takes it (or UnknownFunction, if the function went).

    def swap_model(self, model: AppModel) -> list[FunctionPool]:
        """The template's new model from now on (on the loop, between two requests). As on AWS,
        where any change to a function's configuration starts new execution environments, the
        pools of functions that changed or went are retired and returned for the caller to stop
        (`await pool.stop()`); every other function keeps its warm instances."""
        retired = []
        for logical_id, pool in list(self._pools.items()):
            spec = model.functions.get(logical_id)
            if spec is None or instance_settings(spec) != instance_settings(pool.spec):
                retired.append(self._pools.pop(logical_id))
            else:
                pool.spec = spec  # its events may have changed; they are no instance's business
        self.model = model
        return retired

    def update(self, model: AppModel) -> None:
        """swap_model from another thread, waiting for the retired pools to stop."""
        async def swap():
            await asyncio.gather(*(pool.stop() for pool in self.swap_model(model)))
        self.loop.run(swap())

    def invoke(self, name: str, event, request_id: str | None = None) -> Invocation:
        spec = self.spec(name)  # an unknown name fails here, in the caller's thread
        if isinstance(self.debug, DebuggedElsewhere) and spec.logical_id == self.debug.function:
            return invoke_through_api(self.debug.invoke_url, spec, event, request_id)
        return self.loop.run(self.invoke_async(name, event, request_id))

    def debugs(self, name: str) -> bool:
        """Whether `name` is the function a debugger attaches to in this process."""
        return isinstance(self.debug, DebugTarget) and self.spec(name).logical_id == self.debug.function

    def start_debugger(self) -> None:
        """Start the debugged function's instance now, in the background: it listens for a
        debugger at once, and the first call finds it ready (DebugPool.start_instance)."""
        async def start():
            await self._pool(self.debug.function).start_instance()
        self.loop.submit(start())

    def stop(self) -> None:
        self._stopping = True
        if not self.loop.loop.is_closed():
            self.loop.run(self._stop_pools())
        if self._owns_loop:
            self.loop.stop()
        if self.journal is not None:  # after the pools: their last calls are kept too
            self.journal.close()

    async def _stop_pools(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        await asyncio.gather(*(pool.stop() for pool in pools))

    def _pool(self, name: str) -> FunctionPool:
        spec = self.spec(name)
        pool = self._pools.get(spec.logical_id)
        if pool is None:
            log_stream = uuid.uuid4().hex
            kind = partial(DebugPool, self.debug) if self.debugs(spec.logical_id) else FunctionPool
            pool = kind(spec, lambda: self._instance_config(spec, log_stream),
                        self._environment(spec, log_stream), self.console, self.concurrency,
                        record=self._record, max_instances=self.max_instances)
            self._pools[spec.logical_id] = pool
        return pool

    def _record(self, invocation: Invocation) -> None:
        self.recent.append(invocation)
        if self.journal is not None:
            self.journal.record(invocation)

    def build_all(self) -> list:
        """Build every function's and layer's requirements now (each once, two at a time), so
        that failures show at start: a Built or a BuildFailed for each requirements file."""
        units = {}
        for spec in self.model.functions.values():
            for unit in build_units(spec):
                units.setdefault(unit.requirements, unit)
        with ThreadPoolExecutor(max_workers=2) as pool:
            sdk = pool.submit(_failure_or, self.sdk)
            results = list(pool.map(lambda unit: _failure_or(self.dependencies.ensure, unit), units.values()))
        failed_sdk = sdk.result()
        return [failed_sdk, *results] if isinstance(failed_sdk, BuildFailed) else results

    def _announce_build(self, line: str) -> None:
        self.console.write("build", [line])

    def sdk(self) -> Path:
        """The Lambda runtime's boto3 folder (local/build/lambda_python.py), installed once."""
        with self._sdk_lock:
            if self._sdk is None:
                self._sdk = runtime_sdk(self.build_dir, announce=self._announce_build)
            return self._sdk

    async def _instance_config(self, spec: FunctionSpec, log_stream: str) -> dict:
        # At every cold start: an edited requirements.txt is built before the instance starts.
        path = await asyncio.to_thread(lambda: import_path(spec, self.dependencies, self.sdk()))
        return {
            "function_name": spec.function_name,
            "function_arn": spec.arn,
            "memory_mb": spec.memory_mb,
            "log_stream": log_stream,
            "handler": spec.handler,
            "code_dir": str(spec.code_dir),
            "path": [str(folder) for folder in path.folders],
            "source_dirs": [str(folder) for folder in path.source_folders],
        }

    def _environment(self, spec: FunctionSpec, log_stream: str) -> dict[str, str]:
        inherited = {k: os.environ[k] for k in INHERITED_VARIABLES if k in os.environ}
        return {
            **inherited,
            **spec.environment,
            # Lambda's reserved variables last: a function cannot override them.
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "LAMBDA_RUNTIME_DIR": str(WORKER_SCRIPT.parent),  # what plays the part of /var/runtime
            "_HANDLER": spec.handler,
            "TZ": ":UTC",
            "AWS_SAM_LOCAL": "true",  # as SAM CLI sets it, for code that must know it runs locally
        }


# What an execution environment is made from: a change to any of these starts new instances.
INSTANCE_SETTINGS = {"function_name", "arn", "code_dir", "handler", "runtime", "timeout", "memory_mb",
                     "reserved_concurrency", "prebuilt", "layers", "environment"}


def instance_settings(spec: FunctionSpec) -> dict:
    return spec.model_dump(include=INSTANCE_SETTINGS)


def _failure_or(build, *args):
    try:
        return build(*args)
    except BuildFailed as failure:
        return failure
