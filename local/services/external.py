"""Checks that the services named by DATABASE_URL, REDIS_URL and AWS_ENDPOINT_URL answer.

Each gives up after CHECK_SECONDS with one line naming the service, its address (without
password) and what was tried.
"""

from urllib.parse import urlsplit

import psycopg2
import redis
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from infra.aws import AwsClients
from local.errors import LocalError
from local.settings import redact

CHECK_SECONDS = 8.0


class _NotYet(Exception):
    pass


def _keep_trying(service: str, variable: str, url: str, attempt) -> None:
    last_error: list[str] = ["no attempt finished"]

    def once():
        try:
            attempt()
        except Exception as error:  # each client raises its own types; all mean "not yet"
            last_error[0] = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise _NotYet() from error

    try:
        for try_ in Retrying(stop=stop_after_delay(CHECK_SECONDS), wait=wait_fixed(0.5),
                             retry=retry_if_exception_type(_NotYet), reraise=True):
            with try_:
                once()
    except _NotYet:
        parts = urlsplit(url)
        address = f"{parts.hostname}:{parts.port}" if parts.hostname else redact(url)
        raise LocalError(f"{service} at {address} ({variable}={redact(url)}) is unreachable: "
                         f"tried for {CHECK_SECONDS:.0f} s; last error: {last_error[0]}") from None


def check_postgres(url: str) -> None:
    def attempt():
        psycopg2.connect(url, connect_timeout=2).close()

    _keep_trying("Postgres", "DATABASE_URL", url, attempt)


def check_redis(url: str) -> None:
    def attempt():
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()

    _keep_trying("Redis", "REDIS_URL", url, attempt)


def check_aws(url: str, region: str) -> None:
    clients = AwsClients(url, region, connect_timeout=2, attempts=1)
    _keep_trying("AWS endpoint", "AWS_ENDPOINT_URL", url, clients.account_id)
