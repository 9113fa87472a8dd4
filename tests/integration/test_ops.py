"""`python -m ops`: the Recipes app's own commands (setup, seed, keys), as a user runs them."""

import subprocess
import sys

import psycopg2
import pytest
from support import PROJECT_ROOT

from ops.migrate import migrate


def run(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ops", *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          timeout=60)


@pytest.fixture
def env(local_env):
    return local_env  # a state folder of its own: no running stack is found


def test_seed_loads_a_realistic_data_set(env, fresh_database):
    result = run("seed", env={**env, "DATABASE_URL": fresh_database})
    assert result.returncode == 0, result.stderr
    assert "seeded 200 recipes; 80 products in all" in result.stdout.decode()
    with psycopg2.connect(fresh_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*), min(n), max(n) FROM (SELECT count(*) AS n FROM recipe_items GROUP BY recipe_id) s")
        recipes, fewest, most = cursor.fetchone()
    assert recipes == 200 and fewest >= 3 and most <= 8


def test_seed_without_a_database_says_where_it_looked(env):
    result = run("seed", env={**env, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert result.returncode == 2
    assert result.stderr.decode().startswith("error: cannot reach Postgres at postgresql://nobody@127.0.0.1:1/none")


def test_keys_create_list_and_revoke(env, fresh_database):
    migrate(fresh_database)
    env = {**env, "DATABASE_URL": fresh_database}
    created = run("keys", "create", "--scopes", "recipes:read", "valet:issue", "--name", "partner", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.decode().strip()
    assert key.startswith("rk_") and "shown once" in created.stderr.decode()
    listed = run("keys", "list", env=env).stdout.decode().splitlines()
    assert len(listed) == 1 and key[:10] in listed[0] and "recipes:read valet:issue" in listed[0] and "active" in listed[0]
    assert run("keys", "revoke", key[:10], env=env).returncode == 0
    assert "revoked" in run("keys", "list", env=env).stdout.decode()
    again = run("keys", "revoke", key[:10], env=env)
    assert again.returncode == 2 and "no active key" in again.stderr.decode()
    bad = run("keys", "create", "--scopes", "root", env=env)
    assert bad.returncode == 2 and "'root' is not a scope" in bad.stderr.decode()


def test_the_cli_knows_the_same_scopes_as_the_api():
    from recipebook.api import SCOPES as API_SCOPES

    from ops.api_keys import SCOPES

    assert SCOPES == API_SCOPES


def test_setup_migrates_then_keeps_one_admin_key_across_runs(env, fresh_database, tmp_path):
    env = {**env, "DATABASE_URL": fresh_database, "LOCAL_STATE_DIR": str(tmp_path)}
    first = run("setup", env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.decode().splitlines()
    assert lines[0].startswith("migrations     0001") and lines[1].startswith("admin API key  rk_")
    second = run("setup", env=env).stdout.decode().splitlines()
    assert second == ["migrations     up to date", lines[1]]
    assert (tmp_path / "admin-api-key").read_text().strip() == lines[1].split()[3]
