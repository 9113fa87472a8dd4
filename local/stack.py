"""The whole local stack, composed: embedded (or external) services, schema, AWS resources,
gateway, Invoke API and the event runner.

`Stack.start()` does everything `python -m local up` promises, in an order where nothing
is started before every check that could refuse has passed; `Stack.supervise()` applies the
restart policy (supervisor.py); `Stack.stop()` stops what this Stack started, by process id,
in reverse order.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

from infra.aws import AwsClients
from infra.provision import deployment_for
from infra.template import load_template
from local import settings as names
from local.app.declaration import Declaration, read_declaration
from local.app.env_vars import read_env_vars
from local.app.project import (
    Addresses,
    forget_addresses,
    load_app,
    record_accepted_template,
    record_addresses,
    stack_name,
)
from local.app.setup_commands import run_setup
from local.auth.dev_issuer import DevIssuer
from local.auth.jwks import KeySource
from local.build.summary import say_builds
from local.errors import LocalError
from local.events.async_invoker import AsyncQueues
from local.events.runner import EventRunner
from local.events.sources import invalid_filters
from local.gateway.console import WebConsole
from local.gateway.gateway import AccessLog, Gateway
from local.http.server import HttpServer
from local.runtime.invoke_api import LambdaInvokeApi
from local.runtime.code_watch import CodeWatch
from local.runtime.debugging import DebugFlags, DebugTarget
from local.runtime.journal import InvocationJournal
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime
from local.services import external
from local.services.aws.async_queue import ensure_queues
from local.services.aws.launcher import EmbeddedAws
from local.services.postgres import EmbeddedPostgres
from local.reload.front import Front, FunctionUrlServers
from local.reload.prepare import TemplateReading, provision_with_async_queues, watched_files
from local.reload.reloader import Reloader
from local.services.procs import ensure_port_free, stop_stale
from local.services.redis import EmbeddedRedis
from local.services.run_lock import RunLock
from local.settings import DEFAULT_MAX_INSTANCES, Settings
from local.supervisor import READY_TIMEOUT, Supervisor, say_state_note


@dataclass
class Endpoints:
    services: Addresses
    embedded: list[str]
    provisioning: str
    setup_lines: list[str]  # what the app's setup commands printed, to show at start


def serving(model, region: str, account_id: str, aws_endpoint_url: str | None, *, console_log: ConsoleLog | None = None,
            access_log: AccessLog | None = None, build_dir=None, app_name: str = "local",
            max_instances: int = DEFAULT_MAX_INSTANCES, issuer_dir: Path | None = None, function_urls=None,
            state_dir: Path | None = None, debug: DebugTarget | None = None) -> tuple[Runtime, Gateway]:
    """The template's functions and the gateway in front of them, its console included: what
    `local up` serves on its port, and what tests drive without a socket. Stop the runtime.
    `issuer_dir` holds the development issuer's key, whose tokens every JWT and Cognito
    authorizer accepts (`local tokens mint`); without it, none is trusted."""
    journal = InvocationJournal(state_dir / "logs", "up") if state_dir is not None else None
    runtime = Runtime(model, region, account_id, console=console_log, build_dir=build_dir, max_instances=max_instances,
                      debug=debug, journal=journal)
    return runtime, gateway_for(model, runtime, aws_endpoint_url, access_log=access_log, app_name=app_name,
                                issuer_dir=issuer_dir, state_dir=state_dir, function_urls=function_urls)


def gateway_for(model, runtime: Runtime, aws_endpoint_url: str | None, *, access_log: AccessLog | None = None,
                app_name: str = "local", issuer_dir: Path | None = None, state_dir: Path | None = None,
                function_urls: dict[str, str] | None = None) -> Gateway:
    """The gateway and its console for a model, in front of a runtime: at start, and again for
    each template reload (local/reload/)."""
    issuer = DevIssuer(issuer_dir) if issuer_dir is not None else None
    console = WebConsole(model, runtime, aws_endpoint_url, runtime.region, app_name, issuer, state_dir, function_urls)
    return Gateway(model, runtime, runtime.account_id, runtime.region, access_log=access_log, console=console,
                   keys=KeySource(trusted=issuer))


def issuer_folder(settings: Settings) -> Path:
    """Where the development issuer keeps its key: `local up` and `local tokens mint` share it."""
    return settings.state_dir / "issuer"


class Stack:
    def __init__(self, settings: Settings, say=print, parameter_overrides: dict[str, str] | None = None,
                 env_vars: Path | None = None, debug: DebugFlags | None = None):
        self.settings = settings
        self.say = say
        self.parameter_overrides = parameter_overrides or {}
        self.env_vars = env_vars  # SAM's --env-vars file, for the functions here and in the event runner
        self.debug_flags, self.debug = debug, None  # `--debug-port`; the DebugTarget once the model names it
        self.run_dir = settings.state_dir / "run"
        self._supervisor = Supervisor(self.run_dir, say, after_restart=self._after_restart)
        self._runtime: Runtime | None = None
        self._servers: list[HttpServer] = []
        self._lock = RunLock(self.run_dir, settings.state_dir)
        self._reprovision = None  # after the AWS emulator restarted
        self._reloader: Reloader | None = None
        self._urls: FunctionUrlServers | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Endpoints:
        s = self.settings
        read_watch = CodeWatch([s.template_path, *([self.env_vars] if self.env_vars else [])])  # edits during start
        template = load_template(s.template_path)  # a broken template stops us before anything runs
        env_overrides = read_env_vars(self.env_vars)  # so does a broken env-vars file
        self.declaration = declaration = read_declaration(s.template_path, template)
        self._lock.acquire()
        try:
            embedded = self._embedded_services(declaration)
            runner = EventRunner(s.state_dir, self.parameter_overrides, self.env_vars)
            for service in [*embedded, runner]:
                stale = stop_stale(self.run_dir, service.name, service.stop_signal)
                if stale:
                    self.say(f"stopped {service.name} (pid {stale}) left running by an earlier run")
            for service, variable in ((svc, _PORT_VARIABLES[svc.name]) for svc in embedded):
                ensure_port_free(service.port, service.name, variable)
            ensure_port_free(s.gateway_port, "API gateway", names.GATEWAY_PORT)
            ensure_port_free(s.lambda_port, "Lambda Invoke API", names.LAMBDA_PORT)

            step = time.monotonic()
            started = [(service, self._supervisor.start(service)) for service in embedded]
            for service, process in started:
                process.wait_ready(service.ready, READY_TIMEOUT)
            urls = self._service_urls(embedded, declaration)
            step = self._done(f"services ready ({', '.join(s.name for s in embedded) or 'all external'})", step)
            for service in embedded:
                say_state_note(service, self.say)

            clients = AwsClients(urls["aws"], s.region)
            deployment = deployment_for(clients, stack_name(s, declaration), self.parameter_overrides)
            services = Addresses(database_url=urls["database"], redis_url=urls["redis"], aws_endpoint_url=urls["aws"],
                                 region=s.region, account_id=deployment.account_id, pid=os.getpid(),
                                 # known before it listens: functions reach it as AWS_ENDPOINT_URL_LAMBDA
                                 lambda_url=f"http://127.0.0.1:{s.lambda_port}",
                                 parameter_overrides=dict(self.parameter_overrides))
            resolver, model = load_app(s, services, self.parameter_overrides, env_overrides, template=template)
            self.debug = self.debug_flags and self.debug_flags.target(model)  # docs/DEBUGGING.md
            runner.debug_function = self.debug and self.debug.function  # its deliveries: to our Invoke API
            refused = invalid_filters(model)
            if refused:  # what Lambda would refuse at deploy stops us here, as it would stop the deploy
                raise LocalError(f"{s.template_path}: {refused[0]}" + (f" (and {len(refused) - 1} more)"
                                                                      if len(refused) > 1 else ""))
            for warning in model.warnings:  # what the template has and this emulator does not run
                self.say(f"  !!  {warning}")
            pushed = [spec.logical_id for spec in model.functions.values()
                      if spec.sns_events or spec.s3_events or spec.rule_events]
            if s.aws_endpoint_url and pushed:  # the embedded endpoint's own hooks deliver these (targets.py)
                self.say(f"  !!  {', '.join(pushed)}: SNS, S3 and EventBridge triggers are delivered by the embedded "
                         f"AWS endpoint only; {s.aws_endpoint_url} delivers them its own way, or not at all")
            secrets_file, secure = s.state_dir / "secrets.json", declaration.secure_parameters
            self._provision = lambda resolver, model: provision_with_async_queues(  # noqa: E731
                resolver, model, clients, secrets_file, secure)
            self._reprovision = lambda: self._provision(resolver, model)
            report = self._reprovision()
            step = self._done(f"AWS resources provisioned ({report.summary()})", step)
            setup_lines = []
            if declaration.setup:
                setup_lines = run_setup(declaration.setup, s.template_path.parent, {
                    **services.function_environment(), "AWS_REGION": s.region, "AWS_DEFAULT_REGION": s.region,
                    names.STATE_DIR: str(s.state_dir)})
                step = self._done(f"set up ({len(declaration.setup)} command{'s' * (len(declaration.setup) > 1)})",
                                  step)

            self._runtime, gateway_app = serving(model, s.region, deployment.account_id, urls["aws"],
                                                 build_dir=s.build_dir, app_name=declaration.name,
                                                 max_instances=s.max_instances, issuer_dir=issuer_folder(s),
                                                 state_dir=s.state_dir, debug=self.debug, function_urls=services.function_urls)
            step = self._done(say_builds(self._runtime.build_all(), self.say), step)
            loop = self._runtime.loop  # one event loop serves both and every function's pipes
            gateway_front = Front(gateway_app)  # what a template reload swaps (local/reload/)
            gateway = HttpServer(gateway_front, s.gateway_port, s.bind_host, loop=loop)
            queues = AsyncQueues(urls["aws"], s.region, deployment.account_id)
            lambda_front = Front(LambdaInvokeApi(self._runtime, enqueue=queues.send))
            lambda_api = HttpServer(lambda_front, s.lambda_port, s.bind_host, loop=loop)
            for server in (gateway, lambda_api):
                server.start()
                self._servers.append(server)
            if self.debug:
                self._runtime.start_debugger()  # listening before the first request, for a debugger to attach
            services.gateway_url, services.lambda_url = gateway.url, lambda_api.url
            self._urls = FunctionUrlServers(self._runtime, deployment.account_id, s.region, s.bind_host,
                                            s.gateway_port, gateway_app.access_log)
            self._urls.start(model)
            services.function_urls.update(self._urls.urls)  # in place: the console reads this dict
            record_addresses(s, services)  # the event runner reads where the services are from it
            record_accepted_template(s, template)  # and the template from this copy
            process = self._supervisor.start(runner)
            process.wait_ready(runner.ready, READY_TIMEOUT)
            # Template edits from now on (local/reload/): read, checked and provisioned as above, then swapped in.
            make_gateway = lambda model: gateway_for(  # noqa: E731 - the same gateway as at start, another model
                model, self._runtime, urls["aws"], access_log=gateway_app.access_log, app_name=declaration.name,
                issuer_dir=issuer_folder(s), state_dir=s.state_dir, function_urls=services.function_urls)
            reading = TemplateReading(s, services, self.parameter_overrides, self.env_vars, clients, declaration,
                                      make_gateway)
            self._reloader = Reloader(watched_files(s.template_path, template, self.env_vars), reading,
                                      self._runtime, gateway_front, self._urls,
                                      lambda reloaded: self._after_reload(reloaded, services, runner), self.say,
                                      edited_since_read=read_watch.generation() > 0)
            gateway_front.before = lambda_front.before = self._urls.before = self._reloader.ensure_current
            self._reloader.start_watching()
            self._done(f"{len(model.functions)} functions served, {runner.sources()} event sources running "
                       f"(event runner pid {process.pid})", step)
        except BaseException:
            self.stop()
            raise
        return Endpoints(services=services, embedded=[service.name for service in embedded],
                         provisioning=report.summary(), setup_lines=setup_lines)

    def stop(self) -> None:
        if self._reloader is not None:
            self._reloader.stop()
        forget_addresses(self.settings)
        if self._urls is not None:
            self._urls.stop()
        for server in self._servers:
            server.stop()
        self._servers = []
        if self._runtime is not None:
            self._runtime.stop()
            self._runtime = None
        self._supervisor.stop()
        self._lock.release()

    def supervise(self) -> str | None:
        """Start again each managed process that exited; why the stack must stop, if it must."""
        return self._supervisor.check()

    def _after_reload(self, reloaded, services: Addresses, runner: EventRunner) -> None:
        """What other processes read of the stack, made true of the reloaded template."""
        self._reprovision = lambda: self._provision(reloaded.resolver, reloaded.model)
        services.function_urls.clear()  # in place: the console reads this dict
        services.function_urls.update(self._urls.urls)
        record_addresses(self.settings, services)
        record_accepted_template(self.settings, reloaded.template)
        runner.reload()  # the event runner reads the accepted template and swaps its sources

    def _done(self, what: str, since: float) -> float:
        """One progress line per finished step, with its time; returns the next step's start."""
        now = time.monotonic()
        self.say(f"  ok  {what} in {now - since:.2f} s")
        return now

    def _after_restart(self, service) -> None:
        if service.name == "aws":
            # The emulator comes back with its state (local/services/aws/state.py); provisioning
            # again is a check that costs little, and puts back what a state moved aside lost.
            report = self._reprovision()
            self.say(f"  AWS resources provisioned again ({report.summary()})")

    # -- parts -----------------------------------------------------------------------

    def _embedded_services(self, declaration: Declaration) -> list:
        """What the app declares and no variable points elsewhere; the AWS endpoint always (any
        function may call AWS, and the template's resources live there)."""
        s = self.settings
        services = []
        if declaration.postgres and not s.database_url:
            services.append(EmbeddedPostgres(s.state_dir, s.postgres_port, declaration.database))
        if declaration.redis and not s.redis_url:
            services.append(EmbeddedRedis(s.state_dir, s.redis_port))
        if not s.aws_endpoint_url:
            services.append(EmbeddedAws(s.state_dir, s.aws_port))
        return services

    def _service_urls(self, embedded: list, declaration: Declaration) -> dict[str, str | None]:
        s = self.settings
        by_name = {service.name: service.url for service in embedded}
        database = s.database_url if declaration.postgres else None
        redis_url = s.redis_url if declaration.redis else None
        if database:
            external.check_postgres(database)
        if redis_url:
            external.check_redis(redis_url)
        if s.aws_endpoint_url:
            external.check_aws(s.aws_endpoint_url, s.region)
        return {
            "database": database or by_name.get("postgres"),
            "redis": redis_url or by_name.get("redis"),
            "aws": s.aws_endpoint_url or by_name["aws"],
        }


_PORT_VARIABLES = {"postgres": names.POSTGRES_PORT, "redis": names.REDIS_PORT, "aws": names.AWS_PORT}
