"""aws-sam-cli for the deploy-path tests (tests/integration/test_sam_build.py): its own venv in
.local/tools/ (it pins its own boto3), and `sam build` of a copy of the project.

Installing the tool and building take about a minute on a clean clone, mostly waiting on the
network; `start_in_background()` begins both when the suite is collected, so that the minute
passes while other tests run, and `prepared()` waits for the outcome.

Both are shared by pytest-xdist's workers, each behind a file lock: the tool venv by every run
of the project (the first to come installs it, the others wait and use it), the build by the
workers of one run (in support's `run_folder`: the first builds, the others read its
outcome).
"""

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from support import PROJECT_ROOT

SAM_CLI = "aws-sam-cli==1.170.0"
TOOL_VENV = PROJECT_ROOT / ".local" / "tools" / SAM_CLI.replace("==", "-")
_pending: Future | None = None


def sam(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # Through the venv's python: its scripts' #! lines name the folder it was installed in.
    return subprocess.run([str(TOOL_VENV / "bin" / "python"), "-m", "samcli", *args], cwd=cwd, env=_environment(),
                          capture_output=True, text=True, timeout=500)


def _environment() -> dict[str, str]:
    # The emulator's venv first on PATH: sam build looks for python3.11, python, python3 and
    # builds with the first that is 3.11, so the wheels match the interpreter the workers run.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "SAM_CLI_TELEMETRY": "0"}


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """Holds an exclusive lock on `lock_file` (made if missing); released when the process dies."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install_tool() -> Path:
    if not (TOOL_VENV / "bin" / "python").exists():
        with _locked(TOOL_VENV.with_name(TOOL_VENV.name + ".lock")):
            if not (TOOL_VENV / "bin" / "python").exists():  # not installed meanwhile by another process
                staging = TOOL_VENV.with_name(TOOL_VENV.name + ".partial")
                shutil.rmtree(staging, ignore_errors=True)  # a killed install's leftovers
                subprocess.run([sys.executable, "-m", "venv", str(staging)], check=True)
                subprocess.run([str(staging / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                "--disable-pip-version-check", SAM_CLI], check=True, timeout=500, capture_output=True)
                staging.rename(TOOL_VENV)
    return TOOL_VENV


def build_copy(folder: Path) -> tuple[Path, subprocess.CompletedProcess]:
    """`sam build` of the parts of the project sam reads, copied to `folder`/project, once:
    a process that finds the outcome of another's build in `folder` takes it."""
    install_tool()
    root, outcome = folder / "project", folder / "outcome.json"
    with _locked(folder / "build.lock"):
        if not outcome.exists():
            shutil.rmtree(root, ignore_errors=True)  # an interrupted build's
            root.mkdir(parents=True)
            shutil.copy(PROJECT_ROOT / "template.yaml", root)
            for part in ("functions", "layers"):
                shutil.copytree(PROJECT_ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
            result = sam("build", "--parallel", cwd=root)
            staging = outcome.with_suffix(".partial")
            staging.write_text(json.dumps({"args": result.args, "returncode": result.returncode,
                                           "stdout": result.stdout, "stderr": result.stderr}))
            staging.rename(outcome)
    recorded = json.loads(outcome.read_text())
    return root, subprocess.CompletedProcess(recorded["args"], recorded["returncode"], recorded["stdout"],
                                             recorded["stderr"])


def start_in_background(folder: Path) -> None:
    global _pending
    if _pending is None:
        _pending = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sam-build").submit(build_copy, folder)


def prepared(folder: Path) -> tuple[Path, subprocess.CompletedProcess]:
    """The project copy and sam build's outcome. The copy stays in `folder`, a folder of the
    test run's that pytest removes with its old runs: another worker may be using it."""
    start_in_background(folder)
    return _pending.result(timeout=900)
