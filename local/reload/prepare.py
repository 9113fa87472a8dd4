"""The edited template read, checked and provisioned as `local up` does at start, before
anything of the running stack is touched: what reloader.py swaps in, or the error it shows."""

from dataclasses import dataclass
from pathlib import Path

from infra.aws import AwsClients
from infra.provision import Report, provision
from infra.template import load_template
from local.app.declaration import Declaration, read_declaration
from local.app.env_vars import read_env_vars
from local.app.project import Addresses, load_app
from local.errors import LocalError
from local.events.sources import invalid_filters
from local.services.aws.async_queue import ensure_queues
from local.settings import Settings


@dataclass
class Reloaded:
    """What a reload swaps in, built before anything is touched."""

    template: dict
    resolver: object
    model: object
    gateway: object  # the Gateway (with its console) for the new model
    lines: list[str]  # what the stack has to say about it: warnings, a restart it needs


@dataclass
class TemplateReading:
    settings: Settings
    services: Addresses
    parameter_overrides: dict[str, str]
    env_vars: Path | None
    clients: AwsClients
    declaration: Declaration  # as at start: the services it asked for are the ones running
    make_gateway: object  # model -> Gateway

    def __call__(self) -> Reloaded:
        s = self.settings
        template = load_template(s.template_path)
        env_overrides = read_env_vars(self.env_vars)
        declaration = read_declaration(s.template_path, template)
        resolver, model = load_app(s, self.services, self.parameter_overrides, env_overrides, template=template)
        refused = invalid_filters(model)
        if refused:  # as CreateEventSourceMapping would refuse it
            raise LocalError(refused[0] + (f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""))
        provision_with_async_queues(resolver, model, self.clients, s.state_dir / "secrets.json",
                                    declaration.secure_parameters)
        lines = [f"  !!  {warning}" for warning in model.warnings]
        if (declaration.database, declaration.redis, declaration.setup) != \
                (self.declaration.database, self.declaration.redis, self.declaration.setup):
            lines.append(f"  !!  Metadata: Local changed (services or setup commands): restart `local up` to apply it")
        return Reloaded(template, resolver, model, self.make_gateway(model), lines)


def provision_with_async_queues(resolver, model, clients: AwsClients, secrets_file: Path, secure: list) -> Report:
    """The template's resources, and Lambda's queue of asynchronous invocations for each function
    (local/services/aws/async_queue.py), which no template declares and the report leaves out."""
    report = provision(resolver.template, resolver, clients, secrets_file, secure)
    ensure_queues(clients.sqs, {spec.function_name: spec.timeout for spec in model.functions.values()})
    return report


# Where a template names another local file it is read from: nested stacks, API definitions.
_FILE_KEYS = ("Location", "TemplateURL", "DefinitionUri")


def watched_files(template_path: Path, template: dict, env_vars: Path | None) -> list[Path]:
    """The files whose edit is a template edit: the template, the local files it reads at
    load (nested templates, OpenAPI definitions) and SAM's env-vars file."""
    base = Path(template_path).resolve().parent
    found = [Path(template_path).resolve(), *([Path(env_vars).resolve()] if env_vars else [])]
    pending = [template]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if key in _FILE_KEYS and isinstance(item, str) and "://" not in item and (base / item).is_file():
                    found.append((base / item).resolve())
                else:
                    pending.append(item)
        elif isinstance(value, list):
            pending.extend(value)
    return list(dict.fromkeys(found))
