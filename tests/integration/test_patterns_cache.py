"""Cache-aside against the embedded Redis: hits, TTL, single flight, outage, invalidation."""

import logging
import threading
import time
import uuid

import pytest
from cloudpatterns.cache import Cache
from support.api import make_product, unique
from support.ports import free_port

from local.services.redis import EmbeddedRedis


@pytest.fixture
def cache(redis_url):
    return Cache(url=redis_url)


def test_a_miss_loads_and_a_hit_does_not_until_the_ttl_runs_out(cache):
    key, loads = f"k:{uuid.uuid4()}", []
    loader = lambda: loads.append(1) or {"n": len(loads)}  # noqa: E731
    assert cache.get_or_load(key, loader, 1) == ({"n": 1}, False)
    assert cache.get_or_load(key, loader, 1) == ({"n": 1}, True)
    time.sleep(1.1)
    assert cache.get_or_load(key, loader, 1) == ({"n": 2}, False)


def test_fifty_concurrent_misses_load_once(cache):
    key, loads = f"k:{uuid.uuid4()}", []
    barrier = threading.Barrier(50)
    results = []

    def loader():
        loads.append(1)
        time.sleep(0.2)
        return {"value": 42}

    def reader():
        barrier.wait()
        results.append(cache.get_or_load(key, loader, 30))

    threads = [threading.Thread(target=reader) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(loads) == 1
    assert len(results) == 50 and all(value == {"value": 42} for value, _ in results)
    assert sum(1 for _, hit in results if not hit) == 1


def test_a_failing_loader_releases_its_waiters(cache):
    key = f"k:{uuid.uuid4()}"
    with pytest.raises(ZeroDivisionError):
        cache.get_or_load(key, lambda: 1 / 0, 30)
    began = time.monotonic()
    assert cache.get_or_load(key, lambda: "ok", 30) == ("ok", False)
    assert time.monotonic() - began < 0.5  # no wait for a lock nobody holds


def test_redis_stopped_and_restarted_mid_test(tmp_path, caplog):
    server = EmbeddedRedis(tmp_path, free_port())
    process = server.process(tmp_path / "run")
    process.start()
    process.wait_ready(server.ready, 10)
    cache = Cache(url=server.url)
    key = f"k:{uuid.uuid4()}"
    assert cache.get_or_load(key, lambda: 1, 30) == (1, False)
    assert cache.get_or_load(key, lambda: 1, 30) == (1, True)
    process.stop()
    with caplog.at_level(logging.WARNING):
        began = time.monotonic()
        assert cache.get_or_load(key, lambda: 2, 30) == (2, False)  # from the source, no error
        cache.invalidate([key], ["ns"])  # skipped, not raised
        assert time.monotonic() - began < 2
    assert "Redis unavailable" in caplog.text
    process = server.process(tmp_path / "run")
    process.start()
    try:
        process.wait_ready(server.ready, 10)
        assert cache.get_or_load(key, lambda: 3, 30)[1] is True  # caching resumed by itself (AOF kept the key)
    finally:
        process.stop()


def test_namespaces_drop_every_page_at_once(cache):
    name = f"list-{uuid.uuid4().hex[:6]}"
    first = cache.namespace(name)
    cache.get_or_load(f"{first}:page1", lambda: [1], 30)
    cache.invalidate(namespaces=[name])
    second = cache.namespace(name)
    assert second != first
    assert cache.get_or_load(f"{second}:page1", lambda: [2], 30) == ([2], False)


# -- the endpoints: X-Cache, and invalidation after each kind of write -------------------------

def test_reads_are_cached_and_every_write_invalidates_what_it_changed(api):
    product = make_product(api)
    url = f"/products/{product['id']}"
    assert api.get(url).headers["x-cache"] == "MISS"
    assert api.get(url).headers["x-cache"] == "HIT"
    api.put(url, json_body={"name": product["name"] + " v2", "unit": "kg"})
    fresh = api.get(url)
    assert (fresh.headers["x-cache"], fresh.json()["unit"], fresh.headers["etag"]) == ("MISS", "kg", '"2"')

    recipe = api.post("/recipes", json_body={"title": unique("Tea"), "items": [
        {"product_id": product["id"], "quantity": 1, "unit": "kg"}]}).json()
    recipe_url = f"/recipes/{recipe['id']}"
    list_url = f"/recipes?title={recipe['title'].split()[1]}"
    assert api.get(recipe_url).headers["x-cache"] == "MISS"
    assert api.get(recipe_url).headers["x-cache"] == "HIT"
    assert api.get(list_url).headers["x-cache"] == "MISS"
    assert api.get(list_url).headers["x-cache"] == "HIT"

    # Renaming the product changes how the recipe reads: both entries are dropped.
    api.put(url, json_body={"name": product["name"] + " v3", "unit": "kg"})
    renamed = api.get(recipe_url)
    assert renamed.headers["x-cache"] == "MISS" and renamed.json()["items"][0]["name"].endswith(" v3")
    assert api.get(list_url).headers["x-cache"] == "MISS"

    item_url = f"{recipe_url}/items/{product['id']}"
    changes = [lambda: api.put(item_url, json_body={"quantity": 2, "unit": "kg"}),
               lambda: api.delete(item_url),
               lambda: api.put(recipe_url, json_body={"title": recipe["title"] + " v2", "items": []})]
    for change in changes:
        assert api.get(recipe_url).headers["x-cache"] in ("HIT", "MISS")  # cached now, whichever it was
        assert change().status in (200, 204)
        assert api.get(recipe_url).headers["x-cache"] == "MISS"
    assert api.delete(recipe_url).status == 204
    assert api.get(recipe_url).status == 404
    assert api.delete(url).status == 204
    assert api.get(url).status == 404


def test_a_new_product_shows_up_in_a_cached_list_at_once(api):
    tag = uuid.uuid4().hex[:8]
    make_product(api, name=f"Herb {tag} 1")
    assert len(api.get(f"/products?name={tag}").json()["items"]) == 1
    assert api.get(f"/products?name={tag}").headers["x-cache"] == "HIT"
    make_product(api, name=f"Herb {tag} 2")
    listed = api.get(f"/products?name={tag}")
    assert listed.headers["x-cache"] == "MISS" and len(listed.json()["items"]) == 2
