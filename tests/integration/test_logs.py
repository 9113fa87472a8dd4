"""`python -m local logs` reads what every process ran: the gateway's invocations in `up` and
the event runner's, by logical id or FunctionName, filtered, since a time, and followed."""

import shutil
import subprocess
import sys
import time
import urllib.request

import boto3
from support import PROJECT_ROOT, eventually

TEMPLATE = PROJECT_ROOT / "tests" / "templates" / "logs"


def logs(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "local", "logs", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_logs_of_any_function_from_any_process(local_env, start_local_up, tmp_path):
    shutil.copytree(TEMPLATE, tmp_path / "app")
    env = {**local_env, "LOCAL_TEMPLATE": str(tmp_path / "app" / "template.yaml")}
    start_local_up(env).wait_ready()
    gateway = f"http://127.0.0.1:{env['LOCAL_GATEWAY_PORT']}"
    urllib.request.urlopen(f"{gateway}/hello?who=ada", timeout=10).read()
    urllib.request.urlopen(f"{gateway}/hello?who=bob", timeout=10).read()

    shown = logs(env, "HelloFunction")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert any(line.endswith("plain line for ada") for line in lines)
    # Powertools' JSON made readable: level, message, location, the extra keys; not the JSON.
    assert any("INFO     greeted ada  (hello:9)  who=ada" in line for line in lines), shown.stdout
    assert not any('"level"' in line for line in lines)
    assert sum(line.split(" ", 1)[1].startswith("REPORT RequestId:") for line in lines) == 2
    assert logs(env, "hello-fn").stdout == shown.stdout  # by FunctionName too

    filtered = logs(env, "HelloFunction", "--filter", "bob").stdout.splitlines()
    assert filtered and all("bob" in line for line in filtered) and not any("ada" in line for line in filtered)
    assert logs(env, "HelloFunction", "--since", "2099-01-01T00:00:00").stdout == ""
    assert "plain line for ada" in logs(env, "HelloFunction", "--since", "5m").stdout
    unknown = logs(env, "NoSuchFunction")
    assert unknown.returncode == 2 and "no function named 'NoSuchFunction'" in unknown.stderr

    # --tail: a line written after it started shows, from the event runner's process.
    follower = subprocess.Popen([sys.executable, "-m", "local", "logs", "JobsFunction", "--tail"], cwd=PROJECT_ROOT,
                                env=env, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1)  # following before the message is sent
        sqs = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{env['LOCAL_AWS_PORT']}", region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="local-Jobs")["QueueUrl"], MessageBody="job-7")
        seen = []
        assert eventually(lambda: seen.append(follower.stdout.readline()) or "consumed job-7" in seen[-1],
                          within=30), seen
    finally:
        follower.terminate()
        follower.wait(10)
    everything = logs(env).stdout  # no NAME: every function, each line with its name
    assert " JobsFunction consumed job-7" in everything and " HelloFunction plain line for bob" in everything
