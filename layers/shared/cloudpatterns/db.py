"""One Postgres connection per function instance, reused across invocations (as a Lambda
container keeps its globals), and units of work that commit or roll back as a whole and
are retried when that is safe."""

import logging
import os

import psycopg2
import psycopg2.extras

from . import retry
from .errors import DependencyUnavailable

log = logging.getLogger(__name__)


class CommitOutcomeUnknown(Exception):
    """The connection failed while COMMIT was in flight: the write may or may not be in."""


class Database:
    def __init__(self, url: str | None = None):
        self._url = url
        self._connection = None

    @property
    def url(self) -> str:
        url = self._url or os.environ.get("DATABASE_URL")
        if not url:
            raise DependencyUnavailable("DATABASE_URL is not set for this function")
        return url

    def connection(self):
        if self._connection is None or self._connection.closed:
            # Named after the function, so an operator (or demo_retry) can tell connections apart.
            self._connection = psycopg2.connect(self.url, connect_timeout=5,
                                                cursor_factory=psycopg2.extras.RealDictCursor,
                                                application_name=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "recipes"),
                                                options=f"-c statement_timeout={self.STATEMENT_TIMEOUT_MS}")
        return self._connection

    # No statement (a lock wait included) runs longer than this, nor past the invocation's
    # time: cut short, it is a transient fault (57014), tried again or answered 503, where
    # running on would end in the function's own timeout and API Gateway's 502.
    STATEMENT_TIMEOUT_MS = 5000

    def _bound_statements(self, cursor, context) -> None:
        """Within this transaction, statements end before the invocation does (one more
        round trip, only when less than STATEMENT_TIMEOUT_MS is left)."""
        if context is None or not hasattr(context, "get_remaining_time_in_millis"):
            return
        left_ms = context.get_remaining_time_in_millis() - retry.SAFETY_MARGIN_MS
        if left_ms < self.STATEMENT_TIMEOUT_MS:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", (str(max(50, left_ms)),))

    # Long enough to ride out a Postgres restart (about a second here, a failover on RDS
    # takes longer), short enough that a database that stays down answers 503 soon.
    RETRY_WITHIN_S = 4.0

    def run(self, work, *, context=None, retry_commit: bool = False, attempts: int = 50):
        """work(cursor) inside one transaction, committed when it returns, rolled back if it
        raises. A transient fault before COMMIT rolled the transaction back, so the work is
        tried again (for up to RETRY_WITHIN_S, never past the invocation's remaining time).
        When the connection fails during COMMIT, the database is asked what became of the
        transaction: committed, the work's result stands; rolled back, it is tried again.
        Only when that cannot be told is it retried on the strength of `retry_commit` (an
        idempotency key makes a repeat harmless) or answered 503. Out of tries: 503 too."""
        def attempt():
            connection = self.connection()
            xid = None
            committing = False
            try:
                with connection.cursor() as cursor:
                    self._bound_statements(cursor, context)
                    result = work(cursor)
                    # NULL when the work wrote nothing: then there is nothing a lost COMMIT could have saved.
                    cursor.execute("SELECT txid_current_if_assigned()::text AS xid")
                    xid = cursor.fetchone()["xid"]
                committing = True
                connection.commit()
                return result
            except BaseException as error:
                self._after_failure(connection)
                if committing and retry.is_transient(error):
                    outcome = "aborted" if xid is None else self._outcome_of(xid, context)
                    if outcome == "committed":
                        log.warning("the connection failed during COMMIT; transaction %s was committed", xid)
                        return result
                    if outcome != "aborted" and not retry_commit:
                        raise CommitOutcomeUnknown(str(error)) from error
                raise

        try:
            return retry.call(attempt, context=context, attempts=attempts, what="database transaction",
                              max_delay=0.5, within_s=self.RETRY_WITHIN_S)
        except CommitOutcomeUnknown:
            raise DependencyUnavailable("the database connection failed during commit; the write may or may not "
                                        "have been saved (send an Idempotency-Key to make retries safe)") from None
        except psycopg2.Error as error:
            if retry.is_transient(error):
                raise DependencyUnavailable("the database is unavailable; try again shortly") from error
            raise

    def _outcome_of(self, xid: str, context) -> str | None:
        """'committed', 'aborted', or None when it cannot be told (in progress, unknown, or
        the database not back within the retry budget). txid_status: Postgres 10+."""
        def ask():
            connection = psycopg2.connect(self.url, connect_timeout=2)
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT txid_status(%s::bigint)", (xid,))
                    return cursor.fetchone()[0]
            finally:
                connection.close()
        try:
            status = retry.call(ask, context=context, attempts=50, what="asking how a lost COMMIT ended",
                                max_delay=0.5, within_s=self.RETRY_WITHIN_S)
        except psycopg2.Error:
            return None
        return status if status in ("committed", "aborted") else None

    def _after_failure(self, connection) -> None:
        try:
            if not connection.closed:
                connection.rollback()
        except psycopg2.Error:
            pass
        if connection.closed:
            self._connection = None

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


database = Database()
