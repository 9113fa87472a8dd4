"""The build cache: each function's and layer's requirements.txt installed once into a folder
keyed by the file's content, the Python that runs the workers and the platform, so an
unchanged file builds nothing (and needs no network), and an edited one builds anew.

Called at every cold start; a hit costs one read of the requirements file.
"""

import hashlib
import platform
import sys
import sysconfig
import threading
from dataclasses import dataclass
from pathlib import Path

from local.build.pip_target import BuildFailed, install_into

# What the wheels are built for: a folder built by another Python or on another platform is never
# reused. The full version counts: requirements' markers test it (redis needs async-timeout
# below Python 3.11.3 only).
PLATFORM_TAG = f"{sys.implementation.name}-{platform.python_version()}-{sysconfig.get_platform()}"


@dataclass(frozen=True)
class BuildUnit:
    """What one requirements.txt belongs to, for messages: 'function GetItem', 'layer SharedLayer'."""
    name: str
    requirements: Path


@dataclass(frozen=True)
class Built:
    unit: BuildUnit
    folder: Path | None  # None: the file lists nothing to install
    cached: bool


class DependencyCache:
    def __init__(self, root: Path, announce=None):
        self.root = Path(root) / "deps"
        self.announce = announce  # called with a line before each pip run: a build takes seconds
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._failed: dict[str, BuildFailed] = {}  # by key: not retried until the file changes

    def ensure(self, unit: BuildUnit) -> Built:
        """The folder holding `unit`'s installed requirements, built first when needed.
        Raises BuildFailed with pip's own error line."""
        try:
            content = unit.requirements.read_bytes()
        except FileNotFoundError:
            return Built(unit, None, cached=True)
        if not _lists_anything(content):
            return Built(unit, None, cached=True)
        key = hashlib.sha256(content + PLATFORM_TAG.encode()).hexdigest()[:20]
        folder = self.root / f"{key}-{PLATFORM_TAG}"
        if folder.is_dir():
            return Built(unit, folder, cached=True)
        with self._lock(key):  # one build per key in this process; other processes: see install_into
            if key in self._failed:
                raise self._failed[key]
            if folder.is_dir():
                return Built(unit, folder, cached=True)
            if self.announce is not None:
                self.announce(f"building {unit.name} ({unit.requirements}) with pip into {folder}")
            try:
                # From the file's folder, as a relative path in it means that folder.
                install_into(folder, ["-r", str(unit.requirements)], unit.name, unit.requirements.parent)
            except BuildFailed as failure:
                self._failed[key] = failure
                raise
        return Built(unit, folder, cached=False)

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())


def _lists_anything(content: bytes) -> bool:
    return any(line.split(b"#", 1)[0].strip() for line in content.splitlines())
