"""tests/unit: tests that need no service (no Postgres, Redis, AWS endpoint or `local up`); the
whole folder runs in well under a minute (`make unit`). A unit test asking for a service
fails, so the split stays true as tests are added."""

import pytest
from support import SERVICE_FIXTURES


def pytest_runtest_setup(item):
    wanted = SERVICE_FIXTURES & set(getattr(item, "fixturenames", ()))
    if wanted:
        pytest.fail(f"{item.nodeid} is a unit test but uses {', '.join(sorted(wanted))}: "
                    "move it to tests/integration/", pytrace=False)
