"""Every endpoint function is `endpoint("<operationId>")(work)`: the one wrapper that checks,
again, what the gatekeeper decided (scope, resource pin, valet token still valid) and applies
the per-principal rate limit before the work runs; its RateLimit headers go on the answer.

The gatekeeper's policy already let the request through: this is defence in depth, and it
also makes a cached authorizer answer harmless: an expired or revoked token is refused here
at once, whatever the authorizer cache TTL.
"""

import time

import redis

from cloudpatterns.config import config
from cloudpatterns.errors import Forbidden, Throttled
from cloudpatterns.http import Request, api_handler
from cloudpatterns.ratelimit import limiter
from cloudpatterns.valet_registry import registry

from .api import BY_ID, Operation


def endpoint(operation_id: str):
    operation = BY_ID[operation_id]

    def wrap(work):
        @api_handler
        def handler(request: Request, context):
            check_access(request, operation)
            limits = rate_limit(request, operation)
            response = work(request)
            response.headers.update(limits)
            return response

        handler.operation = operation
        return handler

    return wrap


def check_access(request: Request, operation: Operation) -> None:
    if operation.public:
        return
    if operation.scope not in request.scopes and "admin" not in request.scopes:
        raise Forbidden(f"this needs the {operation.scope!r} scope", details={"required_scope": operation.scope})
    resource = request.authorizer.get("resource")
    if resource and not (request.path == f"/{resource}" or request.path.startswith(f"/{resource}/")):
        raise Forbidden(f"this credential is limited to {resource}")
    token_id = request.authorizer.get("tokenId")
    if token_id:
        if int(request.authorizer.get("expiresAt") or 0) <= time.time():
            raise Forbidden("the valet token has expired")
        try:
            revoked = registry.is_revoked(token_id)
        except redis.RedisError:
            revoked = True  # cannot tell: fail closed
        if revoked:
            raise Forbidden("the valet token was revoked")


def rate_limit(request: Request, operation: Operation) -> dict[str, str]:
    """Reads and writes have separate per-minute limits, per principal (by source IP when
    anonymous); the limits come from the configuration store and change without restart."""
    if operation.public:
        return {}
    kind = "writes" if operation.is_write else "reads"
    per_minute = config.get_int(f"rate-limit/{kind}-per-minute", 600 if kind == "reads" else 120)
    principal = request.authorizer.get("principalId") or f"ip:{request.source_ip}"
    decision = limiter.hit(f"{kind}:{principal}", per_minute)
    if not decision.allowed:
        raise Throttled(f"more than {per_minute} {kind} a minute", headers=decision.headers())
    return decision.headers()
