"""Recipes and their items: the operations behind /recipes endpoints. A recipe and its items
are written in one transaction; items name products that must exist (422 otherwise)."""

from cloudpatterns import pagination
from cloudpatterns.db import database
from cloudpatterns.errors import NotFound, Unprocessable
from cloudpatterns.http import Request, Response, etag
from cloudpatterns.idempotency import idempotent
from cloudpatterns.validation import parse

from . import caching, valet
from .models import ItemChange, ItemIn, RecipeIn
from .settings import idempotency_ttl_seconds
from .sql import escape_like, missing_or_changed, write

COLUMNS = "id, title, instructions, servings, image_key, version, created_at, updated_at"


def create(request: Request) -> Response:
    recipe = parse(RecipeIn, request.json())

    def work(cursor, emit) -> Response:
        def insert() -> Response:
            cursor.execute("INSERT INTO recipes (title, instructions, servings) VALUES (%s, %s, %s) RETURNING id",
                           (recipe.title, recipe.instructions, recipe.servings))
            recipe_id = cursor.fetchone()["id"]
            _write_items(cursor, recipe_id, recipe.items)
            row = _load(cursor, recipe_id)
            emit("recipe.created", recipe_id, row, row["version"])
            return _with_etag(201, row, {"Location": f"/recipes/{recipe_id}"})

        return idempotent(request, cursor, idempotency_ttl_seconds(), insert)

    response = write(request, work)
    if "Idempotent-Replayed" not in response.headers:
        caching.forget_recipe(response.body["id"])
    return response


def get(request: Request) -> Response:
    recipe_id = request.path_int("id")
    response = caching.cached(caching.recipe_key(recipe_id),
                              lambda: database.run(lambda cursor: _load(cursor, recipe_id), context=request.context))
    _present(response.body)  # on a copy of what the cache holds: the URL expires, so it is never cached
    return response


def list_page(request: Request) -> Response:
    limit = request.query_int("limit", pagination.DEFAULT_LIMIT, pagination.MAX_LIMIT)
    after = pagination.decode_cursor(request.query.get("cursor"), {"after"})
    title = request.query.get("title")
    product_id = request.query_int("product_id", 0, 2**63 - 1) if request.query.get("product_id") is not None else None

    def load(cursor) -> dict:
        conditions, values = ["r.id > %s"], [after["after"] if after else 0]
        if title:
            conditions.append("r.title ILIKE %s")
            values.append(f"%{escape_like(title)}%")
        if product_id is not None:
            conditions.append("EXISTS (SELECT 1 FROM recipe_items i WHERE i.recipe_id = r.id AND i.product_id = %s)")
            values.append(product_id)
        cursor.execute(f"SELECT {COLUMNS} FROM recipes r WHERE {' AND '.join(conditions)} ORDER BY r.id LIMIT %s",
                       (*values, limit + 1))
        rows, next_cursor = pagination.page(cursor.fetchall(), limit, lambda row: {"after": row["id"]})
        _attach_items(cursor, rows)
        for row in rows:
            row.pop("image_key")
        return {"items": rows, "next": next_cursor}

    key = caching.list_key(caching.RECIPES_LIST, {"limit": limit, "after": after, "title": title, "product": product_id})
    return caching.cached(key, lambda: database.run(load, context=request.context), with_etag=False)


def replace(request: Request) -> Response:
    recipe_id = request.path_int("id")
    expected = request.if_match()
    recipe = parse(RecipeIn, request.json())

    def work(cursor, emit) -> dict:
        cursor.execute(
            """UPDATE recipes SET title = %s, instructions = %s, servings = %s, version = version + 1,
                      updated_at = now()
               WHERE id = %s AND (%s::int[] IS NULL OR version = ANY(%s::int[])) RETURNING id""",
            (recipe.title, recipe.instructions, recipe.servings, recipe_id, expected, expected))
        if cursor.fetchone() is None:
            missing_or_changed(cursor, "recipes", recipe_id)
        cursor.execute("DELETE FROM recipe_items WHERE recipe_id = %s", (recipe_id,))
        _write_items(cursor, recipe_id, recipe.items)
        row = _load(cursor, recipe_id)
        emit("recipe.updated", recipe_id, row, row["version"])
        return row

    row = write(request, work)
    caching.forget_recipe(recipe_id)
    return _with_etag(200, row)


def delete(request: Request) -> Response:
    recipe_id = request.path_int("id")
    expected = request.if_match()

    def work(cursor, emit) -> None:
        cursor.execute("""DELETE FROM recipes WHERE id = %s AND (%s::int[] IS NULL OR version = ANY(%s::int[]))
                          RETURNING version""",
                       (recipe_id, expected, expected))
        deleted = cursor.fetchone()
        if deleted is None:
            missing_or_changed(cursor, "recipes", recipe_id)
        emit("recipe.deleted", recipe_id, {"id": recipe_id}, deleted["version"])

    write(request, work)
    caching.forget_recipe(recipe_id)
    return Response(204)


