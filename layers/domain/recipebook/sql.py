"""Small SQL helpers the recipe operations share."""

from cloudpatterns import outbox
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
    """A write: work(cursor, emit) in one transaction, retried on transient faults (a failed
    COMMIT only with an idempotency key). emit(type, subject, data) records an event in the
    outbox in that same transaction; after commit the events are published."""
    events: list[dict] = []

    def attempt(cursor):
        events.clear()  # a retried attempt records its events again

        def emit(event_type: str, subject, data: dict, version: int | None = None) -> None:
            event = outbox.envelope(event_type, subject, data, request.request_id, version)
            outbox.record(cursor, event)
            events.append(event)

        return work(cursor, emit)

    result = database.run(attempt, context=request.context, retry_commit=request.idempotency_key is not None)
    if events:
        outbox.publish_after_commit(database, list(events), request.context)
    return result
