"""`python -m local up` for the load run: a stack of its own (free ports, a temporary state
folder), and what the run needs to know about it from the outside: the URLs it recorded,
the admin key, the pid files of the processes it supervises."""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import boto3

from tests.support.local_up import LocalUp
from tests.support.ports import free_port

# The gateway's stage throttle defaults to 50 req/s with a burst of 100: with the load's
# bursts it would answer 429 for a good part of the run and hide everything else.
STAGE_THROTTLE = ("--parameter-overrides", "ThrottleRateLimit=1000", "ThrottleBurstLimit=2000")
# Every principal's budget per minute (template.yaml: rate-limit/*). All the load's users share
# the admin key, i.e. one principal, whose default 120 writes a minute would refuse most writes.
RATE_LIMITS = {"reads-per-minute": "100000", "writes-per-minute": "100000"}
STAGE = "local"


def stack_env(state_dir: Path) -> dict[str, str]:
    """The environment of tests/conftest.py's `local_env`, plus a relay that runs every 2 s
    (its schedule is once a minute) so a lost publish is caught up within the run."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL")}
    env.update({
        "LOCAL_STATE_DIR": str(state_dir),
        "LOCAL_GATEWAY_PORT": str(free_port()),
        "LOCAL_LAMBDA_PORT": str(free_port()),
        "LOCAL_POSTGRES_PORT": str(free_port()),
        "LOCAL_REDIS_PORT": str(free_port()),
        "LOCAL_AWS_PORT": str(free_port()),
        "LOCAL_SCHEDULE_SECONDS": "2",
    })
    return env


@dataclass
class PidRecord:
    pid: int
    create_time: float
    argv: list[str]


class LoadStack:
    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir)
        self.run_dir = self.state_dir / "run"
        self.env = stack_env(self.state_dir)
        self.up = LocalUp(self.env, STAGE_THROTTLE)

    def wait_ready(self, timeout: float = 120) -> "LoadStack":
        self.up.wait_ready(timeout)
        services = json.loads((self.run_dir / "services.json").read_text())
        self.gateway_url = services["gateway_url"]
        self.database_url = services["database_url"]
        self.redis_url = services["redis_url"]
        self.aws_url = services["aws_endpoint_url"]
        self.region = services["region"]
        self.admin_key = (self.state_dir / "admin-api-key").read_text().strip()
        return self

    @property
    def pid(self) -> int:
        return self.up.process.pid

    @property
    def alive(self) -> bool:
        return self.up.process.poll() is None

    def pidfile(self, name: str) -> PidRecord | None:
        """What `local up` recorded for one of its processes; None while there is no record."""
        try:
            record = json.loads((self.run_dir / f"{name}.pid").read_text())
            return PidRecord(int(record["pid"]), float(record["create_time"]), list(record.get("argv", [])))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None  # absent, or caught half written

    def aws(self, service: str, config=None):
        return boto3.client(service, endpoint_url=self.aws_url, region_name=self.region, config=config,
                            aws_access_key_id="test", aws_secret_access_key="test")

    def raise_rate_limits(self) -> None:
        ssm = self.aws("ssm")
        for name, value in RATE_LIMITS.items():
            ssm.put_parameter(Name=f"/recipes/{STAGE}/rate-limit/{name}", Value=value, Type="String", Overwrite=True)

    def cleanup(self) -> None:
        self.up.cleanup()
