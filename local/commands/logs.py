"""`logs [NAME] [--tail] [--since 5m] [--filter TEXT]`: a function's log lines as `sam logs`
shows CloudWatch's, read from the invocation journal (local/runtime/journal.py) that every
process running functions writes, so the lines of `up`'s gateway, of the event runner and of
one-shot `invoke`s are all there, whether or not `up` still runs.

--filter takes CloudWatch's plain term patterns: a line is shown when it holds every term
(case-sensitive; "a quoted phrase" is one term). Without --since every kept line is shown."""

import argparse
import shlex
import sys
import time
from pathlib import Path

from infra.errors import InfraError
from local.app.project import assumed_addresses, load_app, running_addresses
from local.commands.log_lines import readable, since_epoch, stamp
from local.errors import LocalError
from local.runtime.journal import journal_files, read_records, records
from local.settings import Settings

FOLLOW_EVERY_S = 0.25


def cmd_logs(args: argparse.Namespace) -> int:
    settings = Settings.from_environ()
    folder = settings.state_dir / "logs"
    function = _logical_id(args.function, settings, folder) if args.function else None
    try:
        since = since_epoch(args.since, time.time()) if args.since else None
    except ValueError as error:
        raise LocalError(str(error)) from None
    try:
        terms = shlex.split(args.filter) if args.filter else []
    except ValueError as error:
        raise LocalError(f"--filter {args.filter!r}: {error}") from None
    show = _Printer(terms, sys.stdout.isatty(), with_name=function is None)
    for record in records(folder, function, since):
        show(record)
    if args.tail:
        try:
            _follow(folder, function, show)
        except KeyboardInterrupt:
            pass
    return 0


class _Printer:
    def __init__(self, terms: list[str], colour: bool, with_name: bool):
        self.terms, self.colour, self.with_name = terms, colour, with_name

    def __call__(self, record: dict) -> None:
        lines = []
        for line in record.get("log", []):
            if not all(term in line for term in self.terms):
                continue
            # Lambda's closing lines are written when the call ends; the rest while it runs.
            at = record["finished_at"] if line.startswith(("END RequestId:", "REPORT RequestId:")) \
                else record["started_at"]
            name = f"{record['function']} " if self.with_name else ""
            lines.append(f"{stamp(at)} {name}{readable(line, self.colour)}")
        if lines:
            print("\n".join(lines), flush=True)


def _follow(folder: Path, function: str | None, show) -> None:
    """New records as they come, in every file of the function (or of all), until Ctrl-C."""
    offsets = {path: path.stat().st_size for path in journal_files(folder, function) if not path.name.endswith(".1")}
    while True:
        time.sleep(FOLLOW_EVERY_S)
        for path in journal_files(folder, function):
            if path.name.endswith(".1"):
                continue
            offset, size = offsets.get(path, 0), path.stat().st_size if path.exists() else 0
            if size < offset:  # moved aside to .1 and begun again: finish the old one first
                older, _ = read_records(path.with_name(path.name + ".1"), offset)
                for record in older:
                    show(record)
                offset = 0
            found, offsets[path] = read_records(path, offset)
            for record in found:
                show(record)


def _logical_id(name: str, settings: Settings, folder: Path) -> str:
    """The journal keeps functions by logical id; NAME may also be the FunctionName."""
    if journal_files(folder, name):
        return name
    try:
        services = running_addresses(settings) or assumed_addresses(settings)
        _, model = load_app(settings, services)
    except (LocalError, InfraError):
        return name  # no readable template: the journal's own names are all there is
    spec = model.function(name)
    if spec is None:
        raise LocalError(f"no function named {name!r} in the template; the functions are: "
                         f"{', '.join(sorted(model.functions))}")
    return spec.logical_id
