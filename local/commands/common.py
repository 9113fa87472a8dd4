"""What the commands share: printing, the run options (flags over samconfig.toml), reading events."""

import argparse
import json
import sys
from pathlib import Path

from local.app.samconfig import read_samconfig
from local.errors import LocalError
from local.settings import Settings


def say(message: str) -> None:
    print(message, flush=True)


def run_options(args: argparse.Namespace, settings: Settings, command: str) -> tuple[dict[str, str], Path | None]:
    """Parameter overrides and the env-vars file: the flags, over samconfig.toml's."""
    config = read_samconfig(settings.template_path, command, args.config_env, args.config_file)
    overrides = {**config.parameter_overrides, **args.parameter_overrides}
    env_file = Path(args.env_vars) if getattr(args, "env_vars", None) else config.env_vars
    return overrides, env_file



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
