"""Postgres 16 from the pgserver package, run directly so that we own its process id,
listening on 127.0.0.1 only, with its data under the state directory."""

import os
import signal
import subprocess
from pathlib import Path

import psycopg2

from local.errors import LocalError
from local.services.binaries import postgres_bin
from local.services.procs import ManagedProcess, ProcessSpec, run_as

# The database made at start when the app names none (Metadata: Local: Services: Postgres).
DEFAULT_DATABASE = "postgres"
# Postgres refuses to run as root; as root we run it as this unprivileged system user.
SERVICE_USER = "local-pg"


class EmbeddedPostgres:
    name = "postgres"
    # SIGINT is Postgres's "fast shutdown": roll back open transactions, checkpoint, exit.
    stop_signal = signal.SIGINT

    def __init__(self, state_dir: Path, port: int, database: str = DEFAULT_DATABASE):
        self.database = database
        self.data_dir = Path(state_dir) / "postgres"
        self.log_path = Path(state_dir) / "logs" / "postgres.log"
        self.port = port
        self.user = _service_user(self.data_dir)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def process(self, run_dir: Path) -> ManagedProcess:
        self._initialise()
        argv = [str(postgres_bin("postgres")), "-D", str(self.data_dir), "-p", str(self.port),
                "-h", "127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=on"]
        return ManagedProcess(ProcessSpec(self.name, argv, self.log_path, user=self.user,
                                          stop_signal=self.stop_signal), run_dir)

    def state_note(self) -> str | None:
        return None  # its own files are its state; nothing to say of them

    def ready(self) -> bool:
        try:
            connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                          dbname="postgres", connect_timeout=1)
        except psycopg2.OperationalError:
            return False
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            connection.close()
        return True

    def _initialise(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        if self.user:
            _hand_over(self.data_dir, self.user)
        result = subprocess.run(
            [str(postgres_bin("initdb")), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--locale=C", "--no-instructions"],
            capture_output=True, text=True, **run_as(self.user),
        )
        if result.returncode != 0:
            detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise LocalError(f"initdb failed for {self.data_dir}: {detail}")


def _service_user(data_dir: Path) -> str | None:
    if os.geteuid() != 0:
        return None
    import pwd

    if (data_dir / "PG_VERSION").exists() and data_dir.stat().st_uid != 0:
        # A data folder made earlier (under an older user name, say) keeps its owner.
        return pwd.getpwuid(data_dir.stat().st_uid).pw_name
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        result = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                 SERVICE_USER], capture_output=True, text=True)
        if result.returncode != 0:
            raise LocalError(f"running as root, Postgres needs an unprivileged user, and "
                             f"`useradd {SERVICE_USER}` failed: {result.stderr.strip()}")
    return SERVICE_USER


def _hand_over(data_dir: Path, user: str) -> None:
    """Give the service user its data folder, and a way through the folders above it."""
    import pwd

    entry = pwd.getpwnam(user)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    for parent in data_dir.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)  # traverse only: o+x, not o+r
