"""What SAM CLI's samconfig.toml says for a command, read as SAM CLI reads it: the file beside
the template (or --config-file), the table [<env>.global.parameters] and then
[<env>.<command>.parameters], the later winning; flags on the command line win over both.
Of its keys, `parameter_overrides` and `env_vars` apply here; the rest are SAM CLI's own."""

import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from local.errors import LocalError

FILE_NAME = "samconfig.toml"
# SAM CLI's command names in the file, for each of ours.
SAM_COMMANDS = {"up": "local_start_api", "invoke": "local_invoke", "build": "build"}


@dataclass(frozen=True)
class SamConfig:
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    env_vars: Path | None = None
    source: Path | None = None


def read_samconfig(template_path: Path, command: str, config_env: str = "default",
                   config_file: Path | None = None) -> SamConfig:
    path = Path(config_file) if config_file else Path(template_path).parent / FILE_NAME
    if not path.exists():
        if config_file:
            raise LocalError(f"{path}: config file not found")
        return SamConfig()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise LocalError(f"{path}: not TOML: {error}") from None
    environment = document.get(config_env)
    if environment is None:
        if config_env != "default":
            raise LocalError(f"{path}: no [{config_env}] environment")
        return SamConfig(source=path)
    values: dict = {}
    for section in ("global", SAM_COMMANDS.get(command, command)):
        values.update(((environment.get(section) or {}).get("parameters")) or {})
    env_vars = values.get("env_vars")
    return SamConfig(parameter_overrides=parse_overrides(values.get("parameter_overrides"), path),
                     env_vars=(path.parent / env_vars) if env_vars else None, source=path)


def parse_overrides(raw, source: Path) -> dict[str, str]:
    """SAM's forms: "K=V K2='two words'", a list of "K=V", or ParameterKey=K,ParameterValue=V."""
    if raw is None:
        return {}
    items = shlex.split(raw) if isinstance(raw, str) else [str(item) for item in raw]
    overrides = {}
    for item in items:
        if item.startswith("ParameterKey="):
            parts = dict(part.split("=", 1) for part in item.split(",") if "=" in part)
            key, value = parts.get("ParameterKey"), parts.get("ParameterValue")
        else:
            key, found, value = item.partition("=")
            value = value if found else None
        if not key or value is None:
            raise LocalError(f"{source}: parameter_overrides item {item!r} is not KEY=VALUE")
        overrides[key] = value
    return overrides
