"""A template edited while `local up` runs takes effect without a restart (local/reload/):
routes, functions, environment variables, queues and their consumers come and go; unchanged
functions keep their warm instances; a broken edit leaves the previous version serving with
one line saying why."""

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from support import PROJECT_ROOT, eventually

TEMPLATE = PROJECT_ROOT / "tests" / "templates" / "hot-reload"

QUEUE_AND_CONSUMER = """
  Jobs:
    Type: AWS::SQS::Queue
  JobsFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.consume
      Events:
        FromJobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
"""

SECOND_ROUTE_FUNCTION = """
  GreeterFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.hello
      Environment:
        Variables:
          GREETING: added
      Events:
        Added:
          Type: Api
          Properties:
            Path: /added
            Method: get
"""


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_template_edits_take_effect_on_the_next_request(local_env, start_local_up, tmp_path):
    app = tmp_path / "app"
    shutil.copytree(TEMPLATE, app)
    template = app / "template.yaml"
    original = template.read_text()
    run = start_local_up({**local_env, "LOCAL_TEMPLATE": str(template)}).wait_ready()
    url = f"http://127.0.0.1:{local_env['LOCAL_GATEWAY_PORT']}"

    status, first = get(f"{url}/hello")
    assert status == 200 and first["greeting"] == "hello"
    assert get(f"{url}/added")[0] == 403  # a REST API's answer to a path it has no route for

    # A new function with a new route, and a queue with its consumer: the very next request
    # is routed, with no wait in between, and the event runner polls the new queue.
    template.write_text(original + SECOND_ROUTE_FUNCTION + QUEUE_AND_CONSUMER)
    status, added = get(f"{url}/added")
    assert (status, added["greeting"]) == (200, "added"), run.tail()
    status, again = get(f"{url}/hello")
    assert status == 200 and again["instance"] == first["instance"], "an unchanged function's instance stays warm"
    sqs = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{local_env['LOCAL_AWS_PORT']}", region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    queue_url = sqs.get_queue_url(QueueName="local-Jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="job-1")
    assert eventually(lambda: any("consumed job-1" in line for line in run.lines), within=30), run.tail()

    # A changed environment variable: that function's instances are replaced, with the new value.
    template.write_text(original.replace("GREETING: hello", "GREETING: changed") + SECOND_ROUTE_FUNCTION
                        + QUEUE_AND_CONSUMER)
    status, changed = get(f"{url}/hello")
    assert status == 200 and changed["greeting"] == "changed" and changed["instance"] != first["instance"]

    # A broken edit: one line naming the problem, and the previous version goes on serving.
    template.write_text(original + "  Broken: [\n")
    status, kept = get(f"{url}/hello")
    assert status == 200 and kept["greeting"] == "changed" and get(f"{url}/added")[0] == 200
    refusals = [line for line in run.lines if "still serving the version before this edit" in line]
    assert len(refusals) == 1 and "template.yaml" in refusals[0], run.tail()

    # Functions and routes taken away go; the consumer of a removed source stops.
    template.write_text(original)
    assert get(f"{url}/added")[0] == 403
    status, back = get(f"{url}/hello")
    assert status == 200 and back["greeting"] == "hello"
    assert eventually(lambda: not [s for s in _sources(run) if s["function"] == "JobsFunction"], within=15), \
        run.tail()
    reloads = [line for line in run.lines if "reloaded in" in line]
    assert len(reloads) == 3 and "+GreeterFunction, +JobsFunction" in reloads[0], run.tail()


def test_an_edit_nobody_requests_is_applied_too(local_env, start_local_up, tmp_path):
    """The watcher thread: the event runner starts consuming a queue added by an edit that
    no request to the gateway follows."""
    app = tmp_path / "app"
    shutil.copytree(TEMPLATE, app)
    template = app / "template.yaml"
    run = start_local_up({**local_env, "LOCAL_TEMPLATE": str(template)}).wait_ready()
    template.write_text(template.read_text() + QUEUE_AND_CONSUMER)
    assert eventually(lambda: any("reloaded in" in line for line in run.lines), within=15), run.tail()
    sqs = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{local_env['LOCAL_AWS_PORT']}", region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="local-Jobs")["QueueUrl"], MessageBody="job-2")
    assert eventually(lambda: any("consumed job-2" in line for line in run.lines), within=30), run.tail()


def _sources(run) -> list[dict]:
    try:
        return json.loads((Path(run.state_dir) / "events" / "sources.json").read_text())["sources"]
    except (FileNotFoundError, ValueError):
        return []
