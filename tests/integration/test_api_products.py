"""The products endpoints, each through the local gateway against the embedded Postgres."""

import threading
import uuid

import pytest
from support.api import make_product, unique


def test_create_get_replace_delete(api):
    created = api.post("/products", json_body={"name": "  Flour X1 ", "description": "wheat", "unit": "g"})
    assert created.status == 201
    product = created.json()
    assert (product["name"], product["description"], product["unit"], product["version"]) == ("Flour X1", "wheat", "g", 1)
    assert created.headers["location"] == f"/products/{product['id']}"
    assert created.headers["etag"] == '"1"'

    fetched = api.get(f"/products/{product['id']}")
    assert fetched.status == 200 and fetched.json() == product and fetched.headers["etag"] == '"1"'

    replaced = api.put(f"/products/{product['id']}", json_body={"name": "Flour X2", "unit": "kg"})
    assert replaced.status == 200
    assert (replaced.json()["name"], replaced.json()["unit"], replaced.json()["description"]) == ("Flour X2", "kg", "")
    assert replaced.headers["etag"] == '"2"'

    assert api.delete(f"/products/{product['id']}").status == 204
    missing = api.get(f"/products/{product['id']}")
    assert missing.status == 404
    assert missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("body, fields", [
    ({}, {"name", "unit"}),
    ({"name": "", "unit": "g"}, {"name"}),
    ({"name": "   ", "unit": "g"}, {"name"}),
    ({"name": 5, "unit": ["g"]}, {"name", "unit"}),
    ({"name": "x" * 101, "unit": "g"}, {"name"}),
    ({"name": "ok", "unit": "g", "colour": "red"}, {"colour"}),
    ({"name": "ok", "unit": "g", "description": "d" * 2001}, {"description"}),
])
def test_bad_bodies_are_400_with_every_field_error(api, body, fields):
    response = api.post("/products", json_body=body)
    assert response.status == 400
    error = response.json()
    assert error["error"]["code"] == "validation_failed"
    assert {detail["field"] for detail in error["error"]["details"]} == fields
    assert error["requestId"] == response.headers["x-amzn-requestid"]


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2", "\u00e9".encode("latin-1")])
def test_a_body_that_is_not_json_is_400(api, body):
    response = api.post("/products", body=body, headers={"Content-Type": "application/json"})
    assert response.status == 400 and response.json()["error"]["code"] == "bad_request"


def test_a_duplicate_name_is_409_whatever_its_case(api):
    name = unique("Sugar")
    make_product(api, name=name)
    response = api.post("/products", json_body={"name": name.upper(), "unit": "g"})
    assert response.status == 409
    assert response.json()["error"]["details"] == {"field": "name", "value": name.upper()}
    other = make_product(api)
    assert api.put(f"/products/{other['id']}", json_body={"name": name, "unit": "g"}).status == 409


@pytest.mark.parametrize("target", ["/products/0", "/products/-3", "/products/abc", "/products/99999999999999999999"])
def test_bad_ids_are_400(api, target):
    assert api.get(target).status == 400


def test_if_match_detects_a_concurrent_change(api):
    product = make_product(api)
    url = f"/products/{product['id']}"
    assert api.put(url, json_body={"name": unique(), "unit": "g"}, headers={"If-Match": '"1"'}).status == 200
    stale = api.put(url, json_body={"name": unique(), "unit": "g"}, headers={"If-Match": '"1"'})
    assert stale.status == 412 and stale.json()["error"]["details"] == {"version": 2}
    assert api.delete(url, headers={"If-Match": '"1"'}).status == 412
    assert api.get(url).status == 200  # nothing deleted
    assert api.put(url, json_body={"name": unique(), "unit": "g"}, headers={"If-Match": "nonsense"}).status == 400
    for stale in ('"stale-version"', 'W/"2"'):  # well-formed but not current (RFC 9110 section 13.1.1)
        assert api.put(url, json_body={"name": unique(), "unit": "g"}, headers={"If-Match": stale}).status == 412
        assert api.delete(url, headers={"If-Match": stale}).status == 412
    assert api.delete(url, headers={"If-Match": '"2"'}).status == 204


def test_concurrent_updates_with_the_same_etag_let_exactly_one_win(api):
    product = make_product(api)
    statuses = []
    barrier = threading.Barrier(4)

    def update():
        barrier.wait()
        statuses.append(api.put(f"/products/{product['id']}", json_body={"name": unique(), "unit": "g"},
                                headers={"If-Match": '"1"'}).status)

    threads = [threading.Thread(target=update) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200, 412, 412, 412]


def test_idempotent_retries_create_once(api):
    key = str(uuid.uuid4())
    body = {"name": unique(), "unit": "g"}
    first = api.post("/products", json_body=body, headers={"Idempotency-Key": key})
    again = api.post("/products", json_body=body, headers={"Idempotency-Key": key})
    assert first.status == again.status == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    listed = api.get(f"/products?name={body['name'].split()[1]}").json()["items"]
    assert len(listed) == 1
    other_body = api.post("/products", json_body={"name": unique(), "unit": "g"}, headers={"Idempotency-Key": key})
    assert other_body.status == 422
    assert api.post("/products", json_body=body, headers={"Idempotency-Key": "k" * 201}).status == 400


def test_a_failed_write_does_not_use_up_its_idempotency_key(api):
    name = unique()
    make_product(api, name=name)
    key = str(uuid.uuid4())
    assert api.post("/products", json_body={"name": name, "unit": "g"}, headers={"Idempotency-Key": key}).status == 409
    # The 409 rolled back, key included: the key is free for another request.
    fresh = {"name": unique(), "unit": "g"}
    created = api.post("/products", json_body=fresh, headers={"Idempotency-Key": key})
    assert created.status == 201 and "idempotent-replayed" not in created.headers
    assert api.post("/products", json_body=fresh, headers={"Idempotency-Key": key}).headers["idempotent-replayed"] == "true"


def test_list_filters_and_pages_without_skipping_or_repeating(api):
    tag = uuid.uuid4().hex[:8]
    made = [make_product(api, name=f"Spice {tag} {i:02}") for i in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        target = f"/products?name={tag}&limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(target).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if pages == 1:  # rows inserted between two pages show up once, in order
            made.append(make_product(api, name=f"Spice {tag} late"))
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [p["id"] for p in made] and pages == 3


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "cursor=!!!", "cursor=e30"])
def test_bad_paging_parameters_are_400(api, query):
    assert api.get(f"/products?{query}").status == 400


def test_a_like_pattern_in_the_filter_is_taken_literally(api):
    make_product(api, name=f"Percent {uuid.uuid4().hex[:6]}")
    assert api.get("/products?name=%25").json()["items"] == []  # "%" matches no name
