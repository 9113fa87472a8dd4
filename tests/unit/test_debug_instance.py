"""The debugged function's instance (local/runtime/debug_pool.py, debug_worker.py), driven by the
real runtime and a DAP client: it waits for the debugger past the init timeout, keeps the
function's import path as Lambda's and its context counts down from the lifted timeout."""

import io
import threading
import time

from support.dap import DapClient
from support.ports import free_port

from local.app.model import AppModel
from local.runtime import instance
from local.runtime.debugging import DebugTarget
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime

SOURCE = """
import sys

def handler(event, context):
    path = list(sys.path)
    return {"path": path, "remaining_ms": context.get_remaining_time_in_millis()}
"""


def debugged_runtime(spec, port: int) -> Runtime:
    model = AppModel(functions={spec.logical_id: spec}, layers={}, apis={}, queues={}, topics={},
                     subscriptions={}, parameters={})
    return Runtime(model, "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()),
                   debug=DebugTarget(spec.logical_id, port))


def test_an_instance_waits_for_its_debugger_past_the_init_timeout(make_function, monkeypatch):
    monkeypatch.setattr(instance, "INIT_TIMEOUT_S", 0.5)
    spec = make_function("Debugged", SOURCE, timeout=1, layers=())
    port = free_port()
    runtime = debugged_runtime(spec, port)
    outcomes = []
    call = threading.Thread(target=lambda: outcomes.append(runtime.invoke("Debugged", {})))
    try:
        call.start()
        debugger = DapClient("127.0.0.1", port)
        time.sleep(1.0)  # twice the (patched) init timeout, before anyone attaches
        debugger.attach({})
        call.join(30)
        debugger.close()
    finally:
        runtime.stop()
    outcome = outcomes[0]
    assert outcome.error is None, outcome.error
    # Lambda's import path, with nothing of debugpy's or the emulator's site-packages on it.
    assert not [folder for folder in outcome.payload["path"] if "site-packages" in folder or "debugpy" in folder]
    assert outcome.payload["remaining_ms"] > 3_600_000  # the lifted timeout, not the function's 1 s
    assert f"waiting on 127.0.0.1:{port} for a debugger to attach" in runtime.console.stream.getvalue()
