"""aws-sam-cli for the deploy-path tests (tests/integration/test_sam_build.py): its own venv in
.local/tools/ (it pins its own boto3), and `sam build` of a copy of the project.

Installing the tool and building take about a minute on a clean clone, mostly waiting on the
network; `start_in_background()` begins both when the suite is collected, so that the minute
passes while other tests run, and `prepared()` waits for the outcome.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
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


def install_tool() -> Path:
    if not (TOOL_VENV / "bin" / "python").exists():
        staging = TOOL_VENV.with_name(TOOL_VENV.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(staging)], check=True)
        subprocess.run([str(staging / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", SAM_CLI], check=True, timeout=500, capture_output=True)
        staging.rename(TOOL_VENV)
    return TOOL_VENV


def build_copy() -> tuple[Path, subprocess.CompletedProcess]:
    """`sam build` of the parts of the project sam reads, copied to a folder of their own."""
    install_tool()
    root = Path(tempfile.mkdtemp(prefix="sam-project-"))
    shutil.copy(PROJECT_ROOT / "template.yaml", root)
    for folder in ("functions", "layers"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root, sam("build", "--parallel", cwd=root)


def start_in_background() -> None:
    global _pending
    if _pending is None:
        _pending = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sam-build").submit(build_copy)


def prepared() -> tuple[Path, subprocess.CompletedProcess]:
    """The project copy and sam build's outcome; the copy is removed at exit by the caller."""
    start_in_background()
    return _pending.result(timeout=900)
