"""Routes, authorizers and CORS from an HTTP API's OpenAPI 3.0 definition: SAM's HttpApi
`DefinitionBody` (inline, or through `Fn::Transform: AWS::Include`) and `DefinitionUri`, and
CloudFormation's AWS::ApiGatewayV2::Api `Body` / `BodyS3Location`; and the readings every
kind of HTTP API shares (CORS, identity sources, route settings, JWT and Lambda authorizers).

The document is loaded as the REST APIs' is (openapi_reader). What differs is what API
Gateway makes of it for an HTTP API: the `$default` path, a function's own ARN as an
integration's uri, `payloadFormatVersion`, `jwt` and `request` authorizers whose scopes an
operation's `security` names, and `x-amazon-apigateway-cors`. Anything else is warned about
and not served.
"""

from dataclasses import dataclass

from infra.errors import TemplateError
from local.app.model import DEFAULT_ROUTE, HTTP, ApiEvent, AuthorizerSpec, HttpCorsSpec, MethodSetting
from local.app.openapi_reader import ANY_METHOD, METHODS, Definition, OpenApiReader, lambda_target
from local.app.values import true

HTTP_TIMEOUT_MS = 30_000  # an HTTP API's integration timeout, and its most
PAYLOAD_VERSIONS = ("1.0", "2.0")
SHARED_INTEGRATIONS = "#/components/x-amazon-apigateway-integrations/"


@dataclass
class HttpDefinition(Definition):
    cors: HttpCorsSpec | None = None  # x-amazon-apigateway-cors


