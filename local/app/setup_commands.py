"""Runs the commands an app declares in `Metadata: Local: Setup` (declaration.py), once the
services are ready and the AWS resources exist, before any function serves: migrations, seed
data, a credential. Each runs in the template's folder with the services' variables; its
output lines are the app's to show at start. A failure stops `local up` with one line."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

from local.errors import LocalError

TIMEOUT_S = 300


def run_setup(commands: list[list[str]], folder: Path, environment: dict[str, str]) -> list[str]:
    lines = []
    for argv in commands:
        # `python` is the interpreter `local up` runs on (the project's venv), as a Makefile's
        # $(PYTHON) would be: the app's tools see the packages its venv has.
        argv = [sys.executable, *argv[1:]] if argv and argv[0] in ("python", "python3") else argv
        shown = shlex.join(argv)
        try:
            done = subprocess.run(argv, cwd=folder, env={**os.environ, **environment}, capture_output=True,
                                  text=True, timeout=TIMEOUT_S)
        except FileNotFoundError:
            raise LocalError(f"setup command `{shown}`: {argv[0]} not found") from None
        except subprocess.TimeoutExpired:
            raise LocalError(f"setup command `{shown}` did not finish in {TIMEOUT_S} s") from None
        if done.returncode != 0:
            said = (done.stderr.strip() or done.stdout.strip()).splitlines()
            raise LocalError(f"setup command `{shown}` failed (exit {done.returncode})"
                             + (f": {said[-1]}" if said else ""))
        lines += [line for line in done.stdout.splitlines() if line.strip()]
    return lines
