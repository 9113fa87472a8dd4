"""After the AWS emulator restarted: which outbox events go back to the relay."""

import time
import uuid

import psycopg2

from infra.outbox_replay import return_to_outbox


def _event(cursor, published_ago_s: float | None, last_error: str | None = None) -> str:
    event_id = str(uuid.uuid4())
    cursor.execute("""INSERT INTO outbox (id, type, subject, payload, published_at, last_error)
                      VALUES (%s, 'recipe.created', '1', '{}',
                              CASE WHEN %s::float IS NULL THEN NULL ELSE now() - make_interval(secs => %s) END, %s)""",
                   (event_id, published_ago_s, published_ago_s, last_error))
    return event_id


def test_only_events_sent_to_sns_while_the_old_emulator_ran_or_the_new_one_was_provisioned(migrated_database):
    with psycopg2.connect(migrated_database) as connection, connection.cursor() as cursor:
        before_it_started = _event(cursor, 100)
        during = _event(cursor, 30)
        while_provisioning = _event(cursor, 1)
        via_redis = _event(cursor, 30, "sent via redis")
        never_published = _event(cursor, None)
    now = time.time()

    assert return_to_outbox(migrated_database, now - 60, now) == 2

    with psycopg2.connect(migrated_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id::text, published_at IS NULL, last_error FROM outbox")
        rows = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    assert rows[during] == (True, "the AWS emulator restarted; to be published again")
    assert rows[while_provisioning] == (True, "the AWS emulator restarted; to be published again")
    assert rows[before_it_started] == (False, None)  # consumed long ago, or it would be in a DLQ
    assert rows[via_redis] == (False, "sent via redis")  # Redis kept it
    assert rows[never_published] == (True, None)  # the relay has it anyway
