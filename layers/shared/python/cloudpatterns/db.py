"""One Postgres connection per function instance, reused across invocations (as a Lambda
container keeps its globals), and transactions that commit or roll back as a whole."""

import contextlib
import os

import psycopg2
import psycopg2.extras

from .errors import DependencyUnavailable


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
            try:
                self._connection = psycopg2.connect(self.url, connect_timeout=5,
                                                    cursor_factory=psycopg2.extras.RealDictCursor)
            except psycopg2.OperationalError as error:
                raise DependencyUnavailable("the database cannot be reached") from error
        return self._connection

    @contextlib.contextmanager
    def transaction(self):
        """A cursor inside one transaction: committed when the block ends, rolled back if it
        raises. A connection the server dropped is replaced on the next transaction."""
        connection = self.connection()
        try:
            with connection, connection.cursor() as cursor:
                yield cursor
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            self.close()
            raise

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


database = Database()
