"""The deploy path: `sam build` (aws-sam-cli from PyPI, in a tool venv of its own, since it pins
its own boto3) turns the template into what Lambda runs; every built function must then import
in Lambda's surroundings, the emulator must serve the build output unchanged, and
`sam validate --lint` must pass.

The tool venv is kept in .local/tools/ between runs; a clean clone installs it (about 45 s),
while other tests run (tests/support/sam_build.py).
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import PROJECT_ROOT, run_folder, sam_build

from local.build.lambda_python import runtime_sdk
from local.settings import DEFAULT_BUILD_DIR

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="sam build for python3.11 needs a Python 3.11 "
                                                               "to build with; this one is " + sys.version.split()[0]),
]


@pytest.fixture(scope="module")
def built(request):
    # Begun when the suite was collected (tests/conftest.py); left in the run's temporary folder.
    root, result = sam_build.prepared(run_folder(request.config) / "sam-build")
    assert result.returncode == 0, result.stdout + result.stderr
    return root / ".aws-sam" / "build"


def test_sam_build_finds_every_requirements_file(built):
    output = (built.parent / "build.toml").read_text()
    assert output.count("[layer_build_definitions.") == 2
    for layer in ("SharedLayer", "DomainLayer"):
        assert (built / layer / "python" / "requirements.txt").exists()
    assert (built / "SharedLayer" / "python" / "psycopg2").is_dir()  # installed under python/, as Lambda mounts it


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
    assert len(functions) == 24
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
        env={**os.environ, "LOCAL_TEMPLATE": str(built / "template.yaml"), "LOCAL_STATE_DIR": str(tmp_path / "state")})
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["statusCode"] == 200 and json.loads(answer["body"])["status"] == "ok"
    assert "building" not in result.stderr  # the build output's own packages serve (DependencyCache.announce)


def test_sam_validate_lint_passes():
    sam_build.install_tool()
    result = sam_build.sam("validate", "--lint", cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
