"""Start-up of the local stack, measured side by side in one run.

    .venv/bin/python bench/startup.py            # cold (new state) vs warm (existing state)
    .venv/bin/python bench/startup.py --install  # also `make up` from a fresh copy: venv + install

Each start runs `python -m local up` on free ports in a temporary state folder, times it
from launch to the first 200 from GET /health, reads the resident memory (RSS) of every
process of the stack after it has idled, then stops it with SIGINT.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from local.services.procs import free_port

ROOT = Path(__file__).resolve().parent.parent


def stack_env(state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL")}
    env.update({"LOCAL_STATE_DIR": str(state_dir), "LOCAL_GATEWAY_PORT": str(free_port()),
                "LOCAL_LAMBDA_PORT": str(free_port()),
                "LOCAL_POSTGRES_PORT": str(free_port()), "LOCAL_REDIS_PORT": str(free_port()),
                "LOCAL_AWS_PORT": str(free_port())})
    return env


def wait_for_health(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the stack exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.02)
    raise SystemExit(f"no 200 from {url} within {timeout} s")


def stack_rss_mib(root_pid: int) -> tuple[float, int]:
    root = psutil.Process(root_pid)
    processes = [root, *root.children(recursive=True)]
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20, len(processes)


def measure(argv: list[str], cwd: Path, env: dict[str, str], idle: float, timeout: float) -> dict:
    began = time.monotonic()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        wait_for_health(f"http://127.0.0.1:{env['LOCAL_GATEWAY_PORT']}/health", process, timeout)
        seconds = time.monotonic() - began
        time.sleep(idle)
        rss, count = stack_rss_mib(process.pid)
    finally:
        os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C in a terminal reaches the whole group
        code = process.wait(60)
    return {"seconds_to_health": round(seconds, 2), "idle_rss_mib": round(rss, 1), "processes": count,
            "exit_code": code}


def fresh_copy(destination: Path) -> Path:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return destination


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--install", action="store_true", help="also time `make up` from a fresh copy")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds to idle before reading memory")
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch:
        scratch = Path(scratch)
        env = stack_env(scratch / "state")
        local_up = [sys.executable, "-m", "local", "up"]
        results["cold (new state: initdb)"] = measure(local_up, ROOT, env, args.idle, 120)
        results["warm (existing state)"] = measure(local_up, ROOT, stack_env(scratch / "state"), args.idle, 120)
        if args.install:
            copy = fresh_copy(scratch / "project")
            results["make up (new venv + install)"] = measure(["make", "up"], copy, stack_env(scratch / "state2"),
                                                              args.idle, 900)

    width = max(map(len, results))
    print(f"{'start':<{width}}  {'to 200 /health':>14}  {'idle RSS':>10}  processes")
    for name, r in results.items():
        print(f"{name:<{width}}  {r['seconds_to_health']:>12.2f} s  {r['idle_rss_mib']:>6.1f} MiB  {r['processes']:>9}")
    cold, warm = results["cold (new state: initdb)"], results["warm (existing state)"]
    print(f"cold/warm start ratio: {cold['seconds_to_health'] / warm['seconds_to_health']:.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
