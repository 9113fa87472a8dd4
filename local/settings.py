"""Every environment variable the emulator reads, in one place, parsed and checked.

An explicit argument beats the environment: `Settings.from_environ(environ)` is the only
place that looks at it.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from local.errors import LocalError

# External services: when set, the embedded one is not started.
DATABASE_URL = "DATABASE_URL"
REDIS_URL = "REDIS_URL"
AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"
AWS_REGION = "AWS_REGION"
# Ports of what the emulator starts itself.
GATEWAY_PORT = "LOCAL_GATEWAY_PORT"
LAMBDA_PORT = "LOCAL_LAMBDA_PORT"
POSTGRES_PORT = "LOCAL_POSTGRES_PORT"
REDIS_PORT = "LOCAL_REDIS_PORT"
AWS_PORT = "LOCAL_AWS_PORT"
# The address the gateway listens on: loopback unless a container needs 0.0.0.0.
BIND_HOST = "LOCAL_BIND_HOST"
# Where data, logs and process ids live (default: .local/ in the project).
STATE_DIR = "LOCAL_STATE_DIR"
# The build cache of functions' and layers' requirements (default: .local/build/ in the
# project, shared by every state folder: its folders are keyed by what they hold).
BUILD_DIR = "LOCAL_BUILD_DIR"
TEMPLATE = "LOCAL_TEMPLATE"
STACK_NAME = "LOCAL_STACK_NAME"
# Fire every schedule this many seconds apart instead of at its own times, to see one work now.
SCHEDULE_SECONDS = "LOCAL_SCHEDULE_SECONDS"
# Run the event runner's clock this many times faster than the wall clock: schedules, the
# asynchronous retries' delays (a minute, then two), flexible windows and stream retries all
# come sooner, to see in seconds what takes minutes on AWS (tests use it).
TIME_SCALE = "LOCAL_TIME_SCALE"
# The most instances of one function that run at once when its template sets no
# ReservedConcurrentExecutions: Lambda's account limit (1,000) is more processes than one machine
# holds, so past this ceiling a request waits for a free instance instead.
MAX_INSTANCES = "LOCAL_MAX_INSTANCES"
DEFAULT_MAX_INSTANCES = 10

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUILD_DIR = PROJECT_ROOT / ".local" / "build"
DEFAULT_PORTS = {GATEWAY_PORT: 3000, LAMBDA_PORT: 3001, POSTGRES_PORT: 5432, REDIS_PORT: 6379, AWS_PORT: 4566}


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    template_path: Path
    stack_name: str | None  # LOCAL_STACK_NAME; else the template's Metadata: Local: StackName
    region: str
    gateway_port: int
    lambda_port: int
    postgres_port: int
    redis_port: int
    aws_port: int
    bind_host: str = "127.0.0.1"
    database_url: str | None = None
    redis_url: str | None = None
    aws_endpoint_url: str | None = None
    schedule_every_s: float | None = None
    time_scale: float = 1.0
    build_dir: Path = DEFAULT_BUILD_DIR
    max_instances: int = DEFAULT_MAX_INSTANCES

    @classmethod
    def from_environ(cls, environ=None) -> "Settings":
        env = os.environ if environ is None else environ
        ports = {name: _port(env, name, default) for name, default in DEFAULT_PORTS.items()}
        return cls(
            state_dir=Path(env.get(STATE_DIR) or PROJECT_ROOT / ".local").resolve(),
            template_path=Path(env.get(TEMPLATE) or PROJECT_ROOT / "template.yaml").resolve(),
            stack_name=env.get(STACK_NAME) or None,
            region=env.get(AWS_REGION) or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            gateway_port=ports[GATEWAY_PORT],
            lambda_port=ports[LAMBDA_PORT],
            postgres_port=ports[POSTGRES_PORT],
            redis_port=ports[REDIS_PORT],
            aws_port=ports[AWS_PORT],
            bind_host=env.get(BIND_HOST) or "127.0.0.1",
            database_url=_url(env, DATABASE_URL, {"postgres", "postgresql"}),
            redis_url=_url(env, REDIS_URL, {"redis", "rediss", "unix"}),
            aws_endpoint_url=_url(env, AWS_ENDPOINT_URL, {"http", "https"}),
            schedule_every_s=_seconds(env, SCHEDULE_SECONDS),
            time_scale=_seconds(env, TIME_SCALE) or 1.0,
            build_dir=Path(env.get(BUILD_DIR) or DEFAULT_BUILD_DIR).resolve(),
            max_instances=_count(env, MAX_INSTANCES, DEFAULT_MAX_INSTANCES),
        )


def _port(env, name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise LocalError(f"{name}={raw!r} is not a port number (1-65535)")
    return int(raw)


def _count(env, name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise LocalError(f"{name}={raw!r} is not a whole number above 0")
    return int(raw)


def _seconds(env, name: str) -> float | None:
    raw = env.get(name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise LocalError(f"{name}={raw!r} is not a number of seconds above 0")
    return value


def _url(env, name: str, schemes: set[str]) -> str | None:
    raw = env.get(name)
    if not raw:
        return None
    expected = " or ".join(f"{s}://" for s in sorted(schemes))
    parts = urlsplit(raw)
    if parts.scheme not in schemes:
        raise LocalError(f"{name} is malformed: it must start with {expected} (got {redact(raw)!r})")
    try:
        parts.port  # raises ValueError for a port that is not a number or out of range
    except ValueError:
        raise LocalError(f"{name} is malformed: the port is not a number from 1 to 65535 (got {redact(raw)!r})") from None
    if parts.scheme != "unix" and not parts.hostname and "host=" not in parts.query:
        raise LocalError(f"{name} is malformed: it names no host (got {redact(raw)!r})")
    return raw


def redact(url: str) -> str:
    """The URL without its password, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
