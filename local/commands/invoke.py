"""`invoke`, `generate-event` and `build`: one function run once, an event in AWS's shape, the builds `up` makes."""

import argparse
import json
import sys
import time
import uuid

from local.app.env_vars import read_env_vars
from local.app.project import assumed_addresses, load_app, running_addresses
from local.commands.common import read_json, read_source, run_options, say
from local.errors import LocalError
from local.events import shapes
from local.gateway.http_event import http_event
from local.gateway.proxy_event import proxy_event
from local.gateway.routes import RouteTable
from local.http.messages import HttpRequest
from local.runtime.debugging import DebugFlags
from local.runtime.journal import InvocationJournal
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime, check_payload_size
from local.settings import Settings, redact
from local.build.summary import say_builds


def cmd_invoke(args: argparse.Namespace) -> int:
    settings = Settings.from_environ()
    debug = DebugFlags.given(args.debug_port, args.function) if args.debug_port is not None else None
    raw, source = read_source(args.event)
    check_payload_size(raw)
    event = read_json(raw, source)
    overrides, env_file = run_options(args, settings, "invoke")
    env_overrides = read_env_vars(env_file)
    services = running_addresses(settings)
    if services is None:
        services = assumed_addresses(settings)
        given = [redact(url) for url in (services.database_url, services.redis_url) if url]
        print(f"note: no `local up` is running on {settings.state_dir}; the function is given "
              f"{', '.join([*given, services.aws_endpoint_url])}", file=sys.stderr)
    _, model = load_app(settings, services, overrides, env_overrides)
    runtime = Runtime(model, services.region, services.account_id, console=ConsoleLog(sys.stderr), concurrency=1,
                      build_dir=settings.build_dir, debug=debug and debug.target(model),
                      journal=InvocationJournal(settings.state_dir / "logs", "invoke"))
    try:
        outcome = runtime.invoke(args.function, event)
    finally:
        runtime.stop()
    print(json.dumps(outcome.error if outcome.failed else outcome.payload, indent=2))
    return 1 if outcome.failed else 0




def cmd_generate_event(args: argparse.Namespace) -> int:
    settings = Settings.from_environ()
    services = running_addresses(settings) or assumed_addresses(settings)
    region, account = services.region, services.account_id
    if args.source == "apigateway":
        _, model = load_app(settings, services)
        request = HttpRequest(args.method.upper(), args.path, args.header, (args.body or "").encode())
        match = RouteTable(model).match(request.method, request.target.split("?")[0])
        route, params = match if match else (None, {})
        api = model.apis.get(route.event.api) if route else None
        version = args.payload or (route.event.payload_version if route else "1.0")  # the route's format
        if version == "2.0":
            event = http_event(request, route.event.route_key if route else "$default", params,
                               stage=api.stage if api else "$default",
                               api_id=route.event.api_id if route else "local", account_id=account,
                               domain_name="localhost", now=time.time(), request_id=str(uuid.uuid4()))
        else:
            event = proxy_event(request, route.event.path if route else request.target.split("?")[0], params,
                                stage=api.stage if api else "Prod",
                                api_id=(route.event.api_id if route else "local"), account_id=account)
    elif args.source == "sqs":
        arn = f"arn:aws:sqs:{region}:{account}:{args.queue}"
        event = shapes.sqs_event([shapes.sqs_record(args.body, arn, region) for _ in range(args.count)])
    elif args.source == "sns":
        event = shapes.sns_event(args.message, f"arn:aws:sns:{region}:{account}:{args.topic}", subject=args.subject,
                                 attributes=dict(args.attribute))
    else:
        event = shapes.schedule_event(f"arn:aws:events:{region}:{account}:rule/{args.rule}")
    print(json.dumps(event, indent=2))
    return 0



def cmd_build(args: argparse.Namespace) -> int:
    """What `local up` builds at start, without starting anything: for an image or an offline
    machine, and to see a failing requirements file's error at once."""
    settings = Settings.from_environ()
    overrides, _ = run_options(args, settings, "build")
    _, model = load_app(settings, running_addresses(settings) or assumed_addresses(settings), overrides)
    runtime = Runtime(model, "us-east-1", "000000000000", console=ConsoleLog(sys.stderr), build_dir=settings.build_dir)
    failed = []
    try:
        results = runtime.build_all()
        failed = [result for result in results if isinstance(result, LocalError)]
        say(say_builds(results, say))
    finally:
        runtime.stop()
    return 1 if failed else 0
