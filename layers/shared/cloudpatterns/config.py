"""External configuration store: the parameters under the stage's SSM prefix, read by path,
cached in the instance for a TTL, so a `put-parameter` takes effect within the TTL and no
restart is needed.

Fetching uses Powertools for AWS Lambda's SSM provider (paging, decryption, names relative
to the path). The cache in front of it is ours: when SSM cannot be reached the last good
values keep serving (Powertools raises once its cache has expired), and a warm read is a
dict lookup. A secret is never replaced by a default: without it, a function fails closed.
"""

import logging
import os
import time

import boto3
from botocore.config import Config

from .errors import DependencyUnavailable

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 5.0
# After a failed refresh, keep serving what we have this long before asking again, so an
# unreachable store costs one slow request now and then, not every request.
RETRY_AFTER_SECONDS = 15.0


def _ssm_client():
    # Fail fast: a request should not wait long on a configuration store that is down.
    return boto3.client("ssm", config=Config(connect_timeout=0.5, read_timeout=1, retries={"max_attempts": 1}))


class ConfigStore:
    def __init__(self, prefix: str | None = None, ttl_seconds: float | None = None, client=None,
                 clock=time.monotonic):
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._client = client
        self._provider = None
        self.clock = clock
        self._values: dict[str, str] | None = None
        self._fresh_until = 0.0

    @property
    def prefix(self) -> str:
        prefix = self._prefix or os.environ.get("CONFIG_PREFIX")
        if not prefix:
            raise DependencyUnavailable("CONFIG_PREFIX is not set for this function")
        return prefix.rstrip("/")

    @property
    def ttl(self) -> float:
        return self._ttl if self._ttl is not None else float(os.environ.get("CONFIG_TTL_SECONDS", DEFAULT_TTL_SECONDS))

    # -- reads -------------------------------------------------------------------------------

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values().get(name, default)

    def get_int(self, name: str, default: int) -> int:
        raw = self.get(name)
        try:
            return int(raw) if raw is not None else default
        except ValueError:
            log.warning("configuration %s/%s=%r is not a whole number; using %d", self.prefix, name, raw, default)
            return default

    def get_list(self, name: str) -> list[str]:
        raw = self.get(name) or ""
        return [item.strip() for item in raw.split(",") if item.strip()]

    def secret(self, name: str) -> str:
        value = self.values().get(name)
        if not value:
            raise DependencyUnavailable(f"the secret {self.prefix}/{name} is not available; refusing to go on without it")
        return value

    def values(self) -> dict[str, str]:
        if self._values is not None and self.clock() < self._fresh_until:
            return self._values  # the warm path: no I/O
        return self._refresh()

    # -- refresh -----------------------------------------------------------------------------

    def _refresh(self) -> dict[str, str]:
        try:
            fresh = self._fetch()
        except Exception as error:  # any failure of the store: keep serving what we had
            self._fresh_until = self.clock() + max(self.ttl, RETRY_AFTER_SECONDS)
            if self._values is None:
                log.warning("configuration store unreachable (%s) and nothing cached yet: defaults apply, "
                            "secrets are unavailable", type(error).__name__)
                return {}
            log.warning("configuration store unreachable (%s); serving the last good values",
                        type(error).__name__)
            return self._values
        self._values = fresh
        self._fresh_until = self.clock() + self.ttl
        return fresh

    def _fetch(self) -> dict[str, str]:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        if self._provider is None:
            self._provider = SSMProvider(boto3_client=self._client or _ssm_client())
        # force_fetch: Powertools' own cache is bypassed; ours above decides when to ask.
        values = self._provider.get_multiple(self.prefix, decrypt=True, recursive=True, force_fetch=True)
        return {name.lstrip("/"): value for name, value in values.items()}

    def describe(self) -> dict[str, dict]:
        """Every parameter under the prefix with its version and whether it is a secret; the
        values of secrets are masked and never fetched decrypted."""
        client = self._client or _ssm_client()
        described = {}
        for page in client.get_paginator("get_parameters_by_path").paginate(Path=self.prefix, Recursive=True,
                                                                           WithDecryption=False):
            for parameter in page["Parameters"]:
                secret = parameter["Type"] == "SecureString"
                name = parameter["Name"][len(self.prefix):].lstrip("/")
                described[name] = {"value": "****" if secret else parameter["Value"],
                                   "version": parameter["Version"], "secret": secret}
        return described


config = ConfigStore()
