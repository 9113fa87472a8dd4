"""The function runtime: isolation, warm and cold instances, concurrency, failures, timeouts,
context, logs and hot reload, each checked against a real worker process."""

import re
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import psutil
import pytest
from support import eventually

from local.app.model import LayerSpec
from local.errors import LocalError
from local.runtime.instance import MAX_PAYLOAD_BYTES, FunctionInstance
from local.runtime.runtime import (
    RequestEntityTooLarge,
    UnknownFunction,
    check_payload_size,
)

COUNTER = """
    import os
    calls = 0
    def handler(event, context):
        global calls
        calls += 1
        return {"who": os.environ.get("WHO"), "calls": calls, "leaked": os.environ.get("LEAKED")}
"""


def test_functions_with_the_same_module_name_never_share_state_or_environment(make_function, runtime_of, monkeypatch):
    monkeypatch.setenv("LEAKED", "the emulator's own variable")
    runtime = runtime_of(make_function("A", COUNTER, env={"WHO": "a"}), make_function("B", COUNTER, env={"WHO": "b"}))
    assert runtime.invoke("A", {}).payload == {"who": "a", "calls": 1, "leaked": None}
    assert runtime.invoke("A", {}).payload["calls"] == 2  # warm: the same instance, its state kept
    assert runtime.invoke("B", {}).payload == {"who": "b", "calls": 1, "leaked": None}


def test_a_cold_start_reports_its_init_duration_and_a_warm_one_does_not(make_function, runtime_of):
    runtime = runtime_of(make_function("F", COUNTER))
    cold, warm = runtime.invoke("F", {}), runtime.invoke("F", {})
    assert cold.init_ms is not None and cold.init_ms > 0
    assert warm.init_ms is None
    assert re.fullmatch(rf"REPORT RequestId: {cold.request_id}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
                        r"Memory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms", cold.log[-1])
    assert "Init Duration" not in warm.log[-1]
    assert cold.log[0] == f"START RequestId: {cold.request_id} Version: $LATEST"
    assert cold.log[-2] == f"END RequestId: {cold.request_id}"


