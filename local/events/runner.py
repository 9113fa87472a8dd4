"""The event source mappings in a process of their own: `python -m local events run`.

On AWS, Lambda's pollers are a service apart from whatever calls the functions; here too,
so that the runner can die (or be killed) and come back without the gateway noticing.
`local up` starts it once the services are ready and starts it again if it exits. A batch
it held when it died is not lost: SQS gives the messages out again after the queue's
visibility timeout, and the Redis path reclaims entries left pending as long.
"""

import json
import os
import signal
import sys
import threading
from pathlib import Path

import psutil

from infra.errors import InfraError
from local.app.env_vars import read_env_vars
from local.app.project import accepted_template, load_app, running_addresses
from local.errors import LocalError
from local.events.sources import EventSources
from local.runtime.debugging import DebuggedElsewhere
from local.runtime.journal import InvocationJournal
from local.runtime.runtime import Runtime
from local.services.procs import ManagedProcess, ProcessSpec
from local.settings import Settings

NAME = "events"


def ready_file(run_dir: Path) -> Path:
    return Path(run_dir) / f"{NAME}.ready"


def run(settings: Settings, parameter_overrides: dict[str, str], env_vars: Path | None = None,
        debug_function: str | None = None) -> int:
    """`debug_function`: the function `up` runs under a debugger; its deliveries go to `up`'s
    Invoke API, to the instance the debugger is attached to (docs/DEBUGGING.md)."""
    services = running_addresses(settings)
    if services is None:
        raise LocalError(f"no `python -m local up` is running on {settings.state_dir}; start it first")
    def read_model():
        # The template as `up` accepted and provisioned it (project.py), not as the file may be now.
        return load_app(settings, services, parameter_overrides, read_env_vars(env_vars),
                        template=accepted_template(settings))[1]

    model = read_model()
    # One event wakes the loop for either signal: a reload is applied at once, not at the next tick.
    wake, received = threading.Event(), set()

    def on_signal(signum, _frame):
        received.add(signal.SIGHUP if signum == signal.SIGHUP else signal.SIGTERM)
        wake.set()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # SIGHUP: `up` reloaded the template
        signal.signal(signum, on_signal)
    debugged = DebuggedElsewhere(debug_function, services.lambda_url) if debug_function else None
    runtime = Runtime(model, services.region, services.account_id, build_dir=settings.build_dir,
                      max_instances=settings.max_instances, debug=debugged,
                      journal=InvocationJournal(settings.state_dir / "logs", "events"))
    sources = EventSources(model, runtime, services.aws_endpoint_url, services.redis_url, services.region,
                           services.account_id, state_dir=settings.state_dir, schedule_every_s=settings.schedule_every_s,
                           time_scale=settings.time_scale, max_instances=settings.max_instances)
    marker = ready_file(settings.state_dir / "run")
    try:
        sources.start()
        marker.write_text(json.dumps({"pid": os.getpid(), "sources": sources.count}))
        # Never outlive the `local up` that started it, however that one ended.
        while signal.SIGTERM not in received and psutil.pid_exists(services.pid):
            wake.wait(1)
            wake.clear()
            if signal.SIGHUP in received and signal.SIGTERM not in received:
                received.discard(signal.SIGHUP)
                swap(read_model, runtime, sources)
                marker.write_text(json.dumps({"pid": os.getpid(), "sources": sources.count}))
    finally:
        marker.unlink(missing_ok=True)
        sources.stop()
        runtime.stop()
    return 0


def swap(read_model, runtime: Runtime, sources: EventSources) -> None:
    """The reloaded template's functions and sources; those of unchanged functions run on."""
    try:
        model = read_model()
    except (LocalError, InfraError) as error:  # `up` checked it; a later edit may not have been
        print(f"[events] template not reloaded: {error}", file=sys.stderr, flush=True)
        return
    runtime.update(model)
    sources.update(model)


class EventRunner:
    """The runner as `local up` manages it: the same interface as the embedded servers."""

    name = NAME
    stop_signal = signal.SIGTERM

    def __init__(self, state_dir: Path, parameter_overrides: dict[str, str], env_vars: Path | None = None):
        self.run_dir = Path(state_dir) / "run"
        self.parameter_overrides = parameter_overrides
        self.env_vars = env_vars
        self.debug_function: str | None = None  # the logical id `up` debugs, once it knows it
        self._process: ManagedProcess | None = None

    def process(self, run_dir: Path) -> ManagedProcess:
        ready_file(run_dir).unlink(missing_ok=True)  # a dead runner's marker must not count
        argv = [sys.executable, "-m", "local", "events", "run"]
        if self.parameter_overrides:
            argv += ["--parameter-overrides", *(f"{k}={v}" for k, v in self.parameter_overrides.items())]
        if self.env_vars:
            argv += ["--env-vars", str(Path(self.env_vars).resolve())]
        if self.debug_function:
            argv += ["--debug-function", self.debug_function]
        # No log file: the consumers' logs go to the terminal of `local up`, as before.
        self._process = ManagedProcess(ProcessSpec(self.name, argv, log_path=None), run_dir)
        return self._process

    def ready(self) -> bool:
        try:
            marker = json.loads(ready_file(self.run_dir).read_text())
        except (FileNotFoundError, ValueError):
            return False
        return self._process is not None and marker.get("pid") == self._process.pid

    def state_note(self) -> None:
        return None  # it keeps no state: the queues and streams it reads do

    def reload(self) -> None:
        """Tell a running runner that `up` accepted and provisioned an edited template; one
        still starting reads the accepted template anyway."""
        if self.ready():
            try:
                os.kill(self._process.pid, signal.SIGHUP)
            except ProcessLookupError:  # exited meanwhile: the supervisor starts it again
                pass

    def sources(self) -> int:
        return json.loads(ready_file(self.run_dir).read_text())["sources"]
