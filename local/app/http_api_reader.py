"""Reads a template's HTTP APIs into ApiSpecs: each AWS::Serverless::HttpApi with the Globals'
HttpApi settings, and SAM's implicit ServerlessHttpApi when an HttpApi event names no ApiId;
their CORS, stage variables, route throttling and authorizers (JWT and Lambda); the routes
of their OpenAPI definitions (http_definition_reader) and the plain CloudFormation HTTP
APIs (cfn_http_reader) beside them, in `routes` for the functions. Also the readings HTTP
APIs share with function URLs: an HttpApi event's route, FunctionUrlConfig."""

from infra.errors import TemplateError
from local.app.cfn_http_reader import CloudFormationHttpReader
from local.app.http_definition_reader import (
    HTTP_TIMEOUT_MS,
    HttpDefinitionReader,
    http_cors,
    jwt_authorizer,
    route_setting,
    route_settings,
)
from local.app.model import DEFAULT_ROUTE, HTTP, ApiEvent, ApiSpec, AuthorizerSpec, FunctionUrlSpec
from local.app.openapi_reader import OpenApiReader
from local.app.values import logical_id_of, true

HTTP_API = "AWS::Serverless::HttpApi"
FUNCTION = "AWS::Serverless::Function"
IMPLICIT_HTTP_API = "ServerlessHttpApi"  # SAM's implicit HTTP API


def http_api_event(name: str, raw: dict, props: dict) -> ApiEvent:
    """An HttpApi event (raw: its Properties as written; props: resolved). SAM makes an event
    with neither Path nor Method the API's $default route."""
    api = raw.get("ApiId", {"Ref": IMPLICIT_HTTP_API})
    path = str(props.get("Path") or DEFAULT_ROUTE)
    method = str(props.get("Method") or "ANY").upper()
    method = "ANY" if method in ("X-AMAZON-APIGATEWAY-ANY-METHOD", "*") else method
    return ApiEvent(name=name, path=path, method=method, api=logical_id_of(api) or str(api),
                    auth=props.get("Auth"), api_type=HTTP,
                    payload_version=str(props.get("PayloadFormatVersion", "2.0")),
                    timeout_ms=min(int(props.get("TimeoutInMillis", HTTP_TIMEOUT_MS)), HTTP_TIMEOUT_MS))


def function_url(config) -> FunctionUrlSpec | None:
    if not isinstance(config, dict):
        return None
    return FunctionUrlSpec(auth_type=str(config.get("AuthType", "NONE")).upper(), cors=http_cors(config.get("Cors")),
                           invoke_mode=str(config.get("InvokeMode", "BUFFERED")).upper())


