"""An HTTP API's authorizers as API Gateway runs them ("Controlling access to HTTP APIs" in its
developer guide):

- JWT: the token from its identity source checked against the issuer's keys (local.auth);
  401 for a missing or invalid token, 403 for a missing scope; the claims passed on.
- Lambda (REQUEST, payload 1.0 or 2.0): identity sources checked first (a missing one is a
  401 without a call), then the function asked; its simple answer (`isAuthorized`) or its
  IAM policy decides (403 when it says no), its context passed on, the answer cached for the
  TTL by the identity sources' values (never without identity sources).
"""

from dataclasses import dataclass

from local.app.model import ApiEvent, ApiSpec, AuthorizerSpec
from local.auth.jwt_check import JwtRejected, JwtRule, bearer_token, claims_as_text, token_scopes
from local.gateway.answers import HTTP_FORBIDDEN, HTTP_INTERNAL_ERROR, HTTP_UNAUTHORIZED, Answer
from local.gateway.authorizers import evaluate, identity_values, method_arn
from local.gateway.invocation import GatewayContext
from local.gateway.proxy_event import authorizer_fields
from local.http.messages import HttpRequest


@dataclass
class HttpVerdict:
    denied: Answer | None = None
    context: dict | None = None  # requestContext.authorizer for the function
    headers: list[tuple[str, str]] | None = None  # with a denial: WWW-Authenticate


@dataclass
class _Allowed:
    principal_id: str | None
    context: dict


class HttpAuthorizers:
    def __init__(self, api: ApiSpec, context: GatewayContext):
        self.api, self.context = api, context
        self._cache: dict[tuple, tuple[float, _Allowed | None]] = {}  # touched only on the event loop

    def for_route(self, event: ApiEvent) -> AuthorizerSpec | None:
        name = (event.auth or {}).get("Authorizer", self.api.default_authorizer)
        if not name or name == "NONE":
            return None
        return self.api.authorizers.get(name) or AuthorizerSpec(name=name, payload_type="UNRUN")

    async def check(self, authorizer: AuthorizerSpec, request: HttpRequest, route: ApiEvent, route_arn: str,
                    request_event) -> HttpVerdict:
        """`request_event(version)` builds the request's event in that payload format."""
        if authorizer.payload_type == "JWT":
            return await self._jwt(authorizer, request, route)
        if authorizer.payload_type != "REQUEST":  # not run here: fail closed, as the route is protected
            return HttpVerdict(denied=HTTP_UNAUTHORIZED)
        identity = identity_values(authorizer, request)
        if identity is None:
            return HttpVerdict(denied=HTTP_UNAUTHORIZED)
        began = self.context.clock()
        cached = self._cache.get((authorizer.name, identity)) if identity else None
        if cached and cached[0] > self.context.clock():
            allowed = cached[1]
        else:
            outcome = await self.context.runtime.invoke_async(
                authorizer.function, _authorizer_event(authorizer, request_event, route_arn, identity))
            if outcome.failed:
                unauthorized = outcome.error.get("errorMessage") == "Unauthorized"
                return HttpVerdict(denied=HTTP_UNAUTHORIZED if unauthorized else HTTP_INTERNAL_ERROR)
            try:
                allowed = _decision(authorizer, outcome.payload, route_arn)
            except ValueError:
                return HttpVerdict(denied=HTTP_INTERNAL_ERROR)
            if identity and authorizer.ttl_s > 0:
                self._cache[(authorizer.name, identity)] = (self.context.clock() + authorizer.ttl_s, allowed)
        if allowed is None:
            return HttpVerdict(denied=HTTP_FORBIDDEN)
        if route.payload_version == "2.0":
            return HttpVerdict(context={"lambda": allowed.context})
        latency = int((self.context.clock() - began) * 1000)
        extra = {"principalId": allowed.principal_id} if allowed.principal_id is not None else {}
        return HttpVerdict(context={**allowed.context, **extra, "integrationLatency": latency})

    async def _jwt(self, authorizer: AuthorizerSpec, request: HttpRequest, route: ApiEvent) -> HttpVerdict:
        token = (request.header(authorizer.header) if authorizer.header else
                 request.query_value(authorizer.query_strings[0]) if authorizer.query_strings else None)
        scopes = tuple((route.auth or {}).get("AuthorizationScopes") or authorizer.scopes)
        rule = JwtRule(issuer=authorizer.issuer or "", audiences=tuple(authorizer.audiences), scopes=scopes)
        try:
            claims = await self.context.tokens.check(bearer_token(token), rule)
        except JwtRejected as rejected:
            error = "insufficient_scope" if rejected.status == 403 else "invalid_token"
            challenge = f'Bearer error="{error}" error_description="{rejected.reason}"'
            return HttpVerdict(denied=HTTP_FORBIDDEN if rejected.status == 403 else HTTP_UNAUTHORIZED,
                               headers=[("WWW-Authenticate", challenge)])
        jwt = {"claims": claims_as_text(claims), "scopes": token_scopes(claims) if scopes else None}
        return HttpVerdict(context={"jwt": jwt} if route.payload_version == "2.0" else jwt)


def _authorizer_event(authorizer: AuthorizerSpec, request_event, route_arn: str, identity: tuple) -> dict:
    event = request_event(authorizer.payload_version)
    if authorizer.payload_version == "2.0":
        fields = {k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")}
        return {"version": "2.0", "type": "REQUEST", "routeArn": route_arn, "identitySource": list(identity),
                **{k: v for k, v in fields.items() if k != "version"}}
    return {"version": "1.0", "type": "REQUEST", "methodArn": route_arn, "identitySource": ",".join(identity),
            "authorizationToken": identity[0] if identity else None, **authorizer_fields(event)}


def _decision(authorizer: AuthorizerSpec, payload, route_arn: str) -> _Allowed | None:
    """What the authorizer said: allowed (with its context), None for no, ValueError for an
    answer API Gateway cannot use."""
    if not isinstance(payload, dict):
        raise ValueError("not an object")
    context = payload.get("context") or {}
    if not isinstance(context, dict):
        raise ValueError("context is not an object")
    if authorizer.simple_responses:
        if not isinstance(payload.get("isAuthorized"), bool):
            raise ValueError("isAuthorized is not a boolean")
        return _Allowed(None, context) if payload["isAuthorized"] else None
    document = payload.get("policyDocument")
    statements = document.get("Statement") if isinstance(document, dict) else None
    statements = [statements] if isinstance(statements, dict) else statements
    if "principalId" not in payload or not isinstance(statements, list):
        raise ValueError("no principalId and policyDocument")
    allowed = evaluate(statements, route_arn) == "Allow"
    return _Allowed(str(payload["principalId"]), context) if allowed else None


def route_arn(region: str, account: str, api_id: str, stage: str, route: ApiEvent, method: str, path: str) -> str:
    """The routeArn (methodArn) an authorizer's policy is matched against; the $default route's
    ends in $default."""
    if route.route_key == "$default":
        return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/$default"
    return method_arn(region, account, api_id, stage, method, path)

