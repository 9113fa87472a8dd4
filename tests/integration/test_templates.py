"""`local up` on templates of the kinds users write (tests/templates/, its README says where
each comes from): each one starts, and its routes answer as AWS would answer them."""

import json
import shutil
import urllib.error
import urllib.request
import zipfile

import boto3
from support import PROJECT_ROOT
from support.ports import free_port

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


def test_parameters_mappings_and_conditions_are_honoured(local_env, start_local_up):
    run = up(local_env, start_local_up, "parameters-and-conditions")
    status, _, body = call(run, "/echo/hi", headers={"X-Forwarded-For": "203.0.113.9"})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["word"] == "hi" and answer["stage"] == "dev"
    assert answer["stageVariables"] == {"color": "green", "table": "local-items"}
    port = run.gateway.rsplit(":", 1)[1]
    assert answer["forwarded"] == {"X-Forwarded-For": "203.0.113.9, 127.0.0.1", "X-Forwarded-Port": port,
                                   "X-Forwarded-Proto": "http"}
    environment = answer["environment"]
    assert environment["MODE"] == "practice" and environment["ONLY_IN_PROD"] is None
    assert environment["FIRST_ORIGIN"] == "https://a.example" and environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert environment["STACK_ID"].startswith("arn:aws:cloudformation:us-east-1:123456789012:stack/local/")
    assert 6000 < answer["remaining_ms"] <= 7000  # Timeout: !Ref TimeoutSeconds
    assert call(run, "/report")[0] == 403  # its function's Condition is false: no such route
    assert call(run, "/guarded")[0] == 401  # Auth: Authorizer: !Ref AuthorizerName
    status, _, body = call(run, "/guarded", headers={"Authorization": "let-me-in"})
    assert status == 200 and json.loads(body)["principal"] == "tester"


