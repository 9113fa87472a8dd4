"""Per-principal rate limits in Redis, exact across every instance and process.

The `limits` library (what Flask-Limiter is built on) keeps a moving window per key with
one atomic Lua script per check, so concurrent clients can never be admitted beyond the
limit together. When Redis cannot be reached, an in-instance limiter takes over (each
instance then counts on its own, so the effective limit is per instance) and a warning is
logged; a request is never failed because the limiter is down.
"""

import logging
import math
import os
import threading
import time
from dataclasses import dataclass

# Imported here, whole, before any thread can race limits' lazy import of it (limits reads
# redis.__version__ and refuses a half-initialised module).
import redis  # noqa: F401
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        headers = {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                   "RateLimit-Reset": str(self.reset_seconds)}
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_seconds))
        return headers


class RateLimiter:
    def __init__(self, url: str | None = None, timeout_s: float = 0.25):
        self._url = url
        self._timeout = timeout_s
        self._redis = None
        self._lock = threading.Lock()
        self._memory = MovingWindowRateLimiter(MemoryStorage())

    @property
    def redis(self) -> MovingWindowRateLimiter:
        with self._lock:
            if self._redis is None:
                url = self._url or os.environ.get("REDIS_URL")
                if not url:
                    raise ConnectionError("REDIS_URL is not set for this function")
                storage = RedisStorage(url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout)
                self._redis = MovingWindowRateLimiter(storage)
            return self._redis

    def hit(self, key: str, per_minute: int) -> Decision:
        item = RateLimitItemPerMinute(max(1, per_minute))
        try:
            return self._decide(self.redis, item, key)
        except Exception as error:  # the storage's own errors differ by backend; all mean "down"
            log.warning("rate limiter: Redis unavailable (%s: %s); counting in this instance", type(error).__name__, error)
            return self._decide(self._memory, item, key)

    @staticmethod
    def _decide(limiter: MovingWindowRateLimiter, item, key: str) -> Decision:
        allowed = limiter.hit(item, key)
        reset_at, remaining = limiter.get_window_stats(item, key)
        return Decision(allowed, item.amount, max(0, remaining), max(0, math.ceil(reset_at - time.time())))


limiter = RateLimiter()
