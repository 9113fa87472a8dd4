"""One source of truth for what the functions need: every package that code in functions/ or
layers/ imports is the standard library, the boto3 that Lambda's runtime bundles, the code of
the function and its layers, or a distribution that the function's or its layers'
requirements.txt declares (what `sam build` installs). Anything else fails on Lambda."""

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
from support import PROJECT_ROOT

from infra.intrinsics import Deployment, Resolver
from infra.template import load_template
from local.app.reader import build_model

RUNTIME_BUNDLED = {"boto3", "botocore"}  # local/build/lambda_python.py


def imported_packages(folder: Path) -> dict[str, str]:
    """Top-level names imported anywhere in the folder's Python files (absolute imports only,
    lazy ones included) -> the first file that imports each."""
    found = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.partition(".")[0], path.name if not path.is_relative_to(PROJECT_ROOT)
                              else str(path.relative_to(PROJECT_ROOT)))
    return found


def own_packages(folder: Path) -> set[str]:
    return {entry.stem for entry in folder.iterdir() if entry.suffix == ".py" or (entry / "__init__.py").exists()}


def declared_distributions(requirements: Path) -> list[str]:
    if not requirements or not requirements.exists():
        return []
    names = []
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0])
    return names


def provided_by(distribution: str) -> set[str]:
    """The top-level import names a distribution installs (read from the one this venv has)."""
    files = importlib.metadata.distribution(distribution).files or []
    names = set()
    for file in files:
        top = file.parts[0]
        if top.endswith((".dist-info", ".data")) or top in ("..", "bin") or top.startswith("__"):
            continue
        names.add(top.removesuffix(".py").split(".")[0])
    return names


def undeclared_imports(code_dir: Path, layer_dirs: list[Path], requirements: list[Path]) -> dict[str, str]:
    allowed = set(sys.stdlib_module_names) | RUNTIME_BUNDLED
    for folder in [code_dir, *layer_dirs]:
        allowed |= own_packages(folder)
    for file in requirements:
        for distribution in declared_distributions(file):
            allowed |= provided_by(distribution)
    imports = {}
    for folder in [code_dir, *layer_dirs]:
        imports.update(imported_packages(folder))
    return {name: where for name, where in imports.items() if name not in allowed}


def _project_functions():
    path = PROJECT_ROOT / "template.yaml"
    template = load_template(path)
    resolver = Resolver(template, Deployment(account_id="000000000000", endpoint_url="http://127.0.0.1:4566"), path)
    return build_model(path, template, resolver).functions


FUNCTIONS = _project_functions()


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_import_is_declared(name):
    spec = FUNCTIONS[name]
    requirements = [spec.requirements, *(layer.requirements for layer in spec.layers if layer.requirements)]
    assert undeclared_imports(spec.code_dir, spec.layer_dirs, requirements) == {}, (
        f"{name} imports packages that neither it nor its layers declare in a requirements.txt: "
        "on Lambda they would fail with Runtime.ImportModuleError")


def test_an_undeclared_import_is_caught(tmp_path):
    code = tmp_path / "function"
    code.mkdir()
    (code / "app.py").write_text("import json\nimport yaml\nfrom helpers import x\n\ndef handler(e, c):\n"
                                 "    import jwt\n    return 1\n")
    (code / "helpers.py").write_text("x = 1\n")
    (code / "requirements.txt").write_text("PyJWT==2.15.1  # the token library\n")
    assert set(undeclared_imports(code, [], [code / "requirements.txt"])) == {"yaml"}
    assert set(undeclared_imports(code, [], [])) == {"yaml", "jwt"}
