"""`local up` on templates of the kinds users write (tests/templates/, its README says where
each comes from): each one starts, and its routes answer as AWS would answer them."""

import json
import urllib.error
import urllib.request

import boto3
from support import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "tests" / "templates"


def up(local_env, start_local_up, name: str, *args: str):
    env = {**local_env, "LOCAL_TEMPLATE": str(TEMPLATES / name / "template.yaml")}
    run = start_local_up(env, *args).wait_ready()
    run.gateway = next(line.split()[2] for line in run.lines if line.strip().startswith("API gateway"))
    run.aws = next(line.split()[2] for line in run.lines if line.strip().startswith("AWS endpoint"))
    return run


def call(run, path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(run.gateway + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def client(run, service: str):
    return boto3.client(service, endpoint_url=run.aws, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


def test_a_template_without_functions_starts_and_provisions(local_env, start_local_up):
    run = up(local_env, start_local_up, "queue-only")
    assert "0 functions served" in run.output
    assert set(run.service_pids()) == {"aws"}  # nothing declared Postgres or Redis
    assert client(run, "sqs").get_queue_url(QueueName="only-jobs")["QueueUrl"].endswith("/only-jobs")
    status, _, page = call(run, "/_local/api/state")
    assert status == 200 and json.loads(page)["app"] == "queue-only"


def test_hello_world_runs_on_the_aws_endpoint_alone(local_env, start_local_up):
    run = up(local_env, start_local_up, "hello-world")
    assert run.lines[0].startswith("hello-world local stack is up") or any(
        line.startswith("hello-world local stack is up") for line in run.lines)
    assert set(run.service_pids()) == {"aws"}
    assert not any(line.strip().startswith(("Postgres", "Redis")) for line in run.lines)
    status, _, body = call(run, "/hello")
    assert status == 200, body
    assert json.loads(body) == {"message": "hello world", "path": "/hello", "stage": "Prod", "services": []}
    assert call(run, "/nothing-here")[0] == 403  # API Gateway's missing route: {"message": "Missing Authentication Token"}
