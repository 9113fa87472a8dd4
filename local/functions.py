"""The functions template.yaml declares, as the runtime needs them: code folder, handler,
layers in the template's order, timeout, memory, environment and API routes."""

from pathlib import Path

from pydantic import BaseModel

from infra.errors import TemplateError
from infra.intrinsics import Resolver
from infra.template import code_folder

FUNCTION = "AWS::Serverless::Function"
LAYER = "AWS::Serverless::LayerVersion"


class ApiRoute(BaseModel):
    path: str
    method: str  # upper case, or ANY
    rest_api_id: str | None = None


class FunctionSpec(BaseModel):
    logical_id: str
    code_dir: Path
    handler: str
    runtime: str
    timeout: float
    memory_mb: int
    layer_dirs: list[Path]
    environment: dict[str, str]
    routes: list[ApiRoute]

    @property
    def module_and_function(self) -> tuple[str, str]:
        module, _, function = self.handler.rpartition(".")
        return module, function


def load_functions(template_path: Path, template: dict, resolver: Resolver,
                   service_environment: dict[str, str]) -> dict[str, FunctionSpec]:
    """Every function, with Globals merged as SAM merges them and the running services'
    URLs laid over the template's environment."""
    globals_ = (template.get("Globals") or {}).get("Function", {})
    functions = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != FUNCTION:
            continue
        own = resource.get("Properties", {})
        props = {**globals_, **own}
        handler = props.get("Handler")
        if not isinstance(handler, str) or "." not in handler:
            raise TemplateError(template_path, f"Handler {handler!r} is not module.function", resource=logical_id)
        variables = {
            **(globals_.get("Environment", {}).get("Variables", {})),
            **(own.get("Environment", {}).get("Variables", {})),
        }
        environment = {k: _text(v) for k, v in resolver.resolve(variables, logical_id).items()}
        environment.update({k: v for k, v in service_environment.items() if v is not None})
        functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=code_folder(template_path, template, logical_id),
            handler=handler,
            runtime=props.get("Runtime", "python3.11"),
            timeout=float(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            # SAM puts the Globals layers before the function's own.
            layer_dirs=_layer_dirs(template_path, template, globals_.get("Layers", []) + own.get("Layers", [])),
            environment=environment,
            routes=_api_routes(own.get("Events", {}) or {}),
        )
    return functions


def _layer_dirs(template_path: Path, template: dict, layers: list) -> list[Path]:
    dirs = []
    for layer in layers:
        logical_id = layer.get("Ref") if isinstance(layer, dict) else None
        if logical_id in template["Resources"] and template["Resources"][logical_id]["Type"] == LAYER:
            # Lambda mounts a Python layer's python/ folder on the import path (/opt/python).
            dirs.append(code_folder(template_path, template, logical_id) / "python")
    return dirs


def _api_routes(events: dict) -> list[ApiRoute]:
    routes = []
    for event in events.values():
        if event.get("Type") != "Api":
            continue
        props = event.get("Properties", {})
        api = props.get("RestApiId")
        routes.append(ApiRoute(path=props["Path"], method=props["Method"].upper(),
                               rest_api_id=api.get("Ref") if isinstance(api, dict) else api))
    return routes


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
