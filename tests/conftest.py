"""Shared fixtures: the embedded services, started once for the whole suite on free ports in
a temporary folder, through the same code `python -m local up` uses, and stopped at the end."""

import fcntl
import io
import os
import sys
import textwrap
import time
from pathlib import Path

import psycopg2
import pytest
import redis
from support import PROJECT_ROOT, run_folder, sam_build
from support.api import project_gateway
from support.local_up import LocalUp
from support.ports import free_port

from infra.aws import AwsClients
from infra.intrinsics import Resolver
from infra.provision import deployment_for, provision
from infra.template import load_template
from local.app.declaration import read_declaration
from local.app.model import ApiEvent, AppModel, FunctionSpec, LayerSpec
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime
from local.services.aws.async_queue import ensure_queues
from local.services.aws.launcher import EmbeddedAws
from local.services.postgres import EmbeddedPostgres
from local.services.redis import EmbeddedRedis
from ops.api_keys import create_api_key
from ops.migrate import migrate


def _serve(service_class, services_dir: Path):
    """Run one embedded service for the session; yields its URL, stops it by pid afterwards."""
    service = service_class(services_dir, free_port())
    process = service.process(services_dir / "run")
    process.start()
    try:
        process.wait_ready(service.ready, 30)
        yield service.url
    finally:
        process.stop()


@pytest.fixture(scope="session")
def services_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def postgres_url(services_dir):
    yield from _serve(EmbeddedPostgres, services_dir)


@pytest.fixture(scope="session")
def redis_url(services_dir):
    yield from _serve(EmbeddedRedis, services_dir)


@pytest.fixture(scope="session")
def aws_url(services_dir):
    yield from _serve(EmbeddedAws, services_dir)


@pytest.fixture(scope="session")
def create_database(postgres_url):
    """Makes empty databases of their own (for a test or a module), dropped at the end."""
    admin = psycopg2.connect(postgres_url)
    admin.autocommit = True
    made = []

    def create() -> str:
        name = f"t{os.getpid()}_{time.monotonic_ns()}"
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return postgres_url.rsplit("/", 1)[0] + f"/{name}"

    yield create
    with admin.cursor() as cursor:
        for name in made:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def fresh_database(create_database):
    return create_database()


@pytest.fixture
def migrated_database(fresh_database):
    migrate(fresh_database)
    return fresh_database


# -- `python -m local up` as a user runs it (support/local_up.py) -----------------------------

@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session):
    # The deploy-path tests wait on a minute of installing and building: begin it now. Every
    # xdist worker collects every test, and so begins it: the first builds, the others wait
    # on its lock for the outcome (support/sam_build.py).
    if any(item.path.name == "test_sam_build.py" for item in session.items) and sys.version_info[:2] == (3, 11):
        sam_build.start_in_background(run_folder(session.config) / "sam-build")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """Under pytest-xdist, a test marked `alone` runs with no other test beside it: the load
    run with faults keeps both cores busy by design, and a time-bounded test on the other
    worker (an event awaited within 20 s, say) would be starved. Each test holds a shared lock
    of the run's, an `alone` one holds it exclusively; a turnstile before it keeps the other
    worker from starting test after test and so holding it off for ever. Outermost, so the
    waiting is not counted by pytest-timeout."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
        return
    alone = item.get_closest_marker("alone") is not None
    folder = run_folder(item.config)
    with open(folder / "alone.turnstile", "a") as turnstile, open(folder / "alone.lock", "a") as machine:
        if alone:
            fcntl.flock(turnstile, fcntl.LOCK_EX)
            fcntl.flock(machine, fcntl.LOCK_EX)
        else:
            fcntl.flock(turnstile, fcntl.LOCK_SH)  # passes at once unless an `alone` test waits or runs
            fcntl.flock(turnstile, fcntl.LOCK_UN)
            fcntl.flock(machine, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(machine, fcntl.LOCK_UN)
            fcntl.flock(turnstile, fcntl.LOCK_UN)


def pytest_runtest_setup(item):
    LocalUp.started.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that fails while a `local up` it started is running shows that stack's output:
    the report is made before the fixtures stop the stack, and its temporary folder (logs
    included) goes with the test."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for run in LocalUp.started:
            report.sections.append((f"local up {run.state_dir}", run.tail()))


@pytest.fixture
def local_env(tmp_path) -> dict[str, str]:
    """Environment for a `local up` of its own: free ports, state in a temporary folder."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL")}
    env.update({
        "LOCAL_STATE_DIR": str(tmp_path / "state"),
        "LOCAL_GATEWAY_PORT": str(free_port()),
        "LOCAL_LAMBDA_PORT": str(free_port()),
        "LOCAL_POSTGRES_PORT": str(free_port()),
        "LOCAL_REDIS_PORT": str(free_port()),
        "LOCAL_AWS_PORT": str(free_port()),
    })
    return env


