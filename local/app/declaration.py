"""What an app declares for its local runs, in its template's `Metadata: Local` (CloudFormation
and SAM ignore it): the services its functions need beyond the AWS endpoint, the commands
that set it up once they are ready (migrations, seed data, a credential), its name and its
stack's name. The emulator does only what is declared; with nothing declared it runs the
template's functions, APIs and event sources on the AWS endpoint alone.

    Metadata:
      Local:
        Name: Orders API                   # the start line's title (default: the template's folder)
        StackName: orders-local            # AWS::StackName, and the prefix of unnamed resources
        Services:
          Postgres: {Database: orders}     # DATABASE_URL in every function's environment
          Redis: {}                        # REDIS_URL likewise
        Setup:
          - python -m tools.setup          # run in the template's folder with the services'
                                           # variables; its output lines are shown at start
        SecureParameters:                  # SSM SecureStrings made once, with random values
          - Name: !Sub /orders/${Stage}/signing-key
            GenerateBytes: 32
        Layers:                            # layers given by ARN, run from a local folder: one
          arn:aws:lambda:us-east-1:123456789012:layer:utils: vendor/utils   # holding python/,
                                           # or a requirements.txt to build; without a version
                                           # the ARN stands for every version
"""

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from infra.errors import TemplateError

METADATA_KEY = "Local"
# What AWS::StackName is when nothing names the stack: SAM CLI's local value.
DEFAULT_STACK_NAME = "local"
DEFAULT_DATABASE = "postgres"
_SERVICES = {"Postgres", "Redis"}
_KEYS = {"Name", "StackName", "Services", "Setup", "SecureParameters", "Layers"}


@dataclass(frozen=True)
class Declaration:
    name: str
    stack_name: str = DEFAULT_STACK_NAME
    database: str | None = None  # the Postgres database to create, when the app needs Postgres
    redis: bool = False
    setup: list[list[str]] = field(default_factory=list)  # argv of each command
    secure_parameters: list[dict] = field(default_factory=list)  # unresolved: Names may use !Sub
    layers: dict[str, Path] = field(default_factory=dict)  # layer ARN (with or without version) -> folder

    @property
    def postgres(self) -> bool:
        return self.database is not None


def read_declaration(template_path: Path, template: dict) -> Declaration:
    path = Path(template_path)
    local = (template.get("Metadata") or {}).get(METADATA_KEY)
    if local is None:
        return Declaration(name=path.resolve().parent.name)
    fail = lambda problem: TemplateError(path, f"Metadata.{METADATA_KEY}: {problem}")  # noqa: E731
    if not isinstance(local, dict):
        raise fail("must be a mapping")
    unknown = sorted(set(local) - _KEYS)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
    services = local.get("Services") or {}
    if isinstance(services, list):  # [Postgres, Redis] is as clear as a mapping
        services = {str(name): {} for name in services}
    if not isinstance(services, dict) or set(services) - _SERVICES:
        raise fail(f"Services may name {' and '.join(sorted(_SERVICES))} only (got {local.get('Services')!r})")
    database = str((services["Postgres"] or {}).get("Database") or DEFAULT_DATABASE) if "Postgres" in services else None
    setup = local.get("Setup") or []
    if not isinstance(setup, list) or not all(isinstance(c, (str, list)) for c in setup):
        raise fail("Setup must be a list of commands")
    secure = local.get("SecureParameters") or []
    if not isinstance(secure, list) or not all(isinstance(s, dict) and "Name" in s for s in secure):
        raise fail("SecureParameters must be a list of mappings with a Name")
    layers = local.get("Layers") or {}
    if not isinstance(layers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in layers.items()):
        raise fail("Layers must map layer ARNs to folders")
    folders = {arn: (path.parent / folder).resolve() for arn, folder in layers.items()}
    missing = [f"{arn}: {folder}" for arn, folder in folders.items() if not folder.is_dir()]
    if missing:
        raise fail(f"Layers: no such folder ({'; '.join(missing)})")
    return Declaration(
        name=str(local.get("Name") or path.resolve().parent.name),
        stack_name=str(local.get("StackName") or DEFAULT_STACK_NAME),
        database=database, redis="Redis" in services,
        setup=[shlex.split(c) if isinstance(c, str) else [str(part) for part in c] for c in setup],
        secure_parameters=secure, layers=folders)
