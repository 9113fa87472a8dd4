"""The gatekeeper: a REQUEST authorizer that knows three credentials, checks each fully,
and turns the principal's scopes into the exact methodArns API Gateway may let through.

- `x-api-key`: looked up by its SHA-256 hash; a revoked key is refused.
- `Authorization: Bearer <valet token>`: signature (HS256 only), exp, nbf, iss, aud, not
  revoked, uses left, and the issuing API key still active.
- a presigned query (`expires` and `signature`): exactly the URL that was signed, unexpired;
  it reads that one recipe.

A missing or malformed credential is 401 (the authorizer answers "Unauthorized"); a genuine
one that may not do this is 403 (a policy without a matching Allow, or an explicit Deny).
"""

import hashlib
import re
import time
from urllib.parse import urlencode

import redis

from cloudpatterns import tokens
from cloudpatterns.db import database
from cloudpatterns.valet_registry import registry

from .api import OPERATIONS, SCOPES
from .valet import signing_key, stage


class Unauthorized(Exception):
    def __init__(self):
        super().__init__("Unauthorized")  # the exact message API Gateway turns into a 401


def authorize(event: dict, context) -> dict:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    query = event.get("multiValueQueryStringParameters") or {}
    if headers.get("x-api-key"):
        grant = _api_key(headers["x-api-key"], context)
    elif headers.get("authorization", "").startswith("Bearer "):
        grant = _valet_token(headers["authorization"][7:].strip(), context)
    elif "signature" in query:
        grant = _presigned(event, query)
    else:
        raise Unauthorized()
    return policy(event["methodArn"], grant)


def policy(method_arn: str, grant: dict) -> dict:
    """Allow exactly the routes the scopes reach (only the pinned resource's, when pinned)."""
    api_arn, stage_name = method_arn.split("/")[0], method_arn.split("/")[1]
    scopes = set(grant["scopes"])
    resource = grant.get("resource")
    arns = []
    for operation in OPERATIONS:
        if operation.public or not (operation.scope in scopes or "admin" in scopes):
            continue
        path = operation.path
        if resource:
            kind, _, ident = resource.partition("/")
            if not path.startswith(f"/{kind}/{{id}}"):
                continue
            path = path.replace("{id}", ident, 1)
        arns.append(f"{api_arn}/{stage_name}/{operation.method}/{re.sub(r'{[^}]+}', '*', path).lstrip('/')}")
    statement = [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": arns}] if arns else \
        [{"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": f"{api_arn}/*"}]
    context = {"scopes": " ".join(sorted(scopes)), "subject": grant["subject"]}
    for key in ("tokenId", "expiresAt", "resource"):
        if grant.get(key) is not None:
            context[key] = grant[key]
    return {"principalId": grant["principal"], "policyDocument": {"Version": "2012-10-17", "Statement": statement},
            "context": context}


def _deny_all(principal: str) -> dict:
    return {"principal": principal, "subject": principal, "scopes": []}


def _api_key(key: str, context) -> dict:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()

    def lookup(cursor):
        cursor.execute("SELECT id, scopes FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL", (digest,))
        return cursor.fetchone()

    row = database.run(lookup, context=context)
    if row is None:
        raise Unauthorized()
    principal = f"key:{row['id']}"
    return {"principal": principal, "subject": principal, "scopes": [s for s in row["scopes"] if s in SCOPES]}


def _key_active(subject: str, context) -> bool:
    if not subject.startswith("key:"):
        return False

    def lookup(cursor):
        cursor.execute("SELECT 1 FROM api_keys WHERE id::text = %s AND revoked_at IS NULL", (subject[4:],))
        return cursor.fetchone() is not None

    return database.run(lookup, context=context)


def _valet_token(raw: str, context) -> dict:
    try:
        token = tokens.verify(raw, signing_key(), stage())
    except tokens.InvalidToken:
        raise Unauthorized() from None
    principal = f"token:{token.id}"
    try:
        if registry.is_revoked(token.id) or not _key_active(token.subject, context):
            return _deny_all(principal)
        if token.max_uses and not registry.use(token.id, token.max_uses, token.expires_at - int(time.time())):
            return _deny_all(principal)  # used up: a replay
    except redis.RedisError:
        raise Unauthorized() from None  # revocation cannot be checked: fail closed
    return {"principal": principal, "subject": token.subject, "scopes": list(token.scopes),
            "resource": token.resource, "tokenId": token.id, "expiresAt": token.expires_at}


def _presigned(event: dict, query: dict) -> dict:
    pairs = [(name, value) for name, values in query.items() for value in values]
    path = event.get("path", "")
    principal = "share:" + hashlib.sha256(urlencode(sorted(pairs)).encode()).hexdigest()[:16]
    try:
        expires = tokens.verify_presigned(signing_key(), event.get("httpMethod", ""), path, urlencode(pairs))
    except tokens.InvalidToken:
        return _deny_all(principal)  # a changed path, query or expiry: 403
    match = re.fullmatch(r"/recipes/([1-9][0-9]{0,18})", path)
    if not match:
        return _deny_all(principal)
    return {"principal": principal, "subject": principal, "scopes": ["recipes:read"],
            "resource": f"recipes/{match.group(1)}", "expiresAt": expires}
