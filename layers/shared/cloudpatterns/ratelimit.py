"""Per-principal rate limits in Redis, exact across every instance and process.

One Lua script per check: it counts the request in the principal's current window and
answers the count and the window's remaining time together, atomically, so concurrent
clients can never be admitted beyond the limit and every answer can carry accurate
RateLimit-* headers. (The `limits` library does the counting just as exactly, but its
answer needs a second round trip for the remaining count and reset time, which doubled
the limiter's share of a cached read.)

When Redis cannot be reached, an in-instance limiter takes over (each instance then counts
on its own, so the effective limit is per instance) and a warning is logged; a request is
never failed because the limiter is down.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

import redis

from .connections import redis_client

log = logging.getLogger(__name__)

WINDOW_MS = 60_000
# KEYS[1] the principal's counter; ARGV[1] the window in ms. The window starts with the
# first request in it and the counter expires with it.
COUNT_IN_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); left = tonumber(ARGV[1]) end
return {count, left}
"""


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


def _decide(count: int, left_ms: int, limit: int) -> Decision:
    return Decision(count <= limit, limit, max(0, limit - count), math.ceil(left_ms / 1000))


class _InstanceWindows:
    """The same fixed windows, in this instance's memory."""

    def __init__(self):
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def count(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            ends, count = self._windows.get(key, (0.0, 0))
            if now >= ends:
                ends, count = now + WINDOW_MS / 1000, 0
            self._windows[key] = (ends, count + 1)
        return count + 1, int((ends - now) * 1000)


class RateLimiter:
    def __init__(self, url: str | None = None, timeout_s: float = 0.25):
        self._url = url
        self._timeout = timeout_s
        self._script = None
        self._lock = threading.Lock()
        self._memory = _InstanceWindows()

    def _count_in_redis(self):
        with self._lock:
            if self._script is None:
                self._script = redis_client(self._url, self._timeout).register_script(COUNT_IN_WINDOW)
            return self._script

    def hit(self, key: str, per_minute: int) -> Decision:
        limit = max(1, per_minute)
        try:
            count, left_ms = self._count_in_redis()(keys=[f"ratelimit:{key}"], args=[WINDOW_MS])
        except redis.RedisError as error:
            log.warning("rate limiter: Redis unavailable (%s: %s); counting in this instance",
                        type(error).__name__, error)
            count, left_ms = self._memory.count(key)
        return _decide(int(count), int(left_ms), limit)


limiter = RateLimiter()
