"""External configuration store against the embedded AWS endpoint: TTL, live change, outage."""

import logging
import uuid

import pytest
from cloudpatterns.config import ConfigStore
from cloudpatterns.errors import DependencyUnavailable
from support.ports import free_port

from infra.aws import emulator_client
from local.services.aws.launcher import EmbeddedAws


def ssm(url: str):
    return emulator_client("ssm", url, "us-east-1")


@pytest.fixture
def prefix(aws_url):
    path = f"/test-{uuid.uuid4().hex[:8]}"
    client = ssm(aws_url)
    client.put_parameter(Name=f"{path}/cache/ttl-seconds", Value="60", Type="String")
    client.put_parameter(Name=f"{path}/secrets/signing-key", Value="s3cr3t", Type="SecureString")
    return path


def test_values_by_path_cached_for_the_ttl_and_changed_live(aws_url, prefix):
    now = [1000.0]
    store = ConfigStore(prefix=prefix, ttl_seconds=0.5, client=ssm(aws_url), clock=lambda: now[0])
    assert store.get_int("cache/ttl-seconds", 1) == 60
    assert store.secret("secrets/signing-key") == "s3cr3t"  # decrypted
    ssm(aws_url).put_parameter(Name=f"{prefix}/cache/ttl-seconds", Value="5", Type="String", Overwrite=True)
    now[0] += 0.4
    assert store.get_int("cache/ttl-seconds", 1) == 60  # still within the TTL
    now[0] += 0.2
    assert store.get_int("cache/ttl-seconds", 1) == 5  # no restart needed


def test_an_outage_keeps_the_last_good_values_and_secrets_fail_closed(tmp_path, caplog):
    aws = EmbeddedAws(tmp_path, free_port())
    process = aws.process(tmp_path / "run")
    process.start()
    try:
        process.wait_ready(aws.ready, 30)
        ssm(aws.url).put_parameter(Name="/outage/limit", Value="7", Type="String")
        ssm(aws.url).put_parameter(Name="/outage/secrets/key", Value="k", Type="SecureString")
        now = [1000.0]
        store = ConfigStore(prefix="/outage", ttl_seconds=0.1, client=ssm(aws.url), clock=lambda: now[0])
        assert store.get("limit") == "7"
    finally:
        process.stop()
    now[0] += 0.2
    with caplog.at_level(logging.WARNING):
        assert store.get("limit") == "7"
        assert store.secret("secrets/key") == "k"
    assert "serving the last good values" in caplog.text

    never_loaded = ConfigStore(prefix="/outage", ttl_seconds=0.1, client=ssm(aws.url))
    assert never_loaded.get_int("limit", 3) == 3  # a default for a plain setting
    with pytest.raises(DependencyUnavailable, match="refusing to go on without it"):
        never_loaded.secret("secrets/key")  # never a default for a secret


def test_a_missing_secret_fails_closed(aws_url, prefix):
    with pytest.raises(DependencyUnavailable):
        ConfigStore(prefix=prefix, client=ssm(aws_url)).secret("secrets/nope")


def test_describe_masks_secrets(aws_url, prefix):
    described = ConfigStore(prefix=prefix, client=ssm(aws_url)).describe()
    assert described["cache/ttl-seconds"] == {"value": "60", "version": 1, "secret": False}
    assert described["secrets/signing-key"] == {"value": "****", "version": 1, "secret": True}


def test_get_config_needs_admin_and_never_shows_secrets(api):
    event = {"httpMethod": "GET", "path": "/config", "headers": {}, "requestContext": {"requestId": "r"}}
    denied = api.runtime.invoke("GetConfigFunction", event).payload
    assert denied["statusCode"] == 403
    admin = {**event, "requestContext": {"requestId": "r", "authorizer": {"principalId": "k", "scopes": "admin"}}}
    answer = api.runtime.invoke("GetConfigFunction", admin).payload
    assert answer["statusCode"] == 200
    import json

    parameters = json.loads(answer["body"])["parameters"]
    assert parameters["cache/ttl-seconds"]["value"] == "60"
    assert parameters["secrets/token-signing-key"] == {"value": "****", "version": 1, "secret": True}
