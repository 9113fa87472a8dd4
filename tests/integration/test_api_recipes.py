"""The recipes endpoints, each through the local gateway against the embedded Postgres."""

import uuid

import psycopg2
import pytest
from support.api import make_product, unique


@pytest.fixture(scope="module")
def pantry(api):
    return [make_product(api, name=unique(name)) for name in ("Flour", "Water", "Salt", "Yeast")]


def make_recipe(api, pantry, **fields) -> dict:
    body = {"title": unique("Bread"), "instructions": "Mix. Bake.", "servings": 4,
            "items": [{"product_id": pantry[0]["id"], "quantity": 500, "unit": "g"},
                      {"product_id": pantry[1]["id"], "quantity": "0.35", "unit": "l"}], **fields}
    response = api.post("/recipes", json_body=body)
    assert response.status == 201, response.body
    return response.json()


def count_recipes(api, title: str) -> int:
    return len(api.get(f"/recipes?title={title}").json()["items"])


def test_a_recipe_is_created_with_its_items_and_their_product_names(api, pantry):
    recipe = make_recipe(api, pantry)
    assert recipe["servings"] == 4 and recipe["version"] == 1
    items = {item["product_id"]: item for item in recipe["items"]}
    assert items[pantry[0]["id"]] == {"product_id": pantry[0]["id"], "name": pantry[0]["name"], "quantity": 500,
                                      "unit": "g"}
    assert items[pantry[1]["id"]]["quantity"] == 0.35
    fetched = api.get(f"/recipes/{recipe['id']}")
    assert fetched.json() == recipe and fetched.headers["etag"] == '"1"'


def test_an_item_naming_a_missing_product_is_422_and_nothing_is_written(api, pantry):
    title = unique("Ghost")
    response = api.post("/recipes", json_body={"title": title, "items": [
        {"product_id": pantry[0]["id"], "quantity": 1, "unit": "g"},
        {"product_id": 987654321, "quantity": 1, "unit": "g"}]})
    assert response.status == 422
    assert response.json()["error"]["details"] == {"missing_products": [987654321]}
    assert "987654321" in response.json()["error"]["message"]
    assert count_recipes(api, title) == 0


@pytest.mark.parametrize("items, field", [
    ([{"product_id": 1, "quantity": 0, "unit": "g"}], "items.0.quantity"),
    ([{"product_id": 1, "quantity": -2, "unit": "g"}], "items.0.quantity"),
    ([{"product_id": 1, "quantity": "lots", "unit": "g"}], "items.0.quantity"),
    ([{"product_id": 1, "quantity": 1}], "items.0.unit"),
    ([{"product_id": 1, "quantity": 1, "unit": "g"}] * 2, "items"),
    ([{"product_id": i, "quantity": 1, "unit": "g"} for i in range(1, 102)], "items"),
    ("not a list", "items"),
])
def test_bad_items_are_400(api, items, field):
    response = api.post("/recipes", json_body={"title": "x", "items": items})
    assert response.status == 400
    assert field in {detail["field"] for detail in response.json()["error"]["details"]}


def test_every_error_in_a_body_is_listed(api):
    response = api.post("/recipes", json_body={"title": "", "servings": 0, "extra": 1,
                                               "items": [{"product_id": "a", "quantity": 0, "unit": ""}]})
    fields = {detail["field"] for detail in response.json()["error"]["details"]}
    assert fields == {"title", "servings", "extra", "items.0.product_id", "items.0.quantity", "items.0.unit"}


def test_replace_changes_everything_and_honours_if_match(api, pantry):
    recipe = make_recipe(api, pantry)
    url = f"/recipes/{recipe['id']}"
    body = {"title": unique("Focaccia"), "items": [{"product_id": pantry[2]["id"], "quantity": 10, "unit": "g"}]}
    replaced = api.put(url, json_body=body, headers={"If-Match": '"1"'})
    assert replaced.status == 200
    assert [i["product_id"] for i in replaced.json()["items"]] == [pantry[2]["id"]]
    assert replaced.json()["servings"] is None and replaced.headers["etag"] == '"2"'
    assert api.put(url, json_body=body, headers={"If-Match": '"1"'}).status == 412
    assert api.put("/recipes/987654321", json_body=body).status == 404


