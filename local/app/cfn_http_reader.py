"""HTTP APIs written in plain CloudFormation: an AWS::ApiGatewayV2::Api with its Routes,
Integrations, Authorizers and Stage, or with an OpenAPI `Body` / `BodyS3Location`, or made by
quick create (`Target`). The same ApiSpecs and routes as SAM's HttpApi, so the gateway cannot
tell them apart. A Route may also hang on a SAM HttpApi of the same template.

A route is served when its Target names an AWS_PROXY integration of a function of this
template; anything else (HTTP or AWS service integrations, WebSocket APIs, IAM
authorization) is warned about and not served or not enforced.
"""

from infra.errors import TemplateError
from local.app.http_definition_reader import (
    HTTP_TIMEOUT_MS,
    PAYLOAD_VERSIONS,
    HttpDefinitionReader,
    http_cors,
    jwt_authorizer,
    request_authorizer,
    route_settings,
)
from local.app.model import DEFAULT_ROUTE, HTTP, ApiEvent, ApiSpec, AuthorizerSpec
from local.app.openapi_reader import OpenApiReader, lambda_target
from local.app.values import logical_id_of

API = "AWS::ApiGatewayV2::Api"
ROUTE = "AWS::ApiGatewayV2::Route"
INTEGRATION = "AWS::ApiGatewayV2::Integration"
STAGE = "AWS::ApiGatewayV2::Stage"
AUTHORIZER = "AWS::ApiGatewayV2::Authorizer"
QUICK_CREATE_PAYLOAD = "2.0"  # quick create's integration, as API Gateway makes it


