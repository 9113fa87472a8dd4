"""The one-shot commands, as a user runs them: invoke, generate-event, list."""

import json
import subprocess
import sys
import textwrap

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
    EventBridgeModel,
    SnsModel,
    SqsModel,
)
from support import PROJECT_ROOT, template_text


def run(*args, env=None, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "local", *args], cwd=PROJECT_ROOT, env=env, input=stdin,
                          capture_output=True, timeout=60)


@pytest.fixture
def env(local_env):
    return local_env  # a state folder of its own: no running stack is found


@pytest.fixture
def app_template(tmp_path, env):
    code = tmp_path / "fn"
    code.mkdir()
    (code / "app.py").write_text(textwrap.dedent("""
        import os
        def handler(event, context):
            print("working on", event.get("n"))
            if event.get("fail"):
                raise ValueError("asked to fail")
            return {"n": event.get("n"), "stage": os.environ["STAGE"], "mode": os.environ["MODE"]}
    """))
    template = tmp_path / "template.yaml"
    template.write_text(template_text("echo-function"))
    return {**env, "LOCAL_TEMPLATE": str(template)}


def test_invoke_prints_the_result_on_stdout_and_the_log_on_stderr(env):
    result = run("invoke", "HealthFunction", env=env)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["statusCode"] == 200 and json.loads(payload["body"])["status"] == "ok"
    log = result.stderr.decode()
    assert "[HealthFunction] START RequestId:" in log and "[HealthFunction] REPORT RequestId:" in log
    assert "Init Duration:" in log


def test_invoke_reads_the_event_from_stdin_and_takes_overrides(app_template, tmp_path):
    env_vars = tmp_path / "env.json"
    env_vars.write_text('{"Echo": {"MODE": "from-file"}}')
    result = run("invoke", "Echo", "-e", "-", "--env-vars", str(env_vars), "--parameter-overrides", "Stage=dev",
                 env=app_template, stdin=b'{"n": 7}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"n": 7, "stage": "dev", "mode": "from-file"}
    assert "working on 7" in result.stderr.decode()


def test_a_failing_function_exits_non_zero_with_the_error_on_stdout(app_template, tmp_path):
    event = tmp_path / "event.json"
    event.write_text('{"fail": true}')
    result = run("invoke", "Echo", "-e", str(event), env=app_template)
    assert result.returncode == 1
    error = json.loads(result.stdout)
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "asked to fail")


def test_an_unknown_function_lists_the_ones_that_exist(app_template):
    result = run("invoke", "Nope", env=app_template)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines()[-1] == \
        "error: no function named 'Nope' in the template; the functions are: Echo"


def test_an_event_that_is_not_json_names_file_line_and_column(app_template, tmp_path):
    event = tmp_path / "event.json"
    event.write_text('{\n  "n": 1,\n  oops\n}')
    result = run("invoke", "Echo", "-e", str(event), env=app_template)
    assert result.returncode == 2
    assert result.stderr.decode().strip() == \
        f"error: {event}: not JSON: Expecting property name enclosed in double quotes at line 3, column 3"


def test_an_event_over_6_mb_is_refused_as_lambda_refuses_it(app_template):
    result = run("invoke", "Echo", "-e", "-", env=app_template, stdin=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    assert result.returncode == 2
    assert "payload is too large for the Invoke operation" in result.stderr.decode()


def test_bad_parameter_overrides_are_a_usage_error(app_template):
    result = run("invoke", "Echo", "--parameter-overrides", "novalue", env=app_template)
    assert result.returncode == 2 and "'novalue' is not KEY=VALUE" in result.stderr.decode()


@pytest.mark.parametrize("args, model", [
    (["apigateway", "--method", "get", "--path", "/health?x=1", "--body", '{"a": 1}', "--header", "X-Api-Key: k"],
     APIGatewayProxyEventModel),
    (["sqs", "--queue", "jobs", "--body", "hello", "--count", "3"], SqsModel),
    (["sns", "--topic", "events", "--message", "hi", "--attribute", "type=recipe.created"], SnsModel),
    (["schedule", "--rule", "relay"], EventBridgeModel),
    (["apigateway", "--path", "/health?x=1&x=2", "--payload", "2.0"], APIGatewayProxyEventV2Model),
])
def test_generated_events_have_aws_shapes(env, args, model):
    result = run("generate-event", *args, env=env)
    assert result.returncode == 0, result.stderr
    event = json.loads(result.stdout)
    model.model_validate(event)
    if args[0] == "apigateway" and "--payload" in args:
        assert (event["routeKey"], event["rawPath"], event["queryStringParameters"]) == (
            "GET /health", "/health", {"x": "1,2"})
    elif args[0] == "apigateway":
        assert (event["httpMethod"], event["resource"], event["path"]) == ("GET", "/health", "/health")
        assert event["queryStringParameters"] == {"x": "1"}
        assert event["headers"] == {"X-Api-Key": "k", "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http"}
        assert event["requestContext"]["stage"] == "local"
    if args[0] == "sqs":
        assert len(event["Records"]) == 3
        assert event["Records"][0]["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:jobs"
    if args[0] == "sns":
        assert event["Records"][0]["Sns"]["MessageAttributes"]["type"]["Value"] == "recipe.created"


def test_list_shows_functions_routes_and_event_sources(env):
    result = run("list", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    health = lines.index(next(line for line in lines if line.startswith("HealthFunction ")))
    assert lines[health].startswith("HealthFunction  app.handler  python3.11  timeout 3 s  memory 256 MB")
    assert lines[health + 1].split() == ["api", "GET", "/health"]


def test_list_copes_with_inline_code_and_plain_cloudformation_routes(env):
    template = PROJECT_ROOT / "tests" / "templates" / "cloudformation-rest-api" / "template.yaml"
    result = run("list", env={**env, "LOCAL_TEMPLATE": str(template)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    root = next(line for line in lines if line.startswith("RootFunction "))
    assert root.endswith(")") and "/code/inline/" in root  # ZipFile code, unpacked into the build cache
    assert lines[lines.index(root) + 1].split() == ["api", "GET", "/"]


def test_build_names_a_failing_requirements_file_and_exits_non_zero(app_template, tmp_path):
    (tmp_path / "fn" / "requirements.txt").write_text("--no-index\nno-such-package-anywhere==1.0\n")
    result = run("build", env=app_template)  # the shared cache: a failed build leaves nothing in it
    assert result.returncode == 1, result.stderr
    output = result.stdout.decode()
    assert ("!!  build of function Echo failed: ERROR: No matching distribution found for "
            "no-such-package-anywhere==1.0") in output, output
    assert "1 failed" in output.splitlines()[-1]
