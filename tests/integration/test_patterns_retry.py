"""Retry: transient faults retried with backoff inside the invocation's time, permanent ones
raised at once; database units of work retried only when that is safe."""

import logging
import time

import psycopg2
import psycopg2.errors
import pytest
import redis
from botocore.exceptions import ClientError, EndpointConnectionError
from cloudpatterns import retry
from cloudpatterns.db import Database
from cloudpatterns.errors import DependencyUnavailable, ValidationFailed


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize("error, transient", [
    (psycopg2.OperationalError("server closed the connection unexpectedly"), True),
    (psycopg2.InterfaceError("connection already closed"), True),
    (redis.ConnectionError("refused"), True),
    (redis.TimeoutError("slow"), True),
    (EndpointConnectionError(endpoint_url="http://x"), True),
    (client_error("ThrottlingException", 400), True),
    (client_error("InternalError", 503), True),
    (client_error("ValidationException", 400), False),
    (client_error("ParameterNotFound", 400), False),
    (ValidationFailed("bad"), False),
    (KeyError("x"), False),
])
def test_what_counts_as_transient(error, transient):
    assert retry.is_transient(error) is transient


def server_error(url: str, sqlstate: str) -> psycopg2.Error:
    """A real error from the server with the given SQLSTATE."""
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        try:
            cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '{sqlstate}'; END $$")
        except psycopg2.Error as error:
            return error
    raise AssertionError("no error raised")


def test_serialization_failures_and_deadlocks_are_transient_but_constraint_errors_are_not(postgres_url):
    assert retry.is_transient(server_error(postgres_url, "40001"))
    assert retry.is_transient(server_error(postgres_url, "40P01"))
    # A statement or lock timeout, the server shutting down or starting, too many connections,
    # a connection exception: faults of the infrastructure that pass, never a 500.
    for sqlstate in ("57014", "55P03", "57P01", "57P03", "53300", "08006"):
        assert retry.is_transient(server_error(postgres_url, sqlstate)), sqlstate
    assert not retry.is_transient(server_error(postgres_url, "23505"))  # unique violation
    assert not retry.is_transient(server_error(postgres_url, "22P02"))  # invalid input


class Context:
    def __init__(self, remaining_ms: int):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def flaky(failures: list[BaseException], result="done"):
    calls = []

    def fn():
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return result

    fn.calls = calls
    return fn


def test_transient_faults_are_retried_and_each_retry_logged(caplog):
    fn = flaky([redis.ConnectionError("refused"), redis.TimeoutError("slow")])
    with caplog.at_level(logging.WARNING):
        assert retry.call(fn, attempts=3, what="cache read", base_delay=0.001) == "done"
    assert len(fn.calls) == 3
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("retrying cache read (attempt 2 of 3)") and "ConnectionError: refused" in lines[0]
    assert lines[1].startswith("retrying cache read (attempt 3 of 3)") and "TimeoutError: slow" in lines[1]


def test_permanent_errors_are_raised_at_once():
    fn = flaky([ValidationFailed("bad"), ValidationFailed("bad")])
    with pytest.raises(ValidationFailed):
        retry.call(fn, attempts=5, base_delay=0.001)
    assert len(fn.calls) == 1


def test_attempts_are_bounded():
    fn = flaky([redis.ConnectionError("x")] * 10)
    with pytest.raises(redis.ConnectionError):
        retry.call(fn, attempts=4, base_delay=0.001)
    assert len(fn.calls) == 4


def test_no_retry_outlives_the_invocation():
    fn = flaky([redis.ConnectionError("x")] * 10)
    with pytest.raises(redis.ConnectionError):
        retry.call(fn, context=Context(remaining_ms=150), attempts=10, base_delay=0.001)
    assert len(fn.calls) == 1  # 150 ms left is less than the safety margin: no second try


def test_no_retry_starts_past_its_time_budget():
    fn = flaky([redis.ConnectionError("x")] * 100)
    began = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        retry.call(fn, attempts=100, base_delay=0.02, max_delay=0.05, within_s=0.3)
    assert time.monotonic() - began < 0.3 + 0.1  # the last sleep fits in the budget
    assert 3 < len(fn.calls) < 100


def test_an_unreachable_database_is_retried_for_seconds_then_503():
    database = Database("postgresql://nobody@127.0.0.1:1/none")
    began = time.monotonic()
    with pytest.raises(DependencyUnavailable, match="the database is unavailable"):
        database.run(lambda cursor: None)
    assert Database.RETRY_WITHIN_S - 1 < time.monotonic() - began <= Database.RETRY_WITHIN_S + 0.5  # rides out a restart, then gives up


# -- database units of work --------------------------------------------------------------------

def test_a_dropped_connection_is_replaced_and_the_work_retried(migrated_database, caplog):
    database = Database(migrated_database)
    pid = database.run(lambda cursor: cursor.execute("SELECT pg_backend_pid() AS pid") or cursor.fetchone()["pid"])
    with psycopg2.connect(migrated_database) as admin, admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with caplog.at_level(logging.WARNING):
        new_pid = database.run(lambda cursor: cursor.execute("SELECT pg_backend_pid() AS pid") or cursor.fetchone()["pid"])
    assert new_pid != pid
    assert "retrying database transaction (attempt 2 of 50)" in caplog.text


