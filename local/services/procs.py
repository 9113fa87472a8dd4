"""Start, recognise and stop the server processes the emulator owns, by process id.

Each process gets a pid file recording its pid and its start time: a pid alone can be
reused by an unrelated process after a reboot or a long time, but pid plus start time
names exactly one process. That is how a server left behind by a killed run is recognised
(and stopped) without ever touching anything else.
"""

import json
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import psutil

from local.errors import LocalError


@dataclass
class ProcessSpec:
    name: str
    argv: list[str]
    log_path: Path | None  # None: output goes where this process's own goes
    env: dict[str, str] | None = None
    user: str | None = None  # run as this system user (Postgres refuses to run as root)
    stop_signal: int = signal.SIGTERM
    cwd: Path | None = None


class ManagedProcess:
    def __init__(self, spec: ProcessSpec, run_dir: Path):
        self.spec = spec
        self.pidfile = Path(run_dir) / f"{spec.name}.pid"
        self.popen: subprocess.Popen | None = None
        self.started_at: float | None = None  # epoch seconds

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def start(self) -> None:
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        log = None
        if self.spec.log_path is not None:
            self.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.spec.log_path, "ab")
        try:
            # A session of its own: Ctrl-C in the terminal reaches only `local up`, which
            # then stops each server in order, instead of every server dying at once.
            self.popen = subprocess.Popen(
                self.spec.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT if log else None,
                env=self.spec.env, cwd=self.spec.cwd, start_new_session=True, **run_as(self.spec.user),
            )
        finally:
            if log is not None:
                log.close()
        self.started_at = psutil.Process(self.popen.pid).create_time()
        record = {"pid": self.popen.pid, "create_time": self.started_at, "argv": self.spec.argv}
        self.pidfile.write_text(json.dumps(record))

    def exit_code(self) -> int | None:
        return self.popen.poll() if self.popen else None

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(self.spec.stop_signal)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.pidfile.unlink(missing_ok=True)

    def wait_ready(self, probe: Callable[[], bool], timeout: float) -> None:
        """Call probe until it returns True; fail early if the process exits meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            code = self.exit_code()
            if code is not None:
                where = f"; see {self.spec.log_path}: {_last_line(self.spec.log_path)}" if self.spec.log_path else ""
                raise LocalError(f"{self.spec.name} exited during start with code {code}{where}")
            if probe():
                return
            if time.monotonic() > deadline:
                where = f"; see {self.spec.log_path}" if self.spec.log_path else ""
                raise LocalError(f"{self.spec.name} did not become ready within {timeout:.0f} s{where}")
            time.sleep(0.05)


def stop_stale(run_dir: Path, name: str, stop_signal: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
    """Stop the process a previous run recorded for `name`, if it is still that process.

    Returns its pid when one was stopped. A pid file whose process is gone, or whose pid now
    belongs to another process, is just removed.
    """
    pidfile = Path(run_dir) / f"{name}.pid"
    try:
        record = json.loads(pidfile.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        pidfile.unlink(missing_ok=True)
        return None
    pid = record.get("pid")
    try:
        process = psutil.Process(pid)
        ours = abs(process.create_time() - record.get("create_time", -1)) < 0.01
    except (psutil.NoSuchProcess, psutil.AccessDenied, TypeError, ValueError):
        ours = False
    if ours:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    pidfile.unlink(missing_ok=True)
    return pid if ours else None


def ensure_port_free(port: int, purpose: str, variable: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Servers set SO_REUSEADDR too, so a port in TIME_WAIT does not count as taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise LocalError(f"port {port} ({purpose}) is already in use on 127.0.0.1; "
                             f"set {variable} to another port") from None


def port_is_free(port: int) -> bool:
    try:
        ensure_port_free(port, "", "")
    except LocalError:
        return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_as(user: str | None) -> dict:
    """subprocess arguments that drop to `user` with its own group only. Changing the uid
    alone would keep root's groups, and group bits would then deny what "other" allows."""
    if user is None:
        return {}
    import pwd

    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except FileNotFoundError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"

