"""What the event consumers do with each recipe or product event."""

import json

from cloudpatterns.cache import cache
from cloudpatterns.consumer import first_time
from cloudpatterns.db import database

from . import caching


def invalidate(event: dict) -> None:
    """Drop what an event changed, whoever wrote it (another service, a migration, a replay):
    dropping twice is harmless, so no de-duplication is needed."""
    kind, subject, data = event["type"], event["subject"], event.get("data") or {}
    # A created row had no entry before its commit (a miss is not cached), so whatever is
    # cached under its key was loaded after it and is current: dropping it would only turn
    # the reader's next hit, racing this event, into a miss. Its lists still change.
    created = kind.endswith(".created")
    if kind.startswith("product."):
        recipes = data.get("recipe_ids") or []
        keys = [*([] if created else [caching.product_key(subject)]), *(caching.recipe_key(r) for r in recipes)]
        cache.invalidate(keys, [caching.PRODUCTS_LIST, *([caching.RECIPES_LIST] if recipes else [])], strict=True)
    elif kind.startswith("recipe."):
        cache.invalidate([] if created else [caching.recipe_key(subject)], [caching.RECIPES_LIST], strict=True)


def audit(event: dict) -> None:
    """One audit row per event, once, however often it is delivered."""
    def work(cursor):
        if first_time(cursor, "audit", event["id"]):
            cursor.execute("""INSERT INTO audit_log (event_id, type, subject, occurred_at, data)
                              VALUES (%s, %s, %s, %s, %s)""",
                           (event["id"], event["type"], event["subject"], event["occurred_at"],
                            json.dumps(event.get("data"))))

    database.run(work)
