"""Products: the operations behind /products endpoints."""

import psycopg2.errors

from cloudpatterns import pagination
from cloudpatterns.db import database
from cloudpatterns.errors import Conflict, NotFound
from cloudpatterns.http import Request, Response, etag
from cloudpatterns.idempotency import idempotent
from cloudpatterns.validation import parse

from . import caching
from .models import ProductIn
from .settings import idempotency_ttl_seconds
from .sql import changed, escape_like, missing_or_changed, write

COLUMNS = "id, name, description, unit, version, created_at, updated_at"


def _with_etag(status: int, row: dict, headers: dict | None = None) -> Response:
    return Response(status, row, {"ETag": etag(row["version"]), **(headers or {})})


def _duplicate(name: str) -> Conflict:
    return Conflict(f"a product named {name!r} exists already", details={"field": "name", "value": name})


def create(request: Request) -> Response:
    product = parse(ProductIn, request.json())

    def work(cursor, emit) -> Response:
        def insert() -> Response:
            try:
                cursor.execute(f"INSERT INTO products (name, description, unit) VALUES (%s, %s, %s) RETURNING {COLUMNS}",
                               (product.name, product.description, product.unit))
            except psycopg2.errors.UniqueViolation:
                raise _duplicate(product.name) from None
            row = cursor.fetchone()
            emit("product.created", row["id"], row, row["version"])
            return _with_etag(201, row, {"Location": f"/products/{row['id']}"})

        return idempotent(request, cursor, idempotency_ttl_seconds(), insert)

    response = write(request, work)
    if "Idempotent-Replayed" not in response.headers:
        caching.forget_product(response.body["id"])
    return response


def get(request: Request) -> Response:
    product_id = request.path_int("id")

    def load(cursor) -> dict:
        cursor.execute(f"SELECT {COLUMNS} FROM products WHERE id = %s", (product_id,))
        row = cursor.fetchone()
        if row is None:
            raise NotFound(f"product {product_id} does not exist")
        return row

    return caching.cached(caching.product_key(product_id), lambda: database.run(load, context=request.context))


def list_page(request: Request) -> Response:
    limit = request.query_int("limit", pagination.DEFAULT_LIMIT, pagination.MAX_LIMIT)
    after = pagination.decode_cursor(request.query.get("cursor"), {"after"})
    name = request.query.get("name")

    def load(cursor) -> dict:
        conditions, values = ["id > %s"], [after["after"] if after else 0]
        if name:
            conditions.append("name ILIKE %s")
            values.append(f"%{escape_like(name)}%")
        cursor.execute(f"SELECT {COLUMNS} FROM products WHERE {' AND '.join(conditions)} ORDER BY id LIMIT %s",
                       (*values, limit + 1))
        items, next_cursor = pagination.page(cursor.fetchall(), limit, lambda row: {"after": row["id"]})
        return {"items": items, "next": next_cursor}

    key = caching.list_key(caching.PRODUCTS_LIST, {"limit": limit, "after": after, "name": name})
    return caching.cached(key, lambda: database.run(load, context=request.context), with_etag=False)


def replace(request: Request) -> Response:
    product_id = request.path_int("id")
    expected = request.if_match()
    product = parse(ProductIn, request.json())

    def work(cursor, emit) -> tuple[dict, list[int]]:
        try:
            cursor.execute(
                f"""UPDATE products SET name = %s, description = %s, unit = %s, version = version + 1, updated_at = now()
                    WHERE id = %s AND (%s::int[] IS NULL OR version = ANY(%s::int[])) RETURNING {COLUMNS}""",
                (product.name, product.description, product.unit, product_id, expected, expected))
        except psycopg2.errors.UniqueViolation:
            raise _duplicate(product.name) from None
        row = cursor.fetchone()
        if row is None:
            missing_or_changed(cursor, "products", product_id)
        cursor.execute("SELECT DISTINCT recipe_id FROM recipe_items WHERE product_id = %s", (product_id,))
        recipes = [r["recipe_id"] for r in cursor.fetchall()]
        # The recipes show the product's name: consumers drop those too.
        emit("product.updated", product_id, {**row, "recipe_ids": recipes}, row["version"])
        return row, recipes

    row, recipes = write(request, work)
    caching.forget_product(product_id, recipes)
    return _with_etag(200, row)


def delete(request: Request) -> Response:
    product_id = request.path_int("id")
    expected = request.if_match()

    def work(cursor, emit) -> None:
        # Locking the row keeps recipes from starting to use it until this transaction ends.
        cursor.execute("SELECT version FROM products WHERE id = %s FOR UPDATE", (product_id,))
        row = cursor.fetchone()
        if row is None:
            raise NotFound(f"product {product_id} does not exist")
        if expected is not None and row["version"] not in expected:
            raise changed("products", product_id, row["version"])
        cursor.execute("""SELECT r.id, r.title FROM recipes r JOIN recipe_items i ON i.recipe_id = r.id
                          WHERE i.product_id = %s ORDER BY r.id""", (product_id,))
        users = cursor.fetchall()
        if users:
            raise Conflict(f"product {product_id} is used by {len(users)} recipe(s)", details={"recipes": users})
        cursor.execute("DELETE FROM products WHERE id = %s", (product_id,))
        emit("product.deleted", product_id, {"id": product_id}, row["version"])

    write(request, work)
    caching.forget_product(product_id)
    return Response(204)
