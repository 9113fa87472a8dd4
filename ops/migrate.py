"""Apply the ordered SQL files in ops/migrations/ once each, recording what ran.

A session-level advisory lock serialises runners, so two processes starting at once do not
race; each file runs in its own transaction with its record, so a failed file leaves no
half-applied schema behind. An applied file that was edited afterwards is refused: its
checksum no longer matches the record.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from .errors import MigrationError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant will do, as long as nothing else in the database locks the same key.
ADVISORY_LOCK_KEY = 7_140_213_001


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    files = sorted(Path(directory).glob("*.sql"))
    return [Migration(version=path.stem, path=path) for path in files]


def migrate(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply what has not run yet; return the versions applied by this call."""
    migrations = discover(directory)
    connection = psycopg2.connect(dsn, connect_timeout=10)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            return _apply_pending(connection, migrations)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    finally:
        connection.close()


def _apply_pending(connection, migrations: list[Migration]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    text PRIMARY KEY,
                   checksum   text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        cursor.execute("SELECT version, checksum FROM schema_migrations")
        applied = dict(cursor.fetchall())

    done = []
    for migration in migrations:
        recorded = applied.get(migration.version)
        if recorded is not None:
            if recorded != migration.checksum:
                raise MigrationError(
                    f"migration {migration.path.name} was changed after it was applied; "
                    "add a new migration instead of editing an applied one"
                )
            continue
        connection.autocommit = False
        try:
            with connection.cursor() as cursor:
                cursor.execute(migration.sql)
                cursor.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                    (migration.version, migration.checksum),
                )
            connection.commit()
        except psycopg2.Error as error:
            connection.rollback()
            first_line = str(error).strip().splitlines()[0]
            raise MigrationError(f"migration {migration.path.name} failed: {first_line}") from None
        finally:
            connection.autocommit = True
        done.append(migration.version)
    return done
