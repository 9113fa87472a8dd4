"""Handler-level latency of the recipes API against Postgres, measured side by side in one run.

    .venv/bin/python bench/api.py [--rows 100000] [--samples 2000]

Starts an embedded Postgres in a temporary folder, fills it with `--rows` recipes, then calls
the handlers in this process (layers on the path, as Lambda mounts them):
- GET /recipes/{id} for a recipe with 20 items, from Postgres (its cache entry dropped
  before each call): p50 and p99;
- GET /recipes, the first page and the page after row 100,000 (cached pages dropped before
  each call): keyset pagination should make the two cost the same (ratio close to 1).
The handlers run with all their services (Redis for cache and limits, moto for the
configuration), with rate limits raised out of the way.
"""

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg2
from embedded import embedded
from stats import percentile

from infra.aws import emulator_client
from local.services.aws.launcher import EmbeddedAws
from local.services.postgres import EmbeddedPostgres
from local.services.redis import EmbeddedRedis
from ops.migrate import migrate

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python bench/api.py"


def load_handler(function: str):
    """A function's handler, imported as its worker would: code folder and layers on the path."""
    for layer in ("shared", "domain"):
        path = str(ROOT / "layers" / layer / "python")
        if path not in sys.path:
            sys.path.insert(0, path)
    spec = importlib.util.spec_from_file_location(f"bench_{function}", ROOT / "functions" / function / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def fill(database_url: str, rows: int) -> int:
    """`rows` recipes (3 items each) and one with 20 items; returns the id of that one."""
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO products (name, unit) SELECT 'Product ' || n, 'g' FROM generate_series(1, 40) n")
        cursor.execute("""INSERT INTO recipes (title, instructions, servings)
                          SELECT 'Recipe ' || n, 'Mix and bake.', 1 + n %% 8 FROM generate_series(1, %s) n""", (rows,))
        cursor.execute("""INSERT INTO recipe_items (recipe_id, product_id, quantity, unit)
                          SELECT r.id, 1 + (r.id + k) % 40, 1 + k, 'g' FROM recipes r, generate_series(0, 2) k""")
        cursor.execute("INSERT INTO recipes (title) VALUES ('Twenty items') RETURNING id")
        big = cursor.fetchone()[0]
        cursor.execute("""INSERT INTO recipe_items (recipe_id, product_id, quantity, unit)
                          SELECT %s, p, 10, 'g' FROM generate_series(1, 20) p""", (big,))
        cursor.execute("ANALYZE")
    return big


def event(path: str, path_parameters=None, query=None) -> dict:
    # The gatekeeper's context, as it would reach the handler behind the gateway.
    return {"httpMethod": "GET", "path": path, "pathParameters": path_parameters, "queryStringParameters": query,
            "headers": {}, "body": None,
            "requestContext": {"requestId": "bench", "authorizer": {"principalId": "bench", "scopes": "admin"}}}


def use_services(postgres, redis_server, aws) -> None:
    """The environment the functions get, and a configuration that does not throttle a benchmark."""

    ssm = emulator_client("ssm", aws.url, "us-east-1")
    for name, value in (("cache/ttl-seconds", "300"), ("rate-limit/reads-per-minute", "1000000000"),
                        ("rate-limit/writes-per-minute", "1000000000")):
        ssm.put_parameter(Name=f"/bench/{name}", Value=value, Type="String", Overwrite=True)
    os.environ.update({"DATABASE_URL": postgres.url, "REDIS_URL": redis_server.url, "AWS_ENDPOINT_URL": aws.url,
                       "CONFIG_PREFIX": "/bench", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                       "AWS_DEFAULT_REGION": "us-east-1"})


def timed(handler, request: dict, samples: int, before=lambda: None) -> list[float]:
    before()
    assert handler(request, None)["statusCode"] == 200  # warm: connection open, plans cached
    durations = []
    for _ in range(samples):
        before()
        began = time.perf_counter()
        handler(request, None)
        durations.append(time.perf_counter() - began)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()

    with embedded(EmbeddedPostgres, EmbeddedRedis, EmbeddedAws, prefix="bench-api-") as (_, services):
        postgres, redis_server, aws = services
        migrate(postgres.url)
        big = fill(postgres.url, args.rows)
        use_services(postgres, redis_server, aws)
        get_recipe, list_recipes = load_handler("get_recipe"), load_handler("list_recipes")
        from cloudpatterns.cache import cache
        from cloudpatterns.pagination import encode_cursor

        single = timed(get_recipe, event(f"/recipes/{big}", {"id": str(big)}), args.samples,
                       before=lambda: cache.invalidate([f"recipe:{big}"]))
        # The two pages alternate, so drift in the machine's load falls on both alike.
        pages = {"first": event("/recipes", query={"limit": "20"}),
                 "deep": event("/recipes", query={"limit": "20", "cursor": encode_cursor({"after": args.rows - 100})})}
        timings = {name: [] for name in pages}
        for _ in range(args.samples // 2):
            for name, request in pages.items():
                timings[name] += timed(list_recipes, request, 1, lambda: cache.invalidate(namespaces=["recipes:list"]))
        first, deep = timings["first"], timings["deep"]

    command = f"{COMMAND} --rows {args.rows} --samples {args.samples}"
    print(f"GET /recipes/{{id}} (20 items) from Postgres, handler in-process: p50 {statistics.median(single) * 1000:.3f} ms, "
          f"p99 {percentile(single, 0.99) * 1000:.3f} ms   [{command}]")
    ratio = statistics.median(deep) / statistics.median(first)
    print(f"GET /recipes page of 20: first page p50 {statistics.median(first) * 1000:.3f} ms, after row "
          f"{args.rows - 100:,} p50 {statistics.median(deep) * 1000:.3f} ms, ratio {ratio:.2f} (goal close to 1)")


if __name__ == "__main__":
    main()
