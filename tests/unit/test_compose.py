"""No Docker engine runs here, so the compose file is checked as data: every service, its
ports, healthchecks, and every variable the app reads to find the others."""

from urllib.parse import urlsplit

import pytest
import yaml
from support import PROJECT_ROOT

from local import settings


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def test_services_and_healthchecks(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "localstack", "app"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert set(services["app"]["depends_on"]) == {"postgres", "redis", "localstack"}
    assert all(dep["condition"] == "service_healthy" for dep in services["app"]["depends_on"].values())


def test_localstack_is_configured_for_fidelity(compose):
    env = compose["services"]["localstack"]["environment"]
    assert set(env["SERVICES"].split(",")) == {"sns", "sqs", "ssm", "s3"}
    assert env["S3_SKIP_SIGNATURE_VALIDATION"] == "0"
    assert env["SQS_ENDPOINT_STRATEGY"] == "path"


def test_every_service_variable_the_app_reads_points_at_its_container(compose):
    services = compose["services"]
    env = services["app"]["environment"]
    expected = {settings.DATABASE_URL: "postgres", settings.REDIS_URL: "redis",
                settings.AWS_ENDPOINT_URL: "localstack"}
    for variable, service in expected.items():
        url = urlsplit(env[variable])
        assert url.hostname == service, variable
        published = [p.rsplit(":", 1)[1] for p in services[service]["ports"]]
        assert str(url.port) in published, variable
    # With these set the app starts no embedded server, and the parsed settings are valid.
    parsed = settings.Settings.from_environ({k: str(v) for k, v in env.items()})
    assert parsed.bind_host == "0.0.0.0"
    assert str(parsed.gateway_port) in services["app"]["ports"][0]
    postgres = services["postgres"]["environment"]
    assert env[settings.DATABASE_URL] == (f"postgresql://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
                                          f"@postgres:5432/{postgres['POSTGRES_DB']}")


def test_the_dockerfile_runs_the_emulator():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert 'CMD ["python", "-m", "local", "up"]' in dockerfile
    for folder in ("local", "infra", "layers", "functions"):
        assert f"COPY {folder} ./{folder}" in dockerfile
