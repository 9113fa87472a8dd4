"""Workers run in Lambda's import surroundings (local/runtime/surroundings.py): only the code,
its layers, what they declare in requirements.txt (built into a cache, rebuilt when the file
changes) and the runtime's boto3. What Lambda would refuse to import, the emulator refuses."""

import io
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from local.build.dependencies import DependencyCache
from local.build.lambda_python import BUNDLED_SDK

REPORT_PATH = """
    import os, sys
    import boto3
    def handler(event, context):
        return {"path": sys.path, "boto3": boto3.__version__, "boto3_file": boto3.__file__,
                "env": dict(os.environ)}
"""


@pytest.mark.parametrize("module", ["yaml", "orjson", "moto", "pytest"])
def test_a_package_only_the_emulators_venv_has_fails_to_import_as_on_lambda(make_function, runtime_of, module):
    __import__(module)  # the emulator has it...
    spec = make_function("Undeclared", f"import {module}\ndef handler(event, context):\n    return 1\n")
    error = runtime_of(spec).invoke("Undeclared", {}).error  # ...the function does not
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == f"Unable to import module 'app': No module named '{module}'"


def test_the_path_holds_the_code_the_layers_their_dependencies_and_the_runtimes_boto3_only(make_function, runtime_of):
    spec = make_function("Paths", REPORT_PATH)
    runtime = runtime_of(spec)
    seen = runtime.invoke("Paths", {}).payload
    assert seen["boto3"] == BUNDLED_SDK[0].partition("==")[2]
    assert seen["boto3_file"].startswith(str(runtime.sdk()))
    path = seen["path"]
    assert path[0] == str(spec.code_dir)
    assert str(spec.layers[0].python_dir) in path
    assert not [entry for entry in path if "site-packages" in entry or entry.startswith(sys.prefix + "/")]


def test_the_environment_is_lambdas(make_function, runtime_of):
    spec = make_function("Env", REPORT_PATH, memory_mb=512)
    env = runtime_of(spec).invoke("Env", {}).payload["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "Env"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["LAMBDA_TASK_ROOT"] == str(spec.code_dir)
    assert env["_HANDLER"] == "app.handler"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/Env" and env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["TZ"] == ":UTC" and env["AWS_SAM_LOCAL"] == "true"
    assert "VIRTUAL_ENV" not in env and "PYTHONPATH" not in env


def _wheel(folder, name: str, version: str) -> str:
    """A minimal pure-Python wheel on disk, so that the build needs no network."""
    filename = f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": f"VERSION = {version!r}\n",
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    (folder / filename).write_bytes(buffer.getvalue())
    return filename


USES_TINYDEP = "import tinydep\ndef handler(event, context):\n    return tinydep.VERSION\n"


def test_declared_requirements_are_built_once_and_rebuilt_when_the_file_changes(make_function, runtime_of, tmp_path):
    spec = make_function("Needs", USES_TINYDEP, layers=())
    runtime = runtime_of(spec)
    runtime.dependencies = DependencyCache(tmp_path / "build", announce=runtime.dependencies.announce)
    assert runtime.invoke("Needs", {}).error["errorMessage"] == "Unable to import module 'app': No module named 'tinydep'"

    wheel = _wheel(spec.code_dir, "tinydep", "1.0")
    (spec.code_dir / "requirements.txt").write_text(f"--no-index\n./{wheel}\n")
    assert runtime.invoke("Needs", {}).payload == "1.0"  # built while running, on the next call
    assert "[build] building function Needs (" in runtime.console.stream.getvalue()  # said before pip runs
    [built] = [result for result in runtime.build_all() if result.folder]
    assert built.cached and built.unit.name == "function Needs"

    wheel = _wheel(spec.code_dir, "tinydep", "2.0")
    (spec.code_dir / "requirements.txt").write_text(f"--no-index\n./{wheel}\n")
    assert runtime.invoke("Needs", {}).payload == "2.0"
    assert len(list((tmp_path / "build" / "deps").iterdir())) == 2  # one folder per content


def test_a_failed_build_names_the_function_and_pips_error_and_the_others_still_serve(make_function, runtime_of,
                                                                                       tmp_path):
    broken = make_function("Broken", USES_TINYDEP, layers=())
    (broken.code_dir / "requirements.txt").write_text("--no-index\nno-such-package-anywhere==1.0\n")
    runtime = runtime_of(broken, make_function("Fine", "def handler(event, context):\n    return 'ok'\n", layers=()))
    runtime.dependencies = DependencyCache(tmp_path / "build")
    [failure] = [result for result in runtime.build_all() if isinstance(result, Exception)]
    assert str(failure) == ("build of function Broken failed: "
                            "ERROR: No matching distribution found for no-such-package-anywhere==1.0")
    outcome = runtime.invoke("Broken", {})
    assert outcome.error["errorType"] == "Local.BuildFailed" and outcome.error["errorMessage"] == str(failure)
    assert runtime.invoke("Fine", {}).payload == "ok"

    wheel = _wheel(broken.code_dir, "tinydep", "1.0")
    (broken.code_dir / "requirements.txt").write_text(f"--no-index\n./{wheel}\n")
    assert runtime.invoke("Broken", {}).payload == "1.0"


def test_a_package_vendored_into_the_code_folder_imports_with_its_compiled_parts(make_function, runtime_of):
    """As `pip install -t .` beside app.py leaves it (what sam build does with a function's
    requirements): the code folder is compiled from source, and its C extensions load too."""
    import orjson
    spec = make_function("Vendored", "import orjson\ndef handler(event, context):\n    return orjson.dumps([1]).decode()\n",
                         layers=())
    shutil.copytree(Path(orjson.__file__).parent, spec.code_dir / "orjson")
    assert runtime_of(spec).invoke("Vendored", {}).payload == "[1]"


def test_the_runtimes_sdk_is_announced_before_its_install_and_installed_once(tmp_path, monkeypatch):
    from local.build import lambda_python
    events = []
    monkeypatch.setattr(lambda_python, "install_into",
                        lambda folder, *args: (events.append(("install", folder)), folder.mkdir(parents=True)))
    folder = lambda_python.runtime_sdk(tmp_path, announce=lambda line: events.append(("say", line)))
    assert [kind for kind, _ in events] == ["say", "install"] and "boto3==" in events[0][1]
    assert lambda_python.runtime_sdk(tmp_path, announce=events.append) == folder and len(events) == 2
