"""`python -m local <command>`. Errors a user can fix print one line and exit 2."""

import argparse
import signal
import sys
import threading
import time

from infra.errors import InfraError

from .errors import LocalError
from .settings import Settings, redact
from .stack import Stack


def say(message: str) -> None:
    print(message, flush=True)


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
    stack = Stack(settings, say=say)
    endpoints = stack.start()
    elapsed = time.monotonic() - began
    embedded = ", ".join(endpoints.embedded) or "none"
    say(f"Recipes API local stack is up in {elapsed:.1f} s (embedded: {embedded}; state in {settings.state_dir})")
    say(f"  API gateway    {endpoints.gateway_url}   (try {endpoints.gateway_url}/health)")
    say(f"  Postgres       {redact(endpoints.database_url)}")
    say(f"  Redis          {redact(endpoints.redis_url)}")
    say(f"  AWS endpoint   {endpoints.aws_endpoint_url}   (SNS, SQS, SSM, S3)")
    say(f"  migrations     {', '.join(endpoints.migrations_applied) or 'up to date'}")
    say(f"  AWS resources  {endpoints.provisioning}")
    say(f"  admin API key  {endpoints.admin_key}   (send as x-api-key)")
    say("Press Ctrl-C to stop.")

    exit_code = 0
    while not stop.wait(0.5):
        died = stack.exited_service()
        if died:
            say(f"error: {died}; stopping the stack")
            exit_code = 1
            break
    stack.stop()
    say(f"stopped ({received[0] if received else 'service failure'}); every process this run started has exited")
    return exit_code


COMMANDS = {"up": cmd_up}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("up", help="start the whole stack in the foreground; Ctrl-C stops it")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (LocalError, InfraError) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C before the signal handlers were in place; Stack.start() has cleaned up.
        return 130
