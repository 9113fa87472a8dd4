"""What tests share besides fixtures (those are in tests/conftest.py): where things are, the one
waiting loop, and the loaders of the templates and events in tests/templates and tests/events."""

import json
import os
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TESTS = PROJECT_ROOT / "tests"
# The fixtures of tests/conftest.py that start or reach a service; tests/unit/ may not use them.
SERVICE_FIXTURES = frozenset({"services_dir", "postgres_url", "redis_url", "aws_url", "create_database", "api",
                              "start_local_up"})


def run_folder(config) -> Path:
    """A folder of this test run's, shared by its pytest-xdist workers: each worker's basetemp
    is a folder in the controller's, which is this run's alone; without xdist, the basetemp.
    pytest removes it with its old runs (it keeps the last three)."""
    basetemp = config._tmp_path_factory.getbasetemp()
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


def eventually(probe, within: float = 15.0, every: float = 0.05):
    """probe() again and again until it gives something truthy, which is returned; past `within`
    seconds, its last answer is returned instead, for the caller's assertion to show. An
    exception from probe() ends the wait at once (a process that died, say)."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(every)


def template_text(name: str) -> str:
    """tests/templates/NAME.yaml; a template with %(name)s fields is filled with `%`."""
    return (TESTS / "templates" / f"{name}.yaml").read_text()


def event(name: str) -> dict:
    """tests/events/NAME.json: an event in the shape AWS sends it."""
    return json.loads((TESTS / "events" / f"{name}.json").read_text())
