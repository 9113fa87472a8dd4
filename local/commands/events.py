"""`events run|tail|fire` and `dlq list|redrive`."""

import argparse
import time
from pathlib import Path

from local.app.project import assumed_addresses, load_app, running_addresses
from local.commands.common import say
from local.errors import LocalError
from local.events import dlq
from local.events import log as event_log
from local.events import runner as event_runner
from local.events.async_invoker import AsyncQueues
from local.events.schedules import fire_payload
from local.events.sqs_client import SqsError
from local.services.aws.async_queue import AsyncInvocation
from local.settings import Settings


def cmd_events(args: argparse.Namespace) -> int:
    settings = Settings.from_environ()
    if args.action == "run":
        return event_runner.run(settings, args.parameter_overrides, args.env_vars and Path(args.env_vars),
                                args.debug_function)
    if args.action == "fire":
        return fire(settings, args.function, args.schedule)
    event_log.tail(settings.state_dir, say, args.count, args.from_start)
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


def fire(settings: Settings, function: str, schedule_name: str | None) -> int:
    """Fire one schedule now, as its own firing would: its event on the function's asynchronous
    queue, where the running stack's event runner takes it (retries and destinations apply)."""
    services = running_addresses(settings)
    if services is None:
        raise LocalError(f"no `python -m local up` is running on {settings.state_dir}; start it first")
    _, model = load_app(settings, services)
    spec = model.function(function)
    if spec is None:
        raise LocalError(f"no function named {function!r}; the functions are: {', '.join(sorted(model.functions))}")
    found = [s for s in spec.schedule_events if schedule_name in (None, s.name)]
    names = ", ".join(s.name for s in spec.schedule_events) or "none"
    if not found:
        raise LocalError(f"{spec.logical_id} has no schedule {schedule_name or ''}".rstrip() + f" (its schedules: {names})")
    if len(found) > 1:
        raise LocalError(f"{spec.logical_id} has {len(found)} schedules ({names}): name the one to fire")
    schedule = found[0]
    payload, source, arn = fire_payload(schedule, spec.arn, services.region, services.account_id, time.time())
    invocation = AsyncInvocation(payload=payload, source=source, source_arn=arn)
    try:
        AsyncQueues(services.aws_endpoint_url, services.region, services.account_id).send(spec.function_name,
                                                                                         invocation)
    except SqsError as error:
        raise LocalError(f"the AWS endpoint did not take the event: {error}") from None
    say(f"fired {spec.logical_id}.{schedule.name} ({schedule.schedule}): request {invocation.request_id} is queued; "
        "`python -m local events tail` shows its delivery")
    return 0
