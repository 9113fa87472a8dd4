"""The deploy path: `sam build` (aws-sam-cli from PyPI, in a tool venv of its own, since it pins
its own boto3) turns the template into what Lambda runs; every built function must then import
in Lambda's surroundings, the emulator must serve the build output unchanged, and
`sam validate --lint` must pass.

The tool venv is kept in .local/tools/ between runs; a clean clone installs it (about 45 s).
"""

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import PROJECT_ROOT

from local.build.lambda_python import runtime_sdk
from local.settings import DEFAULT_BUILD_DIR

SAM_CLI = "aws-sam-cli==1.170.0"
TOOL_VENV = PROJECT_ROOT / ".local" / "tools" / SAM_CLI.replace("==", "-")
pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="sam build for python3.11 needs a Python 3.11 "
                                                               "to build with; this one is " + sys.version.split()[0]),
]


def _sam_environment() -> dict[str, str]:
    # The emulator's venv first on PATH: sam build looks for python3.11, python, python3 and
    # builds with the first that is 3.11, so the wheels match the interpreter the workers run.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "SAM_CLI_TELEMETRY": "0", "SAM_CLI_CONTEXT_SETTINGS": ""}


def _sam(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(TOOL_VENV / "bin" / "python"), "-m", "samcli", *args], cwd=cwd, env=_sam_environment(),
                          capture_output=True, text=True, timeout=500)


@pytest.fixture(scope="module")
def sam_tool() -> Path:
    if not (TOOL_VENV / "bin" / "python").exists():
        staging = TOOL_VENV.with_name(TOOL_VENV.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(staging)], check=True)
        subprocess.run([str(staging / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", SAM_CLI], check=True, timeout=500)
        staging.rename(TOOL_VENV)  # scripts keep the staging path in their #! line: call them by python
    return TOOL_VENV


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory) -> Path:
    """The parts of the project sam reads, in a folder of their own (sam writes .aws-sam/ there)."""
    root = tmp_path_factory.mktemp("sam-project")
    shutil.copy(PROJECT_ROOT / "template.yaml", root)
    for folder in ("functions", "layers"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def built(sam_tool, project_copy) -> Path:
    result = _sam("build", cwd=project_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "requirements.txt file not found" not in result.stdout.replace(
        "Building layer 'DomainLayer'", "")  # every function that needs packages declares them
    return project_copy / ".aws-sam" / "build"


def _built_functions(build: Path) -> dict[str, Path]:
    return {folder.name: folder for folder in sorted(build.iterdir()) if (folder / "app.py").exists()}


def _import_on_lambda(function_dir: Path, build: Path, sdk: Path) -> str:
    """Import the handler's module as Lambda's python3.11 runtime would: no site-packages,
    /var/task, then /opt/python (the layers), then the runtime's site-packages with boto3."""
    path = [str(function_dir), str(build / "DomainLayer" / "python"), str(build / "SharedLayer" / "python"), str(sdk)]
    script = f"import sys; sys.path[:0] = {path!r}; import app; assert callable(app.handler)"
    result = subprocess.run([sys.executable, "-I", "-S", "-c", script], cwd=function_dir,
                            capture_output=True, text=True, timeout=60)
    return result.stderr.strip().splitlines()[-1] if result.returncode else ""


def test_every_built_function_imports_in_lambdas_surroundings(built):
    functions = _built_functions(built)
    assert len(functions) == 23
    sdk = runtime_sdk(DEFAULT_BUILD_DIR)
    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = dict(zip(functions, pool.map(lambda folder: _import_on_lambda(folder, built, sdk),
                                                functions.values())))
    assert {name: error for name, error in failures.items() if error} == {}


def test_the_emulator_serves_the_build_output_unchanged(built, tmp_path):
    """`local invoke` with LOCAL_TEMPLATE=.aws-sam/build/template.yaml, as `sam local invoke`
    after a build: the layers come from their built python/ folders, nothing is built again."""
    event = {"httpMethod": "GET", "path": "/health", "resource": "/health", "headers": {},
             "requestContext": {"requestId": "r1"}}
    (tmp_path / "event.json").write_text(json.dumps(event))
    result = subprocess.run(
        [sys.executable, "-m", "local", "invoke", "HealthFunction", "--event", str(tmp_path / "event.json")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "LOCAL_TEMPLATE": str(built / "template.yaml"), "LOCAL_STATE_DIR": str(tmp_path / "state"),
             "LOCAL_BUILD_DIR": str(tmp_path / "empty-build-cache")})
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["statusCode"] == 200 and json.loads(answer["body"])["status"] == "ok"
    assert not (tmp_path / "empty-build-cache" / "deps").exists()  # the build output's packages were used


def test_sam_validate_lint_passes(sam_tool):
    result = _sam("validate", "--lint", cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
