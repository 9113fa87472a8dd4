"""Helpers for tests of the Recipes API through the gateway (the `api` fixture)."""

import io
import uuid

import psycopg2

from local.app.reader import build_model
from local.gateway.client import GatewayClient
from local.gateway.gateway import AccessLog
from local.runtime.logs import ConsoleLog
from local.stack import serving
from ops.api_keys import create_api_key

from . import PROJECT_ROOT


def unique(prefix: str = "Product") -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


def make_product(api, **fields) -> dict:
    body = {"name": unique(), "unit": "g", **fields}
    response = api.post("/products", json_body=body)
    assert response.status == 201, response.body
    return response.json()


def new_key(api, *scopes: str) -> str:
    connection = psycopg2.connect(api.database_url)
    try:
        return create_api_key(connection, "test", list(scopes))
    finally:
        connection.close()


def revoke_key(api, key: str) -> None:
    with psycopg2.connect(api.database_url) as connection, connection.cursor() as cursor:
        cursor.execute("UPDATE api_keys SET revoked_at = now() WHERE key_prefix = %s", (key[:10],))


def signing_key(api) -> str:
    return api.ssm.get_parameter(Name="/recipes/local/secrets/token-signing-key", WithDecryption=True)["Parameter"]["Value"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "x-api-key": ""}


def issue(api, key: str | None = None, **body) -> dict:
    headers = {"x-api-key": key} if key else {}
    response = api.post("/valet/tokens", json_body=body, headers=headers)
    assert response.status == 201, response.body
    return response.json()


def project_gateway(template, resolver, services: dict, account_id: str, admin_key: str | None) -> GatewayClient:
    """A GatewayClient over template.yaml's functions with these services (stop its runtime),
    wired as `local up` wires them (local/stack.py's serving())."""
    model = build_model(PROJECT_ROOT / "template.yaml", template, resolver, services)
    runtime, gateway = serving(model, "us-east-1", account_id, services.get("AWS_ENDPOINT_URL"),
                               console_log=ConsoleLog(io.StringIO()), access_log=AccessLog(io.StringIO()))
    client = GatewayClient(gateway, default_headers={"x-api-key": admin_key} if admin_key else None)
    client.runtime = runtime
    return client
