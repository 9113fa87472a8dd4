"""The whole local stack: embedded (or external) services, schema, AWS resources, gateway,
and the event runner.

`Stack.start()` does everything `python -m local up` promises, in an order where nothing
is started before every check that could refuse has passed; `Stack.supervise()` starts
again a server or the event runner that exited (as a container runtime's restart policy
would), and gives up on one that keeps dying; `Stack.stop()` stops what this Stack
started, by process id, in reverse order.
"""

import fcntl
import os
import time
from dataclasses import dataclass

import psycopg2

from infra.api_keys import create_api_key, key_is_active
from infra.migrate import migrate
from infra.provision import AwsClients, deployment_for, provision
from infra.template import load_template

from local import settings as names
from local.errors import LocalError
from local.events.runner import EventRunner
from local.gateway.gateway import Gateway
from local.http.server import HttpServer
from local.runtime.invoke_api import LambdaInvokeApi
from local.services.procs import ManagedProcess, ensure_port_free, stop_stale
from local.app.project import Services, forget_services, load_app, record_services
from local.runtime.runtime import Runtime
from local.gateway.console import WebConsole
from local.services import external
from local.services.aws.launcher import EmbeddedAws
from local.services.postgres import EmbeddedPostgres
from local.services.redis import EmbeddedRedis
from local.settings import Settings

READY_TIMEOUT = 30.0
ADMIN_KEY_FILE = "admin-api-key"
RESTART_LIMIT = 5  # restarts of one process within RESTART_WINDOW_S before the stack gives up
RESTART_WINDOW_S = 60.0


@dataclass
class Endpoints:
    services: Services
    admin_key: str
    embedded: list[str]
    provisioning: str
    migrations_applied: list[str]


