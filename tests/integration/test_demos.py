"""`make demo`'s runner, end to end against a real `local up`: every pattern's demo must hold."""

import subprocess
import sys

from support import PROJECT_ROOT


def test_every_demo_holds(local_env, start_local_up):
    run = start_local_up(local_env).wait_ready()
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "demos" / "run_all.py")], cwd=PROJECT_ROOT, env=local_env,
                            capture_output=True, text=True, timeout=300)
    summary = result.stdout.split("pattern ", 1)[-1]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert summary.count("passed") == 7 and "FAILED" not in summary
    assert run.process.poll() is None  # a stack it did not start is left running
