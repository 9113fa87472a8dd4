"""Cache-aside and the configuration store, measured side by side in one run.

    .venv/bin/python bench/patterns.py [--samples 2000]

Embedded Postgres, Redis and moto in a temporary folder; the handlers run in this process:
- GET /recipes/{id} (20 items): a cache hit versus a miss (the key dropped before each
  call), handler level (goal: a hit at least 5x faster);
- a warm configuration read, served from the instance's cache (goal: under 5 µs).
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import boto3

from api import event, fill, load_handler, percentile  # bench/api.py: the same handlers and data
from infra.migrate import migrate
from local.procs import free_port
from local.services.aws import EmbeddedAws
from local.services.postgres import EmbeddedPostgres
from local.services.redis import EmbeddedRedis

COMMAND = ".venv/bin/python bench/patterns.py"


def start(service, scratch: Path):
    process = service.process(scratch / "run")
    process.start()
    process.wait_ready(service.ready, 30)
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-patterns-") as scratch:
        scratch = Path(scratch)
        services = [EmbeddedPostgres(scratch, free_port()), EmbeddedRedis(scratch, free_port()),
                    EmbeddedAws(scratch, free_port())]
        processes = []
        try:
            for service in services:
                processes.append(start(service, scratch))
            postgres, redis_server, aws = services
            migrate(postgres.url)
            recipe = fill(postgres.url, 1000)
            ssm = boto3.client("ssm", endpoint_url=aws.url, region_name="us-east-1", aws_access_key_id="test",
                               aws_secret_access_key="test")
            ssm.put_parameter(Name="/bench/cache/ttl-seconds", Value="300", Type="String")
            os.environ.update({"DATABASE_URL": postgres.url, "REDIS_URL": redis_server.url, "AWS_ENDPOINT_URL": aws.url,
                               "CONFIG_PREFIX": "/bench", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                               "AWS_DEFAULT_REGION": "us-east-1"})
            get_recipe = load_handler("get_recipe")
            from cloudpatterns.cache import cache
            from cloudpatterns.config import config

            request = event(f"/recipes/{recipe}", {"id": str(recipe)})
            assert get_recipe(request, None)["statusCode"] == 200
            hits, misses = [], []
            for _ in range(args.samples):
                began = time.perf_counter()
                answer = get_recipe(request, None)
                hits.append(time.perf_counter() - began)
                assert answer["headers"]["X-Cache"] == "HIT"
            for _ in range(args.samples):
                cache.client.delete(f"recipe:{recipe}")
                began = time.perf_counter()
                answer = get_recipe(request, None)
                misses.append(time.perf_counter() - began)
                assert answer["headers"]["X-Cache"] == "MISS"

            config.get("cache/ttl-seconds")  # warm
            reads = 200_000
            began = time.perf_counter()
            for _ in range(reads):
                config.get("cache/ttl-seconds")
            config_us = (time.perf_counter() - began) / reads * 1e6
        finally:
            for process in reversed(processes):
                process.stop()

    command = f"{COMMAND} --samples {args.samples}"
    hit, miss = statistics.median(hits) * 1000, statistics.median(misses) * 1000
    print(f"GET /recipes/{{id}} (20 items), handler level: miss p50 {miss:.3f} ms (p99 "
          f"{percentile(misses, 0.99) * 1000:.3f}), hit p50 {hit:.3f} ms (p99 {percentile(hits, 0.99) * 1000:.3f}); "
          f"a hit is {miss / hit:.1f}x faster (goal >= 5x)   [{command}]")
    print(f"warm configuration read: {config_us:.2f} µs (goal < 5 µs)   [{command}]")


if __name__ == "__main__":
    main()
