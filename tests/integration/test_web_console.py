"""The live console at /_local/, in headless Chromium: an invocation made during the test
shows up on the page, with its log."""

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import boto3
import pytest

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
    assert state["invocations"][0]["function"] == "HealthFunction" and state["invocations"][0]["cold"] is True
    assert any(line.startswith("REPORT RequestId:") for line in state["invocations"][0]["log"])
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
