"""Routes and authorizers from an API's OpenAPI definition (swagger 2.0 or OpenAPI 3): SAM's
`DefinitionBody` (inline, or through `Fn::Transform: AWS::Include`), `DefinitionUri` (a
local file) and CloudFormation's `AWS::ApiGateway::RestApi` `Body`.

API Gateway serves what `x-amazon-apigateway-integration` says, so that is what is read:
`aws_proxy` integrations become routes to the function their `uri` names, and
`x-amazon-apigateway-authorizer` security schemes become authorizers. Any other integration
(mock, http, a non-proxy Lambda) is warned about and not served.
"""

import json
import re
from dataclasses import dataclass, field

import yaml
from cfn_tools import load_yaml

from infra.errors import TemplateError
from local.app.model import ApiEvent, AuthorizerSpec

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
ANY_METHOD = "x-amazon-apigateway-any-method"
# A Lambda ARN inside API Gateway's integration URI: .../2015-03-31/functions/<arn>/invocations
FUNCTION_IN_URI = re.compile(r"/functions/(?P<arn>arn:[^/]+)/invocations$")


@dataclass
class Definition:
    routes: list[tuple[str, ApiEvent]] = field(default_factory=list)  # (function logical id, event)
    authorizers: dict[str, AuthorizerSpec] = field(default_factory=dict)
    binary_media_types: list[str] = field(default_factory=list)


class OpenApiReader:
    def __init__(self, builder, functions_by_arn: dict[str, str]):
        self.b = builder  # reader._Builder: template, resolver, warnings
        self.functions_by_arn = functions_by_arn  # function ARN (or name) -> logical id

    def read(self, api: str, body, uri=None, prop: str = "DefinitionBody") -> Definition | None:
        """`prop` names the body's property in warnings (CloudFormation's RestApi calls it Body)."""
        prop = prop if body is not None else "DefinitionUri"
        document = self.document(api, body, uri, prop)
        if document is None:
            return None
        if not isinstance(document.get("paths"), dict):
            raise TemplateError(self.b.path, f"{prop} has no paths", resource=api)
        definition = Definition(binary_media_types=[str(t) for t in document.get(
            "x-amazon-apigateway-binary-media-types", []) or []])
        schemes = {**(document.get("securityDefinitions") or {}),
                   **((document.get("components") or {}).get("securitySchemes") or {})}
        for name, scheme in schemes.items():
            authorizer = self._authorizer(api, prop, name, scheme)
            if authorizer is not None:
                definition.authorizers[name] = authorizer
        default_security = document.get("security")
        for path, operations in document["paths"].items():
            if not isinstance(operations, dict):  # API Gateway's import refuses it too
                raise TemplateError(self.b.path, f"{prop}: paths.{path} is not a mapping of operations", resource=api)
            for key, operation in operations.items():
                method = "ANY" if key == ANY_METHOD else key.upper() if key in METHODS else None
                if method is None or not isinstance(operation, dict):
                    continue  # parameters, summary, servers: not operations
                route = self._route(api, prop, str(path), method, operation,
                                    operation.get("security", default_security), definition.authorizers)
                if route is not None:
                    definition.routes.append(route)
        return definition

    def document(self, api: str, body, uri, prop: str) -> dict | None:
        """The OpenAPI document of a body (inline or AWS::Include) or of a file `uri` names;
        None (and a warning) for one not on this machine. HTTP APIs' definitions read it too."""
        if body is not None:
            include = body.get("Fn::Transform") if isinstance(body, dict) and len(body) == 1 else None
            if isinstance(include, dict) and include.get("Name") == "AWS::Include":
                location = self.b.resolver.resolve((include.get("Parameters") or {}).get("Location"), api)
                loaded = self._load(api, f"{prop}: AWS::Include", location)
                # CloudFormation resolves intrinsics in an included file, as in the template itself.
                return None if loaded is None else self.b.resolver.resolve(loaded, api)
            return self.b.resolver.resolve(body, api)
        # DefinitionUri's file is uploaded as it is: API Gateway sees no intrinsics in it.
        return self._load(api, prop, self.b.resolver.resolve(uri, api))

    def _load(self, api: str, prop: str, location) -> dict | None:
        if not isinstance(location, str) or location.startswith("s3://"):
            self.b.warn(api, prop, f"{location!r} is not a local file; its routes are not served")
            return None
        path = (self.b.path.parent / location).resolve()
        try:
            document = json.loads(json.dumps(load_yaml(path.read_text(encoding="utf-8"))))
        except OSError as error:
            raise TemplateError(self.b.path, f"{prop} {location}: {error.strerror}", resource=api) from None
        except yaml.YAMLError as error:
            raise TemplateError(self.b.path, f"{prop} {location}: not YAML or JSON ({error})", resource=api) from None
        if not isinstance(document, dict):
            raise TemplateError(self.b.path, f"{prop} {location}: not an OpenAPI document", resource=api)
        return document

    def _route(self, api, prop, path, method, operation, security, authorizers) -> tuple[str, ApiEvent] | None:
        where = f"{prop}: {method} {path}"
        integration = operation.get("x-amazon-apigateway-integration")
        if not isinstance(integration, dict):
            self.b.warn(api, where, "has no x-amazon-apigateway-integration (API Gateway refuses it); not served")
            return None
        kind = str(integration.get("type", "")).lower()
        if kind != "aws_proxy":
            self.b.warn(api, where, f"a {kind or 'typeless'} integration is not run here (aws_proxy only); "
                                    "not served")
            return None
        function = self._function(integration.get("uri"))
        if function is None:
            self.b.warn(api, where, f"integration uri {integration.get('uri')!r} names no function of this "
                                    "template; not served")
            return None
        auth = None  # no security on the operation: the API's DefaultAuthorizer, as SAM adds it
        if security is not None:
            names = [name for requirement in security for name in (requirement or {})]
            chosen = next((name for name in names if name in authorizers), None)
            if names and chosen is None:
                self.b.warn(api, where, f"security {', '.join(names)} is not checked here (API keys and "
                                        "IAM are not enforced)")
            auth = {"Authorizer": chosen or "NONE"}
        timeout = integration.get("timeoutInMillis")
        return function, ApiEvent(name=f"{prop} {method} {path}", path=path, method=method, api=api, auth=auth,
                                  timeout_ms=int(timeout) if timeout is not None else 29_000)

    def _authorizer(self, api: str, prop: str, name: str, scheme: dict) -> AuthorizerSpec | None:
        extension = scheme.get("x-amazon-apigateway-authorizer") if isinstance(scheme, dict) else None
        if not isinstance(extension, dict):
            return None  # an API key or IAM scheme: said at the routes that use it
        kind = str(extension.get("type", "token")).lower()
        if kind not in ("token", "request"):
            self.b.warn(api, f"{prop}: securitySchemes.{name}", f"{kind} authorizer is not run here; "
                                                                "the routes it protects answer 401")
            return AuthorizerSpec(name=name, function="", payload_type="UNRUN")
        function = self._function(extension.get("authorizerUri"))
        if function is None:
            raise TemplateError(self.b.path, f"{prop}: authorizer {name}: authorizerUri names no function of this "
                                             "template", resource=api)
        header = scheme.get("name") if scheme.get("in") == "header" else None
        return lambda_authorizer(name, function, kind, extension.get("identitySource") or
                                 f"method.request.header.{header or 'Authorization'}",
                                 extension.get("identityValidationExpression"),
                                 extension.get("authorizerResultTtlInSeconds"))

    def _function(self, uri) -> str | None:
        return function_in_uri(uri, self.functions_by_arn)


