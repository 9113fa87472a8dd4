"""template.yaml as the runtime sees it: Globals merged, intrinsics resolved, events typed."""

from pathlib import Path

import pytest
from support import PROJECT_ROOT, template_text

from infra.errors import TemplateError
from infra.intrinsics import Deployment, Resolver
from infra.template import load_template
from local.app.reader import build_model

SERVICES = {"DATABASE_URL": "postgresql://db", "REDIS_URL": "redis://r", "AWS_ENDPOINT_URL": "http://aws"}


def model_from(path: Path, overrides=None, env_overrides=None, services=SERVICES):
    template = load_template(path)
    deployment = Deployment(account_id="000000000000", endpoint_url="http://127.0.0.1:4566",
                            parameter_overrides=overrides or {})
    return build_model(path, template, Resolver(template, deployment, path), services, env_overrides)


def test_the_project_template():
    model = model_from(PROJECT_ROOT / "template.yaml", overrides={"Stage": "dev"})
    health = model.functions["HealthFunction"]
    assert health.code_dir == PROJECT_ROOT / "functions" / "health"
    assert health.layer_dirs == [PROJECT_ROOT / "layers" / "shared", PROJECT_ROOT / "layers" / "domain"]
    assert [layer.requirements for layer in health.layers] == [PROJECT_ROOT / "layers" / name / "requirements.txt"
                                                               for name in ("shared", "domain")]
    assert health.timeout == 3 and health.memory_mb == 256 and health.runtime == "python3.11"
    assert health.environment["STAGE"] == "dev"
    assert health.environment["CONFIG_PREFIX"] == "/recipes/dev"
    assert health.environment["EVENTS_TOPIC_ARN"] == "arn:aws:sns:us-east-1:000000000000:recipes-dev-events"
    assert health.environment["DATABASE_URL"] == "postgresql://db"  # the running service, not the empty parameter
    assert [(e.method, e.path, e.api) for e in health.api_events] == [("GET", "/health", "RecipesApi")]
    assert model.apis["RecipesApi"].stage == "dev" and model.apis["RecipesApi"].stage_throttle.burst == 100
    audit = model.queues["AuditQueue"]
    assert audit.url == "http://127.0.0.1:4566/000000000000/recipes-dev-audit"
    assert audit.dead_letter_arn == model.queues["AuditDLQ"].arn and audit.max_receive_count == 5
    assert model.subscriptions["CacheInvalidationSubscription"].raw_message_delivery is True
    assert model.parameters["CacheTtlParameter"].name == "/recipes/dev/cache/ttl-seconds"
    assert model.function("HealthFunction") is health
    assert model.function(health.arn) is health


@pytest.fixture
def template(tmp_path) -> Path:
    for folder in ("fn", "layer_a/python", "layer_b/python"):
        (tmp_path / folder).mkdir(parents=True)
    path = tmp_path / "template.yaml"
    path.write_text(template_text("globals-layers-events"))
    return path


def test_globals_merge_layers_and_events(template):
    worker = model_from(template).functions["Worker"]
    assert worker.function_name == "local-worker"  # AWS::StackName is SAM CLI's local "local"
    assert worker.runtime == "python3.12" and worker.timeout == 9 and worker.reserved_concurrency == 2
    # Globals' layers first, then the function's; a remote ARN cannot be mounted locally.
    assert worker.layer_dirs == [template.parent / "layer_a" / "python", template.parent / "layer_b" / "python"]
    assert worker.environment["SHARED"] == "from-globals" and worker.environment["MODE"] == "own"
    assert worker.environment["QUEUE"].endswith("/000000000000/local-Jobs")
    assert worker.api_events[0].api == "ServerlessRestApi"
    sqs = worker.sqs_events[0]
    assert (sqs.queue, sqs.batch_size, sqs.max_batching_window_s, sqs.report_batch_item_failures) == ("Jobs", 5, 2, True)
    assert worker.schedule_events[0].schedule == "rate(1 minute)"
    assert worker.other_events == {"Bucket": "S3"}


def test_the_implicit_api_gets_sams_default_stage(template):
    assert model_from(template).apis["ServerlessRestApi"].stage == "Prod"


def test_env_var_overrides_follow_sam(template):
    overrides = {"Parameters": {"SHARED": "everyone"}, "Worker": {"MODE": "file", "UNDECLARED": "ignored"}}
    env = model_from(template, env_overrides=overrides).functions["Worker"].environment
    assert env["SHARED"] == "everyone" and env["MODE"] == "file"
    assert "UNDECLARED" not in env  # as in SAM, only variables the template declares


def test_a_handler_without_a_function_name_is_refused(template):
    template.write_text(template.read_text().replace("Handler: app.handler", "Handler: app"))
    with pytest.raises(TemplateError, match="resource Worker: Handler 'app' is not module.function"):
        model_from(template)


def test_a_schedule_input_that_is_not_json_is_refused(tmp_path):
    (tmp_path / "src").mkdir()
    path = tmp_path / "template.yaml"
    path.write_text("""
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Handler: app.handler
      Events:
        Tick: {Type: Schedule, Properties: {Schedule: rate(1 minute), Input: "{job: report}"}}
""")
    with pytest.raises(TemplateError, match="FnTick: a target.s Input must be JSON text"):
        model_from(path)
