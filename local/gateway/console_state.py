"""What the console shows of the template as it is served: every route of every API (REST and
HTTP APIs on the gateway's port, function URLs on ports of their own), the functions, and
every event source with the event runner's state of it and its last deliveries."""

from pathlib import Path

from local.app.event_states import read_states
from local.app.listing import event_sources
from local.app.model import DEFAULT_ROUTE, HTTP, AppModel

KEPT_DELIVERIES = 10  # per source, as the runner keeps them (local/events/deliveries.py)


def apis(model: AppModel) -> list[dict]:
    """Each API with its routes, in the template's order; an event naming an API the template
    does not declare is served as SAM CLI serves it (a REST API of that name), and listed so."""
    found: dict[str, dict] = {}
    for logical_id, spec in model.apis.items():
        found[logical_id] = {"id": logical_id, "type": "HTTP" if spec.kind == HTTP else "REST", "name": spec.name,
                             "stage": spec.stage, "routes": []}
    for function in model.functions.values():
        for event in function.api_events:
            api = found.setdefault(event.api, {"id": event.api, "type": "HTTP" if event.api_type == HTTP else "REST",
                                               "name": event.api, "stage": "", "routes": []})
            authorizer = (event.auth or {}).get("Authorizer") or (
                model.apis[event.api].default_authorizer if event.api in model.apis else None)
            api["routes"].append({"method": "ANY" if event.path == DEFAULT_ROUTE else event.method,
                                  "path": event.path, "function": function.logical_id,
                                  "authorizer": None if authorizer == "NONE" else authorizer})
    for api in found.values():
        api["routes"].sort(key=lambda route: (route["path"], route["method"]))
    return list(found.values())


def function_urls(model: AppModel, urls: dict[str, str]) -> list[dict]:
    """Each function URL; `urls` are where `up` serves them (a function added by a template
    reload has one once its server listens)."""
    return [{"function": spec.logical_id, "url": urls.get(spec.logical_id), "auth_type": spec.url.auth_type,
             "invoke_mode": spec.url.invoke_mode}
            for spec in model.functions.values() if spec.url is not None]


def functions(model: AppModel) -> list[dict]:
    return [{"name": spec.logical_id, "function_name": spec.function_name, "handler": spec.handler,
             "timeout": spec.timeout,
             "routes": [f"{'HTTP ' if event.api_type == HTTP else ''}{event.method} {event.path}"
                        for event in spec.api_events],
             "url": spec.url is not None,
             "sources": [f"{source['type']} {source.get('id', source['name']).split(':', 1)[-1]}"
                         for source in event_sources(spec) if source.get("runs_here") is not False]}
            for spec in model.functions.values()]


def sources(model: AppModel, state_dir: Path | None) -> tuple[list[dict], list[dict]]:
    """Each event source with the event runner's state of it and its last deliveries; and the
    last deliveries of all, newest first."""
    written = read_states(state_dir) if state_dir is not None else None
    states = {(s["source"], s["function"]): s for s in (written or {}).get("sources", [])}
    rows = []
    for spec in model.functions.values():
        for source in event_sources(spec):
            if source.get("runs_here") is False:
                continue
            state = states.get((source["id"], spec.logical_id)) or {}
            rows.append({"function": spec.logical_id, "type": source["type"], "id": source["id"],
                         "state": state.get("state") or ("not running" if written is None else "Enabled"),
                         "delivered": state.get("delivered"), "failed": state.get("failed"),
                         "note": state.get("note", ""), "last": state.get("last", [])[:KEPT_DELIVERIES]})
    deliveries = [delivery for state in states.values() for delivery in state.get("last", [])]
    return rows, sorted(deliveries, key=lambda d: d["at"], reverse=True)[:50]