@pytest.fixture
def start_local_up():
    runs: list[LocalUp] = []

    def start(env: dict[str, str], *args: str) -> LocalUp:
        run = LocalUp(env, args)
        runs.append(run)
        return run

    yield start
    # The latest first: a run stopped earlier on the same state folder would otherwise take
    # the pid files of a later one's servers for its own leftovers and stop them under it.
    for run in reversed(runs):
        run.cleanup()


# -- functions written by a test, run by the real runtime -------------------------------------

SHARED_LAYER = LayerSpec(logical_id="SharedLayer", content_dir=PROJECT_ROOT / "layers" / "shared", build_method="python3.11")


@pytest.fixture
def make_function(tmp_path):
    """Writes app.py for a function into a folder of its own and returns its FunctionSpec."""

    def make(name: str, source: str, *, timeout: float = 3, routes=(), env=None, layers=(SHARED_LAYER,),
             memory_mb: int = 128, concurrency: int | None = None) -> FunctionSpec:
        code = tmp_path / name
        code.mkdir()
        (code / "app.py").write_text(textwrap.dedent(source))
        return FunctionSpec(
            logical_id=name, function_name=name, arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
            code_dir=code, handler="app.handler", runtime="python3.11", timeout=timeout, memory_mb=memory_mb,
            reserved_concurrency=concurrency, layers=list(layers), environment=env or {},
            api_events=[ApiEvent(name=f"Route{i}", path=path, method=method, api="Api")
                        for i, (path, method) in enumerate(routes)])

    return make


def model_of(*specs: FunctionSpec) -> AppModel:
    return AppModel(functions={spec.logical_id: spec for spec in specs}, layers={}, apis={}, queues={},
                    topics={}, subscriptions={}, parameters={})


@pytest.fixture
def runtime_of():
    """A Runtime over the given functions; its console log is kept in `runtime.console.stream`."""
    runtimes = []

    def make(*specs: FunctionSpec) -> Runtime:
        runtime = Runtime(model_of(*specs), "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()))
        runtimes.append(runtime)
        return runtime

    yield make
    for runtime in runtimes:
        runtime.stop()


# -- the project's own API, through the gateway, against a database of its own ---------------

@pytest.fixture(scope="module")
def api(create_database, redis_url, aws_url, tmp_path_factory):
    """A GatewayClient over template.yaml's functions with all their services: a migrated
    database of the module's own, the session's Redis (emptied) and AWS endpoint (provisioned)."""
    database_url = create_database()
    migrate(database_url)
    redis.Redis.from_url(redis_url).flushdb()
    path = PROJECT_ROOT / "template.yaml"
    template = load_template(path)
    clients = AwsClients(aws_url, "us-east-1")
    deployment = deployment_for(clients, "recipes-local")
    resolver = Resolver(template, deployment, path)
    provision(template, resolver, clients, tmp_path_factory.mktemp("secrets") / "secrets.json",
              read_declaration(path, template).secure_parameters)
    for kind in ("reads", "writes"):  # tests make many calls; the rate-limit tests lower these
        clients.ssm.put_parameter(Name=f"/recipes/local/rate-limit/{kind}-per-minute", Value="100000",
                                  Type="String", Overwrite=True)
    connection = psycopg2.connect(database_url)
    admin_key = create_api_key(connection, "test admin", ["admin"])
    connection.close()
    services = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "AWS_ENDPOINT_URL": aws_url,
                "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "CONFIG_TTL_SECONDS": "0.2"}  # configuration changes show up quickly in tests
    client = project_gateway(template, resolver, services, deployment.account_id, admin_key)
    # Lambda's queue of asynchronous invocations for each function, as `local up` makes them.
    ensure_queues(clients.sqs, {spec.function_name: spec.timeout for spec in client.gateway.model.functions.values()})
    client.database_url, client.redis_url, client.aws_url = database_url, redis_url, aws_url
    client.admin_key, client.ssm = admin_key, clients.ssm
    client.template, client.resolver, client.services = template, resolver, services
    yield client
    client.runtime.stop()
