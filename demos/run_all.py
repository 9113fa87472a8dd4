"""Run every pattern's demo against the local stack, in order, and sum up.

    .venv/bin/python demos/run_all.py [--keep]      (what `make demo` runs)

Starts `python -m local up` when no stack is running (and stops it again, by process id,
unless --keep); a stack that was already running is used and left alone. Exits non-zero if
any demo failed.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMOS = [
    ("cache-aside", "demo_cache.py", "a miss, then a hit; a write drops the entry"),
    ("publisher-subscriber", "demo_pub_sub.py", "fan-out to consumers; no event lost while SNS is down"),
    ("retry", "demo_retry.py", "a killed DB connection, a logged retry, success"),
    ("rate limiting", "demo_rate_limiting.py", "the 6th write in a minute gets 429 + Retry-After"),
    ("valet key + gatekeeper", "demo_valet_gatekeeper.py", "401 without a key; a token for one recipe; revocation"),
    ("configuration store", "demo_config.py", "an SSM change takes effect live"),
    ("S3 trigger", "demo_image_upload.py", "an uploaded image is checked, then recorded; a fake is deleted"),
]


def running(state: Path) -> bool:
    try:
        pid = json.loads((state / "run" / "services.json").read_text())["pid"]
        os.kill(pid, 0)
        return True
    except (FileNotFoundError, ValueError, KeyError, ProcessLookupError):
        return False


def start_stack(state: Path) -> subprocess.Popen:
    """`local up` with its output in a file: a pipe nobody reads once this script has ended
    (--keep) would fill up and stall the stack."""
    log_path = state / "logs" / "stack.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        stack = subprocess.Popen([sys.executable, "-m", "local", "up"], cwd=ROOT, stdout=log,
                                 stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and stack.poll() is None:
        lines = log_path.read_text().splitlines()
        if any(line.startswith("Press Ctrl-C") for line in lines):
            for line in lines:
                print(f"   | {line}")
            print(f"   | (the stack's log goes on in {log_path})")
            return stack
        time.sleep(0.2)
    raise SystemExit(f"error: the stack did not start; see {log_path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="leave the stack running afterwards")
    args = parser.parse_args()
    state = Path(os.environ.get("LOCAL_STATE_DIR") or ROOT / ".local")
    stack = None if running(state) else start_stack(state)
    results = []
    try:
        for pattern, script, shows in DEMOS:
            began = time.monotonic()
            code = subprocess.run([sys.executable, str(ROOT / "demos" / script)], cwd=ROOT / "demos").returncode
            results.append((pattern, shows, code == 0, time.monotonic() - began))
    finally:
        if stack is not None and not args.keep:
            stack.send_signal(signal.SIGINT)  # the stack stops everything it started, by pid
            try:
                stack.wait(30)
            except subprocess.TimeoutExpired:
                stack.kill()
    width = max(len(pattern) for pattern, *_ in results)
    print(f"\n{'pattern':<{width}}  {'result':<6}  what was shown")
    for pattern, shows, passed, seconds in results:
        print(f"{pattern:<{width}}  {'passed' if passed else 'FAILED':<6}  {shows} ({seconds:.1f} s)")
    if stack is not None and args.keep:
        print(f"\nThe stack is still running (pid {stack.pid}); stop it with: kill -INT {stack.pid}")
    return 0 if all(passed for *_, passed, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
