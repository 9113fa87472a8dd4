"""One `local up` per state folder: an exclusive flock on <state>/run/stack.lock, holding the
owner's pid so that a second run can say who holds it. Closing the file (or dying) releases it."""

import fcntl
import os
from pathlib import Path

from local import settings as names
from local.errors import LocalError


class RunLock:
    def __init__(self, run_dir: Path, state_dir: Path):
        self.path, self.state_dir = Path(run_dir) / "stack.lock", state_dir
        self._handle = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise LocalError(f"another `python -m local up` (pid {holder}) is using {self.state_dir}; "
                             f"stop it first, or set {names.STATE_DIR} to another folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
