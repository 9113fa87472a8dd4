"""`list`: the functions, their routes, event sources (with the event runner's state) and URLs."""

import argparse
import json
from pathlib import Path

from local.app.event_states import read_states
from local.app.listing import event_sources, expected_function_urls, listing
from local.app.project import assumed_addresses, load_app, running_addresses
from local.commands.common import say
from local.settings import Settings


def cmd_list(args: argparse.Namespace) -> int:
    settings = Settings.from_environ()
    running = running_addresses(settings)
    _, model = load_app(settings, running or assumed_addresses(settings))
    gateway_url = running.gateway_url if running else f"http://127.0.0.1:{settings.gateway_port}"
    urls = running.function_urls if running else expected_function_urls(model, settings.gateway_port)
    states = _source_states(settings) if running else {}
    if args.json:
        listed = listing(model, gateway_url, urls)
        for function in listed["functions"]:
            for source in function["events"]:
                source["state"] = states.get((source.get("id"), function["logical_id"]))
        print(json.dumps(listed, indent=2))
        return 0
    for spec in model.functions.values():
        say(f"{spec.logical_id}  {spec.handler}  {spec.runtime}  timeout {spec.timeout:g} s  "
            f"memory {spec.memory_mb} MB  ({_shown(spec.code_dir, settings.template_path.parent)})")
        for api in spec.api_events:
            say(f"    {'http api' if api.api_type == 'HTTP' else 'api':<9} {api.method:<6} {api.path}")
        if spec.url is not None:
            say(f"    url       {urls.get(spec.logical_id)}  auth {spec.url.auth_type}")
        for source in event_sources(spec):
            if source.get("runs_here") is False:
                say(f"    {source['type'].lower():<9} {source['name']} (runs on AWS only)")
                continue
            state = states.get((source["id"], spec.logical_id))
            shown = (f"{state['state']}, {state['delivered']} delivered, {state['failed']} failed"
                     + (f", {state['note']}" if state.get("note") else "")) if state else \
                ("enabled" if source["enabled"] else "disabled")
            say(f"    {source['type'].lower():<9} {source['id'].split(':', 1)[-1]}  {_source_detail(source)}  [{shown}]")
    return 0


def _source_detail(source: dict) -> str:
    kind = source["type"]
    if kind == "SQS":
        return f"batch {source['batch_size']}"
    if kind in ("DynamoDB", "Kinesis"):
        return f"from {source['starting_position']}, batch {source['batch_size']}"
    if kind == "EventBridge":
        return f"bus {source['bus']}, pattern {json.dumps(source['pattern'])}"
    if kind == "S3":
        given = [f"prefix {source['prefix']}" if source["prefix"] else "", f"suffix {source['suffix']}" if source["suffix"] else ""]
        return " ".join([", ".join(source["events"]), *filter(None, given)])
    if kind == "Async":
        sent = [f"{name} {source[key].rsplit(':', 1)[-1]}" for name, key in (
            ("success to", "on_success"), ("failure to", "on_failure"), ("dead letters to", "dead_letter"))
            if source[key]]
        return ", ".join([f"{source['max_retries']} retries within {source['max_event_age_s']} s", *sent])
    if kind.startswith("Schedule"):
        return source["schedule"] + (f" ({source['timezone']})" if source.get("timezone") else "")
    return ""


def _source_states(settings: Settings) -> dict:
    """(source id, function) -> the event runner's last word on that source."""
    written = read_states(settings.state_dir) or {}
    return {(state["source"], state["function"]): state for state in written.get("sources", [])}


def _shown(code_dir: Path, base: Path) -> str:
    # Relative to the template when it is beside it; zip and inline code live in the build cache.
    return str(code_dir.relative_to(base)) if code_dir.is_relative_to(base) else str(code_dir)
