"""Products: the operations behind /products endpoints."""

import psycopg2.errors

from cloudpatterns import pagination
from cloudpatterns.db import database
from cloudpatterns.errors import Conflict, NotFound
from cloudpatterns.http import Request, Response, etag
from cloudpatterns.idempotency import idempotent
from cloudpatterns.validation import parse

from .models import ProductIn
from .settings import idempotency_ttl_seconds
from .sql import changed, escape_like, missing_or_changed

COLUMNS = "id, name, description, unit, version, created_at, updated_at"


def _with_etag(status: int, row: dict, headers: dict | None = None) -> Response:
    return Response(status, row, {"ETag": etag(row["version"]), **(headers or {})})


def _duplicate(name: str) -> Conflict:
    return Conflict(f"a product named {name!r} exists already", details={"field": "name", "value": name})


def create(request: Request) -> Response:
    product = parse(ProductIn, request.json())

    with database.transaction() as cursor:
        def insert() -> Response:
            try:
                cursor.execute(f"INSERT INTO products (name, description, unit) VALUES (%s, %s, %s) RETURNING {COLUMNS}",
                               (product.name, product.description, product.unit))
            except psycopg2.errors.UniqueViolation:
                raise _duplicate(product.name) from None
            row = cursor.fetchone()
            return _with_etag(201, row, {"Location": f"/products/{row['id']}"})

        return idempotent(request, cursor, idempotency_ttl_seconds(), insert)


def get(request: Request) -> Response:
    product_id = request.path_int("id")
    with database.transaction() as cursor:
        cursor.execute(f"SELECT {COLUMNS} FROM products WHERE id = %s", (product_id,))
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"product {product_id} does not exist")
    return _with_etag(200, row)


def list_page(request: Request) -> Response:
    limit = request.query_int("limit", pagination.DEFAULT_LIMIT, pagination.MAX_LIMIT)
    after = pagination.decode_cursor(request.query.get("cursor"), {"after"})
    conditions, values = ["id > %s"], [after["after"] if after else 0]
    if request.query.get("name"):
        conditions.append("name ILIKE %s")
        values.append(f"%{escape_like(request.query['name'])}%")
    with database.transaction() as cursor:
        cursor.execute(f"SELECT {COLUMNS} FROM products WHERE {' AND '.join(conditions)} ORDER BY id LIMIT %s",
                       (*values, limit + 1))
        rows = cursor.fetchall()
    items, next_cursor = pagination.page(rows, limit, lambda row: {"after": row["id"]})
    return Response(200, {"items": items, "next": next_cursor})


def replace(request: Request) -> Response:
    product_id = request.path_int("id")
    expected = request.if_match()
    product = parse(ProductIn, request.json())
    with database.transaction() as cursor:
        try:
            cursor.execute(
                f"""UPDATE products SET name = %s, description = %s, unit = %s, version = version + 1, updated_at = now()
                    WHERE id = %s AND (%s::int IS NULL OR version = %s) RETURNING {COLUMNS}""",
                (product.name, product.description, product.unit, product_id, expected, expected))
        except psycopg2.errors.UniqueViolation:
            raise _duplicate(product.name) from None
        row = cursor.fetchone()
        if row is None:
            missing_or_changed(cursor, "products", product_id)
    return _with_etag(200, row)


def delete(request: Request) -> Response:
    product_id = request.path_int("id")
    expected = request.if_match()
    with database.transaction() as cursor:
        # Locking the row keeps recipes from starting to use it until this transaction ends.
        cursor.execute("SELECT version FROM products WHERE id = %s FOR UPDATE", (product_id,))
        row = cursor.fetchone()
        if row is None:
            raise NotFound(f"product {product_id} does not exist")
        if expected is not None and row["version"] != expected:
            raise changed("products", product_id, row["version"])
        cursor.execute("""SELECT r.id, r.title FROM recipes r JOIN recipe_items i ON i.recipe_id = r.id
                          WHERE i.product_id = %s ORDER BY r.id""", (product_id,))
        users = cursor.fetchall()
        if users:
            raise Conflict(f"product {product_id} is used by {len(users)} recipe(s)", details={"recipes": users})
        cursor.execute("DELETE FROM products WHERE id = %s", (product_id,))
    return Response(204)

