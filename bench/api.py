"""Handler-level latency of the recipes API against Postgres, measured side by side in one run.

    .venv/bin/python bench/api.py [--rows 100000] [--samples 2000]

Starts an embedded Postgres in a temporary folder, fills it with `--rows` recipes, then calls
the handlers in this process (layers on the path, as Lambda mounts them):
- GET /recipes/{id} for a recipe with 20 items: p50 and p99;
- GET /recipes, the first page and the page after row 100,000: keyset pagination should
  make the two cost the same (ratio close to 1).
"""

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

from infra.migrate import migrate
from local.procs import free_port
from local.services.postgres import EmbeddedPostgres

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
    return {"httpMethod": "GET", "path": path, "pathParameters": path_parameters, "queryStringParameters": query,
            "headers": {}, "requestContext": {"requestId": "bench"}, "body": None}


def timed(handler, request: dict, samples: int) -> list[float]:
    assert handler(request, None)["statusCode"] == 200  # warm: connection open, plans cached
    durations = []
    for _ in range(samples):
        began = time.perf_counter()
        handler(request, None)
        durations.append(time.perf_counter() - began)
    return durations


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-api-") as scratch:
        postgres = EmbeddedPostgres(Path(scratch), free_port())
        process = postgres.process(Path(scratch) / "run")
        process.start()
        try:
            process.wait_ready(postgres.ready, 30)
            migrate(postgres.url)
            big = fill(postgres.url, args.rows)
            os.environ["DATABASE_URL"] = postgres.url
            get_recipe, list_recipes = load_handler("get_recipe"), load_handler("list_recipes")
            single = timed(get_recipe, event(f"/recipes/{big}", {"id": str(big)}), args.samples)
            first = timed(list_recipes, event("/recipes", query={"limit": "20"}), args.samples // 4)
            from cloudpatterns.pagination import encode_cursor

            deep_query = {"limit": "20", "cursor": encode_cursor({"after": args.rows - 100})}
            deep = timed(list_recipes, event("/recipes", query=deep_query), args.samples // 4)
        finally:
            process.stop()

    command = f"{COMMAND} --rows {args.rows} --samples {args.samples}"
    print(f"GET /recipes/{{id}} (20 items), handler in-process: p50 {statistics.median(single) * 1000:.3f} ms, "
          f"p99 {percentile(single, 0.99) * 1000:.3f} ms   [{command}]")
    ratio = statistics.median(deep) / statistics.median(first)
    print(f"GET /recipes page of 20: first page p50 {statistics.median(first) * 1000:.3f} ms, after row "
          f"{args.rows - 100:,} p50 {statistics.median(deep) * 1000:.3f} ms, ratio {ratio:.2f} (goal close to 1)")


if __name__ == "__main__":
    main()