def put_item(request: Request) -> Response:
    recipe_id, product_id = request.path_int("id"), request.path_int("product_id")
    expected = request.if_match()
    change = parse(ItemChange, request.json())

    def work(cursor, emit) -> dict:
        _bump_version(cursor, recipe_id, expected)
        _write_items(cursor, recipe_id, [ItemIn(product_id=product_id, quantity=change.quantity, unit=change.unit)],
                     upsert=True)
        row = _load(cursor, recipe_id)
        emit("recipe.item_changed", recipe_id, {"recipe_id": recipe_id, "product_id": product_id,
                                                 "quantity": change.quantity, "unit": change.unit}, row["version"])
        return row

    row = write(request, work)
    caching.forget_recipe(recipe_id)
    return _with_etag(200, row)


def delete_item(request: Request) -> Response:
    recipe_id, product_id = request.path_int("id"), request.path_int("product_id")
    expected = request.if_match()

    def work(cursor, emit) -> None:
        version = _bump_version(cursor, recipe_id, expected)
        cursor.execute("DELETE FROM recipe_items WHERE recipe_id = %s AND product_id = %s RETURNING product_id",
                       (recipe_id, product_id))
        if cursor.fetchone() is None:
            raise NotFound(f"recipe {recipe_id} has no item for product {product_id}")
        emit("recipe.item_changed", recipe_id, {"recipe_id": recipe_id, "product_id": product_id, "removed": True},
             version)

    write(request, work)
    caching.forget_recipe(recipe_id)
    return Response(204)


# -- internals ---------------------------------------------------------------------------------

def _with_etag(status: int, row: dict, headers: dict | None = None) -> Response:
    return Response(status, _present(row), {"ETag": etag(row["version"]), **(headers or {})})


def _present(row: dict) -> dict:
    """The image's S3 key becomes a presigned GET URL, made per request."""
    image_key = row.pop("image_key", None)
    row["image_url"] = valet.image_url(image_key) if image_key else None
    return row


def _bump_version(cursor, recipe_id: int, expected: list[int] | None) -> int:
    """A change to an item is a change to its recipe: new version, and If-Match checked."""
    cursor.execute("""UPDATE recipes SET version = version + 1, updated_at = now()
                      WHERE id = %s AND (%s::int[] IS NULL OR version = ANY(%s::int[])) RETURNING version""",
                   (recipe_id, expected, expected))
    row = cursor.fetchone()
    if row is None:
        missing_or_changed(cursor, "recipes", recipe_id)
    return row["version"]


def _write_items(cursor, recipe_id: int, items: list[ItemIn], upsert: bool = False) -> None:
    if not items:
        return
    wanted = [item.product_id for item in items]
    # FOR KEY SHARE: a product cannot be deleted while this transaction uses it.
    cursor.execute("SELECT id FROM products WHERE id = ANY(%s) FOR KEY SHARE", (wanted,))
    found = {row["id"] for row in cursor.fetchall()}
    missing = [product_id for product_id in wanted if product_id not in found]
    if missing:
        raise Unprocessable(f"no product with id {', '.join(map(str, missing))}", details={"missing_products": missing})
    on_conflict = (" ON CONFLICT (recipe_id, product_id) DO UPDATE SET quantity = EXCLUDED.quantity, "
                   "unit = EXCLUDED.unit") if upsert else ""
    cursor.executemany(f"INSERT INTO recipe_items (recipe_id, product_id, quantity, unit) VALUES (%s, %s, %s, %s)"
                       f"{on_conflict}", [(recipe_id, i.product_id, i.quantity, i.unit) for i in items])


def _load(cursor, recipe_id: int) -> dict:
    cursor.execute(f"SELECT {COLUMNS} FROM recipes WHERE id = %s", (recipe_id,))
    row = cursor.fetchone()
    if row is None:
        raise NotFound(f"recipe {recipe_id} does not exist")
    _attach_items(cursor, [row])
    return row


def _attach_items(cursor, rows: list[dict]) -> None:
    """Each recipe's items with their product names, in one query for the whole page."""
    if not rows:
        return
    cursor.execute("""SELECT i.recipe_id, i.product_id, p.name, i.quantity, i.unit
                      FROM recipe_items i JOIN products p ON p.id = i.product_id
                      WHERE i.recipe_id = ANY(%s) ORDER BY i.recipe_id, p.name""", ([row["id"] for row in rows],))
    by_recipe: dict[int, list] = {row["id"]: [] for row in rows}
    for item in cursor.fetchall():
        by_recipe[item.pop("recipe_id")].append(item)
    for row in rows:
        row["items"] = by_recipe[row["id"]]
