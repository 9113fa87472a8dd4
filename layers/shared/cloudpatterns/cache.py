"""Cache-aside in Redis: read the cache, on a miss load from the source of truth and store
it for a TTL; writes drop what they changed after their transaction commits.

- Single flight: concurrent misses on one key load it once; the others wait for the value
  (a short Redis lock, across every instance of every function).
- Namespaces: list pages live under a versioned namespace; bumping the version drops every
  page at once without finding them.
- Redis down or slow: reads go to the loader, writes skip invalidation, a warning is
  logged, and nothing fails; the client reconnects by itself when Redis is back.
"""

import json
import logging
import time
import uuid

import redis

from .connections import redis_client
from .http import dumps

log = logging.getLogger(__name__)

LOCK_MS = 3000  # how long a loader may hold a key before others stop waiting for it
WAIT_STEP_S = 0.005


class Cache:
    def __init__(self, url: str | None = None, client: redis.Redis | None = None, timeout_s: float = 0.25):
        self._url = url
        self._client = client
        self.timeout_s = timeout_s

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            self._client = redis_client(self._url, self.timeout_s)
        return self._client

    def get_or_load(self, key: str, loader, ttl_seconds: int) -> tuple[object, bool]:
        """(value, True) from the cache, or (value, False) after loading it."""
        try:
            cached = self.client.get(key)
            if cached is not None:
                return json.loads(cached), True
            if self.client.set(f"lock:{key}", uuid.uuid4().hex, nx=True, px=LOCK_MS):
                # The previous holder may have stored the value and let go between our GET and SET.
                cached = self.client.get(key)
                if cached is not None:
                    self._release(key)
                    return json.loads(cached), True
            else:
                waited = self._wait_for(key)
                if waited is not None:
                    return waited, True
        except redis.RedisError as error:
            self._warn("read", error)
            return loader(), False
        try:
            value = loader()
        except BaseException:
            self._release(key)  # waiters stop waiting and load (and fail) for themselves
            raise
        try:
            self.client.set(key, dumps(value), ex=max(1, int(ttl_seconds)))
        except redis.RedisError as error:
            self._warn("store", error)
        self._release(key)
        return value, False

    def _release(self, key: str) -> None:
        try:
            self.client.delete(f"lock:{key}")
        except redis.RedisError:
            pass  # the lock expires by itself

    def namespace(self, name: str) -> str:
        """The current version of a namespace, as a key prefix (e.g. 'recipes:list:v7')."""
        try:
            version = self.client.get(f"ns:{name}")
        except redis.RedisError as error:
            self._warn("namespace read", error)
            return f"{name}:unversioned"
        return f"{name}:v{int(version or 0)}"

    def invalidate(self, keys: list[str] = (), namespaces: list[str] = (), strict: bool = False) -> None:
        """Drop keys and bump namespaces; called after the write committed. `strict` raises
        when Redis is down instead of logging (an event consumer wants its redelivery)."""
        try:
            pipe = self.client.pipeline(transaction=False)
            if keys:
                pipe.delete(*keys)
            for name in namespaces:
                pipe.incr(f"ns:{name}")
            pipe.execute()
        except redis.RedisError as error:
            if strict:
                raise
            # The entries expire with their TTL; the event consumer also drops them.
            self._warn("invalidate", error)

    def _wait_for(self, key: str):
        """Another instance is loading this key: wait for its value, up to the lock's life."""
        deadline = time.monotonic() + LOCK_MS / 1000
        while time.monotonic() < deadline:
            time.sleep(WAIT_STEP_S)
            cached = self.client.get(key)
            if cached is not None:
                return json.loads(cached)
            if not self.client.exists(f"lock:{key}"):
                # Released: the value was stored just now, or the loader failed.
                cached = self.client.get(key)
                return json.loads(cached) if cached is not None else None
        return None

    @staticmethod
    def _warn(what: str, error: Exception) -> None:
        log.warning("cache %s skipped, Redis unavailable (%s: %s); serving from the database",
                    what, type(error).__name__, error)


cache = Cache()