class Stack:
    def __init__(self, settings: Settings, say=print, parameter_overrides: dict[str, str] | None = None):
        self.settings = settings
        self.say = say
        self.parameter_overrides = parameter_overrides or {}
        self.run_dir = settings.state_dir / "run"
        self._processes: list[tuple[object, ManagedProcess]] = []
        self._runtime: Runtime | None = None
        self._servers: list[HttpServer] = []
        self._lock = None
        self._restarts: dict[str, list[float]] = {}
        self._reprovision = None  # after the AWS emulator restarted

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Endpoints:
        s = self.settings
        template = load_template(s.template_path)  # a broken template stops us before anything runs
        self._acquire_lock()
        try:
            embedded = self._embedded_services()
            runner = EventRunner(s.state_dir, self.parameter_overrides)
            for service in [*embedded, runner]:
                stale = stop_stale(self.run_dir, service.name, service.stop_signal)
                if stale:
                    self.say(f"stopped {service.name} (pid {stale}) left running by an earlier run")
            for service, variable in ((svc, _PORT_VARIABLES[svc.name]) for svc in embedded):
                ensure_port_free(service.port, service.name, variable)
            ensure_port_free(s.gateway_port, "API gateway", names.GATEWAY_PORT)
            ensure_port_free(s.lambda_port, "Lambda Invoke API", names.LAMBDA_PORT)

            step = time.monotonic()
            for service in embedded:
                process = service.process(self.run_dir)
                process.start()
                self._processes.append((service, process))
            for service, process in self._processes:
                process.wait_ready(service.ready, READY_TIMEOUT)
            urls = self._service_urls(embedded)
            step = self._done(f"services ready ({', '.join(s.name for s in embedded) or 'all external'})", step)
            self._say_state_notes(embedded)

            applied = migrate(urls["database"])
            step = self._done(f"schema migrated ({len(applied)} applied)", step)
            clients = AwsClients(urls["aws"], s.region)
            deployment = deployment_for(clients, s.stack_name, self.parameter_overrides)
            services = Services(database_url=urls["database"], redis_url=urls["redis"], aws_endpoint_url=urls["aws"],
                                region=s.region, account_id=deployment.account_id, pid=os.getpid())
            resolver, model = load_app(s, services, self.parameter_overrides, template=template)
            report = provision(template, resolver, clients, s.state_dir / "secrets.json")
            self._reprovision = lambda: provision(template, resolver, clients, s.state_dir / "secrets.json")
            admin_key = self._admin_key(urls["database"])
            step = self._done(f"AWS resources provisioned ({report.summary()})", step)

            self._runtime = Runtime(model, s.region, deployment.account_id)
            loop = self._runtime.loop  # one event loop serves both and every function's pipes
            console = WebConsole(model, self._runtime, urls["aws"], s.region,
                                 next(iter(model.functions.values())).environment.get("CONFIG_PREFIX"))
            gateway = HttpServer(Gateway(model, self._runtime, deployment.account_id, s.region, console=console),
                                 s.gateway_port, s.bind_host, loop=loop)
            lambda_api = HttpServer(LambdaInvokeApi(self._runtime), s.lambda_port, s.bind_host, loop=loop)
            for server in (gateway, lambda_api):
                server.start()
                self._servers.append(server)
            services.gateway_url, services.lambda_url = gateway.url, lambda_api.url
            record_services(s, services)  # the event runner reads where the services are from it
            process = runner.process(self.run_dir)
            process.start()
            self._processes.append((runner, process))
            process.wait_ready(runner.ready, READY_TIMEOUT)
            self._done(f"{len(model.functions)} functions served, {runner.sources()} event sources polling "
                       f"(event runner pid {process.pid})", step)
        except BaseException:
            self.stop()
            raise
        return Endpoints(services=services, admin_key=admin_key, embedded=[service.name for service in embedded],
                         provisioning=report.summary(), migrations_applied=applied)

    def stop(self) -> None:
        forget_services(self.settings)
        for server in self._servers:
            server.stop()
        self._servers = []
        if self._runtime is not None:
            self._runtime.stop()
            self._runtime = None
        for _, process in reversed(self._processes):
            process.stop()
        self._processes = []
        self._release_lock()

    def _done(self, what: str, since: float) -> float:
        """One progress line per finished step, with its time; returns the next step's start."""
        now = time.monotonic()
        self.say(f"  ok  {what} in {now - since:.2f} s")
        return now

    def supervise(self) -> str | None:
        """Start again each managed process that exited. Returns why the stack must stop
        instead: one that keeps dying, or cannot be started again."""
        for index, (service, process) in enumerate(self._processes):
            code = process.exit_code()
            if code is None:
                continue
            now = time.monotonic()
            recent = [t for t in self._restarts.get(service.name, []) if now - t < RESTART_WINDOW_S]
            if len(recent) >= RESTART_LIMIT:
                return (f"{service.name} (pid {process.pid}) exited with code {code}, {len(recent) + 1} times within "
                        f"{RESTART_WINDOW_S:.0f} s{_see(process)}")
            self._restarts[service.name] = [*recent, now]
            self.say(f"{service.name} (pid {process.pid}) exited with code {code}; starting it again")
            replacement = service.process(self.run_dir)
            try:
                replacement.start()
                self._processes[index] = (service, replacement)
                replacement.wait_ready(service.ready, READY_TIMEOUT)
                if service.name == "aws":
                    self._after_aws_restart()
            except Exception as error:  # noqa: BLE001 - any failure here ends the stack, with its reason
                return f"{service.name} could not be started again: {error}"
            self._done(f"{service.name} back (pid {replacement.pid})", now)
            self._say_state_notes([service])
        return None

    def _say_state_notes(self, services: list) -> None:
        for service in services:
            note = getattr(service, "state_note", lambda: None)()
            if note:
                self.say(f"      {service.name} state: {note}")

    def _after_aws_restart(self) -> None:
        """The emulator comes back with its state (local/services/moto_state.py); provisioning
        again is a check that costs little, and puts back what a state moved aside lost."""
        report = self._reprovision()
        self.say(f"  AWS resources provisioned again ({report.summary()})")

    # -- parts -----------------------------------------------------------------------

    def _embedded_services(self) -> list:
        s = self.settings
        services = []
        if not s.database_url:
            services.append(EmbeddedPostgres(s.state_dir, s.postgres_port))
        if not s.redis_url:
            services.append(EmbeddedRedis(s.state_dir, s.redis_port))
        if not s.aws_endpoint_url:
            services.append(EmbeddedAws(s.state_dir, s.aws_port))
        return services

    def _service_urls(self, embedded: list) -> dict[str, str]:
        s = self.settings
        by_name = {service.name: service.url for service in embedded}
        if s.database_url:
            external.check_postgres(s.database_url)
        if s.redis_url:
            external.check_redis(s.redis_url)
        if s.aws_endpoint_url:
            external.check_aws(s.aws_endpoint_url, s.region)
        return {
            "database": s.database_url or by_name["postgres"],
            "redis": s.redis_url or by_name["redis"],
            "aws": s.aws_endpoint_url or by_name["aws"],
        }

    def _admin_key(self, database_url: str) -> str:
        """The admin API key made on first start. Its hash is in the database; the key itself is
        kept owner-only in the state directory so each start can print it again."""
        path = self.settings.state_dir / ADMIN_KEY_FILE
        connection = psycopg2.connect(database_url, connect_timeout=10)
        try:
            if path.exists():
                key = path.read_text().strip()
                if key_is_active(connection, key):
                    return key
            key = create_api_key(connection, "local admin", ["admin"])
        finally:
            connection.close()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key

    def _acquire_lock(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / "stack.lock"
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise LocalError(f"another `python -m local up` (pid {holder}) is using {self.settings.state_dir}; "
                             f"stop it first, or set {names.STATE_DIR} to another folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the flock
            self._lock = None


def _see(process: ManagedProcess) -> str:
    return f"; see {process.spec.log_path}" if process.spec.log_path else ""


_PORT_VARIABLES = {"postgres": names.POSTGRES_PORT, "redis": names.REDIS_PORT, "aws": names.AWS_PORT}