def function_in_uri(uri, functions_by_arn: dict[str, str]) -> str | None:
    """The logical id of the function an API Gateway integration or authorizer URI names."""
    match = FUNCTION_IN_URI.search(uri) if isinstance(uri, str) else None
    if match is None:
        return None
    # arn:aws:lambda:<region>:<account>:function:<name>[:<alias or version>]
    parts = match["arn"].split(":")
    return functions_by_arn.get(":".join(parts[:7])) or (functions_by_arn.get(parts[6]) if len(parts) > 6 else None)


def lambda_target(uri, functions_by_arn: dict[str, str]) -> str | None:
    """As function_in_uri, and also a function's own ARN, which HTTP APIs accept as an
    integration's uri (REST APIs want the invocations URI)."""
    if isinstance(uri, str) and uri.startswith("arn:") and ":function:" in uri and "/" not in uri:
        uri = f"arn:aws:apigateway:local:lambda:path/2015-03-31/functions/{uri}/invocations"  # one parser for both
    return function_in_uri(uri, functions_by_arn)


def lambda_authorizer(name: str, function: str, kind: str, identity_source: str, validation_expression,
                      ttl) -> AuthorizerSpec:
    """A TOKEN or REQUEST authorizer from API Gateway's own fields (identitySource is
    `method.request.header.X, method.request.querystring.y, ...`)."""
    sources = [part.strip() for part in str(identity_source or "").split(",") if part.strip()]
    headers = [s.removeprefix("method.request.header.") for s in sources if s.startswith("method.request.header.")]
    queries = [s.removeprefix("method.request.querystring.") for s in sources
               if s.startswith("method.request.querystring.")]
    token = kind.upper() == "TOKEN"
    return AuthorizerSpec(
        name=name, function=function, payload_type=kind.upper(),
        header=(headers[0] if headers else "Authorization") if token else None,
        validation_expression=validation_expression,
        headers=[] if token else headers, query_strings=[] if token else queries,
        ttl_s=int(ttl) if ttl is not None else 300)
