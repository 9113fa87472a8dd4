"""The warm instances of one function: started on demand, reused across invocations, replaced
when they fail or when the code changes.

How many run at once: the function's ReservedConcurrentExecutions, as on Lambda, where a
synchronous call past it is throttled; else the local ceiling (LOCAL_MAX_INSTANCES), past which
a call waits for an instance to come free, since the ceiling is this machine's, not AWS's."""

import asyncio
import time
import uuid
from dataclasses import dataclass, field

from local.build.pip_target import BuildFailed
from local.errors import LocalError
from local.runtime import logs
from local.runtime.code_watch import CodeWatch
from local.runtime.instance import FunctionInstance, Outcome
from local.settings import DEFAULT_MAX_INSTANCES


class Throttled(LocalError):
    """A synchronous call found every instance its reserved concurrency allows busy."""
    error_type = "TooManyRequestsException"
    reason = "ReservedFunctionConcurrentInvocationLimitExceeded"

    def __init__(self, function: str, limit: int):
        super().__init__(f"Rate Exceeded. ({function}: ReservedConcurrentExecutions {limit}, all busy)")


class PoolRetired(RuntimeError):
    """The pool stopped (the function changed or went with a template reload, or the runtime
    is stopping) while a call waited for one of its instances."""


@dataclass
class Invocation:
    request_id: str
    function: str
    event: object = None  # what it was called with (the journal keeps it, the console replays it)
    payload: object = None
    error: dict | None = None
    log: list[str] = field(default_factory=list)  # as CloudWatch would hold it
    duration_ms: float = 0.0
    init_ms: float | None = None  # set on a cold start
    finished_at: float = field(default_factory=time.time)  # set again when it finishes

    @property
    def failed(self) -> bool:
        return self.error is not None

    def log_tail(self, limit: int = 4096) -> str:
        """The last `limit` bytes of the log, as `X-Amz-Log-Type: Tail` returns them."""
        data = "".join(line + "\n" for line in self.log).encode()
        return data[-limit:].decode("utf-8", errors="ignore")


class FunctionPool:
    """Lives on the runtime's event loop; every method is called from it."""

    def __init__(self, spec, prepare, environment: dict[str, str], console: logs.ConsoleLog,
                 concurrency: int | None = None, watch: CodeWatch | None = None, record=None,
                 max_instances: int = DEFAULT_MAX_INSTANCES):
        self.spec = spec
        self.record = record  # called with every finished Invocation (the web console keeps the latest)
        # A coroutine function giving a new instance's config, after building what changed.
        self.prepare = prepare
        self.environment = environment
        self.console = console
        # `concurrency` is the caller's own cap (a one-off `local invoke` wants one instance).
        self.limit = concurrency or spec.reserved_concurrency or max_instances
        self.throttles = concurrency is None and spec.reserved_concurrency is not None
        self.watch = watch or CodeWatch([spec.code_dir, *spec.layer_dirs])
        self._idle: list[FunctionInstance] = []
        self._count = 0
        self._available = asyncio.Condition()
        self._closed = False

    async def invoke(self, event, request_id: str | None = None, *, on_start=None, throttle: bool = False) -> Invocation:
        """`throttle`: a synchronous caller (API Gateway, the Invoke API) is refused with Throttled
        at the reserved concurrency, as Lambda refuses it; event sources and asynchronous
        invocations wait, as Lambda's pollers and queues do. `on_start` is called once an
        instance has taken the call: time spent waiting before it is not the function's."""
        request_id = request_id or str(uuid.uuid4())
        instance = await self._acquire(self.watch.generation(), throttle)
        if on_start is not None:
            on_start()
        result = Invocation(request_id, self.spec.logical_id, event=event)
        try:
            if not instance.started:  # cold: start it now, inside this invocation
                try:
                    config = await self.prepare()
                except BuildFailed as failure:
                    return self._finish(result, Outcome(error=build_error(failure)), 0.0)
                began = time.perf_counter()
                init_error = await instance.start(config)
                result.init_ms = (time.perf_counter() - began) * 1000
                if init_error is not None:
                    return self._finish(result, Outcome(error=init_error), 0.0, instance.init_output)
                init_output = instance.init_output
            else:
                init_output = ""
            began = time.perf_counter()
            outcome = await instance.invoke(request_id, event, self.timeout_s())
            return self._finish(result, outcome, (time.perf_counter() - began) * 1000, init_output)
        except asyncio.CancelledError:
            await instance.kill()  # stopped mid-call: its state is unknown, so it does not go back
            raise
        finally:
            await self._release(instance)

    def timeout_s(self) -> float:
        """How long a call may run: the function's Timeout (a debugged pool lifts it, debug_pool.py)."""
        return self.spec.timeout

    def new_instance(self, generation: int) -> FunctionInstance:
        return FunctionInstance(self.environment, generation)

    async def stop(self) -> None:
        async with self._available:
            self._closed = True
            idle, self._idle = self._idle, []
            self._available.notify_all()
        for instance in idle:
            await instance.kill()

    def _finish(self, result: Invocation, outcome: Outcome, duration_ms: float, init_output: str = "") -> Invocation:
        request_id = result.request_id
        result.payload, result.error, result.duration_ms = outcome.payload, outcome.error, duration_ms
        result.finished_at = time.time()
        closing = []
        if outcome.timed_out:
            closing.append(logs.timeout_line(request_id, self.timeout_s()))
        elif outcome.error is not None:
            closing.append(f"[ERROR] {outcome.error['errorType']}: {outcome.error['errorMessage']}")
        closing += [logs.end_line(request_id),
                    logs.report_line(request_id, duration_ms, self.spec.memory_mb, outcome.max_memory_mb,
                                            result.init_ms)]
        start = logs.start_line(request_id)
        # What the module wrote while it was imported comes first, before START, as on Lambda
        # (where it belongs to the init phase, not to a request).
        init_lines = init_output.splitlines()
        result.log = [*init_lines, start, *outcome.output.splitlines(), *closing]
        self.console.write(self.spec.logical_id,
                           [*init_lines, start, *logs.tag_output(request_id, outcome.output), *closing])
        if self.record is not None:
            self.record(result)
        return result

    async def _acquire(self, generation: int, throttle: bool) -> FunctionInstance:
        async with self._available:
            while True:
                if self._closed:
                    raise PoolRetired(f"{self.spec.logical_id} is shutting down")
                # Instances that died while idle, or run code that has changed since, go.
                stale = [i for i in self._idle if i.generation != generation or not i.alive]
                for instance in stale:
                    self._idle.remove(instance)
                    self._count -= 1
                    await instance.kill()
                if self._idle:
                    return self._idle.pop()
                if self._count < self.limit:
                    self._count += 1
                    return self.new_instance(generation)
                if throttle and self.throttles:
                    raise Throttled(self.spec.logical_id, self.limit)
                await self._available.wait()

    async def _release(self, instance: FunctionInstance) -> None:
        async with self._available:
            if instance.alive and not self._closed:
                self._idle.append(instance)
            else:
                self._count -= 1
                await instance.kill()
            self._available.notify()


def build_error(failure: BuildFailed) -> dict:
    # Not one of Lambda's types: on AWS the deployment would have failed instead.
    return {"errorMessage": str(failure), "errorType": "Local.BuildFailed", "stackTrace": []}
