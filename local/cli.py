"""`python -m local <command>`: run the stack, invoke functions, make events, list what the
template declares. Errors a user can fix print one line (`error: ...`) and exit 2."""

import argparse
import sys

from infra.errors import InfraError
from local.commands import (
    cmd_build,
    cmd_dlq,
    cmd_events,
    cmd_generate_event,
    cmd_invoke,
    cmd_list,
    cmd_logs,
    cmd_tokens,
    cmd_up,
)
from local.errors import LocalError

# -- parsing ---------------------------------------------------------------------------------

def parameter_override(text: str) -> tuple[str, str]:
    """K=V, or SAM's ParameterKey=K,ParameterValue=V."""
    if text.startswith("ParameterKey="):
        parts = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
        if "ParameterKey" in parts and "ParameterValue" in parts:
            return parts["ParameterKey"], parts["ParameterValue"]
    elif "=" in text:
        key, value = text.split("=", 1)
        if key:
            return key, value
    raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")


def pair(separator: str):
    def parse(text: str) -> tuple[str, str]:
        key, found, value = text.partition(separator)
        if not found or not key.strip():
            raise argparse.ArgumentTypeError(f"{text!r} is not NAME{separator}VALUE")
        return key.strip(), value.strip()

    return parse


class Overrides(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, dict(values))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def overrides(command):
        command.add_argument("--parameter-overrides", nargs="+", type=parameter_override, action=Overrides,
                             default={}, metavar="KEY=VALUE", help="template parameters")

    def sam_config(command):
        command.add_argument("--config-env", default="default", help="samconfig.toml environment (default: default)")
        command.add_argument("--config-file", help="samconfig.toml to read (default: the one beside the template)")

    def debug_port(command):
        command.add_argument("-d", "--debug-port", type=int, metavar="PORT",
                             help="run the function under debugpy, waiting on 127.0.0.1:PORT for a debugger to "
                                  "attach (docs/DEBUGGING.md)")

    def env_vars(command):
        command.add_argument("--env-vars", metavar="FILE", help='SAM-style {"Function": {...}, "Parameters": {...}}')

    up = commands.add_parser("up", help="start the whole stack in the foreground; Ctrl-C stops it")
    overrides(up)
    env_vars(up)
    sam_config(up)
    debug_port(up)
    up.add_argument("--debug-function", metavar="NAME",
                    help="the function a debugger attaches to (logical id or FunctionName); "
                         "needed when the template has more than one")

    invoke = commands.add_parser("invoke", help="run one function once; the result on stdout, logs on stderr")
    invoke.add_argument("function", help="logical id (or FunctionName) from template.yaml")
    invoke.add_argument("-e", "--event", metavar="FILE", help="event JSON file, or - for stdin (default: {})")
    debug_port(invoke)
    env_vars(invoke)
    overrides(invoke)
    sam_config(invoke)

    build = commands.add_parser("build", help="install every function's and layer's requirements.txt into "
                                              ".local/build/, as sam build does (local up does it too)")
    overrides(build)
    sam_config(build)

    generate = commands.add_parser("generate-event", help="print an event in AWS's shape")
    sources = generate.add_subparsers(dest="source", required=True, metavar="SOURCE")
    api = sources.add_parser("apigateway", help="the matching route's event: REST (payload 1.0) or HTTP API (2.0)")
    api.add_argument("--payload", choices=("1.0", "2.0"), help="this payload format, whatever the route's")
    api.add_argument("--method", default="GET")
    api.add_argument("--path", default="/", help="path and query, e.g. /items/42?x=1")
    api.add_argument("--body")
    api.add_argument("--header", action="append", default=[], type=pair(":"), metavar="NAME:VALUE")
    sqs = sources.add_parser("sqs", help="SQS batch of records")
    sqs.add_argument("--queue", default="MyQueue")
    sqs.add_argument("--body", default='{"hello": "world"}')
    sqs.add_argument("--count", type=int, default=1)
    sns = sources.add_parser("sns", help="SNS notification")
    sns.add_argument("--topic", default="MyTopic")
    sns.add_argument("--message", default='{"hello": "world"}')
    sns.add_argument("--subject")
    sns.add_argument("--attribute", action="append", default=[], type=pair("="), metavar="NAME=VALUE")
    schedule = sources.add_parser("schedule", help="EventBridge scheduled event")
    schedule.add_argument("--rule", default="MyScheduledRule")

    listed = commands.add_parser("list", help="the functions, their routes, event sources and function URLs")
    listed.add_argument("--json", action="store_true", help="machine-readable: APIs, functions, routes, URLs")
    tokens = commands.add_parser("tokens", help="tokens for the template's JWT and Cognito authorizers")
    token_actions = tokens.add_subparsers(dest="action", required=True, metavar="ACTION")
    mint = token_actions.add_parser("mint", help="a token the authorizer accepts, from the development issuer")
    mint.add_argument("--authorizer", help="its name (Api/Name where two APIs share one); the only one by default")
    mint.add_argument("--sub", default="local-user", help="the subject (default: local-user)")
    mint.add_argument("--scope", action="append", default=[], help="a scope; repeat for more")
    mint.add_argument("--audience", help="aud (Cognito access tokens: client_id); default: the first configured")
    mint.add_argument("--claim", action="append", default=[], type=pair("="), metavar="NAME=VALUE",
                      help="one more claim; repeat for more")
    mint.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (default 3600)")
    mint.add_argument("--issuer", help="another iss than the authorizer's (to see a wrong issuer refused)")
    overrides(mint)  # the same as `up` was given: an issuer may be a template parameter
    sam_config(mint)

    logs = commands.add_parser("logs", help="a function's log lines, as sam logs shows them (every process's)")
    logs.add_argument("function", nargs="?", help="logical id or FunctionName (default: every function)")
    logs.add_argument("-t", "--tail", action="store_true", help="then follow new lines until Ctrl-C")
    logs.add_argument("-s", "--since", metavar="WHEN", help="only lines since: 30s, 5m, 2h, 1d, or an ISO 8601 time")
    logs.add_argument("--filter", metavar="TEXT", help="only lines holding every term (case-sensitive)")

    events_cmd = commands.add_parser("events", help="watch events flow to their consumers")
    event_actions = events_cmd.add_subparsers(dest="action", required=True, metavar="ACTION")
    tail = event_actions.add_parser("tail", help="each delivery: when, function, source, how, outcome, detail")
    tail.add_argument("--count", type=int, help="stop after this many lines")
    tail.add_argument("--from-start", action="store_true", help="show the log kept so far first")
    fire_cmd = event_actions.add_parser("fire", help="fire a function's schedule now, as its own firing would")
    fire_cmd.add_argument("function", help="the function's logical id (or FunctionName)")
    fire_cmd.add_argument("schedule", nargs="?", help="the schedule's event name; needed when it has more than one")
    events_run = event_actions.add_parser(
        "run", help="the event source mappings alone, for a running `up` (which starts one itself)")
    overrides(events_run)
    env_vars(events_run)
    events_run.add_argument("--debug-function", metavar="NAME",
                            help="the function `up` debugs: its deliveries go to `up`'s Invoke API")
    dlq = commands.add_parser("dlq", help="dead letters: list them, or move them back")
    dlq_actions = dlq.add_subparsers(dest="action", required=True, metavar="ACTION")
    dlq_actions.add_parser("list", help="every dead-letter queue, its count and first messages")
    redrive_cmd = dlq_actions.add_parser("redrive", help="move a DLQ's messages back to their queue")
    redrive_cmd.add_argument("queue", help="the dead-letter queue's name")
    return parser


COMMANDS = {"up": cmd_up, "build": cmd_build, "invoke": cmd_invoke, "generate-event": cmd_generate_event, "list": cmd_list, "logs": cmd_logs,
            "tokens": cmd_tokens,
            "events": cmd_events, "dlq": cmd_dlq}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (LocalError, InfraError) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C before `up` had its signal handlers in place; Stack.start() has cleaned up.
        return 130
