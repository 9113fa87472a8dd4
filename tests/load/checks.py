"""The goals of the load run, checked against the stack once it has converged.

(a) every write the API acknowledged is in Postgres, and left its event in the outbox
(b) every outbox event was published
(c) every event reached the audit consumer once in effect: one audit row and one
    processed_events row per event, none for an event the outbox does not know
(d) the cache agrees with Postgres: a missed invalidation would serve an old version (or a
    deleted row), or a recipe with a product's old name
(e) no unexpected answer (counted from the records; see records.py)
"""

import json
import time
from collections import Counter
from dataclasses import dataclass, field

import psycopg2
import psycopg2.extras
import requests

from local.app.event_states import events_dir

from .converge import DEAD_LETTER_QUEUES, queue_depths, sqs_client
from .records import Ledger


@dataclass
class Findings:
    figures: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # each a goal that failed, with examples

    def fail(self, what: str, examples: list) -> None:
        if examples:
            self.problems.append(f"{what}: {len(examples)} (e.g. {examples[:5]})")


def check(stack, ledger: Ledger) -> Findings:
    found = Findings()
    with psycopg2.connect(stack.database_url, connect_timeout=10,
                          cursor_factory=psycopg2.extras.RealDictCursor) as connection:
        with connection.cursor() as cursor:
            rows = _rows(cursor)
            _writes_kept(cursor, ledger, rows, found)
            _events_published_and_audited(cursor, found)
    connection.close()
    _cache_agrees(stack, ledger, rows, found)
    _deliveries(stack, found)
    unexpected = ledger.unexpected()
    found.figures["unexpected answers"] = sum(unexpected.values())
    found.fail("unexpected answers", [f"{kind} x{count}" for kind, count in unexpected.most_common()])
    return found


def _rows(cursor) -> dict:
    """(kind, id) -> the row as Postgres has it, recipes with their items and product names."""
    rows = {}
    cursor.execute("SELECT id, name, version FROM products")
    for row in cursor.fetchall():
        rows[("product", row["id"])] = dict(row)
    cursor.execute("SELECT id, version FROM recipes")
    for row in cursor.fetchall():
        rows[("recipe", row["id"])] = {**row, "items": []}
    cursor.execute("""SELECT i.recipe_id, i.product_id, p.name, i.quantity, i.unit
                      FROM recipe_items i JOIN products p ON p.id = i.product_id ORDER BY i.recipe_id, p.name""")
    for item in cursor.fetchall():
        rows[("recipe", item["recipe_id"])]["items"].append(
            (item["product_id"], item["name"], float(item["quantity"]), item["unit"]))
    return rows


def _writes_kept(cursor, ledger: Ledger, rows: dict, found: Findings) -> None:
    missing, behind, resurrected = [], [], []
    for key, resource in ledger.resources.items():
        row = rows.get(key)
        if resource.deleted:
            if row is not None:
                resurrected.append(key)
        elif row is None:
            if not resource.uncertain_delete:
                missing.append(key)
        elif row["version"] < resource.version:
            behind.append((key, row["version"], resource.version))
    cursor.execute("SELECT type, subject, (payload->>'version')::int AS version FROM outbox")
    recorded = {(row["type"], row["subject"], row["version"]) for row in cursor.fetchall()}
    no_event = [(resource.kind, resource.id, kind, version) for resource in ledger.resources.values()
                for kind, version in resource.events if (kind, str(resource.id), version) not in recorded]
    found.figures["writes acknowledged"] = ledger.writes_acknowledged
    found.figures["acknowledged writes lost"] = len(missing) + len(behind) + len(resurrected)
    found.figures["acknowledged writes without their event"] = len(no_event)
    found.fail("acknowledged, then missing from Postgres", missing)
    found.fail("version in Postgres below the acknowledged one (key, db, acknowledged)", behind)
    found.fail("deleted (204), yet still in Postgres", resurrected)
    found.fail("acknowledged writes whose event is not in the outbox", no_event)


