"""Mixed reads and writes against the Recipes API through the local gateway, for the load run
with faults (tests/load/run.py); `locust -f tests/load/locustfile.py` runs it on its own too.

Environment: LOAD_API_KEY (sent as x-api-key), LOAD_RECORDS (a JSON-lines file; "{pid}" in it
becomes this process's id, so several locust processes never share one file).

Every answer is written down, one JSON object a line: method, path, status, error code,
latency, and for a write that succeeded the resource's id and the version it acknowledged
(or "deleted"). The run checks the database against these lines afterwards, so a write the
API acknowledged and then lost shows up there. Each answer is also classified here, where it
is known what the request raced with:

- ok: 2xx
- expected: a 412 (another user's write won the If-Match race) or a 404 on a recipe some
  user of this process has sent a DELETE for
- throttled: 429
- unexpected: anything else (5xx, API Gateway's 502/504, a connection error, a 404 on a
  recipe nobody deleted, a 409 or 422 this load never provokes)

Only `unexpected` answers count as failures in locust's own statistics.
"""

import json
import os
import random
import time
import uuid

from locust import HttpUser, between, task

API_KEY = os.environ.get("LOAD_API_KEY", "")
RECORDS = os.environ.get("LOAD_RECORDS", "load-records-{pid}.jsonl")
TIMEOUT_S = 35  # past the functions' 10 s and API Gateway's 29 s integration timeout: theirs answer first
HOT = 12  # updates and deletes pick among the newest recipes, so users race on the same rows


class Pool:
    """What the users of this process have made, shared so that they contend for it."""

    def __init__(self):
        self.products: list[int] = []
        self.recipes: list[int] = []  # created, no DELETE sent for them yet
        self.doomed: set[int] = set()  # a DELETE was sent: from then on a 404 is no surprise

    def hot_recipe(self) -> int | None:
        return random.choice(self.recipes[-HOT:]) if self.recipes else None

    def doom(self, recipe_id: int) -> None:
        self.doomed.add(recipe_id)
        if recipe_id in self.recipes:
            self.recipes.remove(recipe_id)


POOL = Pool()


class Recorder:
    def __init__(self, path: str):
        self.path = path.replace("{pid}", str(os.getpid()))
        self._file = None

    def write(self, entry: dict) -> None:
        if self._file is None:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self._file = open(self.path, "a", buffering=1)  # a line at a time: a killed run keeps what it wrote
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")


RECORDER = Recorder(RECORDS)


def classify(method: str, kind: str | None, resource_id: int | None, status: int) -> str:
    if 200 <= status < 300:
        return "ok"
    if status == 429:
        return "throttled"
    if status == 412 and method in ("PUT", "DELETE"):
        return "expected"
    if status == 404 and kind == "recipe" and resource_id in POOL.doomed:
        return "expected"
    return "unexpected"


def error_code(response) -> str | None:
    if response.status_code == 0:
        return f"connection: {type(response.error).__name__}" if response.error else "connection"
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):
            return body["error"].get("code")
        if "message" in body:  # API Gateway's own answers: {"message": "..."}
            return f"gateway: {body['message']}"
    return None


def version_of_etag(etag: str | None) -> int | None:
    text = (etag or "").removeprefix("W/").strip('"')
    return int(text) if text.isdigit() else None


def version_of(response) -> int | None:
    return version_of_etag(response.headers.get("ETag"))


def name_for(kind: str | None, n: int) -> str:
    return f"Load {kind or 'item'} {os.getpid()}-{n}-{uuid.uuid4().hex[:8]}"


