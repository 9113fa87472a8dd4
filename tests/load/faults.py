"""The faults injected during the load, each measured until the service is back.

They go through what `local up` publishes about its processes: a pid file per managed
process, `<state>/run/<name>.pid` = {"pid", "create_time", "argv"}, for postgres, redis, aws
and events (the event source runner). `local up` supervises them: one that exits is started
again, with a new pid file, on the same port and data. A function instance is a process
running local/runtime/worker.py anywhere below `local up`.

Each fault only signals a process whose pid and start time match the record (a pid alone
may have been reused), and returns how long the service took to answer again.
"""

import datetime
import json
import signal
import time
import uuid
from dataclasses import dataclass

import psutil
import psycopg2
import redis
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from local.services.aws.launcher import EmbeddedAws
from local.services.postgres import EmbeddedPostgres
from local.services.redis import EmbeddedRedis

from .converge import QUEUES

BACK_WITHIN_S = 60.0
TOPIC_SUFFIX = ":recipes-local-events"


@dataclass
class FaultResult:
    # A fault function names what it did ("postgres: SIGINT pid 123"); inject() then names the
    # result after the plan and moves that to the detail.
    name: str
    recovered_s: float | None  # None: not back within BACK_WITHIN_S
    detail: str = ""
    at: str = ""  # when it was injected, UTC, to set against the times of what went wrong

    def line(self) -> str:
        took = f"back in {self.recovered_s:.2f} s" if self.recovered_s is not None else "NOT BACK"
        return f"{self.name}: {took}{'; ' + self.detail if self.detail else ''}"


class FaultFailed(Exception):
    pass


def _signal_recorded(stack, name: str, signum: int):
    record = stack.pidfile(name)
    if record is None:
        raise FaultFailed(f"no pid file for {name} in {stack.run_dir}")
    process = psutil.Process(record.pid)
    if abs(process.create_time() - record.create_time) > 0.01:
        raise FaultFailed(f"pid {record.pid} is no longer {name}")
    process.send_signal(signum)
    return record


def _until(probe, began: float, limit_s: float = BACK_WITHIN_S) -> float | None:
    while time.monotonic() - began < limit_s:
        try:
            if probe():
                return time.monotonic() - began
        except Exception:
            pass  # not back yet
        time.sleep(0.05)
    return None


def _restarted(stack, name: str, old_pid: int) -> bool:
    record = stack.pidfile(name)
    return record is not None and record.pid != old_pid and psutil.pid_exists(record.pid)


def _postgres_answers(stack) -> bool:
    connection = psycopg2.connect(stack.database_url, connect_timeout=1)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return True
    finally:
        connection.close()


def _redis_answers(stack) -> bool:
    client = redis.Redis.from_url(stack.redis_url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    finally:
        client.close()


def _aws_provisioned(stack) -> bool:
    """Answering is not enough: it is back once it has its resources again, i.e. the topic
    has its subscriptions and the bucket exists (restored with its state, and provisioned
    again by `local up`: see infra/provision.py)."""
    config = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1})
    sns = stack.aws("sns", config)
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(TOPIC_SUFFIX))
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    subscribed = {subscription["Endpoint"].rsplit(":", 1)[1] for subscription in subscriptions}
    return subscribed >= set(QUEUES) and bool(stack.aws("s3", config).list_buckets()["Buckets"])


class EventProbe:
    """A write through the API whose event must reach the audit consumer: proof that events
    flow end to end again, whether or not the load is still writing."""

    def __init__(self, stack):
        self.stack = stack
        self.product_id = None
        self.session = requests.Session()
        self.session.headers["x-api-key"] = stack.admin_key

    def __call__(self) -> bool:
        if self.product_id is None:
            answer = self.session.post(f"{self.stack.gateway_url}/products", timeout=10,
                                       json={"name": f"Fault probe {uuid.uuid4().hex[:12]}", "unit": "g"})
            if answer.status_code != 201:
                return False
            self.product_id = answer.json()["id"]
        connection = psycopg2.connect(self.stack.database_url, connect_timeout=1)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM audit_log WHERE type = 'product.created' AND subject = %s",
                               (str(self.product_id),))
                return cursor.fetchone() is not None
        finally:
            connection.close()


