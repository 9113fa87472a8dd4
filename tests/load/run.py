"""The load run with faults, end to end: `python -m tests.load.run` (or `make reliability`).

1. starts `python -m local up` of its own (tests/load/stack.py), raises the per-client
   rate limits in SSM so most writes are served, warms the functions (tests/load/warmup.py);
2. runs locust headless against its gateway (tests/load/locustfile.py), every answer written
   down, and meanwhile injects the faults of tests/load/faults.py in turn, spaced evenly;
3. waits until the events have converged (tests/load/converge.py), checks the goals against
   Postgres, the queues and the API (tests/load/checks.py), prints the figures.

Exit status 0 when every goal is met, 1 otherwise. Settings (environment):
  LOAD_SECONDS           how long the load runs (60)
  LOAD_USERS             locust users, each about 4 requests a second (10)
  LOAD_FAULTS            0 runs the load without faults (1)
  LOAD_CONVERGE_SECONDS  how long to wait for the events to settle (120)
  LOAD_REPORT            also write the figures as JSON to this file
  LOAD_KEEP              1 keeps the work folder (state, logs, records) instead of removing it
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import checks, converge, faults, records, report, warmup
from .stack import LoadStack

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
STOP_TIMEOUT_S = 40  # users finish the request they are in: an unrecorded write could not be checked


def setting(name: str, default: str) -> str:
    return os.environ.get(name) or default


def start_locust(stack: LoadStack, work: Path, seconds: int, users: int) -> subprocess.Popen:
    env = {**os.environ, "LOAD_API_KEY": stack.admin_key, "LOAD_RECORDS": str(work / "records-{pid}.jsonl")}
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(users),
            "--run-time", f"{seconds}s", "--host", stack.gateway_url, "--only-summary",
            "--stop-timeout", str(STOP_TIMEOUT_S), "--json-file", str(work / "locust-stats"),
            "--exit-code-on-error", "0", "--loglevel", "WARNING"]
    with open(work / "locust.log", "wb") as log:
        return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def locust_stats(work: Path) -> dict:
    try:
        stats = json.loads((work / "locust-stats.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {"requests": sum(s["num_requests"] for s in stats), "failures": sum(s["num_failures"] for s in stats)}


def inject_faults(stack: LoadStack, seconds: int, results: list, say) -> None:
    """The faults in turn, the i-th of n at i/(n+1) of the run (or as soon as the previous one
    has recovered, if that took longer)."""
    plan = faults.PLAN
    began = time.monotonic()
    for number, (name, fault) in enumerate(plan, 1):
        delay = began + seconds * number / (len(plan) + 1) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if not stack.alive:
            results.append(faults.FaultResult(f"{number}. {name}", None, "skipped: `local up` is not running"))
            say(results[-1].line())
            continue
        result = faults.inject(stack, f"{number}. {name}", fault)
        results.append(result)
        say(f"  [{time.monotonic() - began:5.1f} s] {result.line()}")


def _interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    seconds = int(setting("LOAD_SECONDS", "60"))
    users = int(setting("LOAD_USERS", "10"))
    with_faults = setting("LOAD_FAULTS", "1") != "0"
    converge_limit = float(setting("LOAD_CONVERGE_SECONDS", "120"))
    keep = setting("LOAD_KEEP", "0") == "1"

    def say(text: str) -> None:
        print(text, flush=True)

    # SIGTERM (a test's timeout, a CI cancel) unwinds through the finally below like Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupted)
    work = Path(tempfile.mkdtemp(prefix="load-faults-"))
    stack = LoadStack(work / "state")
    locust = None
    try:
        stack.wait_ready()
        stack.raise_rate_limits()
        say(f"stack up at {stack.gateway_url} (state in {stack.state_dir}); functions warmed in "
            f"{warmup.warm(stack):.1f} s; load: {users} users for {seconds} s, faults {'on' if with_faults else 'off'}")
        locust = start_locust(stack, work, seconds, users)
        fault_results: list = []
        injector = threading.Thread(target=inject_faults, args=(stack, seconds, fault_results, say), daemon=True)
        if with_faults:
            injector.start()
        locust.wait(seconds + STOP_TIMEOUT_S + 60)
        if with_faults:
            injector.join(faults.BACK_WITHIN_S * 2)
        say(f"load done; waiting up to {converge_limit:.0f} s for the events to settle")
        if not stack.alive:
            say(f"error: `local up` exited with {stack.up.process.returncode}\n{stack.up.tail()}")
            return 1
        converged = converge.wait(stack, converge_limit, say)
        ledger = records.read([Path(p) for p in glob.glob(str(work / "records-*.jsonl"))])
        findings = checks.check(stack, ledger)
        if not converged[0]:
            findings.problems.insert(0, f"not converged after {converged[1]:.0f} s: {converged[2]}")
        data = report.figures(ledger, findings, fault_results, locust_stats(work), converged[:2], seconds)
        say(report.table(data))
        if setting("LOAD_REPORT", ""):
            report.write_json(Path(os.environ["LOAD_REPORT"]), data)
        failed = bool(data["problems"]) or any(fault["recovered_s"] is None for fault in data["faults"])
        if failed:  # the stack's output goes with the work folder: show it while there is one
            say(stack.up.tail())
            (work / "local-up.log").write_text(stack.up.output)
            say(f"all of `local up`'s output: {work / 'local-up.log'} (LOAD_KEEP=1 keeps it)")
        return 1 if failed else 0
    finally:
        if locust is not None and locust.poll() is None:
            locust.send_signal(signal.SIGINT)
            try:
                locust.wait(15)
            except subprocess.TimeoutExpired:
                locust.kill()
                locust.wait()
        stack.cleanup()
        if keep:
            say(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
