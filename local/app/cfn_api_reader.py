"""REST APIs written in plain CloudFormation: an AWS::ApiGateway::RestApi with its Resource
tree, Methods, Authorizers and Stage (or a Deployment's StageName), or with an OpenAPI
`Body`. The same ApiSpecs and routes as SAM's, so the gateway cannot tell them apart."""

from infra.errors import TemplateError
from local.app.model import ApiEvent, ApiSpec, AuthorizerSpec, MethodSetting
from local.app.openapi_reader import OpenApiReader, function_in_uri, lambda_authorizer
from local.app.values import decode_resource_path, logical_id_of

REST_API = "AWS::ApiGateway::RestApi"
RESOURCE = "AWS::ApiGateway::Resource"
METHOD = "AWS::ApiGateway::Method"
AUTHORIZER = "AWS::ApiGateway::Authorizer"
STAGE = "AWS::ApiGateway::Stage"
DEPLOYMENT = "AWS::ApiGateway::Deployment"


class CloudFormationApiReader:
    def __init__(self, builder, functions_by_arn: dict[str, str], openapi: OpenApiReader):
        self.b = builder
        self.functions_by_arn = functions_by_arn
        self.openapi = openapi
        self.routes: list[tuple[str, ApiEvent]] = []

    def read(self) -> dict[str, ApiSpec]:
        apis = {}
        for lid in self.b.of_type(REST_API):
            props = self.b.props(lid)
            resolved = self.b.resolver.resolve({k: v for k, v in props.items() if k != "Body"}, lid)
            stage = self._stage(lid)
            spec = ApiSpec(logical_id=lid, name=str(resolved.get("Name", lid)), stage=stage.get("StageName", "Prod"),
                           variables={str(k): str(v) for k, v in (stage.get("Variables") or {}).items()},
                           method_settings=[_method_setting(s) for s in stage.get("MethodSettings") or []],
                           binary_media_types=[t.replace("~1", "/") for t in resolved.get("BinaryMediaTypes") or []])
            if props.get("Body") is not None:
                definition = self.openapi.read(lid, props["Body"], prop="Body")
                if definition is not None:
                    self.routes += definition.routes
                    spec.authorizers.update(definition.authorizers)
                    spec.binary_media_types += [t.replace("~1", "/") for t in definition.binary_media_types]
            elif "BodyS3Location" in props:
                self.b.warn(lid, "BodyS3Location", "a definition in S3 is not fetched; its routes are not served")
            apis[lid] = spec
        for lid in self.b.of_type(AUTHORIZER):
            api = logical_id_of(self.b.props(lid).get("RestApiId"))
            if api in apis:
                apis[api].authorizers[lid] = self._authorizer(lid)
        for lid in self.b.of_type(METHOD):
            self._method(lid, apis)
        return apis

    def _stage(self, api: str) -> dict:
        """The API's stage: an AWS::ApiGateway::Stage of it, else its Deployment's StageName."""
        for kind in (STAGE, DEPLOYMENT):
            for lid in self.b.of_type(kind):
                props = self.b.props(lid)
                if logical_id_of(props.get("RestApiId")) == api and props.get("StageName") is not None:
                    return self.b.resolver.resolve(props, lid)
        return {}

    def _path(self, api: str, resource_id, seen=()) -> str:
        reference = logical_id_of(resource_id)
        if isinstance(resource_id, dict) and "Fn::GetAtt" in resource_id and reference == api:
            return ""  # !GetAtt Api.RootResourceId
        if reference is None or self.b.resources.get(reference, {}).get("Type") != RESOURCE or reference in seen:
            raise TemplateError(self.b.path, f"ParentId/ResourceId {resource_id!r} is neither {api}'s root nor one "
                                             "of its AWS::ApiGateway::Resource", resource=reference or api)
        props = self.b.props(reference)
        part = str(self.b.resolver.resolve(props.get("PathPart"), reference))
        return f"{self._path(api, props.get('ParentId'), (*seen, reference))}/{part}"

    def _method(self, lid: str, apis: dict[str, ApiSpec]) -> None:
        props = self.b.props(lid)
        api = logical_id_of(props.get("RestApiId"))
        if api not in apis:
            self.b.warn(lid, "RestApiId", "not a REST API of this template; not served")
            return
        method = str(self.b.resolver.resolve(props.get("HttpMethod"), lid)).upper()
        path = self._path(api, props.get("ResourceId")) or "/"
        integration = self.b.resolver.resolve(props.get("Integration") or {}, lid)
        kind = str(integration.get("Type", "")).upper()
        if kind != "AWS_PROXY":
            self.b.warn(lid, "Integration", f"{method} {path}: a {kind or 'missing'} integration is not run here "
                                            "(AWS_PROXY only); not served")
            return
        function = function_in_uri(integration.get("Uri"), self.functions_by_arn)
        if function is None:
            self.b.warn(lid, "Integration.Uri", f"{method} {path}: names no function of this template; not served")
            return
        authorization = str(self.b.resolver.resolve(props.get("AuthorizationType", "NONE"), lid)).upper()
        authorizer = logical_id_of(props.get("AuthorizerId"))
        if authorization == "AWS_IAM":
            self.b.warn(lid, "AuthorizationType", f"{method} {path}: AWS_IAM is not enforced here")
        auth = {"Authorizer": authorizer if authorization in ("CUSTOM", "COGNITO_USER_POOLS") and authorizer
                else "NONE"}
        timeout = integration.get("TimeoutInMillis")
        self.routes.append((function, ApiEvent(name=lid, path=path, method=method, api=api, auth=auth,
                                               timeout_ms=int(timeout) if timeout is not None else 29_000)))

    def _authorizer(self, lid: str) -> AuthorizerSpec:
        props = self.b.resolver.resolve(self.b.props(lid), lid)
        kind = str(props.get("Type", "TOKEN")).upper()
        if kind not in ("TOKEN", "REQUEST"):
            self.b.warn(lid, "Type", f"{kind} authorizer is not run here; the routes it protects answer 401")
            return AuthorizerSpec(name=lid, function="", payload_type="UNRUN")
        function = function_in_uri(props.get("AuthorizerUri"), self.functions_by_arn)
        if function is None:
            raise TemplateError(self.b.path, "AuthorizerUri names no function of this template", resource=lid)
        return lambda_authorizer(lid, function, kind, props.get("IdentitySource"),
                                 props.get("IdentityValidationExpression"), props.get("AuthorizerResultTtlInSeconds"))


def _method_setting(setting: dict) -> MethodSetting:
    return MethodSetting(resource_path=decode_resource_path(str(setting.get("ResourcePath", "/*"))),
                         http_method=str(setting.get("HttpMethod", "*")).upper(),
                         rate=setting.get("ThrottlingRateLimit"), burst=setting.get("ThrottlingBurstLimit"))
