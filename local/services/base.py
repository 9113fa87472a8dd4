"""What `local up` needs of every server it runs (Postgres, Redis, the AWS endpoint, the event
runner): one protocol, so that starting, supervising and stopping them is written once."""

from pathlib import Path
from typing import Protocol

from local.services.procs import ManagedProcess


class ManagedServer(Protocol):
    name: str  # also the name of its pid file and, for embedded servers, of its port's setting
    stop_signal: int

    def process(self, run_dir: Path) -> ManagedProcess:
        """A new process of this server, not yet started."""

    def ready(self) -> bool:
        """Whether the started process answers."""

    def state_note(self) -> str | None:
        """What the server said of its kept state as it started, if anything."""


class EmbeddedServer(ManagedServer, Protocol):
    port: int

    @property
    def url(self) -> str: ...