def http_cors(value) -> HttpCorsSpec | None:
    """CorsConfiguration (or a function URL's Cors, or x-amazon-apigateway-cors, whose keys
    start in lower case): `true` allows every origin, method and header."""
    if value is None or value is False or (isinstance(value, str) and value.lower() == "false"):
        return None
    if value is True or (isinstance(value, str) and value.lower() == "true"):
        return HttpCorsSpec(allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    if not isinstance(value, dict):
        return None
    get = lambda key: value.get(key, value.get(key[0].lower() + key[1:]))  # noqa: E731
    texts = lambda key: [str(v) for v in (get(key) or [])]  # noqa: E731
    max_age = get("MaxAge")
    return HttpCorsSpec(allow_origins=texts("AllowOrigins"), allow_methods=[m.upper() for m in texts("AllowMethods")],
                        allow_headers=texts("AllowHeaders"), expose_headers=texts("ExposeHeaders"),
                        max_age=int(max_age) if max_age is not None else None,
                        allow_credentials=true(get("AllowCredentials") or False))


def identity_sources(value) -> dict[str, list[str]]:
    """`$request.header.Authorization`, `$request.querystring.token`: a list or a comma-joined text."""
    sources = value if isinstance(value, list) else str(value).split(",")
    found = {"headers": [], "query_strings": []}
    for source in (str(s).strip() for s in sources):
        if source.startswith("$request.header."):
            found["headers"].append(source.removeprefix("$request.header."))
        elif source.startswith("$request.querystring."):
            found["query_strings"].append(source.removeprefix("$request.querystring."))
    return found


def route_setting(path: str, method: str, settings: dict) -> MethodSetting:
    return MethodSetting(resource_path=path, http_method=method, rate=settings.get("ThrottlingRateLimit"),
                         burst=settings.get("ThrottlingBurstLimit"))


def route_settings(default, by_route) -> list[MethodSetting]:
    """A stage's DefaultRouteSettings and RouteSettings (keyed by route key, `GET /items`)."""
    settings = [route_setting("/*", "*", default)] if isinstance(default, dict) else []
    for key, value in (by_route if isinstance(by_route, dict) else {}).items():
        method, _, path = str(key).partition(" ")
        settings.append(route_setting(path or DEFAULT_ROUTE, method.upper() if path else "ANY", value or {}))
    return settings


def jwt_authorizer(template, api: str, name: str, issuer, audience, identity_source, scopes=()) -> AuthorizerSpec:
    if not issuer:  # API Gateway refuses a JWT authorizer without one
        raise TemplateError(template, f"authorizer {name}: its JWT configuration has no issuer", resource=api)
    audiences = audience if isinstance(audience, list) else [audience] if audience else []
    source = identity_sources(identity_source or "$request.header.Authorization")
    return AuthorizerSpec(name=name, payload_type="JWT", issuer=str(issuer), audiences=[str(a) for a in audiences],
                          header=(source["headers"] or [None])[0], query_strings=source["query_strings"][:1],
                          scopes=[str(s) for s in scopes or []])


def request_authorizer(template, api: str, name: str, function: str, version, simple, identity_source,
                       ttl) -> AuthorizerSpec:
    """A Lambda authorizer of an HTTP API, from API Gateway's own fields (CloudFormation's or OpenAPI's)."""
    if str(version) not in PAYLOAD_VERSIONS:  # required of an HTTP API's Lambda authorizer
        raise TemplateError(template, f"authorizer {name}: its payload format version must be 1.0 or 2.0 (got "
                                      f"{version!r})", resource=api)
    source = identity_sources(identity_source or [])
    cached = source["headers"] or source["query_strings"]  # API Gateway caches only by identity sources
    return AuthorizerSpec(name=name, function=function, payload_type="REQUEST", payload_version=str(version),
                          simple_responses=true(simple or False) and str(version) == "2.0",
                          headers=source["headers"], query_strings=source["query_strings"],
                          ttl_s=int(ttl or 0) if cached else 0)


class HttpDefinitionReader:
    def __init__(self, builder, openapi: OpenApiReader):
        self.b = builder  # reader._Builder: template, resolver, warnings
        self.openapi = openapi  # loads the document; knows the functions by ARN

    def read(self, api: str, body, uri=None, prop: str = "DefinitionBody", known=(),
             served=()) -> HttpDefinition | None:
        """`known`: authorizers defined outside the body (SAM's Auth); `served`: the (method,
        path) routes the API's HttpApi events add to the body, as SAM adds them."""
        document = self.openapi.document(api, body, uri, prop)
        if document is None:
            return None
        paths = document.get("paths")
        if not isinstance(paths, dict):  # API Gateway's import refuses it, as SAM does
            raise TemplateError(self.b.path, f"{prop} has no paths (a mapping of path to operations)", resource=api)
        components = _mapping(self.b.path, api, f"{prop}: components", document.get("components"))
        schemes = _mapping(self.b.path, api, f"{prop}: components.securitySchemes", components.get("securitySchemes"))
        definition = HttpDefinition(cors=http_cors(document.get("x-amazon-apigateway-cors")))
        for name, scheme in schemes.items():
            authorizer = self._authorizer(api, prop, str(name), scheme)
            if authorizer is not None:
                definition.authorizers[str(name)] = authorizer
        shared = _mapping(self.b.path, api, f"{prop}: components.x-amazon-apigateway-integrations",
                          components.get("x-amazon-apigateway-integrations"))
        names = {*definition.authorizers, *known}
        for path, operations in paths.items():
            if not isinstance(operations, dict):
                raise TemplateError(self.b.path, f"{prop}: paths.{path} is not a mapping of operations", resource=api)
            for key, operation in operations.items():
                method = "ANY" if key == ANY_METHOD else key.upper() if key in METHODS else None
                if method is None or not isinstance(operation, dict):
                    continue  # parameters, summary, servers: not operations
                where = f"{prop}: {method} {path}"
                integration = operation.get("x-amazon-apigateway-integration")
                if isinstance(integration, dict) and str(integration.get("$ref", "")).startswith(SHARED_INTEGRATIONS):
                    integration = shared.get(integration["$ref"].removeprefix(SHARED_INTEGRATIONS))
                if not isinstance(integration, dict):
                    if (method, str(path)) not in served:  # an HttpApi event gives it its integration
                        self.b.warn(api, where, "has no x-amazon-apigateway-integration; not served")
                    continue
                function = self._function(api, where, integration)
                if function is not None:
                    auth = self._auth(api, where, operation.get("security", document.get("security")), names)
                    definition.routes.append((function, ApiEvent(
                        name=where, path=str(path), method=method, api=api, auth=auth, api_type=HTTP,
                        payload_version=self._version(api, where, integration),
                        timeout_ms=self._timeout(api, where, integration))))
        return definition

    def _function(self, api: str, where: str, integration: dict) -> str | None:
        kind = str(integration.get("type", "")).lower()
        if kind != "aws_proxy" or integration.get("integrationSubtype"):
            what = f"an AWS service ({integration['integrationSubtype']})" if integration.get("integrationSubtype") \
                else f"a {kind or 'typeless'}"
            self.b.warn(api, where, f"{what} integration is not run here (Lambda aws_proxy only); not served")
            return None
        function = lambda_target(integration.get("uri"), self.openapi.functions_by_arn)
        if function is None:
            self.b.warn(api, where, f"integration uri {integration.get('uri')!r} names no function of this "
                                    "template; not served")
        elif integration.get("requestParameters") or integration.get("responseParameters"):
            self.b.warn(api, where, "parameter mapping (requestParameters, responseParameters) is not applied here")
        return function

    def _version(self, api: str, where: str, integration: dict) -> str:
        version = integration.get("payloadFormatVersion")
        if version is None:  # AWS requires it of an HTTP API's Lambda integration; its API's default is 1.0
            self.b.warn(api, where, "has no payloadFormatVersion, which AWS requires for an HTTP API's Lambda "
                                    "integration; served as 1.0")
            return "1.0"
        if str(version) not in PAYLOAD_VERSIONS:
            raise TemplateError(self.b.path, f"{where}: payloadFormatVersion must be 1.0 or 2.0 (got {version!r})",
                                resource=api)
        return str(version)

    def _timeout(self, api: str, where: str, integration: dict) -> int:
        timeout = _whole(self.b.path, api, f"{where}: timeoutInMillis", integration.get("timeoutInMillis",
                                                                                       HTTP_TIMEOUT_MS))
        if timeout > HTTP_TIMEOUT_MS:
            self.b.warn(api, where, f"timeoutInMillis {timeout} is over an HTTP API's {HTTP_TIMEOUT_MS}; "
                                    f"served with {HTTP_TIMEOUT_MS}")
        return min(timeout, HTTP_TIMEOUT_MS)

    def _auth(self, api: str, where: str, security, names) -> dict | None:
        """An operation's `security` (else the document's): the authorizer it names, with its
        scopes; none at all leaves the route to the API's DefaultAuthorizer, as SAM does."""
        if security is None:
            return None
        if not isinstance(security, list) or not all(isinstance(r, dict) or r is None for r in security):
            raise TemplateError(self.b.path, f"{where}: security must be a list of requirements", resource=api)
        required = [(str(name), scopes) for requirement in security for name, scopes in (requirement or {}).items()]
        chosen = next(((name, scopes) for name, scopes in required if name in names), None)
        if chosen is None:
            if required:
                self.b.warn(api, where, f"security {', '.join(n for n, _ in required)} is not checked here (IAM "
                                        "authorization is not enforced)")
            return {"Authorizer": "NONE"}
        return {"Authorizer": chosen[0], "AuthorizationScopes": [str(s) for s in chosen[1] or []]}

    def _authorizer(self, api: str, prop: str, name: str, scheme) -> AuthorizerSpec | None:
        extension = scheme.get("x-amazon-apigateway-authorizer") if isinstance(scheme, dict) else None
        if not isinstance(extension, dict):
            return None  # IAM (awsSigv4) or a scheme API Gateway ignores: said at the routes that use it
        kind = str(extension.get("type", "")).lower()
        if kind == "jwt":
            jwt = _mapping(self.b.path, api, f"{prop}: {name}.jwtConfiguration", extension.get("jwtConfiguration"))
            return jwt_authorizer(self.b.path, api, name, jwt.get("issuer"), jwt.get("audience"),
                                  extension.get("identitySource"))
        if kind != "request":
            self.b.warn(api, f"{prop}: securitySchemes.{name}", f"a {kind or 'typeless'} authorizer is not run here; "
                                                                "the routes it protects answer 401")
            return AuthorizerSpec(name=name, payload_type="UNRUN")
        function = lambda_target(extension.get("authorizerUri"), self.openapi.functions_by_arn)
        if function is None:
            raise TemplateError(self.b.path, f"{prop}: authorizer {name}: authorizerUri names no function of this "
                                             "template", resource=api)
        return request_authorizer(self.b.path, api, name, function, extension.get("authorizerPayloadFormatVersion"),
                                  extension.get("enableSimpleResponses"), extension.get("identitySource"),
                                  extension.get("authorizerResultTtlInSeconds"))


def _mapping(template, api: str, where: str, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TemplateError(template, f"{where} is not a mapping", resource=api)
    return value


def _whole(template, api: str, where: str, value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TemplateError(template, f"{where} must be a whole number (got {value!r})", resource=api) from None
