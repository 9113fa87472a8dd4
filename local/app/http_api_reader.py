"""Reads a template's HTTP APIs into ApiSpecs: each AWS::Serverless::HttpApi with the Globals'
HttpApi settings, and SAM's implicit ServerlessHttpApi when an HttpApi event names no ApiId;
their CORS, stage variables, route throttling and authorizers (JWT and Lambda). Also the
readings HTTP APIs share with function URLs: an HttpApi event's route, FunctionUrlConfig."""

from infra.errors import TemplateError
from local.app.model import (
    DEFAULT_ROUTE,
    HTTP,
    ApiEvent,
    ApiSpec,
    AuthorizerSpec,
    FunctionUrlSpec,
    HttpCorsSpec,
    MethodSetting,
)
from local.app.values import logical_id_of, true

HTTP_API = "AWS::Serverless::HttpApi"
FUNCTION = "AWS::Serverless::Function"
IMPLICIT_HTTP_API = "ServerlessHttpApi"  # SAM's implicit HTTP API
HTTP_TIMEOUT_MS = 30_000  # an HTTP API's integration timeout, and its most


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


def http_cors(value) -> HttpCorsSpec | None:
    """CorsConfiguration (or a function URL's Cors): `true` allows every origin, method and header."""
    if value is None or value is False or (isinstance(value, str) and value.lower() == "false"):
        return None
    if value is True or (isinstance(value, str) and value.lower() == "true"):
        return HttpCorsSpec(allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    if not isinstance(value, dict):
        return None
    texts = lambda key: [str(v) for v in (value.get(key) or [])]  # noqa: E731
    max_age = value.get("MaxAge")
    return HttpCorsSpec(allow_origins=texts("AllowOrigins"), allow_methods=[m.upper() for m in texts("AllowMethods")],
                        allow_headers=texts("AllowHeaders"), expose_headers=texts("ExposeHeaders"),
                        max_age=int(max_age) if max_age is not None else None,
                        allow_credentials=true(value.get("AllowCredentials", False)))


def function_url(config) -> FunctionUrlSpec | None:
    if not isinstance(config, dict):
        return None
    return FunctionUrlSpec(auth_type=str(config.get("AuthType", "NONE")).upper(), cors=http_cors(config.get("Cors")),
                           invoke_mode=str(config.get("InvokeMode", "BUFFERED")).upper())


class HttpApiReader:
    def __init__(self, builder):
        self.b = builder  # reader._Builder: the template, its resolver, and where warnings go
        self.globals = (builder.template.get("Globals") or {}).get("HttpApi", {}) or {}

    def read(self) -> dict[str, ApiSpec]:
        apis = {lid: self._api(lid, {**self.globals, **self.b.props(lid)}) for lid in self.b.of_type(HTTP_API)}
        events = self._events()
        if any("ApiId" not in (event.get("Properties") or {}) for _, event in events):
            apis[IMPLICIT_HTTP_API] = self._api(IMPLICIT_HTTP_API, dict(self.globals))
        for function, event in events:  # an event's RouteSettings are its route's, on its API
            props = self.b.resolver.resolve(event.get("Properties") or {}, function)
            api = apis.get(logical_id_of(props.get("ApiId")) or IMPLICIT_HTTP_API)
            settings = props.get("RouteSettings")
            if api is not None and isinstance(settings, dict):
                route = http_api_event("", event.get("Properties") or {}, props)
                api.method_settings.append(_setting(route.path, route.method, settings))
        return apis

    def _events(self) -> list[tuple[str, dict]]:
        return [(lid, event) for lid in self.b.of_type(FUNCTION)
                for event in (self.b.props(lid).get("Events") or {}).values()
                if isinstance(event, dict) and event.get("Type") == "HttpApi"]

    def _api(self, lid: str, props: dict) -> ApiSpec:
        auth = props.get("Auth", {}) or {}  # unresolved: FunctionArn must still name the function
        if props.get("DefinitionBody") is not None or props.get("DefinitionUri") is not None:
            self.b.warn(lid, "DefinitionBody", "an HTTP API's OpenAPI definition is not read here; only its "
                                               "HttpApi events are served")
        if auth.get("EnableIamAuthorizer"):
            self.b.warn(lid, "Auth.EnableIamAuthorizer", "IAM authorization is not checked here")
        props = self.b.resolver.resolve({k: v for k, v in props.items() if k not in ("DefinitionBody", "Auth")}, lid)
        settings = []
        if isinstance(props.get("DefaultRouteSettings"), dict):
            settings.append(_setting("/*", "*", props["DefaultRouteSettings"]))
        for key, value in (props.get("RouteSettings") or {}).items():
            method, _, path = str(key).partition(" ")
            settings.append(_setting(path or DEFAULT_ROUTE, method.upper() if path else "ANY", value or {}))
        return ApiSpec(
            logical_id=lid, name=str(props.get("Name", lid)), stage=str(props.get("StageName", DEFAULT_ROUTE)),
            kind=HTTP, method_settings=settings,
            authorizers={name: self._authorizer(lid, name, spec) for name, spec in
                         (auth.get("Authorizers") or {}).items()},
            default_authorizer=self.b.resolver.resolve(auth.get("DefaultAuthorizer"), lid),
            variables={str(k): str(v) for k, v in (props.get("StageVariables") or {}).items()},
            http_cors=http_cors(props.get("CorsConfiguration")))

    def _authorizer(self, api: str, name: str, raw: dict) -> AuthorizerSpec:
        spec = self.b.resolver.resolve(raw, api)
        if "JwtConfiguration" in spec:
            jwt = spec["JwtConfiguration"] or {}
            issuer = jwt.get("issuer", jwt.get("Issuer"))
            if not issuer:
                raise TemplateError(self.b.path, f"authorizer {name}: JwtConfiguration has no issuer", resource=api)
            audience = jwt.get("audience", jwt.get("Audience")) or []
            source = _identity_sources(spec.get("IdentitySource", "$request.header.Authorization"))
            return AuthorizerSpec(
                name=name, payload_type="JWT", issuer=str(issuer),
                audiences=[str(a) for a in (audience if isinstance(audience, list) else [audience])],
                header=(source["headers"] or [None])[0], query_strings=source["query_strings"][:1],
                scopes=[str(s) for s in spec.get("AuthorizationScopes") or []])
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


def _setting(path: str, method: str, settings: dict) -> MethodSetting:
    return MethodSetting(resource_path=path, http_method=method, rate=settings.get("ThrottlingRateLimit"),
                         burst=settings.get("ThrottlingBurstLimit"))


def _identity_sources(value) -> dict[str, list[str]]:
    """`$request.header.Authorization`, `$request.querystring.token`: a list or a comma-joined text."""
    sources = value if isinstance(value, list) else str(value).split(",")
    found = {"headers": [], "query_strings": []}
    for source in (str(s).strip() for s in sources):
        if source.startswith("$request.header."):
            found["headers"].append(source.removeprefix("$request.header."))
        elif source.startswith("$request.querystring."):
            found["query_strings"].append(source.removeprefix("$request.querystring."))
    return found