def test_every_conditional_write_answers_a_false_precondition_412_as_rfc_9110_says(api, pantry):
    """RFC 9110 section 13.1.1: a well-formed If-Match this API never issued, or a weak one, is a
    false condition (412); a list passes when one of its tags is current; a value that is not
    entity-tag syntax is a 400; a missing resource stays a 404 (section 13.2.1)."""
    recipe = make_recipe(api, pantry)
    url, item = f"/recipes/{recipe['id']}", f"/recipes/{recipe['id']}/items/{pantry[3]['id']}"
    body, change = {"title": unique("Rye")}, {"quantity": 3, "unit": "g"}
    writes = [("PUT", url, body), ("PUT", item, change), ("DELETE", item, None), ("DELETE", url, None)]
    for method, target, json_body in writes:
        for stale in ('"stale-version"', 'W/"1"', '"999"', '"0", "7"'):
            answer = api.request(method, target, json_body=json_body, headers={"If-Match": stale})
            assert answer.status == 412, (method, target, stale, answer.json())
            assert answer.json()["error"]["code"] == "precondition_failed"
        assert api.request(method, target, json_body=json_body, headers={"If-Match": "stale"}).status == 400
    assert api.put(url, json_body=body, headers={"If-Match": '"stale", "1"'}).status == 200
    assert api.put(item, json_body=change, headers={"If-Match": "*"}).status == 200
    assert api.delete(item, headers={"If-Match": '"3"'}).status == 204
    assert api.delete(url, headers={"If-Match": '"4", W/"4"'}).status == 204
    assert api.put(url, json_body=body, headers={"If-Match": '"stale-version"'}).status == 404


def test_items_are_added_changed_and_removed_one_at_a_time(api, pantry):
    recipe = make_recipe(api, pantry)
    base = f"/recipes/{recipe['id']}/items"
    added = api.put(f"{base}/{pantry[3]['id']}", json_body={"quantity": 7, "unit": "g"})
    assert added.status == 200 and added.json()["version"] == 2
    changed = api.put(f"{base}/{pantry[3]['id']}", json_body={"quantity": 9, "unit": "g"}, headers={"If-Match": '"2"'})
    assert {i["product_id"]: i["quantity"] for i in changed.json()["items"]}[pantry[3]["id"]] == 9
    assert api.put(f"{base}/{pantry[3]['id']}", json_body={"quantity": 1, "unit": "g"},
                   headers={"If-Match": '"2"'}).status == 412
    assert api.put(f"{base}/987654321", json_body={"quantity": 1, "unit": "g"}).status == 422
    assert api.put(f"/recipes/987654321/items/{pantry[0]['id']}", json_body={"quantity": 1, "unit": "g"}).status == 404
    assert api.put(f"{base}/{pantry[0]['id']}", json_body={"quantity": 0, "unit": "g"}).status == 400

    assert api.delete(f"{base}/{pantry[3]['id']}").status == 204
    assert api.delete(f"{base}/{pantry[3]['id']}").status == 404
    assert pantry[3]["id"] not in [i["product_id"] for i in api.get(f"/recipes/{recipe['id']}").json()["items"]]


def test_a_product_in_use_cannot_be_deleted_until_its_recipes_are_gone(api, pantry):
    salt = make_product(api, name=unique("Salt"))
    recipe = make_recipe(api, pantry, items=[{"product_id": salt["id"], "quantity": 5, "unit": "g"}])
    refused = api.delete(f"/products/{salt['id']}")
    assert refused.status == 409
    assert refused.json()["error"]["details"] == {"recipes": [{"id": recipe["id"], "title": recipe["title"]}]}
    assert api.get(f"/products/{salt['id']}").status == 200
    assert api.delete(f"/recipes/{recipe['id']}").status == 204
    assert api.get(f"/recipes/{recipe['id']}").status == 404
    assert api.delete(f"/products/{salt['id']}").status == 204


def test_list_filters_by_title_and_product_and_pages(api, pantry):
    tag = uuid.uuid4().hex[:8]
    yeast = pantry[3]["id"]
    with_yeast = [make_recipe(api, pantry, title=f"Loaf {tag} {i}",
                              items=[{"product_id": yeast, "quantity": 1, "unit": "g"}]) for i in range(3)]
    make_recipe(api, pantry, title=f"Flatbread {tag}")
    page = api.get(f"/recipes?title={tag}&product_id={yeast}&limit=2").json()
    assert [r["id"] for r in page["items"]] == [r["id"] for r in with_yeast[:2]]
    assert page["items"][0]["items"][0]["name"] == pantry[3]["name"]
    rest = api.get(f"/recipes?title={tag}&product_id={yeast}&limit=2&cursor={page['next']}").json()
    assert [r["id"] for r in rest["items"]] == [with_yeast[2]["id"]] and rest["next"] is None
    assert len(api.get(f"/recipes?title={tag}").json()["items"]) == 4
    assert api.get("/recipes?product_id=abc").status == 400


def test_idempotency_keys_expire(api, pantry):
    key, body = str(uuid.uuid4()), {"title": unique("Soup")}
    assert api.post("/recipes", json_body=body, headers={"Idempotency-Key": key}).status == 201
    with psycopg2.connect(api.database_url) as connection, connection.cursor() as cursor:
        cursor.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = %s", (key,))
    again = api.post("/recipes", json_body={"title": unique("Stew")}, headers={"Idempotency-Key": key})
    assert again.status == 201 and "idempotent-replayed" not in again.headers
