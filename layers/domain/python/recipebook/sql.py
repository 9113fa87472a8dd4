"""Small SQL helpers the recipe operations share."""

from cloudpatterns.db import database
from cloudpatterns.errors import NotFound, PreconditionFailed

NOUNS = {"products": "product", "recipes": "recipe"}


def changed(table: str, row_id: int, version: int) -> PreconditionFailed:
    return PreconditionFailed(f"{NOUNS[table]} {row_id} changed: it is at version {version}",
                              details={"version": version})


def missing_or_changed(cursor, table: str, row_id: int):
    """After a conditional UPDATE matched nothing: say which of the two it was."""
    cursor.execute(f"SELECT version FROM {table} WHERE id = %s", (row_id,))
    row = cursor.fetchone()
    if row is None:
        raise NotFound(f"{NOUNS[table]} {row_id} does not exist")
    raise changed(table, row_id, row["version"])


def escape_like(text: str) -> str:
    """Text for an ILIKE pattern, its own % and _ taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def write(request, work):
    """A write: retried on transient faults; a failed COMMIT only with an idempotency key."""
    return database.run(work, context=request.context, retry_commit=request.idempotency_key is not None)
