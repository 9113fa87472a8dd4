"""The README's curl tour, run as it stands against a real `local up`: the README cannot
drift from the code."""

import re
import shutil
import subprocess

import pytest
from support import PROJECT_ROOT


def tour() -> str:
    found = re.search(r"```bash tour\n(.*?)```", (PROJECT_ROOT / "README.md").read_text(), re.S)
    assert found, "the README has no ```bash tour block"
    return found.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed on this machine")
def test_the_readme_tour_works(local_env, start_local_up):
    run = start_local_up(local_env).wait_ready()
    venv_python = PROJECT_ROOT / ".venv" / "bin" / "python"
    script = tour() if venv_python.exists() else tour().replace(".venv/bin/python", "python")
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=PROJECT_ROOT, env=local_env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert '"status":"ok"' in out
    assert re.findall(r"(?im)^x-cache: (\w+)", out) == ["MISS", "HIT"]
    assert "with the token, this recipe: 200" in out and "with the token, all recipes: 403" in out
    assert re.search(r"(?im)^ratelimit-remaining: \d+", out)
    assert "AuditFunction" in out and "recipe.created" in out
    assert run.process.poll() is None