class RecipesUser(HttpUser):
    # About 4 tasks a second per user: 10 users make a few tens of requests a second.
    wait_time = between(0.1, 0.4)

    def on_start(self):
        self.client.headers.update({"x-api-key": API_KEY})
        self.made = 0
        for _ in range(2):
            self.create_product()

    # -- one request, recorded and classified ------------------------------------------

    def call(self, method: str, path: str, name: str, kind: str | None = None, resource_id: int | None = None,
             body: dict | None = None, headers: dict | None = None):
        began = time.time()
        with self.client.request(method, path, name=name, json=body, headers=headers, timeout=TIMEOUT_S,
                                 catch_response=True) as response:
            status = response.status_code or 0
            outcome = classify(method, kind, resource_id, status)
            entry = {"t": round(began, 3), "ms": round((time.time() - began) * 1000, 1), "method": method,
                     "name": name, "path": path, "kind": kind, "id": resource_id, "status": status,
                     "outcome": outcome}
            if headers and "If-Match" in headers:
                entry["if_match"] = version_of_etag(headers["If-Match"])
            if outcome == "ok":
                response.success()
            else:
                entry["code"] = error_code(response)
                if outcome == "unexpected":
                    response.failure(f"{status} {entry['code']}")
                else:
                    response.success()
            created = method == "POST" and outcome == "ok"
            if created:
                entry["id"] = resource_id = response.json()["id"]
            if outcome == "ok" and method != "GET":
                entry["version"] = "deleted" if method == "DELETE" else version_of(response)
            RECORDER.write(entry)
            return response, outcome

    # -- writes --------------------------------------------------------------------------

    @task(2)
    def create_product(self):
        self.made += 1
        response, outcome = self.call("POST", "/products", "/products", "product",
                                      body={"name": name_for("product", self.made), "unit": "g"},
                                      headers={"Idempotency-Key": str(uuid.uuid4())})
        if outcome == "ok":
            POOL.products.append(response.json()["id"])

    @task(3)
    def create_recipe(self):
        if not POOL.products:
            return
        self.made += 1
        response, outcome = self.call("POST", "/recipes", "/recipes", "recipe", body=self.recipe_body(),
                                      headers={"Idempotency-Key": str(uuid.uuid4())})
        if outcome == "ok":
            POOL.recipes.append(response.json()["id"])

    @task(3)
    def replace_recipe(self):
        recipe_id = POOL.hot_recipe()
        if recipe_id is None:
            return
        response, outcome = self.call("GET", f"/recipes/{recipe_id}", "/recipes/{id}", "recipe", recipe_id)
        if outcome == "ok":
            self.call("PUT", f"/recipes/{recipe_id}", "/recipes/{id}", "recipe", recipe_id, body=self.recipe_body(),
                      headers={"If-Match": response.headers["ETag"]})

    @task(2)
    def put_item(self):
        recipe_id = POOL.hot_recipe()
        if recipe_id is None or not POOL.products:
            return
        response, outcome = self.call("GET", f"/recipes/{recipe_id}", "/recipes/{id}", "recipe", recipe_id)
        if outcome == "ok":
            product_id = random.choice(POOL.products)
            self.call("PUT", f"/recipes/{recipe_id}/items/{product_id}", "/recipes/{id}/items/{product_id}",
                      "recipe", recipe_id, body={"quantity": random.randint(1, 900), "unit": "g"},
                      headers={"If-Match": response.headers["ETag"]})

    @task(1)
    def replace_product(self):
        if not POOL.products:
            return
        product_id = random.choice(POOL.products[-HOT:])
        response, outcome = self.call("GET", f"/products/{product_id}", "/products/{id}", "product", product_id)
        if outcome == "ok":
            self.made += 1
            # A new name: recipes show their products' names, so this must reach their cached copies too.
            self.call("PUT", f"/products/{product_id}", "/products/{id}", "product", product_id,
                      body={"name": name_for("product", self.made), "unit": "kg"},
                      headers={"If-Match": response.headers["ETag"]})

    @task(1)
    def delete_recipe(self):
        recipe_id = POOL.hot_recipe()
        if recipe_id is None:
            return
        response, outcome = self.call("GET", f"/recipes/{recipe_id}", "/recipes/{id}", "recipe", recipe_id)
        if outcome == "ok":
            POOL.doom(recipe_id)
            self.call("DELETE", f"/recipes/{recipe_id}", "/recipes/{id}", "recipe", recipe_id,
                      headers={"If-Match": response.headers["ETag"]})

    # -- reads ---------------------------------------------------------------------------

    @task(6)
    def get_recipe(self):
        recipe_id = POOL.hot_recipe()
        if recipe_id is not None:
            self.call("GET", f"/recipes/{recipe_id}", "/recipes/{id}", "recipe", recipe_id)

    @task(2)
    def get_product(self):
        if POOL.products:
            product_id = random.choice(POOL.products)
            self.call("GET", f"/products/{product_id}", "/products/{id}", "product", product_id)

    @task(2)
    def list_recipes(self):
        self.call("GET", f"/recipes?limit={random.choice((10, 20, 50))}", "/recipes")

    @task(1)
    def list_products(self):
        self.call("GET", f"/products?limit={random.choice((10, 20, 50))}", "/products")

    def recipe_body(self) -> dict:
        self.made += 1
        products = random.sample(POOL.products, min(len(POOL.products), random.randint(1, 3)))
        return {"title": name_for("recipe", self.made), "instructions": "Mix. Rest. Bake.",
                "servings": random.randint(1, 8),
                "items": [{"product_id": p, "quantity": random.randint(1, 900), "unit": "g"} for p in products]}
