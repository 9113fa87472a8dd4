"""`python -m ops <command>`: the Recipes app's own operations on its database (the emulator,
`python -m local`, knows nothing of them). The database is DATABASE_URL when set, else the
running `local up`'s, else where `local up` would put it. Errors print one line, exit 2."""

import argparse
import os
import sys

import psycopg2

from local.app.project import assumed_addresses, running_addresses
from local.settings import Settings, redact

from . import api_keys
from .errors import OpsError
from .migrate import migrate
from .seed import seed
from .setup import setup


def scope(text: str) -> str:
    if text not in api_keys.SCOPES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a scope; the scopes are {', '.join(api_keys.SCOPES)}")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("setup", help="migrations, then the local admin API key (what `local up` runs at start)")
    seeding = commands.add_parser("seed", help="load a realistic data set (80 products, 200 recipes by default)")
    seeding.add_argument("--recipes", type=int, default=200)
    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    key_actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = key_actions.add_parser("create", help="make a key and print it (once)")
    create.add_argument("--scopes", nargs="+", type=scope, required=True, metavar="SCOPE")
    create.add_argument("--name", default="cli")
    key_actions.add_parser("list", help="every key: id, prefix, name, scopes, state")
    revoke = key_actions.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id", help="the key's id or its prefix as `keys list` shows it")
    return parser


def database_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    settings = Settings.from_environ()
    services = running_addresses(settings) or assumed_addresses(settings)
    if not services.database_url:
        raise OpsError("no DATABASE_URL, and the template declares no Postgres for `local up`")
    return services.database_url


def connect(url: str):
    try:
        return psycopg2.connect(url, connect_timeout=5)
    except psycopg2.OperationalError as error:
        raise OpsError(f"cannot reach Postgres at {redact(url)} (is `make up` running?): "
                       f"{str(error).strip().splitlines()[0]}") from None


def cmd_setup(args) -> None:
    url = database_url()
    connect(url).close()  # one clear line when it cannot be reached
    state_dir = os.environ.get("LOCAL_STATE_DIR") or str(Settings.from_environ().state_dir)
    for line in setup(url, state_dir):
        print(line, flush=True)


def cmd_seed(args) -> None:
    url = database_url()
    connect(url).close()
    applied = migrate(url)
    result = seed(url, recipes=args.recipes)
    if applied:
        print(f"applied migrations {', '.join(applied)}")
    print(f"seeded {result['recipes_created']} recipes; {result['products']} products in all")


def cmd_keys(args) -> None:
    connection = connect(database_url())
    try:
        if args.action == "create":
            print(api_keys.create_api_key(connection, args.name, sorted(set(args.scopes))))
            print(f"(shown once; scopes: {' '.join(sorted(set(args.scopes)))})", file=sys.stderr)
        elif args.action == "list":
            for row in api_keys.list_keys(connection):
                state = f"revoked {row['revoked_at']:%Y-%m-%d %H:%M}" if row["revoked_at"] else "active"
                print(f"{row['id']}  {row['key_prefix']}…  {row['name']:<16} {' '.join(row['scopes']):<40} {state}")
        elif not api_keys.revoke(connection, args.key_id):
            raise OpsError(f"no active key with id or prefix {args.key_id!r}")
        else:
            print(f"revoked {args.key_id}")
    finally:
        connection.close()


COMMANDS = {"setup": cmd_setup, "seed": cmd_seed, "keys": cmd_keys}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except OpsError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
