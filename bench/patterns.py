"""Cache-aside and the configuration store, measured side by side in one run.

    .venv/bin/python bench/patterns.py [--samples 2000]

Embedded Postgres, Redis and moto in a temporary folder; the handlers run in this process:
- GET /recipes/{id} (20 items): a cache hit versus a miss (the key dropped before each
  call), handler level (goal: a hit at least 5x faster);
- a warm configuration read, served from the instance's cache (goal: under 5 µs).
"""

import argparse
import statistics
import time

from api import event, fill, load_handler, percentile, use_services  # bench/api.py: same handlers, data
from embedded import embedded

from local.services.aws.launcher import EmbeddedAws
from local.services.postgres import EmbeddedPostgres
from local.services.redis import EmbeddedRedis
from ops.migrate import migrate

COMMAND = ".venv/bin/python bench/patterns.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()

    with embedded(EmbeddedPostgres, EmbeddedRedis, EmbeddedAws) as (scratch, services):
        postgres, redis_server, aws = services
        migrate(postgres.url)
        recipe = fill(postgres.url, 1000)
        use_services(postgres, redis_server, aws)
        get_recipe = load_handler("get_recipe")
        from cloudpatterns.cache import cache
        from cloudpatterns.config import config
        from cloudpatterns.http import Request
        from recipebook import recipes

        request = event(f"/recipes/{recipe}", {"id": str(recipe)})
        # The whole handler (access checks and the rate limiter's Redis round trips included),
        # and the cache-aside operation alone (what the pattern itself costs).
        calls = {"handler": lambda: get_recipe(request, None)["headers"]["X-Cache"],
                 "operation": lambda: recipes.get(Request(request)).headers["X-Cache"]}
        timings = {}
        for name, call in calls.items():
            assert call() in ("HIT", "MISS")
            hits, misses = [], []
            for _ in range(args.samples):
                began = time.perf_counter()
                assert call() == "HIT"
                hits.append(time.perf_counter() - began)
            for _ in range(args.samples):
                cache.client.delete(f"recipe:{recipe}")
                began = time.perf_counter()
                assert call() == "MISS"
                misses.append(time.perf_counter() - began)
            timings[name] = (hits, misses)

        config.get("cache/ttl-seconds")  # warm
        reads = 200_000
        began = time.perf_counter()
        for _ in range(reads):
            config.get("cache/ttl-seconds")
        config_us = (time.perf_counter() - began) / reads * 1e6

    command = f"{COMMAND} --samples {args.samples}"
    for name, (hits, misses) in timings.items():
        hit, miss = statistics.median(hits) * 1000, statistics.median(misses) * 1000
        print(f"GET /recipes/{{id}} (20 items), {name}: miss p50 {miss:.3f} ms (p99 "
              f"{percentile(misses, 0.99) * 1000:.3f}), hit p50 {hit:.3f} ms (p99 {percentile(hits, 0.99) * 1000:.3f}); "
              f"a hit is {miss / hit:.1f}x faster (goal >= 5x)   [{command}]")
    print(f"warm configuration read: {config_us:.2f} µs (goal < 5 µs)   [{command}]")


if __name__ == "__main__":
    main()
