"""Lambda's import surroundings for one function: the folders a worker's sys.path holds, in
the order Lambda's Python runtime puts them, and nothing of the emulator's own packages.

On Lambda: /var/task (the code, with the function's requirements installed beside it),
/opt/python (every layer's python/ folder, extracted in order, a later layer's files over an
earlier one's), then the runtime's site-packages with its boto3. Here each of those is a
folder of its own: the code, the built requirements (local/build/), the layers, the SDK.
"""

from dataclasses import dataclass
from pathlib import Path

from local.app.model import FunctionSpec, LayerSpec
from local.build.dependencies import BuildUnit, DependencyCache


@dataclass(frozen=True)
class ImportPath:
    folders: list[Path]  # sys.path, first to last, before the standard library
    source_folders: list[Path]  # the project's own code: compiled from source at every start


def build_units(spec: FunctionSpec) -> list[BuildUnit]:
    """Every requirements file the function's surroundings need built."""
    units = [_function_unit(spec)] if spec.requirements else []
    return units + [_layer_unit(layer) for layer in spec.layers if layer.requirements]


def _function_unit(spec: FunctionSpec) -> BuildUnit:
    return BuildUnit(f"function {spec.logical_id}", spec.requirements)


def _layer_unit(layer: LayerSpec) -> BuildUnit:
    return BuildUnit(f"layer {layer.logical_id}", layer.requirements)


def import_path(spec: FunctionSpec, cache: DependencyCache, sdk: Path) -> ImportPath:
    """Builds what is not built yet (BuildFailed names the function or layer and pip's line)."""
    own = cache.ensure(_function_unit(spec)).folder if spec.requirements else None
    layer_folders: list[Path] = []
    # Later layers first: on Lambda their files overwrite the earlier layers' in /opt/python.
    for layer in reversed(spec.layers):
        layer_folders.append(layer.python_dir)
        if layer.requirements:
            built = cache.ensure(_layer_unit(layer)).folder
            if built is not None:
                layer_folders.append(built)
    folders = [spec.code_dir, *([own] if own else []), *layer_folders, sdk]
    # A build output is not edited, and its folders hold whole packages: their .pyc files serve.
    sources = [] if spec.prebuilt else [spec.code_dir, *(layer.python_dir for layer in spec.layers)]
    return ImportPath(folders=folders, source_folders=sources)
