"""Step-through debugging of one function (`--debug-port`, `--debug-function`, as SAM CLI
names them): which function, on which port, and where debugpy is. docs/DEBUGGING.md tells the
user's side; debug_pool.py runs the instance; debug_worker.py starts debugpy in its worker."""

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from local.app.model import AppModel, FunctionSpec
from local.errors import LocalError
from local.services.procs import ensure_port_free

# SAM CLI gives a debugged function ten hours (LocalLambdaRunner.MAX_DEBUG_TIMEOUT) and sets no
# timer at all; the context's remaining time counts down from those ten hours too. So here:
# a paused function is not killed, yet an instance forgotten at a breakpoint ends one day.
DEBUG_TIMEOUT_S = 36_000.0
DEBUG_HOST = "127.0.0.1"  # the debugger runs code in the function: never on another interface


class DebuggerMissing(LocalError):
    def __init__(self):
        super().__init__("--debug-port needs debugpy in the Python that runs `local`: "
                         "pip install debugpy (it is in this project's dev extra: pip install -e '.[dev]')")


@dataclass(frozen=True)
class DebugTarget:
    """This process runs the function's one instance, which listens for a debugger."""
    function: str  # logical id
    port: int
    host: str = DEBUG_HOST


@dataclass(frozen=True)
class DebuggedElsewhere:
    """Another process (`local up`) runs the debugged instance: this one (the event runner)
    sends the function's invocations to that process's Invoke API, so that they stop at the
    same breakpoints and no second listener is started for the port."""
    function: str  # logical id
    invoke_url: str


def debugpy_package() -> Path:
    """debugpy's package folder, found without importing it (the emulator has no use for it)."""
    spec = importlib.util.find_spec("debugpy")
    if spec is None or not spec.submodule_search_locations:
        raise DebuggerMissing()
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass(frozen=True)
class DebugFlags:
    """`--debug-port PORT` and `--debug-function NAME` as given on the command line."""
    port: int
    function: str | None = None  # logical id or FunctionName

    @classmethod
    def given(cls, port: int | None, function: str | None = None) -> "DebugFlags | None":
        """None without --debug-port. What can be refused before anything starts is refused
        here: the flags together, the port, debugpy missing, the port taken."""
        if port is None:
            if function is not None:
                raise LocalError("--debug-function needs --debug-port PORT (the port a debugger attaches to)")
            return None
        if not 0 < port < 65536:
            raise LocalError(f"--debug-port {port} is not a TCP port (1-65535)")
        debugpy_package()
        ensure_port_free(port, "debugger", "--debug-port")
        return cls(port, function)

    def target(self, model: AppModel) -> DebugTarget:
        """The function --debug-function names; without it, the template's only function."""
        if self.function is None:
            if len(model.functions) != 1:
                listed = ", ".join(sorted(model.functions)) or "none"
                raise LocalError(f"--debug-port needs --debug-function NAME: the template has "
                                 f"{len(model.functions)} functions ({listed})")
            spec = next(iter(model.functions.values()))
        else:
            spec = model.function(self.function)
            if spec is None:
                raise LocalError(f"no function named {self.function!r} in the template to debug; "
                                 f"the functions are: {', '.join(sorted(model.functions)) or 'none'}")
        return DebugTarget(spec.logical_id, self.port)


def worker_settings(target: DebugTarget, spec: FunctionSpec) -> dict:
    """What worker.py needs to start debugpy before the handler is imported. `project_roots`
    are the folders justMyCode counts as the user's: the function's and its layers' own
    code, not the libraries built beside them or the SDK."""
    roots = [spec.code_dir, *(layer.python_dir for layer in spec.layers)]
    return {"host": target.host, "port": target.port, "debugpy": str(debugpy_package()),
            "project_roots": [str(root) for root in roots]}


def attach_line(target: DebugTarget) -> str:
    return (f"  debugger       {target.host}:{target.port}   ({target.function}: attach a debugger there, "
            f"docs/DEBUGGING.md; its Timeout and API Gateway's 29 s integration timeout are lifted while debugging)")


def waiting_line(target: DebugTarget) -> str:
    return f"debugger: waiting on {target.host}:{target.port} for a debugger to attach; its calls wait until one does"
