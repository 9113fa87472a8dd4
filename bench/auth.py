"""The gatekeeper and the rate limiter, measured side by side in one run.

    .venv/bin/python bench/auth.py [--samples 2000]

Embedded Postgres and Redis in a temporary folder:
- the authorizer step of the local gateway for an API key, uncached (the template's
  ReauthorizeEvery: 0, so the gatekeeper function runs and looks the key up each time)
  versus cached (the same authorizer given x-api-key as identity source and a 300 s TTL);
- one rate-limit check (limits' moving window in Redis on loopback): goal p50 under 0.5 ms.
"""

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
from stats import percentile

from infra.intrinsics import Deployment, Resolver
from infra.template import load_template
from local.app.reader import build_model
from local.gateway.authorizers import Authorizers, method_arn
from local.http.messages import HttpRequest
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime
from local.services.postgres import EmbeddedPostgres
from local.services.procs import free_port
from local.services.redis import EmbeddedRedis
from ops.api_keys import create_api_key
from ops.migrate import migrate

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python bench/auth.py"


def time_checks(authorizers: Authorizers, spec, request: HttpRequest, arn: str, loop, samples: int) -> list[float]:
    async def once():
        return await authorizers.check(spec, request, arn, lambda: {"headers": dict(request.headers),
                                                                   "multiValueQueryStringParameters": None})

    assert loop.run(once()).context is not None  # allowed, and warm
    durations = []
    for _ in range(samples):
        began = time.perf_counter()
        loop.run(once())
        durations.append(time.perf_counter() - began)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-auth-") as scratch:
        scratch = Path(scratch)
        postgres, redis_server = EmbeddedPostgres(scratch, free_port()), EmbeddedRedis(scratch, free_port())
        processes = []
        try:
            for service in (postgres, redis_server):
                process = service.process(scratch / "run")
                process.start()
                process.wait_ready(service.ready, 30)
                processes.append(process)
            migrate(postgres.url)
            connection = psycopg2.connect(postgres.url)
            key = create_api_key(connection, "bench", ["admin"])
            connection.close()

            path = ROOT / "template.yaml"
            template = load_template(path)
            model = build_model(path, template, Resolver(template, Deployment(), path),
                                {"DATABASE_URL": postgres.url, "REDIS_URL": redis_server.url})
            runtime = Runtime(model, "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()))
            try:
                api = model.apis["RecipesApi"]
                uncached = api.authorizers["Gatekeeper"]
                cached = uncached.model_copy(update={"headers": ["x-api-key"], "ttl_s": 300})
                request = HttpRequest("GET", "/products", [("x-api-key", key)], b"")
                arn = method_arn("us-east-1", "123456789012", "recipesapi", api.stage, "GET", "/products")
                slow = time_checks(Authorizers(api, runtime), uncached, request, arn, runtime.loop, args.samples)
                fast = time_checks(Authorizers(api, runtime), cached, request, arn, runtime.loop, args.samples)
            finally:
                runtime.stop()

            sys.path.insert(0, str(ROOT / "layers" / "shared" / "python"))
            from cloudpatterns.ratelimit import RateLimiter

            limiter = RateLimiter(redis_server.url)
            limiter.hit("bench", 10**9)
            checks = []
            for _ in range(args.samples):
                began = time.perf_counter()
                limiter.hit("bench", 10**9)
                checks.append(time.perf_counter() - began)
        finally:
            for process in reversed(processes):
                process.stop()

    command = f"{COMMAND} --samples {args.samples}"
    slow_ms, fast_ms = statistics.median(slow) * 1000, statistics.median(fast) * 1000
    print(f"authorizer step for an API key: uncached p50 {slow_ms:.3f} ms (p99 {percentile(slow, 0.99) * 1000:.3f}), "
          f"cached p50 {fast_ms:.3f} ms (p99 {percentile(fast, 0.99) * 1000:.3f}): {slow_ms / fast_ms:.0f}x   [{command}]")
    print(f"one rate-limit check in Redis: p50 {statistics.median(checks) * 1000:.3f} ms, p99 "
          f"{percentile(checks, 0.99) * 1000:.3f} ms (goal p50 < 0.5 ms)   [{command}]")


if __name__ == "__main__":
    main()
