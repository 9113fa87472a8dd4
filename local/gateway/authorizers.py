"""A REST API's authorizers as API Gateway runs them. Lambda authorizers (TOKEN and REQUEST):
identity sources checked first (missing gives 401 without a call), the function's policy
evaluated against the request's methodArn, its context passed on, and its answer cached per
identity for the TTL. Cognito user pool authorizers: the token checked as a JWT against the
pool's issuer; every failure is a 401, a missing scope too, as REST APIs answer it.
"""

import re
import time
from dataclasses import dataclass

from local.app.model import ApiEvent, ApiSpec, AuthorizerSpec
from local.auth.jwt_check import JwtChecker, JwtRejected, JwtRule, claims_as_text
from local.gateway.answers import (
    AUTHORIZER_FAILURE,
    AUTHORIZER_UNUSABLE,
    EXPLICIT_DENY,
    NOT_ALLOWED,
    UNAUTHORIZED,
    Answer,
)
from local.http.messages import HttpRequest
from local.runtime.runtime import Runtime


@dataclass
class Grant:
    principal_id: str
    statements: list[dict]
    context: dict[str, str]


@dataclass
class Verdict:
    denied: Answer | None = None
    context: dict | None = None  # requestContext.authorizer for the function


class Authorizers:
    def __init__(self, api: ApiSpec, runtime: Runtime, clock=time.monotonic, tokens: JwtChecker | None = None):
        self.api, self.runtime, self.clock, self.tokens = api, runtime, clock, tokens
        self._cache: dict[tuple, tuple[float, Grant]] = {}  # touched only on the event loop

    def for_route(self, event: ApiEvent) -> AuthorizerSpec | None:
        name = (event.auth or {}).get("Authorizer", self.api.default_authorizer)
        if not name or name == "NONE":
            return None
        return self.api.authorizers.get(name)

    async def check(self, authorizer: AuthorizerSpec, request: HttpRequest, method_arn: str, request_event,
                    route: ApiEvent) -> Verdict:
        """`request_event` builds the REQUEST authorizer's event (the proxy event's fields)."""
        if authorizer.payload_type == "UNRUN" or (authorizer.payload_type == "COGNITO" and self.tokens is None):
            return Verdict(denied=UNAUTHORIZED)  # fail closed: the route is protected on AWS
        if authorizer.payload_type == "COGNITO":
            return await self._cognito(authorizer, request, route)
        identity = identity_values(authorizer, request)
        if identity is None:
            return Verdict(denied=UNAUTHORIZED)
        began = self.clock()
        grant = self._cached(authorizer, identity)
        if grant is None:
            if authorizer.payload_type == "TOKEN":
                event = {"type": "TOKEN", "authorizationToken": identity[0], "methodArn": method_arn}
            else:
                event = {"type": "REQUEST", "methodArn": method_arn, **request_event()}
            outcome = await self.runtime.invoke_async(authorizer.function, event)
            if outcome.failed:
                return Verdict(denied=UNAUTHORIZED if outcome.error.get("errorMessage") == "Unauthorized"
                               else AUTHORIZER_FAILURE)
            grant = _grant(outcome.payload)
            if grant is None:
                return Verdict(denied=AUTHORIZER_UNUSABLE)
            self._remember(authorizer, identity, grant)
        effect = evaluate(grant.statements, method_arn)
        if effect != "Allow":
            return Verdict(denied=EXPLICIT_DENY if effect == "Deny" else NOT_ALLOWED)
        latency = int((self.clock() - began) * 1000)
        return Verdict(context={**grant.context, "principalId": grant.principal_id, "integrationLatency": latency})

    async def _cognito(self, authorizer: AuthorizerSpec, request: HttpRequest, route: ApiEvent) -> Verdict:
        token = request.header(authorizer.header or "Authorization")
        if token and authorizer.validation_expression and not re.fullmatch(authorizer.validation_expression, token):
            return Verdict(denied=UNAUTHORIZED)
        scopes = tuple((route.auth or {}).get("AuthorizationScopes") or authorizer.scopes)
        try:
            claims = await self.tokens.check(token, JwtRule(issuer=authorizer.issuer or "", scopes=scopes))
        except JwtRejected:
            return Verdict(denied=UNAUTHORIZED)
        # Without scopes the method wants the pool's ID token; with scopes, an access token.
        if claims.get("token_use", "access" if scopes else "id") != ("access" if scopes else "id"):
            return Verdict(denied=UNAUTHORIZED)
        return Verdict(context={"claims": claims_as_text(claims)})

    def _cached(self, authorizer: AuthorizerSpec, identity: tuple) -> Grant | None:
        entry = self._cache.get((authorizer.name, identity))
        if entry and entry[0] > self.clock():
            return entry[1]
        return None

    def _remember(self, authorizer: AuthorizerSpec, identity: tuple, grant: Grant) -> None:
        # Without identity sources API Gateway cannot key a cache, so it calls every time.
        if authorizer.ttl_s > 0 and (authorizer.payload_type == "TOKEN" or authorizer.headers or authorizer.query_strings):
            self._cache[(authorizer.name, identity)] = (self.clock() + authorizer.ttl_s, grant)


def method_arn(region: str, account: str, api_id: str, stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path.lstrip('/')}"


def evaluate(statements: list[dict], arn: str) -> str | None:
    """"Deny" if any statement denies, else "Allow" if one allows, else None (implicit deny)."""
    allowed = False
    for statement in statements:
        if not (_matches_any(statement.get("Action"), "execute-api:Invoke")
                and _matches_any(statement.get("Resource"), arn)):
            continue
        effect = str(statement.get("Effect", "")).capitalize()
        if effect == "Deny":
            return "Deny"
        allowed = allowed or effect == "Allow"
    return "Allow" if allowed else None


def _matches_any(patterns, value: str) -> bool:
    if isinstance(patterns, str):
        patterns = [patterns]
    return any(_wildcard(pattern).fullmatch(value) for pattern in patterns or [] if isinstance(pattern, str))


_WILDCARDS: dict[str, re.Pattern] = {}


def _wildcard(pattern: str) -> re.Pattern:
    compiled = _WILDCARDS.get(pattern)
    if compiled is None:
        compiled = re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."))
        _WILDCARDS[pattern] = compiled
    return compiled


def identity_values(authorizer: AuthorizerSpec, request: HttpRequest) -> tuple | None:
    """The identity source values ((), when a REQUEST authorizer has none), or None when one
    is missing (API Gateway's 401)."""
    if authorizer.payload_type == "TOKEN":
        token = request.header(authorizer.header or "Authorization")
        if not token or (authorizer.validation_expression
                         and not re.fullmatch(authorizer.validation_expression, token)):
            return None
        return (token,)
    values = [request.header(name) for name in authorizer.headers]
    values += [request.query_value(name) for name in authorizer.query_strings]
    if any(not value for value in values):
        return None
    return tuple(values)


def _grant(payload) -> Grant | None:
    """The authorizer's answer, or None when it is not one API Gateway accepts."""
    if not isinstance(payload, dict) or "principalId" not in payload:
        return None
    document = payload.get("policyDocument")
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return None
    context = payload.get("context") or {}
    if not isinstance(context, dict) or any(isinstance(v, (dict, list)) for v in context.values()):
        return None  # API Gateway allows only strings, numbers and booleans there
    # REST APIs hand the context to the function with every value as a string.
    as_text = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in context.items()}
    return Grant(str(payload["principalId"]), statements, as_text)
