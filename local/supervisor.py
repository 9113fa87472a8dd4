"""The restart policy of `local up`, as a container runtime's would be: a managed process that
exits is started again; one that keeps dying (RESTART_LIMIT exits within RESTART_WINDOW_S)
ends the stack, with its reason."""

import time
from collections.abc import Callable

from local.services.base import ManagedServer
from local.services.procs import ManagedProcess

READY_TIMEOUT = 30.0
RESTART_LIMIT = 5
RESTART_WINDOW_S = 60.0


class Supervisor:
    def __init__(self, run_dir, say=print, after_restart: Callable[[ManagedServer], None] = lambda service: None,
                 clock=time.monotonic):
        self.run_dir, self.say, self.after_restart, self.clock = run_dir, say, after_restart, clock
        self.processes: list[tuple[ManagedServer, ManagedProcess]] = []
        self._restarts: dict[str, list[float]] = {}

    def start(self, service: ManagedServer) -> ManagedProcess:
        process = service.process(self.run_dir)
        process.start()
        self.processes.append((service, process))
        return process

    def check(self) -> str | None:
        """Start again each process that exited. Returns why the stack must stop instead: one
        that keeps dying, or cannot be started again."""
        for index, (service, process) in enumerate(self.processes):
            code = process.exit_code()
            if code is None:
                continue
            now = self.clock()
            recent = [t for t in self._restarts.get(service.name, []) if now - t < RESTART_WINDOW_S]
            if len(recent) >= RESTART_LIMIT:
                return (f"{service.name} (pid {process.pid}) exited with code {code}, {len(recent) + 1} times within "
                        f"{RESTART_WINDOW_S:.0f} s{_see(process)}")
            self._restarts[service.name] = [*recent, now]
            self.say(f"{service.name} (pid {process.pid}) exited with code {code}; starting it again")
            replacement = service.process(self.run_dir)
            try:
                replacement.start()
                self.processes[index] = (service, replacement)
                replacement.wait_ready(service.ready, READY_TIMEOUT)
                self.after_restart(service)
            except Exception as error:  # noqa: BLE001 - any failure here ends the stack, with its reason
                return f"{service.name} could not be started again: {error}"
            self.say(f"  ok  {service.name} back (pid {replacement.pid}) in {self.clock() - now:.2f} s")
            say_state_note(service, self.say)
        return None

    def stop(self) -> None:
        """Stop every process, by process id, the last started first."""
        for _, process in reversed(self.processes):
            process.stop()
        self.processes = []


def say_state_note(service: ManagedServer, say) -> None:
    note = service.state_note()
    if note:
        say(f"      {service.name} state: {note}")


def _see(process: ManagedProcess) -> str:
    return f"; see {process.spec.log_path}" if process.spec.log_path else ""
