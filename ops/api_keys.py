"""API keys: shown once when created, stored only as a SHA-256 hash with their scopes."""

import hashlib
import os
import secrets
from pathlib import Path

KEY_PREFIX = "rk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(connection, name: str, scopes: list[str]) -> str:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO api_keys (name, key_hash, key_prefix, scopes) VALUES (%s, %s, %s, %s)",
            (name, hash_key(key), key[:10], scopes),
        )
    return key


def key_is_active(connection, key: str) -> bool:
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL", (hash_key(key),))
        return cursor.fetchone() is not None


# The scopes a key can hold; the same list as the API's operation table
# (layers/domain/recipebook/api.py), which a test keeps in step.
SCOPES = ("recipes:read", "recipes:write", "products:read", "products:write", "valet:issue", "admin")


def list_keys(connection) -> list[dict]:
    with connection, connection.cursor() as cursor:
        cursor.execute("""SELECT id, name, key_prefix, scopes, created_at, revoked_at
                          FROM api_keys ORDER BY created_at""")
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


def revoke(connection, key_id: str) -> bool:
    """Revoke a key by its id (or its printed prefix); False when no active key matches."""
    with connection, connection.cursor() as cursor:
        cursor.execute("""UPDATE api_keys SET revoked_at = now()
                          WHERE (id::text = %s OR key_prefix = %s) AND revoked_at IS NULL RETURNING id""",
                       (key_id, key_id))
        return cursor.fetchone() is not None


def local_admin_key(connection, path: Path) -> str:
    """The admin API key of a local stack, made on its first start. Its hash is in the database;
    the key itself is kept owner-only at `path` so that each start can print it again."""
    if path.exists():
        key = path.read_text().strip()
        if key_is_active(connection, key):
            return key
    key = create_api_key(connection, "local admin", ["admin"])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
