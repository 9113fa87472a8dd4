"""`python -m local up` as a user runs it, in a subprocess of a test (tests/conftest.py's
`start_local_up`) or of the load run (tests/load/)."""

import json
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from local.services.aws.launcher import EmbeddedAws
from local.services.postgres import EmbeddedPostgres
from local.services.procs import stop_stale
from local.services.redis import EmbeddedRedis

from . import PROJECT_ROOT, eventually

# name -> the signal that stops it cleanly
SERVICES = {service.name: service.stop_signal for service in (EmbeddedPostgres, EmbeddedRedis, EmbeddedAws)}


class LocalUp:
    """`python -m local up` in a subprocess, its output collected line by line."""

    # The runs started by the test now running: a failure shows their output (see below).
    started: list["LocalUp"] = []

    def __init__(self, env: dict[str, str], args: tuple[str, ...] = ()):
        LocalUp.started.append(self)
        self.env = env
        self.state_dir = Path(env["LOCAL_STATE_DIR"])
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local", "up", *args], cwd=PROJECT_ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self, timeout: float = 60) -> "LocalUp":
        def ready() -> bool:
            if any(line.startswith("Press Ctrl-C") for line in self.lines):
                return True
            if self.process.poll() is not None:
                self._reader.join(5)
                raise AssertionError(f"local up exited with {self.process.returncode}:\n{self.output}")
            return False

        if not eventually(ready, within=timeout):
            raise AssertionError(f"local up not ready after {timeout} s:\n{self.output}")
        return self

    def wait_exit(self, timeout: float = 30) -> int:
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code

    def tail(self, lines: int = 150, log_lines: int = 30, notable: int = 200) -> str:
        """The last lines of its output (the function logs are in it) and of each server's
        log under its state folder, for a failure to be diagnosed from CI's output alone;
        then the last `notable` lines that are neither the access log nor Lambda's
        START/END/REPORT, which a busy stack's last lines are mostly made of."""
        parts = [f"--- `local up` output (pid {self.process.pid}, exit {self.process.poll()}), "
                 f"last {lines} lines ---", *self.lines[-lines:]]
        routine = re.compile(r'^(\d{1,3}(\.\d{1,3}){3} "|\[\w+\] (START|END|REPORT) RequestId: )')
        others = [line for line in self.lines if not routine.match(line)]
        parts += [f"--- `local up` output without the access log and START/END/REPORT, last {notable} lines ---",
                  *others[-notable:]]
        for log in sorted((self.state_dir / "logs").glob("*.log")):
            try:
                text = log.read_text(errors="replace").splitlines()[-log_lines:]
            except OSError as error:
                text = [f"(unreadable: {error})"]
            parts += [f"--- {log.name}, last {log_lines} lines ---", *text]
        return "\n".join(parts)

    def signal(self, signum=signal.SIGINT) -> None:
        self.process.send_signal(signum)

    def service_pids(self) -> dict[str, int]:
        pids = {}
        for name in SERVICES:
            pidfile = self.state_dir / "run" / f"{name}.pid"
            if pidfile.exists():
                pids[name] = json.loads(pidfile.read_text())["pid"]
        return pids

    def cleanup(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # Whatever a killed run left behind, stopped by its recorded pid.
        for name, stop_signal in SERVICES.items():
            stop_stale(self.state_dir / "run", name, stop_signal)


