"""What a debugged worker (worker.py with config["debug"], see debugging.py) does before it
imports the handler: load debugpy, listen for a debugger, wait for one to attach.

Loaded by worker.py by its file location, inside the worker: like worker.py it imports only
the standard library and is not part of the `local` package at run time."""

import importlib.util
import os
import socket
import sys
import threading
import time


def wait_for_debugger(settings: dict, send) -> dict | None:
    """Listen on settings' host and port, say so ({"t": "debugger"} through `send`), and
    return once a debugger has attached; an init error if the port is taken."""
    host, port = settings["host"], settings["port"]
    # pydevd binds on a thread of its own and waits for that forever if the bind fails: so the
    # port is tried here first, as pydevd binds it (SO_REUSEADDR).
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return {"errorMessage": f"the debugger cannot listen on {host}:{port}: {error.strerror}",
                    "errorType": "Local.DebuggerPortInUse", "stackTrace": []}
    debugpy = load_debugpy(settings["debugpy"])
    # justMyCode means the function's and its layers' folders, not the libraries built beside
    # them nor the SDK (pydevd reads this variable as it starts, in listen); the function
    # never sees it.
    before = os.environ.get("IDE_PROJECT_ROOTS")
    os.environ["IDE_PROJECT_ROOTS"] = os.pathsep.join(settings["project_roots"])
    try:
        # In process: the port is this worker's and goes with it, so the instance that replaces
        # it can listen at once (debugpy's adapter process would hold the port for as long as a
        # debugger stays connected to it).
        debugpy.listen((host, port), in_process_debug_adapter=True)
    finally:
        if before is None:
            del os.environ["IDE_PROJECT_ROOTS"]
        else:
            os.environ["IDE_PROJECT_ROOTS"] = before
    exit_with_emulator()
    send({"t": "debugger"})
    debugpy.wait_for_client()
    return None


def load_debugpy(package: str):
    """debugpy from its own folder, which is not put on sys.path: the function's import path
    stays Lambda's, without the emulator's site-packages."""
    spec = importlib.util.spec_from_file_location("debugpy", os.path.join(package, "__init__.py"),
                                                  submodule_search_locations=[package])
    debugpy = importlib.util.module_from_spec(spec)
    sys.modules["debugpy"] = debugpy
    spec.loader.exec_module(debugpy)
    return debugpy


def exit_with_emulator() -> None:
    """A worker waiting for a debugger, or paused at a breakpoint, reads no stdin, so it would
    not notice the emulator die (SIGKILL, say) and would keep the port. A thread watches."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    watcher = threading.Thread(target=watch, name="exit-with-emulator", daemon=True)
    watcher.is_pydev_daemon_thread = True  # not the function's: the debugger neither lists nor traces it
    watcher.start()
