"""Reads a template's REST APIs into ApiSpecs: each AWS::Serverless::Api with the Globals' Api
settings, and SAM's implicit ServerlessRestApi when an Api event names no RestApiId. An API's
OpenAPI definition adds routes (`routes`, for the functions) and authorizers."""

from infra.errors import TemplateError
from local.app.cfn_api_reader import CloudFormationApiReader
from local.app.cfn_shapes import LAMBDA_FUNCTION
from local.app.http_api_reader import HttpApiReader
from local.app.model import ApiEvent, ApiSpec, AuthorizerSpec, CorsSpec, GatewayResponseSpec, MethodSetting
from local.app.openapi_reader import OpenApiReader
from local.app.values import decode_resource_path, logical_id_of

API = "AWS::Serverless::Api"
FUNCTION = "AWS::Serverless::Function"
# SAM's implicit API, used by Api events that name no RestApiId.
IMPLICIT_API = "ServerlessRestApi"


class ApiReader:
    def __init__(self, builder):
        self.b = builder  # reader._Builder: the template, its resolver, and where warnings go
        self.routes: list[tuple[str, ApiEvent]] = []  # (function, event) from OpenAPI definitions
        functions_by_arn = {}
        for lid in builder.of_type(FUNCTION) + builder.of_type(LAMBDA_FUNCTION):
            functions_by_arn[builder.resolver.get_att(lid, "Arn")] = lid
            functions_by_arn.setdefault(builder.resolver.physical_name(lid), lid)
        self.openapi = OpenApiReader(builder, functions_by_arn)
        self.cloudformation = CloudFormationApiReader(builder, functions_by_arn, self.openapi)

    def read(self) -> dict[str, ApiSpec]:
        apis = {}
        for lid in self.b.of_type(API):
            props = {**self.b.api_globals, **self.b.props(lid)}
            apis[lid] = self._api(lid, props)
        uses_implicit = any(
            "RestApiId" not in (e.get("Properties") or {})
            for lid in self.b.of_type(FUNCTION) for e in (self.b.props(lid).get("Events") or {}).values()
            if e.get("Type") == "Api")
        if uses_implicit:
            apis[IMPLICIT_API] = self._api(IMPLICIT_API, {"StageName": "Prod", **self.b.api_globals})
        http = HttpApiReader(self.b, self.openapi)
        apis.update(http.read())
        self.routes += http.routes
        apis.update(self.cloudformation.read())
        self.routes += self.cloudformation.routes
        return apis

    def _api(self, lid: str, props: dict) -> ApiSpec:
        auth = props.get("Auth", {}) or {}  # unresolved: FunctionArn must still name the function
        definition = None
        if props.get("DefinitionBody") is not None or props.get("DefinitionUri") is not None:
            definition = self.openapi.read(lid, props.get("DefinitionBody"), props.get("DefinitionUri"))
        props = self.b.resolver.resolve({k: v for k, v in props.items() if k != "DefinitionBody"}, lid)
        spec = ApiSpec(
            logical_id=lid, name=str(props.get("Name", lid)), stage=str(props.get("StageName", "Prod")),
            method_settings=[MethodSetting(
                resource_path=decode_resource_path(setting.get("ResourcePath", "/*")),
                http_method=setting.get("HttpMethod", "*").upper(), rate=setting.get("ThrottlingRateLimit"),
                burst=setting.get("ThrottlingBurstLimit")) for setting in props.get("MethodSettings", []) or []],
            authorizers={name: self._authorizer(lid, name, spec)
                         for name, spec in (auth.get("Authorizers") or {}).items()},
            default_authorizer=self.b.resolver.resolve(auth.get("DefaultAuthorizer"), lid),
            variables={str(k): str(v) for k, v in (props.get("Variables") or {}).items()},
            cors=_cors(props.get("Cors")),
            binary_media_types=[t.replace("~1", "/") for t in props.get("BinaryMediaTypes", []) or []],
            gateway_responses={kind: GatewayResponseSpec(
                status=int(response["StatusCode"]) if response.get("StatusCode") is not None else None,
                headers={str(k): str(v) for k, v in ((response.get("ResponseParameters") or {}).get("Headers")
                                                     or {}).items()},
                templates={str(k): str(v) for k, v in (response.get("ResponseTemplates") or {}).items()})
                for kind, response in (props.get("GatewayResponses") or {}).items()})
        if definition is not None:
            self.routes += definition.routes
            spec.authorizers = {**definition.authorizers, **spec.authorizers}  # SAM's Auth adds to the body's
            spec.binary_media_types += [t.replace("~1", "/") for t in definition.binary_media_types]
        return spec

    def _authorizer(self, api: str, name: str, spec: dict) -> AuthorizerSpec:
        if "UserPoolArn" in spec:
            return self._cognito(api, name, self.b.resolver.resolve(spec, api))
        if "FunctionArn" not in spec:  # a kind SAM may add
            self.b.warn(api, f"Auth.Authorizers.{name}", "this kind of authorizer is not run here; "
                                                       "the routes it protects answer 401")
            return AuthorizerSpec(name=name, function="", payload_type="UNRUN")
        function = logical_id_of(spec.get("FunctionArn"))
        if function not in self.b.resources:
            raise TemplateError(self.b.path, f"authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn of "
                                           "a function in this template", resource=api)
        identity = spec.get("Identity", {}) or {}
        payload_type = str(spec.get("FunctionPayloadType", "TOKEN")).upper()
        return AuthorizerSpec(
            name=name, function=function, payload_type=payload_type,
            header=identity.get("Header", "Authorization") if payload_type == "TOKEN" else None,
            validation_expression=identity.get("ValidationExpression"),
            headers=identity.get("Headers", []) or [], query_strings=identity.get("QueryStrings", []) or [],
            ttl_s=int(identity.get("ReauthorizeEvery", 300)))


    def _cognito(self, api: str, name: str, spec: dict) -> AuthorizerSpec:
        """A Cognito user pool authorizer: the pool's tokens, checked as a JWT against the pool's
        issuer, https://cognito-idp.<region>.amazonaws.com/<pool id>."""
        pools = spec["UserPoolArn"] if isinstance(spec["UserPoolArn"], list) else [spec["UserPoolArn"]]
        if len(pools) > 1:
            self.b.warn(api, f"Auth.Authorizers.{name}.UserPoolArn", "only the first user pool's tokens are accepted")
        arn = str(pools[0])
        if not arn.startswith("arn:") or "userpool/" not in arn:
            raise TemplateError(self.b.path, f"authorizer {name}: UserPoolArn {arn!r} is not a user pool's ARN",
                                resource=api)
        region, pool_id = arn.split(":")[3], arn.split("userpool/", 1)[1]
        identity = spec.get("Identity", {}) or {}
        return AuthorizerSpec(name=name, payload_type="COGNITO", issuer=f"https://cognito-idp.{region}.amazonaws.com/"
                                                                      f"{pool_id}",
                              header=identity.get("Header", "Authorization"),
                              validation_expression=identity.get("ValidationExpression"),
                              scopes=[str(s) for s in spec.get("AuthorizationScopes") or []])


def _cors(cors) -> CorsSpec | None:
    """SAM's Cors: a quoted origin string, or a mapping of quoted values."""
    if not cors:
        return None
    unquote = lambda value: str(value).strip("'") if value is not None else None  # noqa: E731
    if isinstance(cors, str):
        return CorsSpec(allow_origin=unquote(cors))
    return CorsSpec(allow_origin=unquote(cors.get("AllowOrigin", "'*'")), allow_methods=unquote(cors.get("AllowMethods")),
                    allow_headers=unquote(cors.get("AllowHeaders")), max_age=unquote(cors.get("MaxAge")),
                    allow_credentials=bool(cors.get("AllowCredentials", False)))
