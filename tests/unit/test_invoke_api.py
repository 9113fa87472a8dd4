"""Lambda's Invoke API, driven by boto3's own lambda client, unchanged."""

import base64
import json
import time

import pytest
from botocore.config import Config
from support import eventually
from support.ports import free_port

from infra.aws import emulator_client
from local.http.server import HttpServer
from local.runtime.instance import MAX_PAYLOAD_BYTES
from local.runtime.invoke_api import LambdaInvokeApi


@pytest.fixture
def lambda_client(make_function, runtime_of, tmp_path):
    marker = tmp_path / "event-ran"
    specs = [
        make_function("Echo", """
            def handler(event, context):
                print("echoing", event)
                return {"got": event, "request": context.aws_request_id}
        """),
        make_function("Fails", "def handler(event, context):\n    raise KeyError('missing')\n"),
        make_function("Marker", f"""
            def handler(event, context):
                open({str(marker)!r}, "w").write(event["text"])
        """),
    ]
    runtime = runtime_of(*specs)
    server = HttpServer(LambdaInvokeApi(runtime), free_port(), loop=runtime.loop)
    server.start()
    client = emulator_client("lambda", server.url, "us-east-1", Config(retries={"max_attempts": 1}))
    client.marker = marker
    yield client
    server.stop()


def test_request_response_returns_the_result(lambda_client):
    response = lambda_client.invoke(FunctionName="Echo", Payload=json.dumps({"a": 1}))
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    body = json.loads(response["Payload"].read())
    assert body["got"] == {"a": 1}
    assert response["ExecutedVersion"] == "$LATEST"


def test_the_log_tail_is_returned_base64_encoded(lambda_client):
    response = lambda_client.invoke(FunctionName="Echo", Payload=b'{"a": 1}', LogType="Tail")
    request_id = json.loads(response["Payload"].read())["request"]
    log = base64.b64decode(response["LogResult"]).decode()
    assert log.startswith(f"START RequestId: {request_id}")
    assert "echoing {'a': 1}" in log and f"REPORT RequestId: {request_id}" in log


def test_a_function_error_is_unhandled_with_lambdas_error_shape(lambda_client):
    response = lambda_client.invoke(FunctionName="Fails")
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    body = json.loads(response["Payload"].read())
    assert body["errorType"] == "KeyError" and body["errorMessage"] == "'missing'"


def test_event_invocations_return_202_and_run(lambda_client):
    response = lambda_client.invoke(FunctionName="Marker", InvocationType="Event", Payload=b'{"text": "ran"}')
    assert response["StatusCode"] == 202
    eventually(lambda_client.marker.exists, within=10)
    assert lambda_client.marker.read_text() == "ran"


def test_dry_run_checks_without_running(lambda_client):
    response = lambda_client.invoke(FunctionName="Marker", InvocationType="DryRun", Payload=b'{"text": "no"}')
    assert response["StatusCode"] == 204
    time.sleep(0.2)
    assert not lambda_client.marker.exists()


@pytest.mark.parametrize("kwargs, code", [
    ({"FunctionName": "Nope"}, "ResourceNotFoundException"),
    ({"FunctionName": "Echo", "Qualifier": "7"}, "ResourceNotFoundException"),
    ({"FunctionName": "Echo", "Payload": b"{not json"}, "InvalidRequestContentException"),
    ({"FunctionName": "Echo", "Payload": b"x" * (MAX_PAYLOAD_BYTES + 1)}, "RequestEntityTooLargeException"),
])
def test_bad_requests_get_lambdas_errors(lambda_client, kwargs, code):
    with pytest.raises(lambda_client.exceptions.ClientError) as error:
        lambda_client.invoke(**kwargs)
    assert error.value.response["Error"]["Code"] == code


def test_a_function_can_be_named_by_its_arn(lambda_client):
    arn = "arn:aws:lambda:us-east-1:123456789012:function:Echo"
    assert lambda_client.invoke(FunctionName=arn, Payload=b"{}")["StatusCode"] == 200
