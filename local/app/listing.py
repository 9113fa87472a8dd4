"""`local list --json`: the machine-readable listing of what a template serves, for tools and
tests: every API (id, type, stage, base URL) and every function (logical id, handler, runtime)
with its routes, event sources and function URL."""

from local.app.event_model import RULE, AsyncConfig
from local.app.model import AppModel, FunctionSpec


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
        sources = event_sources(spec)
        functions.append({
            "logical_id": spec.logical_id, "function_name": spec.function_name, "handler": spec.handler,
            "runtime": spec.runtime, "timeout": spec.timeout, "memory_mb": spec.memory_mb,
            "code_dir": str(spec.code_dir), "routes": routes, "events": sources,
            "url": function_urls.get(spec.logical_id),
            "url_auth_type": spec.url.auth_type if spec.url else None})
    return {"apis": apis, "functions": functions, "warnings": list(model.warnings)}


def event_sources(spec: FunctionSpec) -> list[dict]:
    """Each source of one function: its type, its `id` (the name the event runner's delivery log
    and state use: local/events/deliveries.py), what it reads and how."""
    found = [{"type": "SQS", "id": f"sqs:{e.queue_arn.rsplit(':', 1)[-1]}", "name": e.name, "queue": e.queue,
              "queue_url": e.queue_url, "batch_size": e.batch_size, "enabled": e.enabled, "filters": len(e.filters),
              "max_concurrency": e.max_concurrency} for e in spec.sqs_events]
    found += [{"type": "DynamoDB" if e.kind == "dynamodb" else "Kinesis", "id": f"{e.kind}:{e.stream_name}",
               "name": e.name, "stream": e.stream_name, "starting_position": e.starting_position,
               "batch_size": e.batch_size, "enabled": e.enabled, "filters": len(e.filters),
               "on_failure": e.on_failure} for e in spec.stream_events]
    found += [{"type": "SNS", "id": f"sns:{e.topic_arn.rsplit(':', 1)[-1]}", "name": e.name, "topic": e.topic_arn,
               "filter_policy": e.filter_policy, "enabled": True} for e in spec.sns_events]
    found += [{"type": "EventBridge", "id": f"rule:{e.rule_name}", "name": e.name, "rule": e.rule_name, "bus": e.bus,
               "pattern": e.pattern, "dead_letter": e.dead_letter_arn, "enabled": e.enabled} for e in spec.rule_events]
    found += [{"type": "S3", "id": f"s3:{e.bucket}", "name": e.name, "bucket": e.bucket, "events": e.events,
               "prefix": e.prefix, "suffix": e.suffix, "enabled": True} for e in spec.s3_events]
    found += [{"type": "Schedule" if e.kind == RULE else "ScheduleV2", "id": schedule_id(e.kind, e.arn),
               "name": e.name, "schedule": e.schedule, "timezone": e.timezone, "enabled": e.enabled}
              for e in spec.schedule_events]
    config = spec.async_config
    if config != AsyncConfig():  # how Lambda treats its asynchronous invocations, when the template says
        found.append({"type": "Async", "id": "async", "name": "EventInvokeConfig", "max_retries": config.max_retries,
                      "max_event_age_s": config.max_event_age_s, "on_success": config.on_success,
                      "on_failure": config.on_failure, "dead_letter": config.dead_letter_arn, "enabled": True})
    found += [{"type": kind, "name": name, "runs_here": False} for name, kind in spec.other_events.items()]
    return found


def schedule_id(kind: str, arn: str) -> str:
    """A rule's schedule is `rule:<rule name>`, the Scheduler's `schedule:<schedule name>`."""
    return f"{'rule' if kind == RULE else 'schedule'}:{arn.rsplit('/', 1)[-1]}"


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
