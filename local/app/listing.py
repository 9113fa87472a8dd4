"""`local list --json`: the machine-readable listing of what a template serves, for tools and
tests: every API (id, type, stage, base URL) and every function (logical id, handler, runtime)
with its routes, event sources and function URL."""

from local.app.model import AppModel


def listing(model: AppModel, gateway_url: str, function_urls: dict[str, str]) -> dict:
    """`function_urls`: each function URL's address (a running stack's, else where it would be)."""
    apis = [{"id": spec.logical_id, "type": spec.kind, "name": spec.name, "stage": spec.stage,
             "url": gateway_url} for spec in model.apis.values()]
    functions = []
    for spec in model.functions.values():
        routes = [{"api": event.api, "api_id": event.api_id, "api_type": event.api_type, "method": event.method,
                   "path": event.path, "route_key": event.route_key, "payload_version": event.payload_version,
                   "authorizer": (event.auth or {}).get("Authorizer") or _default_authorizer(model, event.api)}
                  for event in spec.api_events]
        sources = ([{"type": "SQS", "name": e.name, "queue": e.queue, "queue_url": e.queue_url,
                     "batch_size": e.batch_size, "enabled": e.enabled} for e in spec.sqs_events]
                   + [{"type": "Schedule", "name": e.name, "schedule": e.schedule, "enabled": e.enabled}
                      for e in spec.schedule_events]
                   + [{"type": kind, "name": name, "runs_here": False} for name, kind in spec.other_events.items()])
        functions.append({
            "logical_id": spec.logical_id, "function_name": spec.function_name, "handler": spec.handler,
            "runtime": spec.runtime, "timeout": spec.timeout, "memory_mb": spec.memory_mb,
            "code_dir": str(spec.code_dir), "routes": routes, "events": sources,
            "url": function_urls.get(spec.logical_id),
            "url_auth_type": spec.url.auth_type if spec.url else None})
    return {"apis": apis, "functions": functions, "warnings": list(model.warnings)}


def _default_authorizer(model: AppModel, api: str) -> str | None:
    spec = model.apis.get(api)
    return spec.default_authorizer if spec else None


def function_url_ports(model: AppModel, gateway_port: int) -> dict[str, int]:
    """The port `local up` gives each function URL unless it is taken: from the gateway's
    + 100 upwards, in the template's order."""
    with_url = [spec.logical_id for spec in model.functions.values() if spec.url is not None]
    return {name: gateway_port + 100 + index for index, name in enumerate(with_url)}


def expected_function_urls(model: AppModel, gateway_port: int, host: str = "127.0.0.1") -> dict[str, str]:
    return {name: f"http://{host}:{port}/" for name, port in function_url_ports(model, gateway_port).items()}
