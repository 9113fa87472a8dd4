"""Warm the functions the load calls before it starts: a cold instance takes a second or more
to start (several on two busy cores), and a run that began cold would measure mostly cold
starts. Every route once, a few at a time, so that the gatekeeper (in front of every call)
gets a few instances too. Its writes are real: their events are checked with the others'."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

PARALLEL = 4


def warm(stack) -> float:
    """Seconds it took."""
    began = time.monotonic()
    session = requests.Session()
    session.headers["x-api-key"] = stack.admin_key
    base = stack.gateway_url

    def call(method: str, path: str, body=None, etag: str | None = None) -> requests.Response:
        headers = {"If-Match": etag} if etag else {}
        response = session.request(method, base + path, json=body, headers=headers, timeout=60)
        if response.status_code >= 300:
            raise RuntimeError(f"warm-up: {method} {path} answered {response.status_code}: {response.text[:200]}")
        return response

    product = call("POST", "/products", {"name": f"Warm-up {uuid.uuid4().hex[:8]}", "unit": "g"}).json()
    recipe_body = {"title": "Warm-up", "items": [{"product_id": product["id"], "quantity": 1, "unit": "g"}]}
    recipes = [call("POST", "/recipes", recipe_body).json() for _ in range(2)]
    kept, doomed = recipes
    steps = [
        ("GET", f"/recipes/{kept['id']}", None, None),
        ("GET", f"/products/{product['id']}", None, None),
        ("GET", "/recipes", None, None),
        ("GET", "/products", None, None),
        ("PUT", f"/products/{product['id']}", {"name": f"Warm-up {uuid.uuid4().hex[:8]}", "unit": "g"}, '"1"'),
        ("PUT", f"/recipes/{kept['id']}", recipe_body, '"1"'),
        ("DELETE", f"/recipes/{doomed['id']}", None, '"1"'),
        ("POST", "/products", {"name": f"Warm-up {uuid.uuid4().hex[:8]}", "unit": "g"}, None),
    ]
    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(lambda step: call(*step), steps))
    call("PUT", f"/recipes/{kept['id']}/items/{product['id']}", {"quantity": 2, "unit": "g"}, '"2"')
    return time.monotonic() - began
