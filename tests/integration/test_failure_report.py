"""A test that fails while a `local up` it started is running shows that stack's output in
pytest's report (tests/conftest.py), function logs and server logs included, so a failure in
CI can be diagnosed from CI's output alone: the stack's folder goes away with the test."""

import os

from support import PROJECT_ROOT

pytest_plugins = ["pytester"]



def test_a_failing_test_shows_the_tail_of_the_stack_it_started(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "tests"),
                                                    os.environ.get("PYTHONPATH", "")]))
    pytester.makeconftest("from tests.conftest import *  # noqa: F401,F403 - the suite's fixtures and hooks")
    pytester.makepyfile(test_stack_fails="""
        import urllib.request

        def test_fails(local_env, start_local_up):
            run = start_local_up(local_env).wait_ready()
            gateway = next(line.split()[2] for line in run.lines if line.strip().startswith("API gateway"))
            urllib.request.urlopen(gateway + "/health", timeout=10).read()
            assert False, "deliberately"
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=240)
    result.assert_outcomes(failed=1)
    report = result.stdout.str()
    assert "--- `local up` output" in report
    assert "[HealthFunction] REPORT RequestId:" in report  # the function's log lines
    assert "--- aws.log, last 30 lines ---" in report and "--- postgres.log" in report
