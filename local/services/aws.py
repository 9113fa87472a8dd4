"""moto as the AWS endpoint (SNS, SQS, SSM, S3), run by moto_server.py: behind a keep-alive
server, with the event pipeline's requests on a fast path and moto's slowest costs patched.
It keeps its state in memory: provisioning recreates the resources on every start (see
infra/provision.py for secrets), and on every restart by `local up`."""

import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path

from ..procs import ManagedProcess, ProcessSpec


class EmbeddedAws:
    name = "aws"
    stop_signal = signal.SIGTERM

    def __init__(self, state_dir: Path, port: int):
        self.log_path = Path(state_dir) / "logs" / "aws.log"
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def process(self, run_dir: Path) -> ManagedProcess:
        # By path: the launcher imports only moto, so it runs from any working directory.
        argv = [sys.executable, str(Path(__file__).with_name("moto_server.py")), "-H", "127.0.0.1", "-p", str(self.port)]
        return ManagedProcess(ProcessSpec(self.name, argv, self.log_path), run_dir)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False
