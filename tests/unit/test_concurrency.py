"""How many instances of a function run at once: on demand up to its reserved concurrency
(throttled past it, as Lambda throttles) or up to the local ceiling (waiting past it), and
time spent waiting never counts against a timeout."""

import io
import json
import textwrap
import threading

import botocore.exceptions
import pytest
from botocore.config import Config
from support.ports import free_port

from infra.aws import emulator_client
from infra.intrinsics import Deployment, Resolver
from infra.template import load_template
from local.app.model import AppModel
from local.app.reader import build_model
from local.errors import LocalError
from local.gateway.client import GatewayClient
from local.gateway.gateway import Gateway
from local.http.server import HttpServer
from local.runtime.invoke_api import LambdaInvokeApi
from local.runtime.logs import ConsoleLog
from local.runtime.pool import Throttled
from local.runtime.runtime import Runtime
from local.settings import DEFAULT_MAX_INSTANCES, Settings

SLOW = """
    import os, time
    def handler(event, context):
        began = time.time()
        time.sleep(event.get("s", 0.4))
        return [os.getpid(), began, time.time()]
"""


def in_parallel(call, count: int) -> list:
    results, threads = [None] * count, []
    for index in range(count):
        def run(index=index):
            try:
                results[index] = call()
            except Exception as error:  # noqa: BLE001 - kept to be asserted on
                results[index] = error
        threads.append(threading.Thread(target=run))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def runtime_with(spec, **options) -> Runtime:
    model = AppModel(functions={spec.logical_id: spec}, layers={}, apis={}, queues={}, topics={}, subscriptions={},
                     parameters={})
    return Runtime(model, "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()), **options)


def test_without_reserved_concurrency_instances_start_on_demand_up_to_the_ceiling(make_function):
    runtime = runtime_with(make_function("Slow", SLOW), max_instances=10)
    try:
        # 2 s each: ten cold starts on two busy cores must all be done before the first call ends.
        results = [invocation.payload for invocation in in_parallel(lambda: runtime.invoke("Slow", {"s": 2.0}), 10)]
    finally:
        runtime.stop()
    assert len({pid for pid, _, _ in results}) == 10
    # All ten ran at once: every call began before any had ended.
    assert max(began for _, began, _ in results) < min(ended for _, _, ended in results)


def test_past_the_local_ceiling_calls_wait_for_a_free_instance(make_function):
    runtime = runtime_with(make_function("Slow", SLOW), max_instances=2)
    try:
        # Synchronous callers too: the ceiling is this machine's, not a throttle of AWS's.
        calls = in_parallel(lambda: runtime.loop.run(runtime.invoke_async("Slow", {"s": 0.3}, throttle=True)), 5)
        results = [invocation.payload for invocation in calls]
    finally:
        runtime.stop()
    assert len({pid for pid, _, _ in results}) == 2
    for _, began, _ in results:
        assert sum(1 for _, b, e in results if b <= began < e) <= 2


def test_a_synchronous_call_past_the_reserved_concurrency_is_throttled(make_function):
    runtime = runtime_with(make_function("Slow", SLOW, concurrency=1))
    try:
        results = in_parallel(lambda: runtime.loop.run(runtime.invoke_async("Slow", {"s": 0.8}, throttle=True)), 3)
        # An event source's call waits instead, as Lambda's pollers hold a batch back.
        waited = in_parallel(lambda: runtime.invoke("Slow", {"s": 0.2}), 2)
    finally:
        runtime.stop()
    assert sum(isinstance(result, Throttled) for result in results) == 2
    assert [result.failed for result in waited] == [False, False]


def test_the_invoke_api_answers_a_throttled_call_as_lambda_does(make_function):
    runtime = runtime_with(make_function("Slow", SLOW, concurrency=1))
    server = HttpServer(LambdaInvokeApi(runtime), free_port(), loop=runtime.loop)
    server.start()
    # One attempt in all: boto3 retries a throttle after a jittered backoff, which may land
    # after the first call ended (its `max_attempts` counts retries, not attempts).
    client = emulator_client("lambda", server.url, "us-east-1", Config(retries={"total_max_attempts": 1}))
    try:
        results = in_parallel(lambda: client.invoke(FunctionName="Slow", Payload=json.dumps({"s": 0.8})), 2)
    finally:
        server.stop()
        runtime.stop()
    refused = [r for r in results if isinstance(r, botocore.exceptions.ClientError)]
    assert len(refused) == 1
    error = refused[0].response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def gateway_client(folder, template: str, **options) -> GatewayClient:
    (folder / "fn").mkdir()
    (folder / "fn" / "app.py").write_text(textwrap.dedent("""
        import time
        def handler(event, context):
            time.sleep(0.5)
            return {"statusCode": 200, "body": "done"}
    """))
    path = folder / "template.yaml"
    path.write_text(textwrap.dedent(template))
    parsed = load_template(path)
    model = build_model(path, parsed, Resolver(parsed, Deployment(), path), {})
    runtime = Runtime(model, "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()), **options)
    return GatewayClient(Gateway(model, runtime, "123456789012"))


ROUTE = """
    Transform: AWS::Serverless-2016-10-31
    Resources:
      Slow:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: fn
          Handler: app.handler
          Runtime: python3.11
          Timeout: 5
          {reserved}
          Events:
            Get: {{Type: Api, Properties: {{Path: /slow, Method: get, TimeoutInMillis: 1500}}}}
"""


def test_time_waiting_for_an_instance_does_not_count_against_the_integration_timeout(tmp_path):
    # Four 0.5 s calls through one instance: the last is answered 2 s after it arrived, but it
    # ran for 0.5 s of its 1.5 s integration timeout (the first, with the cold start, a little more).
    client = gateway_client(tmp_path, ROUTE.format(reserved=""), max_instances=1)
    try:
        statuses = [response.status for response in in_parallel(lambda: client.get("/slow"), 4)]
    finally:
        client.gateway.runtime.stop()
    assert statuses == [200] * 4


def test_the_gateway_answers_a_throttled_call_with_a_500_as_api_gateway_does(tmp_path):
    client = gateway_client(tmp_path, ROUTE.format(reserved="ReservedConcurrentExecutions: 1"))
    try:
        responses = in_parallel(lambda: client.get("/slow"), 2)
    finally:
        client.gateway.runtime.stop()
    assert sorted(response.status for response in responses) == [200, 500]
    assert [r.json() for r in responses if r.status == 500] == [{"message": "Internal server error"}]


def test_the_ceiling_is_a_setting_checked_at_start():
    assert Settings.from_environ({}).max_instances == DEFAULT_MAX_INSTANCES
    assert Settings.from_environ({"LOCAL_MAX_INSTANCES": "3"}).max_instances == 3
    for bad in ("0", "-1", "many"):
        with pytest.raises(LocalError, match="LOCAL_MAX_INSTANCES"):
            Settings.from_environ({"LOCAL_MAX_INSTANCES": bad})
