"""API Gateway's throttling: a token bucket per stage, or per method where MethodSettings
set one, refilled at the rate and holding at most the burst."""

import threading
import time

from local.app.model import ApiSpec, MethodSetting


class TokenBucket:
    def __init__(self, rate: float, burst: int, clock=time.monotonic):
        self.rate, self.capacity, self.clock = rate, max(1, burst), clock
        self.tokens = float(self.capacity)
        self.updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class Throttle:
    def __init__(self, api: ApiSpec, clock=time.monotonic):
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        for setting in api.method_settings:
            bucket = _bucket(setting, clock)
            if bucket is not None:
                self._buckets[(setting.resource_path, setting.http_method)] = bucket

    def allow(self, resource: str, method: str) -> bool:
        """True when the request may go on; the most specific setting applies."""
        for key in ((resource, method), (resource, "*"), ("/*", method), ("/*", "*")):
            bucket = self._buckets.get(key)
            if bucket is not None:
                return bucket.take()
        return True


def _bucket(setting: MethodSetting, clock) -> TokenBucket | None:
    if setting.rate is None and setting.burst is None:
        return None
    rate = setting.rate if setting.rate is not None else float("inf")
    burst = setting.burst if setting.burst is not None else max(1, int(rate))
    return TokenBucket(rate, burst, clock)