class CloudFormationHttpReader:
    def __init__(self, builder, openapi: OpenApiReader, definitions: HttpDefinitionReader):
        self.b = builder  # reader._Builder: template, resolver, warnings
        self.functions_by_arn = openapi.functions_by_arn
        self.definitions = definitions
        self.routes: list[tuple[str, ApiEvent]] = []  # (function logical id, event)

    def read(self, sam_apis: dict[str, ApiSpec] | None = None) -> dict[str, ApiSpec]:
        """The template's AWS::ApiGatewayV2::Api HTTP APIs; Routes and Authorizers may also
        belong to one of `sam_apis` (SAM's HttpApis)."""
        apis = {lid: spec for lid in self.b.of_type(API) if (spec := self._api(lid)) is not None}
        known = {**(sam_apis or {}), **apis}
        for lid in self.b.of_type(AUTHORIZER):
            api = self._api_of(lid, known)
            if api is not None:
                known[api].authorizers[lid] = self._authorizer(lid)
        integrations = {lid: self._integration(lid) for lid in self.b.of_type(INTEGRATION)
                        if self._api_of(lid, known) is not None}
        for lid in self.b.of_type(ROUTE):
            self._route(lid, known, integrations)
        return apis

    def _api(self, lid: str) -> ApiSpec | None:
        props = self.b.props(lid)
        resolved = self.b.resolver.resolve({k: v for k, v in props.items() if k != "Body"}, lid)
        protocol = str(resolved.get("ProtocolType", HTTP)).upper()
        if protocol != HTTP:
            self.b.warn(lid, "ProtocolType", f"{protocol} APIs are not served here (HTTP APIs only)")
            return None
        stage = self._stage(lid)
        spec = ApiSpec(logical_id=lid, name=str(resolved.get("Name", lid)), kind=HTTP,
                       stage=str(stage.get("StageName", DEFAULT_ROUTE)),
                       method_settings=route_settings(stage.get("DefaultRouteSettings"), stage.get("RouteSettings")),
                       variables={str(k): str(v) for k, v in (stage.get("StageVariables") or {}).items()},
                       http_cors=http_cors(resolved.get("CorsConfiguration")))
        if props.get("Body") is not None or props.get("BodyS3Location") is not None:
            body = props.get("Body")
            definition = self.definitions.read(lid, body, props.get("BodyS3Location"),
                                               "Body" if body is not None else "BodyS3Location")
            if definition is not None:
                self.routes += definition.routes
                spec.authorizers.update(definition.authorizers)
                spec.http_cors = spec.http_cors or definition.cors
        if resolved.get("Target") is not None:
            self._quick_create(lid, resolved)
        return spec

    def _quick_create(self, api: str, props: dict) -> None:
        """Quick create: one AWS_PROXY integration of the Target function, on RouteKey
        (else the $default route)."""
        function = lambda_target(props["Target"], self.functions_by_arn)
        if function is None:
            self.b.warn(api, "Target", f"{props['Target']!r} names no function of this template; not served")
            return
        method, path = _route_key(self.b.path, api, props.get("RouteKey") or DEFAULT_ROUTE)
        self.routes.append((function, ApiEvent(name=f"{api} Target", path=path, method=method, api=api, api_type=HTTP,
                                               payload_version=QUICK_CREATE_PAYLOAD, timeout_ms=HTTP_TIMEOUT_MS)))

    def _stage(self, api: str) -> dict:
        """The API's stage: its $default stage if it has one, else its first; one is served."""
        stages = [(lid, self.b.resolver.resolve(self.b.props(lid), lid)) for lid in self.b.of_type(STAGE)
                  if logical_id_of(self.b.props(lid).get("ApiId")) == api]
        if not stages:
            return {}
        chosen = next((s for s in stages if s[1].get("StageName") == DEFAULT_ROUTE), stages[0])
        for lid, props in stages:
            if lid != chosen[0]:
                self.b.warn(lid, "StageName", f"{api} is served as its stage {chosen[1].get('StageName')}; stage "
                                              f"{props.get('StageName')} is not")
        return chosen[1]

    def _api_of(self, lid: str, apis: dict[str, ApiSpec]) -> str | None:
        """The API a Route, Integration or Authorizer names; None (warned) when it is not
        served here. A WebSocket API was warned about once, at the API."""
        raw = self.b.props(lid).get("ApiId")
        api = logical_id_of(raw)
        if api in apis:
            return api
        if api is not None and self.b.resources.get(api, {}).get("Type") == API:
            return None
        self.b.warn(lid, "ApiId", f"{self.b.resolver.resolve(raw, lid)!r} is not an HTTP API of this template; "
                                  "not served")
        return None

    def _integration(self, lid: str) -> dict | None:
        """What a route to this integration is served with: its function, payload version and
        timeout; None (warned) for one not run here."""
        props = self.b.resolver.resolve(self.b.props(lid), lid)
        kind = str(props.get("IntegrationType", "")).upper()
        if kind != "AWS_PROXY" or props.get("IntegrationSubtype"):
            what = props.get("IntegrationSubtype") or kind or "missing"
            self.b.warn(lid, "IntegrationType", f"a {what} integration is not run here (Lambda AWS_PROXY only); "
                                                "routes to it are not served")
            return None
        function = lambda_target(props.get("IntegrationUri"), self.functions_by_arn)
        if function is None:
            self.b.warn(lid, "IntegrationUri", f"{props.get('IntegrationUri')!r} names no function of this "
                                               "template; routes to it are not served")
            return None
        version = props.get("PayloadFormatVersion")
        if version is None:  # AWS requires it of a Lambda integration; its API's default is 1.0
            self.b.warn(lid, "PayloadFormatVersion", "missing, which AWS requires for an HTTP API's Lambda "
                                                     "integration; served as 1.0")
        elif str(version) not in PAYLOAD_VERSIONS:
            raise TemplateError(self.b.path, f"PayloadFormatVersion must be 1.0 or 2.0 (got {version!r})", resource=lid)
        try:
            timeout = int(props.get("TimeoutInMillis", HTTP_TIMEOUT_MS))
        except (TypeError, ValueError):
            raise TemplateError(self.b.path, f"TimeoutInMillis {props.get('TimeoutInMillis')!r} is not a whole "
                                             "number", resource=lid) from None
        if timeout > HTTP_TIMEOUT_MS:
            self.b.warn(lid, "TimeoutInMillis", f"{timeout} is over an HTTP API's {HTTP_TIMEOUT_MS}; served with "
                                                f"{HTTP_TIMEOUT_MS}")
        return {"function": function, "api": logical_id_of(self.b.props(lid).get("ApiId")),
                "payload_version": str(version or "1.0"), "timeout_ms": min(timeout, HTTP_TIMEOUT_MS)}

    def _route(self, lid: str, apis: dict[str, ApiSpec], integrations: dict[str, dict | None]) -> None:
        api = self._api_of(lid, apis)
        if api is None:
            return
        props = self.b.resolver.resolve(self.b.props(lid), lid)
        method, path = _route_key(self.b.path, lid, props.get("RouteKey"))
        where = f"{method} {path}" if path != DEFAULT_ROUTE else DEFAULT_ROUTE
        integration = self._target(lid, where, props.get("Target"), api, integrations)
        if integration is None:
            return
        kind = str(props.get("AuthorizationType", "NONE")).upper()
        auth = {"Authorizer": "NONE"}
        if kind == "AWS_IAM":
            self.b.warn(lid, "AuthorizationType", f"{where}: AWS_IAM is not enforced here")
        elif kind in ("JWT", "CUSTOM"):
            auth = {"Authorizer": self._authorizer_id(lid, kind, api, apis[api]),
                    "AuthorizationScopes": [str(s) for s in props.get("AuthorizationScopes") or []]}
        self.routes.append((integration["function"], ApiEvent(
            name=lid, path=path, method=method, api=api, auth=auth, api_type=HTTP,
            payload_version=integration["payload_version"], timeout_ms=integration["timeout_ms"])))

    def _target(self, lid: str, where: str, target, api: str, integrations: dict[str, dict | None]) -> dict | None:
        """The integration `integrations/<IntegrationId>` names (usually !Sub integrations/${Integration})."""
        if target is None:
            self.b.warn(lid, "Target", f"{where}: has no integration; not served")
            return None
        if not isinstance(target, str) or not target.startswith("integrations/"):
            raise TemplateError(self.b.path, f"Target {target!r} is not integrations/<IntegrationId>", resource=lid)
        integration_id = target.removeprefix("integrations/")
        found = next((i for i in self.b.of_type(INTEGRATION) if integration_id in (i, self.b.resolver.ref(i))), None)
        if found is None:
            self.b.warn(lid, "Target", f"{where}: {target} names no AWS::ApiGatewayV2::Integration of this template; "
                                       "not served")
            return None
        if logical_id_of(self.b.props(found).get("ApiId")) != api:  # API Gateway refuses another API's
            raise TemplateError(self.b.path, f"Target {target}: integration {found} belongs to another API than "
                                             f"{api}", resource=lid)
        return integrations.get(found)  # None: warned about at the integration

    def _authorizer_id(self, lid: str, kind: str, api: str, spec: ApiSpec) -> str:
        raw = self.b.props(lid).get("AuthorizerId")
        name = logical_id_of(raw)
        if name not in spec.authorizers:
            resolved = self.b.resolver.resolve(raw, lid)
            name = next((a for a in spec.authorizers if a in self.b.resources and
                         self.b.resolver.ref(a) == resolved), resolved)
        if name not in spec.authorizers:  # CloudFormation refuses a JWT or CUSTOM route without one
            raise TemplateError(self.b.path, f"AuthorizationType {kind} needs an AuthorizerId naming an "
                                             f"AWS::ApiGatewayV2::Authorizer of {api} (got {raw!r})", resource=lid)
        return str(name)

    def _authorizer(self, lid: str) -> AuthorizerSpec:
        props = self.b.resolver.resolve(self.b.props(lid), lid)
        kind = str(props.get("AuthorizerType", "")).upper()
        if kind == "JWT":
            jwt = props.get("JwtConfiguration") if isinstance(props.get("JwtConfiguration"), dict) else {}
            return jwt_authorizer(self.b.path, lid, lid, jwt.get("Issuer"), jwt.get("Audience"),
                                  props.get("IdentitySource"))
        if kind != "REQUEST":
            self.b.warn(lid, "AuthorizerType", f"a {kind or 'missing'} authorizer is not run here; the routes it "
                                               "protects answer 401")
            return AuthorizerSpec(name=lid, payload_type="UNRUN")
        function = lambda_target(props.get("AuthorizerUri"), self.functions_by_arn)
        if function is None:
            raise TemplateError(self.b.path, "AuthorizerUri names no function of this template", resource=lid)
        return request_authorizer(self.b.path, lid, lid, function, props.get("AuthorizerPayloadFormatVersion"),
                                  props.get("EnableSimpleResponses"), props.get("IdentitySource"),
                                  props.get("AuthorizerResultTtlInSeconds"))


def _route_key(template, resource: str, key) -> tuple[str, str]:
    """`GET /items/{id}`, `ANY /{proxy+}` or `$default`, as (method, path)."""
    text = str(key or "").strip()
    if text == DEFAULT_ROUTE:
        return "ANY", DEFAULT_ROUTE
    method, _, path = text.partition(" ")
    if not path.startswith("/"):
        raise TemplateError(template, f"RouteKey {key!r} is neither `METHOD /path` nor $default", resource=resource)
    return method.upper(), path.strip()
