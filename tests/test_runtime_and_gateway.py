"""The function runtime (a worker process per function) and the first cut of the gateway."""

import json
import textwrap
from pathlib import Path

import pytest

from local.functions import ApiRoute, FunctionSpec
from local.gateway import Gateway, HttpRequest
from local.runtime import FunctionWorker

LAYER = Path(__file__).resolve().parent.parent / "layers" / "shared" / "python"


def make_function(tmp_path: Path, name: str, source: str, timeout: float = 3, routes=(), env=None) -> FunctionSpec:
    code = tmp_path / name
    code.mkdir()
    (code / "app.py").write_text(textwrap.dedent(source))
    return FunctionSpec(logical_id=name, code_dir=code, handler="app.handler", runtime="python3.11",
                        timeout=timeout, memory_mb=128, layer_dirs=[LAYER], environment=env or {},
                        routes=[ApiRoute(path=p, method=m) for p, m in routes])


@pytest.fixture
def workers():
    started = []

    def start(spec):
        worker = FunctionWorker(spec, "us-east-1", "123456789012")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


COUNTER = """
    import os
    calls = 0
    def handler(event, context):
        global calls
        calls += 1
        return {"who": os.environ.get("WHO"), "calls": calls, "function": context.function_name,
                "other_env": os.environ.get("OTHER")}
"""


def test_functions_with_the_same_module_name_are_isolated(tmp_path, workers, monkeypatch):
    monkeypatch.setenv("OTHER", "leaked from the emulator")
    a = workers(make_function(tmp_path, "A", COUNTER, env={"WHO": "a"}))
    b = workers(make_function(tmp_path, "B", COUNTER, env={"WHO": "b"}))
    assert a.invoke({}).payload == {"who": "a", "calls": 1, "function": "A", "other_env": None}
    assert a.invoke({}).payload["calls"] == 2  # warm: module state kept
    assert b.invoke({}).payload == {"who": "b", "calls": 1, "function": "B", "other_env": None}


def test_an_exception_gives_lambdas_error_shape(tmp_path, workers):
    worker = workers(make_function(tmp_path, "F", """
        def handler(event, context):
            raise ValueError("bad input")
    """))
    error = worker.invoke({}).error
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "bad input"
    assert any("raise ValueError" in frame for frame in error["stackTrace"])


@pytest.mark.parametrize("exit_call", ["import sys; sys.exit(3)", "import os; os._exit(1)"])
def test_a_function_that_exits_is_replaced_by_a_fresh_instance(tmp_path, workers, exit_call):
    worker = workers(make_function(tmp_path, "F", f"""
        calls = 0
        def handler(event, context):
            global calls
            calls += 1
            if event.get("die"):
                {exit_call}
            return calls
    """))
    assert worker.invoke({}).payload == 1
    died = worker.invoke({"die": True})
    assert died.error["errorType"] in ("Runtime.ExitError", "SystemExit")
    assert worker.invoke({}).payload == 1  # a new instance, its state fresh


def test_a_function_past_its_timeout_is_stopped_and_reported(tmp_path, workers):
    worker = workers(make_function(tmp_path, "Slow", """
        import time
        def handler(event, context):
            time.sleep(event["sleep"])
            return context.get_remaining_time_in_millis()
    """, timeout=0.5))
    assert 0 < worker.invoke({"sleep": 0}).payload <= 500
    outcome = worker.invoke({"sleep": 5})
    assert outcome.error["errorMessage"] == "Task timed out after 0.50 seconds"
    assert worker.invoke({"sleep": 0}).payload > 0


def test_a_print_does_not_corrupt_the_result(tmp_path, workers):
    worker = workers(make_function(tmp_path, "Chatty", """
        def handler(event, context):
            print("hello from the function")
            return {"ok": True}
    """))
    assert worker.invoke({}).payload == {"ok": True}


ECHO = """
    import json
    from cloudpatterns.http import json_response
    def handler(event, context):
        if event["queryStringParameters"] and "bad" in event["queryStringParameters"]:
            return {"no": "statusCode"}
        return json_response(200, {"resource": event["resource"], "path": event["pathParameters"],
                                   "query": event["multiValueQueryStringParameters"], "name": context.function_name})
"""


@pytest.fixture
def gateway(tmp_path, workers):
    specs = {
        "Item": make_function(tmp_path, "Item", ECHO, routes=[("/items/{id}", "GET")]),
        "Special": make_function(tmp_path, "Special", ECHO, routes=[("/items/special", "GET")]),
        "Proxy": make_function(tmp_path, "Proxy", ECHO, routes=[("/files/{proxy+}", "ANY")]),
        "Broken": make_function(tmp_path, "Broken", "def handler(e, c):\n    raise RuntimeError('x')\n",
                                routes=[("/broken", "POST")]),
    }
    return Gateway(specs, {name: workers(spec) for name, spec in specs.items()}, stage="local",
                   account_id="123456789012", clock=lambda: 1_700_000_000.0)


def call(gateway, method, target):
    response = gateway.handle(HttpRequest(method, target, [("Host", "x")], b""))
    return response.status, json.loads(response.body)


def test_routes_path_parameters_and_the_most_specific_match(gateway):
    assert call(gateway, "GET", "/items/42") == (200, {"resource": "/items/{id}", "path": {"id": "42"},
                                                       "query": None, "name": "Item"})
    assert call(gateway, "GET", "/items/special")[1]["name"] == "Special"
    status, body = call(gateway, "DELETE", "/files/a/b.txt?x=1&x=2")
    assert (status, body["path"], body["query"]) == (200, {"proxy": "a/b.txt"}, {"x": ["1", "2"]})


def test_unknown_routes_and_methods_answer_as_api_gateway_does(gateway):
    assert call(gateway, "GET", "/nothing") == (403, {"message": "Missing Authentication Token"})
    assert call(gateway, "POST", "/items/42") == (403, {"message": "Missing Authentication Token"})


def test_function_errors_and_malformed_responses_are_502(gateway):
    assert call(gateway, "POST", "/broken") == (502, {"message": "Internal server error"})
    assert call(gateway, "GET", "/items/1?bad=1") == (502, {"message": "Internal server error"})
