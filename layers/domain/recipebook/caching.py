"""What the recipe endpoints cache, under which keys, for how long; and what each write
drops. Reads go through `cached`; writes call `forget_*` after their transaction commits."""

import hashlib
import json

from cloudpatterns.cache import cache
from cloudpatterns.config import config
from cloudpatterns.http import Response, etag

PRODUCTS_LIST = "products:list"
RECIPES_LIST = "recipes:list"


def ttl() -> int:
    return config.get_int("cache/ttl-seconds", 60)


def product_key(product_id: int) -> str:
    return f"product:{product_id}"


def recipe_key(recipe_id: int) -> str:
    return f"recipe:{recipe_id}"


def list_key(namespace: str, query: dict) -> str:
    fingerprint = hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()[:24]
    return f"{cache.namespace(namespace)}:{fingerprint}"


def cached(key: str, loader, with_etag: bool = True) -> Response:
    """The body from Redis (X-Cache: HIT) or from `loader` (MISS), as a 200 response."""
    body, hit = cache.get_or_load(key, loader, ttl())
    headers = {"X-Cache": "HIT" if hit else "MISS"}
    if with_etag:
        headers["ETag"] = etag(body["version"])
    return Response(200, body, headers)


def forget_product(product_id: int, recipes_using_it: list[int] = ()) -> None:
    """A product changed: its entry, the product pages, and (as recipes show product names)
    the recipes that use it and the recipe pages."""
    keys = [product_key(product_id), *(recipe_key(r) for r in recipes_using_it)]
    cache.invalidate(keys, [PRODUCTS_LIST, *([RECIPES_LIST] if recipes_using_it else [])])


def forget_recipe(recipe_id: int) -> None:
    cache.invalidate([recipe_key(recipe_id)], [RECIPES_LIST])
