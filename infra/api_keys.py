"""API keys: shown once when created, stored only as a SHA-256 hash with their scopes."""

import hashlib
import secrets

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
