"""What each `python -m local` command does, given its parsed arguments (cli.py parses them).
Errors a user can fix are LocalError or InfraError: cli.py prints them as one line."""

import argparse
import json
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

from local.app.env_vars import read_env_vars
from local.app.listing import expected_function_urls, listing
from local.app.project import assumed_addresses, load_app, running_addresses
from local.app.samconfig import read_samconfig
from local.app.token_claims import mint_options
from local.auth.dev_issuer import DevIssuer
from local.errors import LocalError
from local.events import dlq, shapes
from local.events import log as event_log
from local.events import runner as event_runner
from local.gateway.http_event import http_event
from local.gateway.proxy_event import proxy_event
from local.gateway.routes import RouteTable
from local.http.messages import HttpRequest
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime, check_payload_size
from local.settings import Settings, redact
from local.stack import Stack, issuer_folder, say_builds


def say(message: str) -> None:
    print(message, flush=True)


def run_options(args: argparse.Namespace, settings: Settings, command: str) -> tuple[dict[str, str], Path | None]:
    """Parameter overrides and the env-vars file: the flags, over samconfig.toml's."""
    config = read_samconfig(settings.template_path, command, args.config_env, args.config_file)
    overrides = {**config.parameter_overrides, **args.parameter_overrides}
    env_file = Path(args.env_vars) if getattr(args, "env_vars", None) else config.env_vars
    return overrides, env_file


# -- up --------------------------------------------------------------------------------------

def cmd_up(args: argparse.Namespace) -> int:
    settings = Settings.from_environ()
    stop = threading.Event()
    received: list[str] = []

    def request_stop(signum, _frame):
        received.append(signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    began = time.monotonic()
    overrides, env_file = run_options(args, settings, "up")
    stack = Stack(settings, say=say, parameter_overrides=overrides, env_vars=env_file)
    endpoints = stack.start()
    services = endpoints.services
    elapsed = time.monotonic() - began
    embedded = ", ".join(endpoints.embedded) or "none"
    say(f"{stack.declaration.name} local stack is up in {elapsed:.1f} s "
        f"(embedded: {embedded}; state in {settings.state_dir})")
    say(f"  API gateway    {services.gateway_url}")
    say(f"  console        {services.gateway_url}/_local/")
    say(f"  Lambda API     {services.lambda_url}   (boto3 lambda client, aws lambda invoke --endpoint-url)")
    for function, url in services.function_urls.items():
        say(f"  function URL   {url}   ({function})")
    if services.database_url:
        say(f"  Postgres       {redact(services.database_url)}")
    if services.redis_url:
        say(f"  Redis          {redact(services.redis_url)}")
    say(f"  AWS endpoint   {services.aws_endpoint_url}   (SNS, SQS, SSM, S3)")
    say(f"  AWS resources  {endpoints.provisioning}")
    for line in endpoints.setup_lines:  # the app's own (Metadata: Local: Setup)
        say(f"  {line}")
    say("Press Ctrl-C to stop.")

    exit_code = 0
    while not stop.wait(0.5):
        fatal = stack.supervise()
        if fatal:
            say(f"error: {fatal}; stopping the stack")
            exit_code = 1
            break
    stack.stop()
    say(f"stopped ({received[0] if received else 'service failure'}); every process this run started has exited")
    return exit_code


# -- invoke ----------------------------------------------------------------------------------

def read_json(raw: bytes, source: str):
    """Parse JSON, or say which file, line and column is wrong."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError as error:
        raise LocalError(f"{source}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise LocalError(f"{source}: not JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None


def read_source(name: str | None) -> tuple[bytes, str]:
    if name is None:
        return b"{}", "(no event)"
    if name == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    try:
        return Path(name).read_bytes(), name
    except OSError as error:
        raise LocalError(f"{name}: cannot be read: {error.strerror}") from None


def cmd_invoke(args: argparse.Namespace) -> int:
    settings = Settings.from_environ()
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
                      build_dir=settings.build_dir)
    try:
        outcome = runtime.invoke(args.function, event)
    finally:
        runtime.stop()
    print(json.dumps(outcome.error if outcome.failed else outcome.payload, indent=2))
    return 1 if outcome.failed else 0


# -- generate-event --------------------------------------------------------------------------

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


# -- list ------------------------------------------------------------------------------------

def cmd_list(args: argparse.Namespace) -> int:
    settings = Settings.from_environ()
    running = running_addresses(settings)
    _, model = load_app(settings, running or assumed_addresses(settings))
    gateway_url = running.gateway_url if running else f"http://127.0.0.1:{settings.gateway_port}"
    urls = running.function_urls if running else expected_function_urls(model, settings.gateway_port)
    if args.json:
        print(json.dumps(listing(model, gateway_url, urls), indent=2))
        return 0
    for spec in model.functions.values():
        say(f"{spec.logical_id}  {spec.handler}  {spec.runtime}  timeout {spec.timeout:g} s  "
            f"memory {spec.memory_mb} MB  ({_shown(spec.code_dir, settings.template_path.parent)})")
        for api in spec.api_events:
            say(f"    {'http api' if api.api_type == 'HTTP' else 'api':<9} {api.method:<6} {api.path}")
        if spec.url is not None:
            say(f"    url       {urls.get(spec.logical_id)}  auth {spec.url.auth_type}")
        for sqs in spec.sqs_events:
            say(f"    sqs       {sqs.queue_url}  batch {sqs.batch_size}")
        for schedule in spec.schedule_events:
            say(f"    schedule  {schedule.schedule}")
        for name, kind in spec.other_events.items():
            say(f"    {kind.lower():<9} {name} (runs on AWS only)")
    return 0


def _shown(code_dir: Path, base: Path) -> str:
    # Relative to the template when it is beside it; zip and inline code live in the build cache.
    return str(code_dir.relative_to(base)) if code_dir.is_relative_to(base) else str(code_dir)


# -- tokens ----------------------------------------------------------------------------------

def cmd_tokens(args: argparse.Namespace) -> int:
    """A token that the template's JWT or Cognito authorizer accepts, signed by the development
    issuer `local up` trusts; the token alone on stdout, for `TOKEN=$(...)`."""
    settings = Settings.from_environ()
    parameters, _ = run_options(args, settings, "up")  # the parameters `up` reads from samconfig.toml
    _, model = load_app(settings, running_addresses(settings) or assumed_addresses(settings), parameters)
    options = mint_options(model, args.authorizer, args.scope, args.audience)
    if args.issuer:
        options["issuer"] = args.issuer
    token = DevIssuer(issuer_folder(settings)).mint(subject=args.sub, scopes=args.scope, ttl_s=args.ttl,
                                                    claims=dict(args.claim), **options)
    print(token, flush=True)
    print(f"(for issuer {options['issuer']}; valid {args.ttl} s; send it as Authorization: Bearer <token>)",
          file=sys.stderr)
    return 0


# -- build -------------------------------------------------------------------------------------

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


# -- events and dead letters ---------------------------------------------------------------

def cmd_events(args: argparse.Namespace) -> int:
    settings = Settings.from_environ()
    if args.action == "run":
        return event_runner.run(settings, args.parameter_overrides, args.env_vars and Path(args.env_vars))
    event_log.tail(running_addresses(settings) or assumed_addresses(settings), say, args.count, args.from_start)
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    settings = Settings.from_environ()
    services = running_addresses(settings) or assumed_addresses(settings)
    _, model = load_app(settings, services)
    if args.action == "list":
        dlq.list_dead_letters(model, services, say)
    else:
        dlq.redrive(model, services, args.queue, say)
    return 0
