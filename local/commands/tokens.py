"""`tokens mint`: a token the template's JWT or Cognito authorizer accepts."""

import argparse
import sys

from local.app.project import assumed_addresses, load_app, running_addresses
from local.app.token_claims import mint_options
from local.auth.dev_issuer import DevIssuer
from local.commands.common import run_options
from local.settings import Settings
from local.stack import issuer_folder


def cmd_tokens(args: argparse.Namespace) -> int:
    """A token that the template's JWT or Cognito authorizer accepts, signed by the development
    issuer `local up` trusts; the token alone on stdout, for `TOKEN=$(...)`."""
    settings = Settings.from_environ()
    parameters, _ = run_options(args, settings, "up")  # the parameters `up` reads from samconfig.toml
    _, model = load_app(settings, running_addresses(settings) or assumed_addresses(settings), parameters)
    options = mint_options(model, args.authorizer, args.scope, args.audience)
    if args.issuer:
        options["issuer"] = args.issuer
    token = DevIssuer(issuer_folder(settings)).mint(subject=args.sub, scopes=args.scope, ttl_s=args.ttl,
                                                    claims=dict(args.claim), **options)
    print(token, flush=True)
    print(f"(for issuer {options['issuer']}; valid {args.ttl} s; send it as Authorization: Bearer <token>)",
          file=sys.stderr)
    return 0
