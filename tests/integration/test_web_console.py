"""The live console at /_local/: its state API (every route of every API and function URL,
the invocations of every process, each source's deliveries), and the page in headless
Chromium: an invocation made during the test shows up with its log; the replay button sends
its event again and "edit and replay" an edited one (clicked through the DevTools protocol,
tests/support/cdp.py); the two actions refuse requests another site could make."""

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from support import PROJECT_ROOT, eventually
from support.cdp import Browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def why_no_chromium() -> str:
    """`make test` installs Debian's chromium where it can (the Makefile); why it could not."""
    if not Path("/etc/debian_version").exists():
        return "no Chromium, and this is not Debian, where `make test` would install it: install Chromium"
    if os.geteuid() != 0:
        return "no Chromium, and `make test` installs it only as root: sudo apt-get install chromium"
    return "no Chromium: `make test` tried apt-get install chromium and it failed (see its output above)"


def gateway_url(run) -> str:
    return next(line.split()[2] for line in run.lines if line.strip().startswith("API gateway"))


def test_the_state_api_lists_functions_invocations_queues_and_masked_configuration(local_env, start_local_up):
    run = start_local_up(local_env).wait_ready()
    url = gateway_url(run)
    urllib.request.urlopen(f"{url}/health", timeout=10).read()
    state = json.loads(urllib.request.urlopen(f"{url}/_local/api/state", timeout=10).read())
    assert any(f["name"] == "HealthFunction" and f["routes"] == ["GET /health"] for f in state["functions"])
    # The newest of every process's: the event runner's scheduled functions may have run since.
    health = next(call for call in state["invocations"] if call["function"] == "HealthFunction")
    assert health["cold"] is True and health["process"] == "up"
    assert any(line.startswith("REPORT RequestId:") for line in health["log"])
    audit = next(q for q in state["queues"] if q["name"] == "recipes-local-audit")
    assert audit["dead_letters_to"] == "recipes-local-audit-dlq" and audit["waiting"] == 0
    by_leaf = {name.split("/", 3)[-1]: value for name, value in state["configuration"].items()}
    assert by_leaf["secrets/token-signing-key"] == "****"
    assert by_leaf["cache/ttl-seconds"] == "60"
    # Every event source with the event runner's state of it (local/events/deliveries.py).
    sources = {(s["function"], s["id"]): s for s in state["sources"]}
    assert sources[("AuditFunction", "sqs:recipes-local-audit")]["state"] == "Enabled"
    assert sources[("RecipeImageCheckFunction", "s3:recipes-local-uploads-123456789012")]["type"] == "S3"
    assert sources[("OutboxRelayFunction", "rule:recipes-local-OutboxRelayFunctionRelay")]["type"] == "Schedule"


@pytest.mark.skipif(CHROMIUM is None, reason=why_no_chromium())
def test_an_invocation_appears_on_the_page(local_env, start_local_up, tmp_path):
    run = start_local_up(local_env).wait_ready()
    url = gateway_url(run)
    client = boto3.client("lambda", endpoint_url=url.replace(local_env["LOCAL_GATEWAY_PORT"],
                                                             local_env["LOCAL_LAMBDA_PORT"]),
                          region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    answer = client.invoke(FunctionName="HealthFunction", Payload=b"{}")
    request_id = answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    page = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=5000", "--dump-dom", f"{url}/_local/"],
        capture_output=True, text=True, timeout=90)
    assert page.returncode == 0, page.stderr[-2000:]
    assert f'data-request-id="{request_id}"' in page.stdout
    assert "HealthFunction" in page.stdout and f"START RequestId: {request_id}" in page.stdout
    assert "SQS sqs:recipes-local-audit" in page.stdout  # the event sources' table


CONSOLE_TEMPLATE = PROJECT_ROOT / "tests" / "templates" / "console" / "template.yaml"
ACTION = {"Content-Type": "application/json", "X-Local-Console": "1"}


def console_stack(local_env, start_local_up) -> str:
    run = start_local_up({**local_env, "LOCAL_TEMPLATE": str(CONSOLE_TEMPLATE)}).wait_ready()
    return gateway_url(run)


def get_json(url: str):
    return json.loads(urllib.request.urlopen(url, timeout=10).read())


def post(url: str, body: bytes, headers: dict) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def invocations_of(url: str, function: str) -> list[dict]:
    return [call for call in get_json(f"{url}/_local/api/state")["invocations"] if call["function"] == function]


