"""Install requirements into a folder of their own with pip, as `sam build` does for a Python
function or layer, and publish the folder only once the install succeeded."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from local.errors import LocalError

PIP_TIMEOUT_S = 600


class BuildFailed(LocalError):
    """pip could not install what a function or layer declares."""

    def __init__(self, unit: str, pip_line: str):
        self.unit, self.pip_line = unit, pip_line
        super().__init__(f"build of {unit} failed: {pip_line}")


def install_into(target: Path, pip_arguments: list[str], unit: str, cwd: Path) -> Path:
    """`pip install --target` into a temporary sibling of `target`, renamed into place when pip
    succeeds: a reader never sees half an install, and two processes building the same folder
    at once both end with one complete copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--target", str(staging), "--no-input",
             "--disable-pip-version-check", "--no-warn-script-location", "--quiet", *pip_arguments],
            capture_output=True, text=True, timeout=PIP_TIMEOUT_S, env=_pip_environment(),
            cwd=cwd)
        if completed.returncode != 0:
            raise BuildFailed(unit, pip_error_line(completed.stderr or completed.stdout))
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # not another process's finished copy: a real failure
                raise
    except subprocess.TimeoutExpired:
        raise BuildFailed(unit, f"pip did not finish within {PIP_TIMEOUT_S} s") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def pip_error_line(output: str) -> str:
    """pip's own line that says what went wrong: its last line starting with ERROR, else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["pip failed without a message"])[-1]


def _pip_environment() -> dict[str, str]:
    # The user's PIP_* settings (an index, a proxy, offline wheels) apply; PYTHONPATH is the
    # caller's and has no business inside pip.
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