def test_parameter_overrides_flip_the_conditions(local_env, start_local_up):
    run = up(local_env, start_local_up, "parameters-and-conditions", "--parameter-overrides", "Env=prod")
    answer = json.loads(call(run, "/echo/x")[2])
    assert answer["stageVariables"]["color"] == "red" and answer["environment"]["ONLY_IN_PROD"] == "yes"
    assert answer["environment"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "1024"
    assert call(run, "/report")[0] == 200


def test_what_is_not_run_is_named_once_and_the_rest_serves(local_env, start_local_up):
    run = up(local_env, start_local_up, "partly-unsupported")
    warnings = [line.strip() for line in run.lines if line.strip().startswith("!!")]
    assert any("OpenFunction: Layers: arn:aws:lambda:us-east-1:017000801446:layer:" in w for w in warnings)
    assert any("FromS3Function: CodeUri: code in S3 is not fetched" in w for w in warnings)
    assert any("NodeFunction: Runtime: nodejs20.x is not run here" in w for w in warnings)
    assert len(warnings) == 3, warnings
    assert call(run, "/open")[:3:2] == (200, b"open")
    assert call(run, "/http")[:3:2] == (200, b"open")  # the implicit HTTP API
    assert call(run, "/members")[0] == 401  # the user pool's authorizer refuses a request with no token


def test_zipped_and_inline_code_run(local_env, start_local_up, tmp_path):
    folder = tmp_path / "zip-and-inline"
    shutil.copytree(TEMPLATES / "zip-and-inline", folder)
    with zipfile.ZipFile(folder / "hello.zip", "w") as bundle:
        bundle.writestr("hello.py", "def handler(event, context):\n    return {'statusCode': 200, 'body': 'zipped'}\n")
    env = {**local_env, "LOCAL_TEMPLATE": str(folder / "template.yaml")}
    run = start_local_up(env).wait_ready()
    run.gateway = next(line.split()[2] for line in run.lines if line.strip().startswith("API gateway"))
    assert call(run, "/zipped")[:3:2] == (200, b"zipped")
    status, _, body = call(run, "/inline", method="POST", body=b"{}")
    assert status == 200 and json.loads(body) == {"from": "inline", "file": "index.py"}


def test_samconfig_and_env_vars_apply_as_in_sam_cli(local_env, start_local_up, tmp_path):
    run = up(local_env, start_local_up, "samconfig-and-env")
    assert call(run, "/greet")[2] == b"hola, the world! [debug] -"  # only declared variables change
    run.cleanup()
    flags = tmp_path / "flags.json"
    flags.write_text('{"GreetFunction": {"PUNCTUATION": "?"}}')
    env = {**local_env, "LOCAL_GATEWAY_PORT": str(free_port()), "LOCAL_LAMBDA_PORT": str(free_port())}
    again = up(env, start_local_up, "samconfig-and-env", "--config-env", "other", "--env-vars", str(flags),
               "--parameter-overrides", "Audience=flags")
    assert call(again, "/greet")[2] == b"salut, flags? [info] -"  # flags win; another environment


def test_openapi_definitions_route_and_authorize(local_env, start_local_up):
    run = up(local_env, start_local_up, "openapi-definitions")
    warnings = [line.strip() for line in run.lines if line.strip().startswith("!!")]
    assert warnings == ["!!  PetsApi: DefinitionBody: GET /status: a mock integration is not run here (aws_proxy "
                        "only); not served"]
    status, _, body = call(run, "/pets")
    assert status == 200, body
    assert json.loads(body) == {"method": "GET", "resource": "/pets", "path": "/pets", "stage": "v1",
                                "pathParameters": None, "principal": None}
    assert call(run, "/pets/rex/toys", method="DELETE")[0] == 401  # no X-Pet-Key
    assert call(run, "/pets/rex/toys", method="DELETE", headers={"X-Pet-Key": "wrong"})[0] == 403
    status, _, body = call(run, "/pets/rex/toys", method="DELETE", headers={"X-Pet-Key": "open-sesame"})
    assert status == 200, body
    assert json.loads(body) == {"method": "DELETE", "resource": "/pets/{proxy+}", "path": "/pets/rex/toys",
                                "stage": "v1", "pathParameters": {"proxy": "rex/toys"}, "principal": "pet-owner"}
    status, _, body = call(run, "/legacy/7")
    assert status == 200 and json.loads(body)["stage"] == "legacy" and json.loads(body)["pathParameters"] == {"id": "7"}
    assert call(run, "/status")[0] == 403  # the mock integration is not served: API Gateway's missing route


def test_a_rest_api_in_plain_cloudformation(local_env, start_local_up):
    run = up(local_env, start_local_up, "cloudformation-rest-api")
    warnings = [line.strip() for line in run.lines if line.strip().startswith("!!")]
    assert warnings == ["!!  ItemsOptions: Integration: OPTIONS /items: a MOCK integration is not run here "
                        "(AWS_PROXY only); not served"]
    assert call(run, "/")[:3:2] == (200, b"root of RootFunction")  # ZipFile code, saved as index.py
    status, _, body = call(run, "/items")
    assert status == 200, body
    assert json.loads(body) == {"greeting": "hello, plain-items", "resource": "/items", "method": "GET",
                                "stage": "live", "stageVariables": {"flavour": "plain"}, "id": None, "tier": None,
                                "STAGE": "live"}
    assert call(run, "/items/9", method="PUT", body=b"{}")[0] == 401
    assert call(run, "/items/9", method="PUT", body=b"{}", headers={"Authorization": "Bearer no"})[0] == 403
    status, _, body = call(run, "/items/9", method="PUT", body=b"{}", headers={"Authorization": "Bearer ok"})
    assert status == 200, body
    assert json.loads(body)["id"] == "9" and json.loads(body)["tier"] == "gold"
    status, _, body = call(run, "/v2/items")  # the other RestApi, from its OpenAPI Body
    assert status == 200 and json.loads(body)["stage"] == "v2" and json.loads(body)["stageVariables"] is None


def test_nested_stacks_with_local_templates(local_env, start_local_up):
    run = up(local_env, start_local_up, "nested-stacks")
    warnings = [line.strip() for line in run.lines if line.strip().startswith("!!")]
    assert warnings == ["!!  FromRepository: Location: an application from the Serverless Application Repository "
                        "is not loaded; its resources do not run here"]
    # The child's function, its parameter passed down, named in its own stack.
    assert call(run, "/hello/sam")[:3:2] == (200, b"ahoy, sam (from local-Shared-HelloFunction)")
    status, _, body = call(run, "/front")  # the parent reads both children's Outputs
    assert status == 200, body
    answer = json.loads(body)
    assert answer["hello_name"] == "local-Shared-HelloFunction"
    assert answer["queue_url"] == client(run, "sqs").get_queue_url(QueueName="local-Jobs-JobsQueue")["QueueUrl"]


def test_layers_by_arn_run_from_the_folders_the_app_maps_them_to(local_env, start_local_up):
    run = up(local_env, start_local_up, "layers-by-arn")
    warnings = [line.strip() for line in run.lines if line.strip().startswith("!!")]
    assert len(warnings) == 1 and "layer:unmapped:1 is not a layer of this template" in warnings[0], warnings
    status, _, body = call(run, "/report")
    assert status == 200, body
    assert json.loads(body) == {"shout": "REPORT!", "count": 3}  # team-utils:12 by its versionless ARN


def test_a_default_request_authorizer_and_output_at_import(local_env, start_local_up):
    run = up(local_env, start_local_up, "request-authorizer")
    assert call(run, "/health")[0] == 200  # Authorizer: NONE opts out of the default
    assert call(run, "/reports?tenant=acme")[0] == 401  # an identity source missing: not even asked
    assert call(run, "/reports?tenant=acme", headers={"X-Tenant-Key": "k-globex"})[0] == 403
    for _ in range(2):  # the module's print at import broke every call once; now it is init log
        status, _, body = call(run, "/reports?tenant=acme", headers={"X-Tenant-Key": "k-acme"})
        assert status == 200, body
        assert json.loads(body) == {"tenant": "acme", "principal": "tenant-acme"}
    assert "loading the reports module" in run.output


def test_cors_binary_media_and_gateway_responses(local_env, start_local_up):
    run = up(local_env, start_local_up, "cors-and-binary")
    status, headers, _ = call(run, "/thumbs", method="OPTIONS", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert headers["Access-Control-Allow-Headers"] == "Content-Type,X-Trace"
    assert headers["Access-Control-Max-Age"] == "600"
    png = bytes(range(256))
    status, headers, body = call(run, "/thumbs", method="POST", body=png, headers={"Content-Type": "image/png",
                                                                                "Accept": "image/png"})
    assert status == 200 and body == png[::-1]
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    status, headers, body = call(run, "/nowhere")
    assert (status, headers.get("X-Why"), json.loads(body)) == (404, "no such route", {"error": "not found"})
