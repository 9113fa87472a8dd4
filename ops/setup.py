"""What the app needs before its functions serve locally: its schema, and an admin API key
to call it with. `local up` runs it (template.yaml, Metadata: Local: Setup) and shows the
lines it returns under its start summary."""

from pathlib import Path

import psycopg2

from .api_keys import local_admin_key
from .migrate import migrate

ADMIN_KEY_FILE = "admin-api-key"


def setup(database_url: str, state_dir: str) -> list[str]:
    applied = migrate(database_url)
    connection = psycopg2.connect(database_url, connect_timeout=10)
    try:
        key = local_admin_key(connection, Path(state_dir) / ADMIN_KEY_FILE)
    finally:
        connection.close()
    return [f"migrations     {', '.join(applied) or 'up to date'}",
            f"admin API key  {key}   (send as x-api-key)"]
