"""API Gateway's throttling: token buckets refilled at the rate and holding at most the burst.
A REST API has one per stage, or per method where MethodSettings set one; an HTTP API's
DefaultRouteSettings give every route a bucket of its own, and RouteSettings one route its own
limits."""

import threading
import time

from local.app.model import HTTP, ApiSpec, MethodSetting


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
        self._per_route = None  # an HTTP API's default: (rate, burst) for each route's own bucket
        self._clock = clock
        for setting in api.method_settings:
            if api.kind == HTTP and (setting.resource_path, setting.http_method) == ("/*", "*"):
                self._per_route = setting
                continue
            bucket = _bucket(setting, clock)
            if bucket is not None:
                self._buckets[(setting.resource_path, setting.http_method)] = bucket

    def allow(self, resource: str, method: str) -> bool:
        """True when the request may go on; the most specific setting applies."""
        if self._per_route is not None:
            key = (resource, method)
            if key not in self._buckets:
                self._buckets[key] = _bucket(self._per_route, self._clock)
            bucket = self._buckets[key]
            return bucket.take() if bucket is not None else True
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
