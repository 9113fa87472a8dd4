"""Checks of external services named by variables: quick to say which one, where, and why."""

import time

import pytest
from support.ports import free_port

from local.errors import LocalError
from local.services import external


@pytest.fixture(autouse=True)
def quick_checks(monkeypatch):
    monkeypatch.setattr(external, "CHECK_SECONDS", 1.0)


@pytest.mark.parametrize("check, url, expected", [
    (external.check_redis, "redis://:hunter2@127.0.0.1:{port}/0",
     "Redis at 127.0.0.1:{port} (REDIS_URL=redis://:***@127.0.0.1:{port}/0) is unreachable: tried for 1 s; last error:"),
    (lambda url: external.check_aws(url, "us-east-1"), "http://127.0.0.1:{port}",
     "AWS endpoint at 127.0.0.1:{port} (AWS_ENDPOINT_URL=http://127.0.0.1:{port}) is unreachable: tried for 1 s; last error:"),
    (external.check_postgres, "postgresql://app@127.0.0.1:{port}/recipes",
     "Postgres at 127.0.0.1:{port} (DATABASE_URL=postgresql://app@127.0.0.1:{port}/recipes) is unreachable"),
])
def test_an_unreachable_service_is_named_with_its_address(check, url, expected):
    port = free_port()
    began = time.monotonic()
    with pytest.raises(LocalError) as error:
        check(url.format(port=port))
    assert str(error.value).startswith(expected.format(port=port))
    assert "hunter2" not in str(error.value)
    assert time.monotonic() - began < 5


def test_reachable_services_pass(postgres_url, redis_url, aws_url):
    external.check_postgres(postgres_url)
    external.check_redis(redis_url)
    external.check_aws(aws_url, "us-east-1")