def test_a_serialization_failure_rolls_back_and_the_work_runs_again(migrated_database):
    database, attempts = Database(migrated_database), []

    def work(cursor):
        attempts.append(1)
        cursor.execute("INSERT INTO products (name, unit) VALUES (%s, 'g')", (f"Retry {len(attempts)}",))
        if len(attempts) == 1:
            cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")
        return len(attempts)

    assert database.run(work) == 2
    names = database.run(lambda cursor: cursor.execute("SELECT name FROM products WHERE name LIKE 'Retry %'")
                         or [row["name"] for row in cursor.fetchall()])
    assert names == ["Retry 2"]  # the first attempt's insert was rolled back


def test_permanent_database_errors_are_not_retried(migrated_database):
    database, attempts = Database(migrated_database), []

    def work(cursor):
        attempts.append(1)
        cursor.execute("INSERT INTO products (name, unit) VALUES ('Same', 'g'), ('same', 'g')")

    with pytest.raises(psycopg2.errors.UniqueViolation):
        database.run(work)
    assert len(attempts) == 1


class FirstCommitLost:
    """A real connection whose first COMMIT is lost on the way: the connection drops either
    before the server saw the COMMIT (the transaction rolls back) or after it committed."""

    commits = 0
    server_committed = False

    def __init__(self, connection):
        self.connection = connection

    def __getattr__(self, name):
        return getattr(self.connection, name)

    def commit(self):
        FirstCommitLost.commits += 1
        if FirstCommitLost.commits == 1:
            if FirstCommitLost.server_committed:
                self.connection.commit()
            self.connection.close()
            raise psycopg2.OperationalError("server closed the connection unexpectedly")
        self.connection.commit()


@pytest.fixture
def lost_commit(migrated_database):
    database = Database(migrated_database)
    real = database.connection
    database.connection = lambda: FirstCommitLost(real())
    FirstCommitLost.commits = 0
    return database


def _insert_product(attempts: list, name: str):
    def work(cursor):
        attempts.append(1)
        cursor.execute("INSERT INTO products (name, unit) VALUES (%s, 'g') RETURNING id", (name,))
        return cursor.fetchone()["id"]
    return work


def _count_named(database_url: str, name: str) -> int:
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM products WHERE name = %s", (name,))
        return cursor.fetchone()[0]


def test_a_commit_lost_before_the_server_saw_it_is_found_rolled_back_and_retried(lost_commit, migrated_database):
    FirstCommitLost.server_committed, attempts = False, []
    product_id = lost_commit.run(_insert_product(attempts, "Lost commit, rolled back"))
    assert len(attempts) == 2 and product_id  # no idempotency key needed: the first did not happen
    assert _count_named(migrated_database, "Lost commit, rolled back") == 1


def test_a_commit_lost_after_the_server_committed_is_not_repeated(lost_commit, migrated_database, caplog):
    FirstCommitLost.server_committed, attempts = True, []
    with caplog.at_level(logging.WARNING):
        product_id = lost_commit.run(_insert_product(attempts, "Lost commit, committed"))
    assert len(attempts) == 1 and product_id
    assert _count_named(migrated_database, "Lost commit, committed") == 1
    assert "was committed" in caplog.text


def test_when_the_outcome_cannot_be_told_only_an_idempotency_key_allows_a_retry(lost_commit, migrated_database,
                                                                              monkeypatch):
    monkeypatch.setattr(lost_commit, "_outcome_of", lambda xid, context: None)  # e.g. still in progress
    FirstCommitLost.server_committed, attempts = False, []
    with pytest.raises(DependencyUnavailable, match="may or may not have been saved"):
        lost_commit.run(_insert_product(attempts, "Lost commit, unknown"))
    assert len(attempts) == 1  # not repeated: it might have been saved

    FirstCommitLost.commits, attempts[:] = 0, []
    lost_commit.run(_insert_product(attempts, "Lost commit, unknown"), retry_commit=True)
    assert len(attempts) == 2  # an idempotency key makes the repeat harmless


def test_a_lock_wait_longer_than_the_invocation_is_a_503_before_the_functions_timeout(
        migrated_database, make_function, runtime_of):
    """A row locked elsewhere for longer than the function may run: its statements are cut
    short before the invocation ends, and the client gets a 503 with Retry-After, not the
    function's timeout (which API Gateway answers 502)."""
    runtime = runtime_of(make_function("Waiting", """
        from cloudpatterns.db import database
        from cloudpatterns.http import Response, api_handler

        @api_handler
        def handler(request, context):
            database.run(lambda cursor: cursor.execute("SELECT * FROM products WHERE name = 'Locked flour' "
                                                       "FOR UPDATE"), context=context)
            return Response(200, {"locked": False})
    """, timeout=2, env={"DATABASE_URL": migrated_database}))
    with psycopg2.connect(migrated_database) as holder, holder.cursor() as cursor:
        cursor.execute("INSERT INTO products (name, unit) VALUES ('Locked flour', 'g')")
        holder.commit()
        cursor.execute("SELECT * FROM products WHERE name = 'Locked flour' FOR UPDATE")  # held to the block's end
        outcome = runtime.invoke("Waiting", {"httpMethod": "GET", "path": "/products/1"})
    assert not outcome.failed, outcome.error  # not "Task timed out": the function answered in its time
    assert outcome.payload["statusCode"] == 503 and outcome.payload["headers"]["Retry-After"] == "1"


def test_out_of_tries_is_a_503(tmp_path):
    database = Database("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(DependencyUnavailable, match="the database is unavailable") as raised:
        database.run(lambda cursor: None, attempts=2)
    assert raised.value.headers == {"Retry-After": "1"}  # when to try again