def _events_published_and_audited(cursor, found: Findings) -> None:
    def ids(sql: str) -> list[str]:
        cursor.execute(sql)
        return [str(row["id"]) for row in cursor.fetchall()]

    cursor.execute("SELECT count(*) AS n FROM outbox")
    found.figures["events in the outbox"] = cursor.fetchone()["n"]
    cursor.execute("SELECT count(*) AS n FROM outbox WHERE last_error IS NOT NULL AND published_at IS NOT NULL")
    found.figures["events published by a second path (Redis, relay)"] = cursor.fetchone()["n"]
    stuck = ids("SELECT id FROM outbox WHERE published_at IS NULL")
    # With when and how each was published, to set against the faults' times.
    cursor.execute("""SELECT o.id, o.type, to_char(o.published_at AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') AS published_at,
                             coalesce(o.last_error, 'via SNS') AS how
                      FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.event_id = o.id)""")
    lost = [tuple(row.values()) for row in cursor.fetchall()]
    unknown = ids("""SELECT a.event_id AS id FROM audit_log a
                     WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = a.event_id)""")
    duplicated = ids("SELECT event_id AS id FROM audit_log GROUP BY event_id HAVING count(*) > 1")
    unprocessed = ids("""SELECT o.id FROM outbox o WHERE NOT EXISTS
                         (SELECT 1 FROM processed_events p WHERE p.consumer = 'audit' AND p.event_id = o.id)""")
    cursor.execute("SELECT count(*) AS n FROM audit_log")
    found.figures["events delivered to audit"] = cursor.fetchone()["n"]
    found.figures["events stuck in the outbox"] = len(stuck)
    found.figures["events lost (no audit row)"] = len(lost)
    found.figures["audit duplicates"] = len(duplicated)
    found.fail("events never published (outbox.published_at IS NULL)", stuck)
    found.fail("events that never reached the audit consumer (id, type, published at UTC, how)", lost)
    found.fail("audit rows for events the outbox does not know", unknown)
    found.fail("events with more than one audit row", duplicated)
    found.fail("events the audit consumer did not mark processed", unprocessed)


def _cache_agrees(stack, ledger: Ledger, rows: dict, found: Findings) -> None:
    """GET every product and recipe the load wrote, through the API (and so its cache)."""
    session = requests.Session()
    session.headers["x-api-key"] = stack.admin_key
    stale, hits = [], Counter()
    for key in sorted(ledger.resources):
        kind, resource_id = key
        response = _get(session, f"{stack.gateway_url}/{kind}s/{resource_id}")
        hits[response.headers.get("X-Cache", "-")] += 1
        row = rows.get(key)
        if row is None:
            if response.status_code != 404:
                stale.append((key, "deleted in Postgres", response.status_code))
            continue
        if response.status_code != 200:
            stale.append((key, f"version {row['version']} in Postgres", response.status_code))
            continue
        body = response.json()
        if body["version"] != row["version"]:
            stale.append((key, f"version {row['version']} in Postgres", f"API {body['version']}"))
        elif kind == "product" and body["name"] != row["name"]:
            stale.append((key, row["name"], body["name"]))
        elif kind == "recipe":
            items = [(i["product_id"], i["name"], float(i["quantity"]), i["unit"]) for i in body["items"]]
            if items != row["items"]:
                stale.append((key, f"items {row['items']}", f"API {items}"))
    found.figures["reads after the run that disagree with Postgres"] = len(stale)
    found.figures["cache hits among them"] = f"{hits['HIT']} of {sum(hits.values())}"
    found.fail("the API serves something other than Postgres has (a missed cache invalidation)", stale)


def _get(session, url: str) -> requests.Response:
    for _ in range(10):
        response = session.get(url, timeout=30)
        if response.status_code != 429:
            return response
        time.sleep(min(5, int(response.headers.get("Retry-After", "1"))))
    return response


def _deliveries(stack, found: Findings) -> None:
    """For the figures: deliveries the event log kept (cut to its last half past 4 MB, so a
    floor, not a count), and what is left in the dead-letter queues (which would be lost events)."""
    log = events_dir(stack.state_dir) / "deliveries.jsonl"
    try:
        delivered = set()
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            if entry["function"] == "CacheInvalidationFunction" and entry["outcome"] == "ok":
                delivered.add(entry["detail"])
        found.figures["cache invalidations delivered (event log)"] = len(delivered)
    except (OSError, ValueError, KeyError) as error:
        found.figures["cache invalidations delivered (event log)"] = f"unknown ({error})"
    depths = queue_depths(sqs_client(stack), DEAD_LETTER_QUEUES)
    found.figures["dead letters"] = "unknown" if depths is None else sum(depths.values())
    if depths:
        found.fail("messages in the dead-letter queues", [f"{q}: {n}" for q, n in depths.items() if n])
