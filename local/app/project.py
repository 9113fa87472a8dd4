"""What both `local up` and the one-shot commands (invoke, list) need: the template as a
model, the environment functions get, and where a running stack's services are."""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from infra.intrinsics import DEFAULT_ACCOUNT_ID, Deployment, Resolver
from infra.template import load_template
from local import settings as names
from local.app.declaration import Declaration, read_declaration
from local.app.model import AppModel
from local.app.reader import build_model
from local.settings import Settings


@dataclass
class Addresses:
    """Where the running stack's services answer (not the servers themselves: those are
    local/services/). `local up` records this in its state folder while it runs."""

    database_url: str | None  # None: the app declares no Postgres
    redis_url: str | None
    aws_endpoint_url: str
    region: str
    account_id: str
    gateway_url: str | None = None
    lambda_url: str | None = None
    pid: int | None = None
    function_urls: dict[str, str] = field(default_factory=dict)  # logical id -> its function URL
    # The template parameters `up` was given: the commands that join a running stack (list,
    # invoke, events fire, ...) read the template as it did, unless given others.
    parameter_overrides: dict[str, str] = field(default_factory=dict)

    def function_environment(self) -> dict[str, str]:
        urls = {names.DATABASE_URL: self.database_url, names.REDIS_URL: self.redis_url,
                names.AWS_ENDPOINT_URL: self.aws_endpoint_url}
        if self.lambda_url:  # botocore's per-service endpoint: a function's lambda client calls the Invoke API
            urls["AWS_ENDPOINT_URL_LAMBDA"] = self.lambda_url
        return {
            **{name: url for name, url in urls.items() if url},
            # moto and LocalStack take any credentials; functions must not see the user's real ones.
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }


def _addresses_file(settings: Settings) -> Path:
    return settings.state_dir / "run" / "services.json"


def record_addresses(settings: Settings, services: Addresses) -> None:
    path = _addresses_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(services)))


def forget_addresses(settings: Settings) -> None:
    _addresses_file(settings).unlink(missing_ok=True)
    _accepted_template_file(settings).unlink(missing_ok=True)


def _accepted_template_file(settings: Settings) -> Path:
    return settings.state_dir / "run" / "template.json"


def record_accepted_template(settings: Settings, template: dict) -> None:
    """The template as the running `local up` last read it, whole: the event runner reads this
    one, not the file, which may hold an edit `up` has refused or not provisioned yet."""
    path = _accepted_template_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(template, default=str))
    partial.replace(path)  # never half a template for a reader


def accepted_template(settings: Settings) -> dict | None:
    try:
        return json.loads(_accepted_template_file(settings).read_text())
    except (FileNotFoundError, ValueError):
        return None


def running_addresses(settings: Settings) -> Addresses | None:
    """The services of the `local up` running on this state folder, if one is."""
    try:
        recorded = Addresses(**json.loads(_addresses_file(settings).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None
    return recorded if recorded.pid and psutil.pid_exists(recorded.pid) else None


def declared(settings: Settings, template: dict | None = None) -> Declaration:
    template = template if template is not None else load_template(settings.template_path)
    return read_declaration(settings.template_path, template)


def stack_name(settings: Settings, declaration: Declaration) -> str:
    return settings.stack_name or declaration.stack_name


def assumed_addresses(settings: Settings, declaration: Declaration | None = None) -> Addresses:
    """Where the services would be: the variables, else the embedded servers' ports; none for
    a service the app does not declare."""
    declaration = declaration or declared(settings)
    postgres = f"postgresql://postgres@127.0.0.1:{settings.postgres_port}/{declaration.database}"
    return Addresses(
        database_url=settings.database_url or (postgres if declaration.postgres else None),
        redis_url=settings.redis_url or (f"redis://127.0.0.1:{settings.redis_port}/0" if declaration.redis else None),
        aws_endpoint_url=settings.aws_endpoint_url or f"http://127.0.0.1:{settings.aws_port}",
        region=settings.region, account_id=DEFAULT_ACCOUNT_ID,
    )


def load_app(settings: Settings, services: Addresses, parameter_overrides: dict[str, str] | None = None,
             env_overrides: dict | None = None, template: dict | None = None) -> tuple[Resolver, AppModel]:
    template = template if template is not None else load_template(settings.template_path)
    deployment = Deployment(region=services.region, account_id=services.account_id,
                            stack_name=stack_name(settings, declared(settings, template)),
                            endpoint_url=services.aws_endpoint_url,
                            parameter_overrides={**services.parameter_overrides, **(parameter_overrides or {})})
    resolver = Resolver(template, deployment, settings.template_path)
    model = build_model(settings.template_path, template, resolver, services.function_environment(), env_overrides,
                        code_cache=settings.build_dir / "code")
    return resolver, model

