"""The shape of local/ (docs/ARCHITECTURE.md draws it): small modules, few at the top, and an
import graph without cycles whose arrows all point down the floors below. A change that
breaks one of these says so here, before the tree starts to sprawl again."""

import ast
from pathlib import Path

import pytest
from support import PROJECT_ROOT

LOCAL = PROJECT_ROOT / "local"
MAX_LINES = 300
MAX_TOP_LEVEL_MODULES = 8
# Lowest first; a module imports only from its own part or from parts on floors below it.
FLOORS = [
    {"local.errors"},
    {"local.settings", "local.loop_thread"},
    # servers; the template as a model; HTTP; dependency builds; tokens and signatures checked
    {"local.services", "local.app", "local.http", "local.build", "local.auth"},
    {"local.runtime"},  # functions in workers, the Invoke API
    {"local.gateway", "local.events"},  # what calls functions: requests and event sources
    {"local.supervisor"},
    {"local.reload"},  # template edits swapped into the running stack
    {"local.stack"},  # the composition root
    {"local.commands"},
    {"local.cli"},
    {"local.__main__"},
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in LOCAL.rglob("*.py"):
        parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The local modules this one imports, at any depth of its code (lazy imports count)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets.add(base)
            targets |= {f"{base}.{alias.name}" for alias in node.names}
    return {target for target in targets if target in known and target != name}


def _part(module: str) -> str:
    return next(part for floor in FLOORS for part in floor if module == part or module.startswith(part + "."))


def _floor(module: str) -> int:
    return next(index for index, floor in enumerate(FLOORS) if _part(module) in floor)


MODULES = _modules()
GRAPH = {name: _imports(name, path, set(MODULES)) for name, path in MODULES.items()}
PACKAGES = {name for name, path in MODULES.items() if path.name == "__init__.py"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_long(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name]} has {lines} lines: split it by job"


def test_few_modules_at_the_top():
    top = sorted(path.name for path in LOCAL.glob("*.py") if path.name != "__init__.py")
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_every_module_is_on_a_floor():
    assert [name for name in MODULES if name != "local" and not any(
        name == part or name.startswith(part + ".") for floor in FLOORS for part in floor)] == []


def test_imports_point_down_or_stay_within_their_part():
    upward = [f"{name} -> {target}" for name, targets in GRAPH.items() if name != "local"
              for target in targets if target not in PACKAGES
              and _part(target) != _part(name) and _floor(target) >= _floor(name)]
    assert upward == []


def test_the_import_graph_has_no_cycles():
    edges = {name: {t for t in targets if t not in PACKAGES} for name, targets in GRAPH.items()}
    cycles, done, path = [], set(), []

    def visit(node):
        if node in path:
            cycles.append(" -> ".join([*path[path.index(node):], node]))
            return
        if node in done:
            return
        path.append(node)
        for target in sorted(edges.get(node, ())):
            visit(target)
        path.pop()
        done.add(node)

    for node in sorted(edges):
        visit(node)
    assert cycles == []


def test_infra_never_imports_local():
    offenders = [str(path.relative_to(PROJECT_ROOT)) for path in (PROJECT_ROOT / "infra").rglob("*.py")
                 if any(isinstance(node, (ast.Import, ast.ImportFrom)) and (
                     (getattr(node, "module", None) or "").startswith("local")
                     or any(alias.name.startswith("local") for alias in node.names))
                     for node in ast.walk(ast.parse(path.read_text())))]
    assert offenders == []


def test_the_emulator_knows_nothing_of_the_app():
    """local/ and infra/ run any template: no import of the app's packages, and no word of it."""
    app_packages = ("ops", "cloudpatterns", "recipebook")
    offenders = []
    for folder in ("local", "infra"):
        for path in (PROJECT_ROOT / folder).rglob("*"):
            if path.suffix not in (".py", ".html") or "__pycache__" in path.parts:
                continue
            text = path.read_text()
            if "recipe" in text.lower():
                offenders.append(f"{path.relative_to(PROJECT_ROOT)} mentions recipes")
            if path.suffix == ".py":
                for node in ast.walk(ast.parse(text)):
                    names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                             else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
                    offenders += [f"{path.relative_to(PROJECT_ROOT)} imports {name}" for name in names
                                  if name.split(".")[0] in app_packages]
    assert offenders == []