def restart_service(stack, name: str, signum: int, answers) -> FaultResult:
    began = time.monotonic()
    old = _signal_recorded(stack, name, signum)
    took = _until(lambda: _restarted(stack, name, old.pid) and answers(stack), began)
    new = stack.pidfile(name)
    return FaultResult(f"{name}: {signal.Signals(signum).name} pid {old.pid}", took,
                       f"new pid {new.pid}" if new and new.pid != old.pid else "no new process")


def restart_postgres(stack) -> FaultResult:
    # Postgres's own stop signal, SIGINT (fast shutdown). Its SIGTERM is a "smart" shutdown that
    # waits for every client to disconnect, and warm function instances keep theirs open.
    return restart_service(stack, "postgres", EmbeddedPostgres.stop_signal, _postgres_answers)


def restart_redis(stack) -> FaultResult:
    return restart_service(stack, "redis", EmbeddedRedis.stop_signal, _redis_answers)


def restart_aws(stack) -> FaultResult:
    # The emulator comes back with its state (local/services/aws/state.py), the rate limits
    # the run raised included.
    return restart_service(stack, "aws", EmbeddedAws.stop_signal, _aws_provisioned)


def _audit_instances(stack) -> list[psutil.Process]:
    """Instances of the audit consumer (functions/audit), anywhere below `local up`."""
    found = []
    for process in psutil.Process(stack.pid).children(recursive=True):
        try:
            argv = process.cmdline()
            if any(arg.endswith("worker.py") for arg in argv) and json.loads(argv[-1])["code_dir"].endswith("/audit"):
                found.append(process)
        except (psutil.Error, ValueError, KeyError, IndexError):
            continue
    return found


def kill_audit_instance(stack) -> FaultResult:
    """SIGKILL an instance of the audit consumer, likely mid-batch under the load: that batch
    must come back after the visibility timeout and be recorded once. (An instance of an API
    function killed mid-request answers its client 502, as Lambda does, which this run counts
    as an unexpected answer.) Back when an event written after the kill has been audited."""
    victims = _audit_instances(stack)
    if not victims:
        raise FaultFailed("no instance of functions/audit is running")
    began = time.monotonic()
    victims[0].send_signal(signal.SIGKILL)
    took = _until(EventProbe(stack), began)
    return FaultResult(f"functions/audit instance: SIGKILL pid {victims[0].pid}", took,
                       f"{len(victims)} instance(s) before")


def kill_event_runner(stack) -> FaultResult:
    """SIGKILL the event source runner; back when it runs again and an event written after the
    kill has been audited."""
    began = time.monotonic()
    old = _signal_recorded(stack, "events", signal.SIGKILL)
    probe = EventProbe(stack)
    took = _until(lambda: _restarted(stack, "events", old.pid) and probe(), began)
    new = stack.pidfile("events")
    return FaultResult(f"events: SIGKILL pid {old.pid}", took,
                       f"new pid {new.pid}" if new and new.pid != old.pid else "no new process")


# The faults, in the order they are injected.
PLAN = [
    ("restart Postgres", restart_postgres),
    ("stop and start Redis", restart_redis),
    ("stop and start the AWS emulator", restart_aws),
    ("SIGKILL a function instance", kill_audit_instance),
    ("SIGKILL the event runner", kill_event_runner),
]


def inject(stack, name: str, fault) -> FaultResult:
    """One fault, its result named `name`; a fault that cannot be injected, or a stack that
    died of it, is a result too."""
    at = datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
    try:
        result = fault(stack)
        result.name, result.detail = name, f"{result.name}, {result.detail}"
    except (FaultFailed, psutil.Error, OSError, BotoCoreError, ClientError, requests.RequestException) as error:
        result = FaultResult(name, None, f"could not inject: {error}")
    result.at = at
    if not stack.alive:
        result.recovered_s = None
        result.detail += f"; `local up` exited with {stack.up.process.returncode}"
    return result
