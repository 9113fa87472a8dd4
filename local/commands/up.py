"""`up`: the whole stack in the foreground until Ctrl-C."""

import argparse
import signal
import threading
import time

from local.commands.common import run_options, say
from local.runtime.debugging import DebugFlags, attach_line
from local.settings import Settings, redact
from local.stack import Stack


def cmd_up(args: argparse.Namespace) -> int:
    settings = Settings.from_environ()
    debug = DebugFlags.given(args.debug_port, args.debug_function)  # refused before anything starts
    stop = threading.Event()
    received: list[str] = []

    def request_stop(signum, _frame):
        received.append(signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    began = time.monotonic()
    overrides, env_file = run_options(args, settings, "up")
    stack = Stack(settings, say=say, parameter_overrides=overrides, env_vars=env_file, debug=debug)
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
    if stack.debug:
        say(attach_line(stack.debug))
    if services.database_url:
        say(f"  Postgres       {redact(services.database_url)}")
    if services.redis_url:
        say(f"  Redis          {redact(services.redis_url)}")
    what = "yours" if settings.aws_endpoint_url else "moto: SNS, SQS, S3, EventBridge, DynamoDB, Kinesis, SSM, ..."
    say(f"  AWS endpoint   {services.aws_endpoint_url}   ({what})")
    say(f"  AWS resources  {endpoints.provisioning}")
    for line in endpoints.setup_lines:  # the app's own (Metadata: Local: Setup)
        say(f"  {line}")
    say(f"Edits to {settings.template_path.name} and to the functions' code apply on the next request.")
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
