"""`python -m local up` end to end: what a user runs, checked from the outside."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import boto3
import psutil
import psycopg2
import pytest
from support import eventually
from support.ports import free_port

from local.supervisor import RESTART_LIMIT


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.loads(response.read())


def url_in(run, label: str) -> str:
    line = next(line for line in run.lines if line.strip().startswith(label))
    return line.split()[-1] if label == "Postgres" else line.split()[2]


def database_url(run) -> str:
    return url_in(run, "Postgres")


def gateway_url(run) -> str:
    return url_in(run, "API")


def admin_key(run) -> str:
    return next(line.split()[3] for line in run.lines if "admin API key" in line)


def test_up_serves_health_and_stops_everything_on_sigint(local_env, start_local_up):
    run = start_local_up(local_env).wait_ready()
    status, body = get_json(gateway_url(run) + "/health")
    assert status == 200
    assert body == {"status": "ok", "version": "0.1.0", "stage": "local"}
    client = boto3.client("lambda", endpoint_url=url_in(run, "Lambda API"), region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    response = client.invoke(FunctionName="HealthFunction", Payload=b"{}")
    assert json.loads(json.loads(response["Payload"].read())["body"])["status"] == "ok"
    invoked = subprocess.run([sys.executable, "-m", "local", "invoke", "HealthFunction"], env=local_env,
                             capture_output=True, text=True, timeout=60)
    assert invoked.returncode == 0 and "note: no `local up` is running" not in invoked.stderr
    assert "[HealthFunction] REPORT" in run.output  # the stack's console shows its invocations
    assert admin_key(run).startswith("rk_")
    pids = run.service_pids()
    assert set(pids) == {"postgres", "redis", "aws"}

    run.signal(signal.SIGINT)
    assert run.wait_exit() == 0
    assert not [pid for pid in pids.values() if psutil.pid_exists(pid)], run.output
    assert not list((run.state_dir / "run").glob("*.pid"))


def test_sigterm_also_stops_cleanly(local_env, start_local_up):
    run = start_local_up(local_env).wait_ready()
    pids = run.service_pids()
    run.signal(signal.SIGTERM)
    assert run.wait_exit() == 0
    assert not [pid for pid in pids.values() if psutil.pid_exists(pid)]


def test_rows_and_admin_key_survive_a_restart(local_env, start_local_up):
    first = start_local_up(local_env).wait_ready()
    with psycopg2.connect(database_url(first)) as connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO products (name, unit) VALUES ('Flour', 'g')")
    key = admin_key(first)
    first.signal(signal.SIGINT)
    assert first.wait_exit() == 0

    second = start_local_up(local_env).wait_ready()
    assert "migrations     up to date" in second.output
    assert admin_key(second) == key
    with psycopg2.connect(database_url(second)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT name, unit FROM products")
        assert cursor.fetchall() == [("Flour", "g")]
    assert get_json(gateway_url(second) + "/health")[0] == 200


def test_servers_left_by_a_killed_run_are_stopped_not_duplicated(local_env, start_local_up):
    first = start_local_up(local_env).wait_ready()
    stale = first.service_pids()
    first.process.kill()  # SIGKILL: no chance to clean up; the servers keep running
    first.wait_exit()
    assert all(psutil.pid_exists(pid) for pid in stale.values())

    second = start_local_up(local_env).wait_ready()
    for name, pid in stale.items():
        assert f"stopped {name} (pid {pid}) left running by an earlier run" in second.output
        assert not psutil.pid_exists(pid)
    assert get_json(gateway_url(second) + "/health")[0] == 200
    assert len(second.service_pids()) == 3 and _pid_of(second, "events")


def test_a_second_up_on_the_same_state_is_refused(local_env, start_local_up):
    first = start_local_up(local_env).wait_ready()
    other_ports = {**local_env, **{k: str(free_port()) for k in local_env if k.endswith("_PORT")}}
    second = start_local_up(other_ports)
    assert second.wait_exit() == 2
    assert f"another `python -m local up` (pid {first.process.pid})" in second.output
    assert get_json(gateway_url(first) + "/health")[0] == 200


def test_a_taken_port_is_named_with_the_variable_that_changes_it(local_env, start_local_up):
    port = int(local_env["LOCAL_GATEWAY_PORT"])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        run = start_local_up(local_env)
        assert run.wait_exit() == 2
    assert run.lines == [f"error: port {port} (API gateway) is already in use on 127.0.0.1; "
                         "set LOCAL_GATEWAY_PORT to another port"]
    assert not list((run.state_dir / "run").glob("*.pid"))


@pytest.mark.parametrize("variable, value, expected", [
    ("DATABASE_URL", "mysql://user@localhost/db", "DATABASE_URL is malformed: it must start with postgres:// or postgresql://"),
    ("DATABASE_URL", "postgresql://user:secret@localhost:notaport/db", "DATABASE_URL is malformed: the port is not a number"),
    ("REDIS_URL", "localhost:6379", "REDIS_URL is malformed: it must start with redis://"),
    ("AWS_ENDPOINT_URL", "http://", "AWS_ENDPOINT_URL is malformed: it names no host"),
    ("LOCAL_REDIS_PORT", "70000", "LOCAL_REDIS_PORT='70000' is not a port number"),
])
def test_malformed_variables_give_one_line_and_no_traceback(local_env, start_local_up, variable, value, expected):
    run = start_local_up({**local_env, variable: value})
    assert run.wait_exit() == 2
    assert len(run.lines) == 1 and run.lines[0].startswith(f"error: {expected}"), run.output
    assert "secret" not in run.output  # a password in a URL is never printed


def test_unreachable_external_postgres_is_reported_within_ten_seconds(local_env, start_local_up):
    port = free_port()  # nothing listens there
    began = time.monotonic()
    run = start_local_up({**local_env, "DATABASE_URL": f"postgresql://app:pw@127.0.0.1:{port}/recipes"})
    assert run.wait_exit() == 2
    assert time.monotonic() - began < 15  # 10 s of trying, plus the interpreter's start
    line = run.lines[-1]
    assert line.startswith(f"error: Postgres at 127.0.0.1:{port} (DATABASE_URL=postgresql://app:***@127.0.0.1:{port}/recipes) is unreachable: tried for")
    assert "Traceback" not in run.output
    # The embedded services it had started meanwhile were stopped again.
    assert not list((run.state_dir / "run").glob("*.pid"))


def test_external_services_are_used_instead_of_embedded_ones(local_env, start_local_up, postgres_url, redis_url, aws_url):
    env = {**local_env, "DATABASE_URL": postgres_url, "REDIS_URL": redis_url, "AWS_ENDPOINT_URL": aws_url}
    run = start_local_up(env).wait_ready()
    assert "embedded: none" in run.output
    assert run.service_pids() == {}  # only the event runner, which is no server
    assert psutil.pid_exists(_pid_of(run, "events"))
    assert get_json(gateway_url(run) + "/health")[0] == 200


def test_broken_template_names_the_file_and_the_problem(local_env, start_local_up, tmp_path):
    template = tmp_path / "template.yaml"
    template.write_text("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: [unclosed\n")
    run = start_local_up({**local_env, "LOCAL_TEMPLATE": str(template)})
    assert run.wait_exit() == 2
    assert run.lines[0].startswith(f"error: {template}: invalid YAML:")
    assert "line 5" in run.lines[0] or "line 4" in run.lines[0]
    assert not (run.state_dir / "run").exists()  # refused before anything started


def _pid_of(run, name: str) -> int | None:
    try:
        return json.loads((run.state_dir / "run" / f"{name}.pid").read_text())["pid"]
    except (FileNotFoundError, ValueError):
        return None


def _wait_for_new_pid(run, name: str, old: int, timeout: float = 30) -> int:
    def back() -> int | None:
        pid = _pid_of(run, name)
        return pid if pid not in (None, old) and f"ok  {name} back (pid {pid})" in run.output else None

    pid = eventually(back, within=timeout, every=0.1)
    assert pid, f"{name} was not started again:\n{run.output}"
    return pid


def test_a_server_or_the_event_runner_that_dies_is_started_again(local_env, start_local_up):
    run = start_local_up(local_env).wait_ready()
    for name in ("redis", "events"):
        old = _pid_of(run, name)
        os.kill(old, signal.SIGKILL)
        new = _wait_for_new_pid(run, name, old)
        assert f"{name} (pid {old}) exited with code -9; starting it again" in run.output
        assert psutil.pid_exists(new) and not psutil.pid_exists(old)
    assert get_json(gateway_url(run) + "/health")[0] == 200
    assert run.process.poll() is None


def test_a_server_that_keeps_dying_stops_the_stack_with_its_name(local_env, start_local_up):
    run = start_local_up(local_env).wait_ready()
    pid = _pid_of(run, "redis")
    for _ in range(RESTART_LIMIT):
        os.kill(pid, signal.SIGKILL)
        pid = _wait_for_new_pid(run, "redis", pid)
    pids = run.service_pids()
    os.kill(pid, signal.SIGKILL)
    assert run.wait_exit() == 1
    assert f"error: redis (pid {pid}) exited with code -9, {RESTART_LIMIT + 1} times within 60 s" in run.output
    assert not [p for p in pids.values() if psutil.pid_exists(p)]


def test_dead_letters_and_what_was_written_at_run_time_survive_an_emulator_kill_and_a_restart(
        local_env, start_local_up):
    """The AWS emulator's state is kept under .local/aws/ (local/services/aws/state.py), as
    Postgres keeps its rows: a SIGKILL of it, then a stop and start of the whole stack."""
    run = start_local_up(local_env).wait_ready()

    def clients(run):
        return [boto3.client(name, endpoint_url=url_in(run, "AWS endpoint"), region_name="us-east-1",
                             aws_access_key_id="test", aws_secret_access_key="test") for name in ("sqs", "ssm", "s3")]

    def written(run) -> tuple:
        sqs, ssm, s3 = clients(run)
        dlq = sqs.get_queue_url(QueueName="recipes-local-audit-dlq")["QueueUrl"]
        dead = sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0, MaxNumberOfMessages=10).get("Messages", [])
        limit = ssm.get_parameter(Name="/recipes/local/rate-limit/writes-per-minute")["Parameter"]
        bucket = s3.list_buckets()["Buckets"][0]["Name"]
        return ([m["Body"] for m in dead], (limit["Value"], limit["Version"]),
                s3.get_object(Bucket=bucket, Key="notes/kept.txt")["Body"].read())

    sqs, ssm, s3 = clients(run)
    dlq = sqs.get_queue_url(QueueName="recipes-local-audit-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody='{"dead": "letter"}')
    ssm.put_parameter(Name="/recipes/local/rate-limit/writes-per-minute", Value="77", Type="String", Overwrite=True)
    s3.put_object(Bucket=s3.list_buckets()["Buckets"][0]["Name"], Key="notes/kept.txt", Body=b"kept")
    expected = written(run)
    assert expected[0] == ['{"dead": "letter"}'] and expected[1][0] == "77"

    old = _pid_of(run, "aws")
    os.kill(old, signal.SIGKILL)
    _wait_for_new_pid(run, "aws", old)
    assert written(run) == expected
    # 4 queues of the template's, and Lambda's asynchronous queue for each of its 24 functions
    assert "aws state: state restored: events, s3, sns, sqs, ssm; 28 queues holding 1 message, 1 S3 key (" \
        in run.output
    assert "AWS resources provisioned again (0 created" in run.output
    run.signal(signal.SIGINT)
    assert run.wait_exit() == 0

    again = start_local_up(local_env).wait_ready()
    assert written(again) == expected
