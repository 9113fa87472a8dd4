"""Notice edits to a function's code or its layers, so the next invocation runs them.

Every check stats the files (about 35 µs for a function and the shared layer here): no
watcher thread to lag behind, so an edit saved before a call is always seen by that call.
File times tick in jiffies, so two saves a few milliseconds apart can leave the same mtime
and size; files changed in the last few seconds are therefore compared by content too.
"""

import os
import threading
import time
import zlib
from pathlib import Path

RECENT_NS = 3_000_000_000


class CodeWatch:
    def __init__(self, folders: list[Path]):
        self.folders = [str(folder) for folder in folders]
        self._lock = threading.Lock()
        self._fingerprint = self._scan()
        self._generation = 0

    def generation(self) -> int:
        """A number that grows each time the code changed since the last call."""
        fingerprint = self._scan()
        with self._lock:
            if fingerprint != self._fingerprint:
                self._fingerprint = fingerprint
                self._generation += 1
            return self._generation

    def _scan(self) -> int:
        recent = time.time_ns() - RECENT_NS
        entries = []
        pending = list(self.folders)
        while pending:
            folder = pending.pop()
            try:
                with os.scandir(folder) as listing:
                    for entry in listing:
                        if entry.name == "__pycache__" or entry.name.startswith("."):
                            continue
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
                        else:
                            stat = entry.stat()
                            entries.append((entry.path, stat.st_mtime_ns, stat.st_size,
                                            _content_hash(entry.path) if stat.st_mtime_ns > recent else 0))
            except FileNotFoundError:
                entries.append((folder, -1, -1))
        return hash(tuple(sorted(entries)))


def _content_hash(path: str) -> int:
    try:
        with open(path, "rb") as handle:
            return zlib.crc32(handle.read())
    except OSError:
        return -1
