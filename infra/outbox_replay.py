"""After the embedded AWS emulator died: give the relay back the events it was holding.

SQS keeps a message until a consumer deletes it; moto keeps it in memory only, so when its
process dies the messages in its queues are gone. The outbox remembers what went to SNS
and when, so every event sent to SNS while the dead emulator ran goes back to unpublished,
and the scheduled relay sends it again to the new one; so does every event sent while the
new one was being provisioned (its topic may have had no subscriptions yet). Some were
consumed already; the consumers are idempotent by event id, so that costs a duplicate
delivery, not a duplicate effect. Events that went through the Redis fallback are not
touched (Redis kept them).
"""

import psycopg2


def return_to_outbox(database_url: str, emulator_started: float, provisioned_again: float) -> int:
    """Events published to SNS between the two moments (epoch seconds); returns how many."""
    connection = psycopg2.connect(database_url, connect_timeout=10)
    try:
        with connection, connection.cursor() as cursor:
            # mark_published leaves last_error NULL only for SNS; the Redis path says so.
            cursor.execute("""UPDATE outbox SET published_at = NULL,
                                     last_error = 'the AWS emulator restarted; to be published again'
                              WHERE published_at >= to_timestamp(%s) AND published_at <= to_timestamp(%s)
                                AND last_error IS NULL""", (emulator_started, provisioned_again))
            return cursor.rowcount
    finally:
        connection.close()