def test_every_route_every_process_s_invocations_and_each_source_s_deliveries(local_env, start_local_up):
    url = console_stack(local_env, start_local_up)
    state = get_json(f"{url}/_local/api/state")
    routes = {(api["type"], route["method"], route["path"]): route["function"]
              for api in state["apis"] for route in api["routes"]}
    assert routes == {("REST", "POST", "/echo"): "EchoFunction", ("HTTP", "GET", "/items/{id}"): "ItemFunction"}
    [hook] = state["function_urls"]
    assert hook["function"] == "HookFunction" and hook["auth_type"] == "NONE"
    assert urllib.request.urlopen(hook["url"], timeout=10).read() == b"hooked"  # where it is served

    sqs = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{local_env['LOCAL_AWS_PORT']}", region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="local-Jobs")["QueueUrl"], MessageBody="job-41")
    [consumed] = eventually(lambda: invocations_of(url, "JobsFunction"), within=30)
    assert consumed["process"] == "events" and any(line.endswith("consumed job-41") for line in consumed["log"])
    whole = get_json(f"{url}/_local/api/invocation?function=JobsFunction&request_id={consumed['request_id']}")
    assert whole["event"]["Records"][0]["body"] == "job-41"
    source = eventually(lambda: next((s for s in get_json(f"{url}/_local/api/state")["sources"]
                                      if s["function"] == "JobsFunction" and s["last"]), None), within=10)
    assert source["id"] == "sqs:local-Jobs" and source["last"][0]["outcome"] == "ok"


def test_the_actions_refuse_what_another_site_could_send(local_env, start_local_up):
    url = console_stack(local_env, start_local_up)
    post(f"{url}/echo", b"once", {})
    [echo] = invocations_of(url, "EchoFunction")
    body = json.dumps({"function": "EchoFunction", "request_id": echo["request_id"]}).encode()
    # A form's POST, a fetch without the header, a page of another origin: none runs anything.
    for headers in ({"Content-Type": "application/x-www-form-urlencoded"}, {"Content-Type": "application/json"},
                    {**ACTION, "Origin": "http://elsewhere.example"}):
        status, answer = post(f"{url}/_local/api/replay", body, headers)
        assert status == 403 and "no other site" in answer["message"], (headers, answer)
    assert len(invocations_of(url, "EchoFunction")) == 1
    status, answer = post(f"{url}/_local/api/replay", body, ACTION)
    assert status == 200 and answer["replay_of"] == echo["request_id"]


@pytest.mark.skipif(CHROMIUM is None, reason=why_no_chromium())
def test_replay_and_edit_and_replay_from_the_page(local_env, start_local_up, tmp_path):
    url = console_stack(local_env, start_local_up)
    post(f"{url}/echo", b"first words", {})
    [first] = invocations_of(url, "EchoFunction")
    with Browser(CHROMIUM, tmp_path / "profile") as browser:
        page = browser.open(f"{url}/_local/")
        row = f'document.querySelector(`tr[data-request-id="{first["request_id"]}"]`)'
        page.wait_for(f"{row} !== null")
        page.evaluate(f'{row}.querySelector("button.open").click()')
        page.wait_for('document.getElementById("inspect-event").textContent.includes("first words")')

        page.evaluate('document.getElementById("replay").click()')
        result = 'document.querySelector("#action-result p[data-request-id]")?.dataset.requestId'
        replayed = page.wait_for(result)
        page.wait_for(f'document.querySelector(`tr[data-request-id="{replayed}"]`) !== null')  # listed
        again = get_json(f"{url}/_local/api/invocation?function=EchoFunction&request_id={replayed}")
        assert replayed != first["request_id"] and again["event"]["body"] == "first words"

        page.evaluate('document.getElementById("edit").click()')
        page.evaluate("""(() => {
            const area = document.getElementById("edit-event");
            const event = JSON.parse(area.value);
            event.body = "edited words";
            area.value = JSON.stringify(event);
            document.getElementById("send").click();
        })()""")
        edited = page.wait_for(f"(id => id !== {json.dumps(replayed)} && id)({result})")
        assert "edited words" in page.evaluate('document.querySelector("#action-result pre").textContent')
        page.wait_for(f'document.querySelector(`tr[data-request-id="{edited}"]`) !== null')
    kept = get_json(f"{url}/_local/api/invocation?function=EchoFunction&request_id={edited}")
    assert kept["event"]["body"] == "edited words" and json.loads(kept["payload"]["body"]) == {"echo": "edited words"}


def test_a_template_reload_shows_its_routes_and_function_urls(local_env, start_local_up, tmp_path):
    shutil.copytree(CONSOLE_TEMPLATE.parent, tmp_path / "app")
    template = tmp_path / "app" / "template.yaml"
    run = start_local_up({**local_env, "LOCAL_TEMPLATE": str(template)}).wait_ready()
    url = gateway_url(run)
    # The hook's URL goes; a new function comes with a URL and a route.
    template.write_text(template.read_text().replace("      FunctionUrlConfig:\n        AuthType: NONE\n", "") + """
  LateFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.hook
      FunctionUrlConfig:
        AuthType: AWS_IAM
      Events:
        Late:
          Type: Api
          Properties:
            Path: /late
            Method: get
""")

    def reloaded():
        state = get_json(f"{url}/_local/api/state")
        urls = state["function_urls"]
        return state if [u["function"] for u in urls] == ["LateFunction"] and urls[0]["url"] else None

    state = eventually(reloaded, within=30)
    assert state, get_json(f"{url}/_local/api/state")["function_urls"]
    assert state["function_urls"][0]["auth_type"] == "AWS_IAM"
    assert ("GET", "/late", "LateFunction") in {(r["method"], r["path"], r["function"])
                                                for api in state["apis"] for r in api["routes"]}
