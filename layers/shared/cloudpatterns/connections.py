"""Clients for the services a function reaches, built from its environment on first use."""

import os

import redis


def redis_client(url: str | None = None, timeout_s: float = 0.5) -> redis.Redis:
    """A Redis client with short timeouts (a slow Redis must cost little); REDIS_URL by default."""
    url = url or os.environ.get("REDIS_URL")
    if not url:
        raise redis.ConnectionError("REDIS_URL is not set for this function")
    return redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