class HttpApiReader:
    def __init__(self, builder, openapi: OpenApiReader):
        self.b = builder  # reader._Builder: the template, its resolver, and where warnings go
        self.globals = (builder.template.get("Globals") or {}).get("HttpApi", {}) or {}
        self.definitions = HttpDefinitionReader(builder, openapi)
        self.cloudformation = CloudFormationHttpReader(builder, openapi, self.definitions)
        self.routes: list[tuple[str, ApiEvent]] = []  # (function, event) from definitions and CloudFormation

    def read(self) -> dict[str, ApiSpec]:
        events = self._events()
        apis = {lid: self._api(lid, {**self.globals, **self.b.props(lid)}, events) for lid in self.b.of_type(HTTP_API)}
        if any("ApiId" not in (event.get("Properties") or {}) for _, event in events):
            apis[IMPLICIT_HTTP_API] = self._api(IMPLICIT_HTTP_API, dict(self.globals), [])
        for function, event in events:  # an event's RouteSettings are its route's, on its API
            props = self.b.resolver.resolve(event.get("Properties") or {}, function)
            api = apis.get(logical_id_of(props.get("ApiId")) or IMPLICIT_HTTP_API)
            settings = props.get("RouteSettings")
            if api is not None and isinstance(settings, dict):
                route = http_api_event("", event.get("Properties") or {}, props)
                api.method_settings.append(route_setting(route.path, route.method, settings))
        apis.update(self.cloudformation.read(apis))  # a CloudFormation Route may hang on a SAM HttpApi
        self.routes += self.cloudformation.routes
        return apis

    def _events(self) -> list[tuple[str, dict]]:
        return [(lid, event) for lid in self.b.of_type(FUNCTION)
                for event in (self.b.props(lid).get("Events") or {}).values()
                if isinstance(event, dict) and event.get("Type") == "HttpApi"]

    def _api(self, lid: str, props: dict, events: list[tuple[str, dict]]) -> ApiSpec:
        auth = props.get("Auth", {}) or {}  # unresolved: FunctionArn must still name the function
        definition = None
        if props.get("DefinitionBody") is not None or props.get("DefinitionUri") is not None:
            served = set()  # the routes SAM adds to the body from the API's events
            for function, event in events:
                raw = event.get("Properties") or {}
                if logical_id_of(raw.get("ApiId")) == lid:
                    route = http_api_event("", raw, self.b.resolver.resolve(raw, function))
                    served.add((route.method, route.path))
            body = props.get("DefinitionBody")
            definition = self.definitions.read(lid, body, props.get("DefinitionUri"),
                                               "DefinitionBody" if body is not None else "DefinitionUri",
                                               known=set(auth.get("Authorizers") or {}), served=served)
        if auth.get("EnableIamAuthorizer"):
            self.b.warn(lid, "Auth.EnableIamAuthorizer", "IAM authorization is not checked here")
        props = self.b.resolver.resolve({k: v for k, v in props.items() if k not in ("DefinitionBody", "Auth")}, lid)
        spec = ApiSpec(
            logical_id=lid, name=str(props.get("Name", lid)), stage=str(props.get("StageName", DEFAULT_ROUTE)),
            kind=HTTP, method_settings=route_settings(props.get("DefaultRouteSettings"), props.get("RouteSettings")),
            authorizers={name: self._authorizer(lid, name, spec) for name, spec in
                         (auth.get("Authorizers") or {}).items()},
            default_authorizer=self.b.resolver.resolve(auth.get("DefaultAuthorizer"), lid),
            variables={str(k): str(v) for k, v in (props.get("StageVariables") or {}).items()},
            http_cors=http_cors(props.get("CorsConfiguration")))
        if definition is not None:
            self.routes += definition.routes
            spec.authorizers = {**definition.authorizers, **spec.authorizers}  # SAM's Auth adds to the body's
            spec.http_cors = spec.http_cors or definition.cors  # SAM writes its CorsConfiguration over the body's
        return spec

    def _authorizer(self, api: str, name: str, raw: dict) -> AuthorizerSpec:
        spec = self.b.resolver.resolve(raw, api)
        if "JwtConfiguration" in spec:
            jwt = spec["JwtConfiguration"] or {}
            return jwt_authorizer(self.b.path, api, name, jwt.get("issuer", jwt.get("Issuer")),
                                  jwt.get("audience", jwt.get("Audience")),
                                  spec.get("IdentitySource", "$request.header.Authorization"),
                                  spec.get("AuthorizationScopes"))
        if "FunctionArn" not in raw:
            self.b.warn(api, f"Auth.Authorizers.{name}", "this kind of authorizer is not run here; the routes it "
                                                         "protects answer 401")
            return AuthorizerSpec(name=name, payload_type="UNRUN")
        function = logical_id_of(raw.get("FunctionArn"))
        if function not in self.b.resources:
            raise TemplateError(self.b.path, f"authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn of "
                                             "a function in this template", resource=api)
        version = str(spec.get("AuthorizerPayloadFormatVersion", ""))
        if version not in ("1.0", "2.0"):  # SAM refuses the template without it
            raise TemplateError(self.b.path, f"authorizer {name}: AuthorizerPayloadFormatVersion must be 1.0 or "
                                             "2.0", resource=api)
        identity = spec.get("Identity") or {}
        headers, queries = [str(h) for h in identity.get("Headers") or []], [str(q) for q in
                                                                            identity.get("QueryStrings") or []]
        return AuthorizerSpec(
            name=name, function=function, payload_type="REQUEST", payload_version=version,
            simple_responses=true(spec.get("EnableSimpleResponses", False)) and version == "2.0",
            headers=headers, query_strings=queries,
            ttl_s=int(identity.get("ReauthorizeEvery", 300)) if headers or queries else 0)
