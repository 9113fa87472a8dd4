"""moto as the AWS endpoint (SNS, SQS, SSM, S3, and what else moto serves), run by
server.py in a process of its own: behind a keep-alive server, with the event pipeline's requests on a fast
path and moto's slowest costs patched, and its state kept under <state>/aws/ across restarts
and kills (state.py)."""

import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path

from local.services.procs import ManagedProcess, ProcessSpec


class EmbeddedAws:
    name = "aws"
    stop_signal = signal.SIGTERM

    def __init__(self, state_dir: Path, port: int, keep_state: bool = True):
        self.log_path = Path(state_dir) / "logs" / "aws.log"
        self.data_dir = Path(state_dir) / "aws" if keep_state else None  # None: in memory only
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def process(self, run_dir: Path) -> ManagedProcess:
        argv = [sys.executable, "-m", "local.services.aws.server", "-H", "127.0.0.1", "-p", str(self.port)]
        if self.data_dir is not None:
            argv += ["--state-dir", str(self.data_dir)]
        return ManagedProcess(ProcessSpec(self.name, argv, self.log_path), run_dir)

    def state_note(self) -> str | None:
        """What the endpoint said of its state as it started (restored, new, or moved aside):
        the last such line of its log, which it writes before it answers."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return None
        prefix = "local AWS endpoint state: "  # server.py's line
        return next((line[len(prefix):] for line in reversed(lines) if line.startswith(prefix)), None)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False
