"""The debugged function's pool (`--debug-port`): one instance, since a debugger attaches to
one process on one port; it listens before its handler is imported and waits for the
debugger; calls wait for it (never throttled); its Timeout is lifted (debugging.py)."""

import asyncio

from local.build.pip_target import BuildFailed
from local.runtime.debugging import (
    DEBUG_TIMEOUT_S,
    DebugTarget,
    waiting_line,
    worker_settings,
)
from local.runtime.instance import FunctionInstance
from local.runtime.pool import FunctionPool


class DebugPool(FunctionPool):
    def __init__(self, target: DebugTarget, spec, prepare, environment, console, concurrency=None, **options):
        super().__init__(spec, self._prepare_debugged, environment, console, 1, **options)
        self.target = target
        self._prepare = prepare

    async def _prepare_debugged(self) -> dict:
        config = await self._prepare()
        return {**config, "debug": worker_settings(self.target, self.spec)}

    def timeout_s(self) -> float:
        return DEBUG_TIMEOUT_S

    def new_instance(self, generation: int) -> FunctionInstance:
        return FunctionInstance(self.environment, generation, on_debugger=self._say_waiting)

    def _say_waiting(self) -> None:
        self.console.write(self.spec.logical_id, [waiting_line(self.target)])

    async def start_instance(self) -> None:
        """Start the instance now rather than at the first call, so that a debugger can attach
        before any request is sent (`local up` does this at start). Returns once it is ready,
        which is once a debugger has attached; an init error is shown on the console."""
        instance = await self._acquire(self.watch.generation(), throttle=False)
        try:
            if instance.started:  # a call came first
                return
            try:
                config = await self.prepare()
            except BuildFailed as failure:
                self.console.write(self.spec.logical_id, [f"[ERROR] Local.BuildFailed: {failure}"])
                return
            error = await instance.start(config)
            lines = instance.init_output.splitlines()
            if error is not None:
                lines.append(f"[ERROR] {error['errorType']}: {error['errorMessage']}")
            if lines:
                self.console.write(self.spec.logical_id, lines)
        except asyncio.CancelledError:
            await instance.kill()  # `local up` stops while it waits for a debugger
            raise
        finally:
            await self._release(instance)
