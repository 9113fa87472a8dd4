"""Hostile input through the gateway: clear 4xx, nothing written, never a 5xx or a traceback."""

import json
import threading
import uuid

import psycopg2
import pytest
from support.api import unique

SQL_INJECTIONS = ["'; DROP TABLE products; --", "1 OR 1=1", "\" OR \"\"=\"", "1; SELECT pg_sleep(5)",
                  "%' UNION SELECT * FROM api_keys --", "\\x00\\x27"]


def assert_clean(response):
    assert response.status < 500, (response.status, response.body[:300])
    text = response.body.decode("utf-8", errors="replace")
    assert "Traceback" not in text and 'File "' not in text and "psycopg2" not in text


def count(api, table: str) -> int:
    with psycopg2.connect(api.database_url) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("body, status", [
    (b"[" * 100_000 + b"]" * 100_000, 400),            # nested far past any parser's depth
    (json.dumps({"name": "x", "unit": "g", "description": "d" * 300_000}).encode(), 413),
    (b"\xff\xfe\xfa not utf-8", 400),
    (b'{"name": "x", "unit": "g"' + b" " * 10, 400),
    (b"null", 400),
    (b'{"name": {"$gt": ""}, "unit": "g"}', 400),
    (json.dumps({"name": "x" * 10_000, "unit": "g"}).encode(), 400),
])
def test_hostile_bodies_are_refused_and_nothing_is_written(api, body, status):
    before = count(api, "products")
    response = api.post("/products", body=body, headers={"Content-Type": "application/json"})
    assert_clean(response)
    assert response.status == status
    assert count(api, "products") == before


def test_oversized_requests_are_refused_at_the_gateway(api):
    assert api.post("/products", body=b"x" * (10 * 1024 * 1024 + 1)).status == 413
    assert api.get("/products", headers={"X-Junk": "j" * 20_000}).status == 431


@pytest.mark.parametrize("payload", SQL_INJECTIONS)
def test_sql_injection_in_fields_is_stored_as_text_and_harms_nothing(api, payload):
    tables = count(api, "api_keys")
    created = api.post("/products", json_body={"name": f"{payload} {uuid.uuid4().hex[:6]}", "unit": "g",
                                               "description": payload})
    assert_clean(created)
    assert created.status == 201 and created.json()["description"] == payload  # data, never SQL
    for query in (f"name={payload}", f"cursor={payload}", f"limit={payload}"):
        assert_clean(api.get("/products?" + query.replace("%", "%25").replace(" ", "%20").replace("#", "%23")))
    assert_clean(api.get("/recipes?title=" + payload.replace("%", "%25").replace(" ", "%20")))
    assert count(api, "api_keys") == tables and count(api, "products") >= 1


@pytest.mark.parametrize("target", [
    "/products/..%2F..%2Fetc%2Fpasswd", "/products/%2e%2e", "/products/1%00", "/products/-1", "/products/1.5",
    "/products/0x10", "/products/99999999999999999999999", "/recipes/1/items/..%2F2", "/products?limit=1000000",
    "/products?limit=-5", "/recipes?product_id=abc", "/products/%zz",
])
def test_bad_paths_and_parameters_are_4xx(api, target):
    response = api.get(target)
    assert_clean(response)
    assert 400 <= response.status < 500


def test_twenty_clients_updating_one_recipe_with_if_match_one_wins(api):
    recipe = api.post("/recipes", json_body={"title": unique("Contested")}).json()
    results, barrier = [], threading.Barrier(20)

    def update(n: int):
        barrier.wait()
        response = api.put(f"/recipes/{recipe['id']}", json_body={"title": f"Winner {n}"}, headers={"If-Match": '"1"'})
        results.append((response.status, n))

    threads = [threading.Thread(target=update, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    winners = [n for status, n in results if status == 200]
    assert len(winners) == 1 and sorted(s for s, _ in results).count(412) == 19
    final = api.get(f"/recipes/{recipe['id']}").json()
    assert final["title"] == f"Winner {winners[0]}" and final["version"] == 2


def test_twenty_clients_creating_one_name_exactly_one_201(api):
    name, statuses, barrier = unique("Race"), [], threading.Barrier(20)

    def create():
        barrier.wait()
        statuses.append(api.post("/products", json_body={"name": name, "unit": "g"}).status)

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [201] + [409] * 19