def test_at_most_n_instances_run_at_once_and_more_calls_wait(make_function, runtime_of):
    spec = make_function("Slow", """
        import os, time
        def handler(event, context):
            began = time.time()
            time.sleep(0.3)
            return [os.getpid(), began, time.time()]
    """, concurrency=2)
    runtime = runtime_of(spec)
    results = []
    threads = [threading.Thread(target=lambda: results.append(runtime.invoke("Slow", {}).payload)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 5
    assert len({pid for pid, _, _ in results}) == 2
    for _, began, _ in results:  # at no moment were more than two calls running
        assert sum(1 for _, b, e in results if b <= began < e) <= 2


@pytest.mark.parametrize("how, expected_message", [
    ("raise ValueError('bad input')", "bad input"),
    ("import sys; sys.exit(3)", "Runtime exited with error: exit status 3"),
    ("import os; os._exit(1)", "Runtime exited with error: exit status 1"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "Runtime exited with error: signal: killed"),
])
def test_a_failing_handler_gets_lambdas_error_shape_and_a_fresh_instance(make_function, runtime_of, how, expected_message):
    runtime = runtime_of(make_function("F", f"""
        calls = 0
        def handler(event, context):
            global calls
            calls += 1
            if event.get("fail"):
                {how}
            return calls
    """))
    assert runtime.invoke("F", {}).payload == 1
    failed = runtime.invoke("F", {"fail": True})
    assert set(failed.error) == {"errorMessage", "errorType", "stackTrace"}
    assert failed.error["errorMessage"] == expected_message
    after = runtime.invoke("F", {}).payload
    if "ValueError" in how:
        assert after == 3  # an exception does not cost the instance, as on Lambda
    else:
        assert after == 1  # the process ended: a new instance, its state fresh


def test_a_handler_past_its_timeout_is_stopped_and_reported_as_lambda_does(make_function, runtime_of):
    runtime = runtime_of(make_function("Slow", """
        import time
        def handler(event, context):
            time.sleep(event["sleep"])
            return context.get_remaining_time_in_millis()
    """, timeout=0.5))
    assert 0 < runtime.invoke("Slow", {"sleep": 0.1}).payload <= 400  # counts down from the Timeout
    began = time.monotonic()
    outcome = runtime.invoke("Slow", {"sleep": 30})
    assert time.monotonic() - began < 3
    assert outcome.error == {"errorMessage": "Task timed out after 0.50 seconds", "errorType": "Sandbox.Timedout",
                             "stackTrace": []}
    assert re.search(rf"{outcome.request_id} Task timed out after 0.50 seconds$", outcome.log[-3])
    assert runtime.invoke("Slow", {"sleep": 0}).payload > 0


def test_the_context_carries_what_lambda_gives(make_function, runtime_of):
    runtime = runtime_of(make_function("Ctx", """
        def handler(event, context):
            return {name: getattr(context, name) for name in (
                "aws_request_id", "function_name", "function_version", "invoked_function_arn",
                "memory_limit_in_mb", "log_group_name", "log_stream_name")}
    """, memory_mb=256))
    outcome = runtime.invoke("Ctx", {})
    context = outcome.payload
    assert context["aws_request_id"] == outcome.request_id
    assert context["function_name"] == "Ctx" and context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:Ctx"
    assert context["memory_limit_in_mb"] == "256"
    assert context["log_group_name"] == "/aws/lambda/Ctx" and context["log_stream_name"]


def test_output_and_logging_land_in_the_log_tagged_with_function_and_request(make_function, runtime_of):
    runtime = runtime_of(make_function("Chatty", """
        import logging, sys
        logger = logging.getLogger()
        logger.setLevel(logging.INFO)
        def handler(event, context):
            print("to stdout")
            print("to stderr", file=sys.stderr)
            logger.info("through logging")
            return {"ok": True}
    """))
    outcome = runtime.invoke("Chatty", {})
    assert outcome.payload == {"ok": True}  # the prints did not corrupt the result
    rid = outcome.request_id
    assert outcome.log[1:3] == ["to stdout", "to stderr"]
    assert re.fullmatch(rf"\[INFO\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{rid}\tthrough logging", outcome.log[3])
    console = runtime.console.stream.getvalue().splitlines()
    assert f"[Chatty] {rid} to stdout" in console
    assert f"[Chatty] START RequestId: {rid} Version: $LATEST" in console
    assert any(line.startswith(f"[Chatty] REPORT RequestId: {rid}") for line in console)


def test_an_edit_to_the_function_or_its_layer_takes_effect_on_the_next_call(make_function, runtime_of, tmp_path):
    layer_dir = tmp_path / "layer"
    (layer_dir / "python").mkdir(parents=True)
    (layer_dir / "python" / "greeting.py").write_text("WORD = 'hello'\n")
    spec = make_function("Reload", """
        import greeting
        def handler(event, context):
            return greeting.WORD + " v1"
    """, layers=[LayerSpec(logical_id="L", content_dir=layer_dir)])
    runtime = runtime_of(spec)
    assert runtime.invoke("Reload", {}).payload == "hello v1"
    (spec.code_dir / "app.py").write_text((spec.code_dir / "app.py").read_text().replace("v1", "v2"))
    assert runtime.invoke("Reload", {}).payload == "hello v2"
    (layer_dir / "python" / "greeting.py").write_text("WORD = 'bonjour'\n")
    second = runtime.invoke("Reload", {})
    assert second.payload == "bonjour v2"
    assert second.init_ms is not None  # the new code runs in a new instance


def test_import_failures_are_reported_as_lambda_reports_them_and_a_fix_is_picked_up(make_function, runtime_of):
    spec = make_function("Broken", "import not_installed_anywhere\ndef handler(event, context):\n    return 1\n")
    runtime = runtime_of(spec)
    error = runtime.invoke("Broken", {}).error
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == "Unable to import module 'app': No module named 'not_installed_anywhere'"
    (spec.code_dir / "app.py").write_text("def main(event, context):\n    return 1\n")
    error = runtime.invoke("Broken", {}).error
    assert (error["errorType"], error["errorMessage"]) == ("Runtime.HandlerNotFound", "Handler 'handler' missing on module 'app'")
    (spec.code_dir / "app.py").write_text("def handler(event, context):\n    return 'fixed'\n")
    assert runtime.invoke("Broken", {}).payload == "fixed"


def test_payload_limits(make_function, runtime_of):
    check_payload_size(b"x" * MAX_PAYLOAD_BYTES)
    with pytest.raises(RequestEntityTooLarge, match="too large"):
        check_payload_size(b"x" * (MAX_PAYLOAD_BYTES + 1))
    runtime = runtime_of(make_function("Big", "def handler(event, context):\n    return 'x' * (7 * 1024 * 1024)\n"))
    assert runtime.invoke("Big", {}).error["errorType"] == "Function.ResponseSizeTooLarge"


def test_an_unknown_function_lists_the_ones_that_exist(make_function, runtime_of):
    runtime = runtime_of(make_function("Alpha", COUNTER), make_function("Beta", COUNTER))
    with pytest.raises(UnknownFunction) as error:
        runtime.invoke("Gamma", {})
    assert isinstance(error.value, LocalError)
    assert str(error.value) == "no function named 'Gamma' in the template; the functions are: Alpha, Beta"


def test_stop_ends_every_instance(make_function, runtime_of):
    runtime = runtime_of(make_function("P", "import os\ndef handler(event, context):\n    return os.getpid()\n"))
    pid = runtime.invoke("P", {}).payload
    runtime.stop()
    assert eventually(lambda: not psutil.pid_exists(pid), within=5), f"instance {pid} still running after stop()"


def test_a_result_that_is_not_json_is_a_marshal_error_and_the_instance_keeps_serving(make_function, runtime_of):
    spec = make_function("Odd", """
        from decimal import Decimal
        def handler(event, context):
            return {"nan": float("nan")} if event.get("nan") else {"object": object()} if event.get("obj") else Decimal("1.5")
    """)
    runtime = runtime_of(spec)
    for event in ({"nan": True}, {"obj": True}):
        error = runtime.invoke("Odd", event).error
        assert error["errorType"] == "Runtime.MarshalError", error
    assert runtime.invoke("Odd", {}).payload == 1.5


def test_output_while_the_module_is_imported_is_init_log_not_the_first_result(make_function, runtime_of):
    """A print() at module level used to be taken for the worker's ready message, and every
    invocation then failed; it is the init phase's log, before START, as on Lambda."""
    spec = make_function("Chatty", """
        print("loading the model")
        import logging
        logging.getLogger().warning("configured at import")
        def handler(event, context):
            print("handling", event["n"])
            return event["n"]
    """)
    runtime = runtime_of(spec)
    first, second = runtime.invoke("Chatty", {"n": 1}), runtime.invoke("Chatty", {"n": 2})
    assert (first.payload, second.payload) == (1, 2)
    assert first.log[0] == "loading the model" and "configured at import" in first.log[1]
    assert first.log[2].startswith("START RequestId:") and first.log[3].endswith("handling 1")
    assert not any("loading the model" in line for line in second.log)  # a warm call has no init phase


def test_an_instance_that_died_while_idle_is_seen_dead_before_the_loop_reaps_it():
    """Under load the event loop learns of a worker's death late; an idle instance killed
    meanwhile must not be handed the next request (its batch would fail and come back only
    after the queue's visibility timeout: the load run's "SIGKILL a function instance")."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert eventually(lambda: psutil.Process(dead.pid).status() == psutil.STATUS_ZOMBIE)
        instance = FunctionInstance({}, 0)
        # As asyncio's Process looks before the loop has reaped the child: no return code yet.
        instance.process = SimpleNamespace(pid=dead.pid, returncode=None)
        assert instance.alive is False
        instance.process = SimpleNamespace(pid=living.pid, returncode=None)
        assert instance.alive is True
    finally:
        living.kill()
        living.wait()
        dead.wait()
