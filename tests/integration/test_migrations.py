import shutil
import threading

import psycopg2
import pytest

from ops.errors import MigrationError
from ops.migrate import MIGRATIONS_DIR, discover, migrate

EXPECTED_TABLES = {"products", "recipes", "recipe_items", "outbox", "idempotency_keys", "audit_log",
                   "processed_events", "api_keys", "schema_migrations"}


def tables(url):
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in cursor.fetchall()}


def test_migrations_apply_once_and_a_second_run_changes_nothing(fresh_database):
    versions = [m.version for m in discover()]
    assert migrate(fresh_database) == versions
    assert tables(fresh_database) == EXPECTED_TABLES
    assert migrate(fresh_database) == []
    with psycopg2.connect(fresh_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT version FROM schema_migrations ORDER BY version")
        assert [row[0] for row in cursor.fetchall()] == versions


def test_two_runners_starting_at_once_apply_each_migration_once(fresh_database):
    results, errors = [], []
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        try:
            results.append(migrate(fresh_database))
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(results, key=len) == [[], [m.version for m in discover()]]


def test_an_applied_migration_that_was_edited_is_refused(fresh_database, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    migrate(fresh_database, folder)
    first = sorted(folder.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError, match=f"{first.name} was changed after it was applied"):
        migrate(fresh_database, folder)


def test_a_failing_migration_leaves_nothing_half_applied(fresh_database, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    (folder / "9999_broken.sql").write_text("CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;\n")
    with pytest.raises(MigrationError, match="9999_broken.sql failed: .*no_such_table"):
        migrate(fresh_database, folder)
    assert "half_done" not in tables(fresh_database)
    assert "products" in tables(fresh_database)  # the good migrations before it stay applied


def test_schema_enforces_its_rules(migrated_database):
    with psycopg2.connect(migrated_database) as connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO products (name, unit) VALUES ('Flour', 'g') RETURNING id, version")
        product_id, version = cursor.fetchone()
        assert version == 1
        cursor.execute("INSERT INTO recipes (title) VALUES ('Bread') RETURNING id")
        recipe_id = cursor.fetchone()[0]
        cursor.execute("INSERT INTO recipe_items VALUES (%s, %s, 500, 'g')", (recipe_id, product_id))
    cases = [
        ("INSERT INTO products (name, unit) VALUES ('FLOUR', 'kg')", psycopg2.errors.UniqueViolation),
        ("INSERT INTO products (name, unit) VALUES ('  ', 'g')", psycopg2.errors.CheckViolation),
        (f"INSERT INTO recipe_items VALUES ({recipe_id}, {product_id}, 0, 'g')", psycopg2.errors.CheckViolation),
        (f"DELETE FROM products WHERE id = {product_id}", psycopg2.errors.ForeignKeyViolation),
    ]
    for statement, error in cases:
        with pytest.raises(error), psycopg2.connect(migrated_database) as connection, connection.cursor() as cursor:
            cursor.execute(statement)
