"""What Redis knows of the valet tokens in circulation: who issued each, its uses, and which
were revoked. Entries live exactly as long as their token, so nothing needs sweeping."""

import redis

from .connections import redis_client


class TokenRegistry:
    def __init__(self, url: str | None = None, client: redis.Redis | None = None):
        self._url = url
        self._client = client

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            self._client = redis_client(self._url)
        return self._client

    def register(self, token_id: str, issuer: str, ttl_seconds: int) -> None:
        self.client.set(f"valet:{token_id}", issuer, ex=max(1, ttl_seconds))

    def issuer_of(self, token_id: str) -> str | None:
        value = self.client.get(f"valet:{token_id}")
        return value.decode() if value is not None else None

    def revoke(self, token_id: str) -> None:
        ttl = self.client.ttl(f"valet:{token_id}")
        self.client.set(f"valet:revoked:{token_id}", "1", ex=max(1, ttl if ttl and ttl > 0 else 1))

    def is_revoked(self, token_id: str) -> bool:
        return bool(self.client.exists(f"valet:revoked:{token_id}"))

    def use(self, token_id: str, max_uses: int, ttl_seconds: int) -> bool:
        """Count one use, atomically; False once the token has been used `max_uses` times."""
        key = f"valet:uses:{token_id}"
        pipe = self.client.pipeline()  # MULTI/EXEC: the counter starts with the token's lifetime
        pipe.set(key, 0, ex=max(1, ttl_seconds), nx=True)
        pipe.incr(key)
        _, count = pipe.execute()
        return count <= max_uses


registry = TokenRegistry()
