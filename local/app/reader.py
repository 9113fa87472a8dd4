"""Reads a SAM template into the model (model.py): Globals merged, intrinsics resolved, each
event typed."""

from pathlib import Path

from infra.errors import TemplateError
from infra.intrinsics import Resolver
from infra.template import code_folder, resources_of_type
from local.app.model import (
    ApiEvent,
    ApiSpec,
    AppModel,
    AuthorizerSpec,
    CorsSpec,
    FunctionSpec,
    GatewayResponseSpec,
    LayerSpec,
    MethodSetting,
    ParameterSpec,
    QueueSpec,
    ScheduleEvent,
    SqsEvent,
    SubscriptionSpec,
    TopicSpec,
)

FUNCTION = "AWS::Serverless::Function"
LAYER = "AWS::Serverless::LayerVersion"
API = "AWS::Serverless::Api"
QUEUE = "AWS::SQS::Queue"
TOPIC = "AWS::SNS::Topic"
SUBSCRIPTION = "AWS::SNS::Subscription"
PARAMETER = "AWS::SSM::Parameter"
# SAM's implicit API, used by Api events that name no RestApiId.
IMPLICIT_API = "ServerlessRestApi"


def build_model(template_path: Path, template: dict, resolver: Resolver,
                service_environment: dict[str, str] | None = None,
                env_overrides: dict[str, dict[str, str]] | None = None) -> AppModel:
    """`env_overrides` is SAM's --env-vars file: {"<Function>": {...}, "Parameters": {...}};
    as in SAM, only variables the template declares for a function are overridden."""
    builder = _Builder(Path(template_path), template, resolver)
    layers = {lid: LayerSpec(logical_id=lid, content_dir=code_folder(template_path, template, lid),
                             build_method=builder.build_method(lid), prebuilt=builder.prebuilt)
              for lid in builder.of_type(LAYER)}
    return AppModel(
        functions={lid: builder.function(lid, layers, service_environment or {}, env_overrides or {})
                   for lid in builder.of_type(FUNCTION)},
        layers=layers,
        apis=builder.apis(),
        queues={lid: builder.queue(lid) for lid in builder.of_type(QUEUE)},
        topics={lid: TopicSpec(logical_id=lid, name=resolver.physical_name(lid), arn=resolver.ref(lid))
                for lid in builder.of_type(TOPIC)},
        subscriptions={lid: builder.subscription(lid) for lid in builder.of_type(SUBSCRIPTION)},
        parameters={lid: builder.parameter(lid) for lid in builder.of_type(PARAMETER)},
    )


class _Builder:
    def __init__(self, path: Path, template: dict, resolver: Resolver):
        self.path, self.template, self.resolver = path, template, resolver
        self.resources = template["Resources"]
        self.function_globals = (template.get("Globals") or {}).get("Function", {})
        self.api_globals = (template.get("Globals") or {}).get("Api", {})
        # `sam build` writes its output template with SamResourceId in every built resource's
        # Metadata; its folders then hold what Lambda mounts, dependencies installed.
        built = [self.resources[lid] for lid in self.of_type(FUNCTION) + self.of_type(LAYER)]
        self.prebuilt = bool(built) and all("SamResourceId" in (r.get("Metadata") or {}) for r in built)

    def of_type(self, kind: str) -> list[str]:
        return resources_of_type(self.template, kind)

    def props(self, logical_id: str) -> dict:
        return self.resources[logical_id].get("Properties", {}) or {}

    def build_method(self, logical_id: str) -> str | None:
        method = (self.resources[logical_id].get("Metadata") or {}).get("BuildMethod")
        return method if isinstance(method, str) else None

    def function(self, lid: str, layers: dict[str, LayerSpec], services: dict[str, str],
                 overrides: dict[str, dict[str, str]]) -> FunctionSpec:
        own = self.props(lid)
        merged = {**self.function_globals, **own}
        handler = merged.get("Handler")
        if not isinstance(handler, str) or "." not in handler:
            raise TemplateError(self.path, f"Handler {handler!r} is not module.function", resource=lid)
        declared = {**self.function_globals.get("Environment", {}).get("Variables", {}),
                    **own.get("Environment", {}).get("Variables", {})}
        environment = {key: _environment_value(value) for key, value in self.resolver.resolve(declared, lid).items()}
        for source in (overrides.get("Parameters", {}), overrides.get(lid, {})):
            environment.update({k: _environment_value(v) for k, v in source.items() if k in declared})
        environment.update({k: v for k, v in services.items() if v is not None})
        # SAM puts the Globals layers before the function's own.
        layer_refs = self.function_globals.get("Layers", []) + own.get("Layers", [])
        name = self.resolver.physical_name(lid)
        spec = FunctionSpec(
            logical_id=lid, function_name=name, arn=self.resolver.arn("lambda", f"function:{name}"),
            code_dir=code_folder(self.path, self.template, lid), handler=handler,
            runtime=merged.get("Runtime", "python3.11"), timeout=float(merged.get("Timeout", 3)),
            memory_mb=int(merged.get("MemorySize", 128)),
            reserved_concurrency=merged.get("ReservedConcurrentExecutions"), prebuilt=self.prebuilt,
            layers=[layers[ref["Ref"]] for ref in layer_refs if isinstance(ref, dict) and ref.get("Ref") in layers],
            environment=environment,
        )
        for event_name, event in (own.get("Events") or {}).items():
            self._add_event(spec, event_name, event)
        return spec

    def _add_event(self, spec: FunctionSpec, name: str, event: dict) -> None:
        kind, props = event.get("Type"), event.get("Properties", {}) or {}
        if kind == "Api":
            api = props.get("RestApiId", {"Ref": IMPLICIT_API})
            spec.api_events.append(ApiEvent(
                name=name, path=props["Path"], method=props["Method"].upper(),
                api=api["Ref"] if isinstance(api, dict) else api, auth=props.get("Auth"),
                timeout_ms=int(props.get("TimeoutInMillis", 29_000))))
        elif kind == "SQS":
            queue = _logical_id_of(props.get("Queue"))
            if queue not in self.resources:
                raise TemplateError(self.path, f"event {name}: Queue must refer to a queue of this template",
                                    resource=spec.logical_id)
            spec.sqs_events.append(SqsEvent(
                name=name, queue=queue, queue_arn=self.resolver.get_att(queue, "Arn"),
                queue_url=self.resolver.ref(queue), batch_size=int(props.get("BatchSize", 10)),
                max_batching_window_s=int(props.get("MaximumBatchingWindowInSeconds", 0)),
                report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                enabled=bool(props.get("Enabled", True))))
        elif kind == "Schedule":
            spec.schedule_events.append(ScheduleEvent(
                name=name, schedule=self.resolver.resolve(props["Schedule"]),
                enabled=bool(props.get("Enabled", True)), input=props.get("Input")))
        else:
            spec.other_events[name] = str(kind)

    def apis(self) -> dict[str, ApiSpec]:
        apis = {}
        for lid in self.of_type(API):
            props = {**self.api_globals, **self.props(lid)}
            apis[lid] = self._api(lid, props)
        uses_implicit = any(
            "RestApiId" not in (e.get("Properties") or {})
            for lid in self.of_type(FUNCTION) for e in (self.props(lid).get("Events") or {}).values()
            if e.get("Type") == "Api")
        if uses_implicit:
            apis[IMPLICIT_API] = self._api(IMPLICIT_API, {"StageName": "Prod", **self.api_globals})
        return apis

    def _api(self, lid: str, props: dict) -> ApiSpec:
        auth = props.get("Auth", {}) or {}  # unresolved: FunctionArn must still name the function
        props = self.resolver.resolve(props, lid)
        return ApiSpec(
            logical_id=lid, name=str(props.get("Name", lid)), stage=str(props.get("StageName", "Prod")),
            method_settings=[MethodSetting(
                resource_path=_decode_resource_path(setting.get("ResourcePath", "/*")),
                http_method=setting.get("HttpMethod", "*").upper(), rate=setting.get("ThrottlingRateLimit"),
                burst=setting.get("ThrottlingBurstLimit")) for setting in props.get("MethodSettings", []) or []],
            authorizers={name: self._authorizer(lid, name, spec)
                         for name, spec in (auth.get("Authorizers") or {}).items()},
            default_authorizer=auth.get("DefaultAuthorizer"),
            cors=_cors(props.get("Cors")),
            binary_media_types=[t.replace("~1", "/") for t in props.get("BinaryMediaTypes", []) or []],
            gateway_responses={kind: GatewayResponseSpec(
                status=int(response["StatusCode"]) if response.get("StatusCode") is not None else None,
                headers={str(k): str(v) for k, v in ((response.get("ResponseParameters") or {}).get("Headers")
                                                     or {}).items()},
                templates={str(k): str(v) for k, v in (response.get("ResponseTemplates") or {}).items()})
                for kind, response in (props.get("GatewayResponses") or {}).items()})

    def _authorizer(self, api: str, name: str, spec: dict) -> AuthorizerSpec:
        function = _logical_id_of(spec.get("FunctionArn"))
        if function not in self.resources:
            raise TemplateError(self.path, f"authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn of "
                                           "a function in this template", resource=api)
        identity = spec.get("Identity", {}) or {}
        payload_type = str(spec.get("FunctionPayloadType", "TOKEN")).upper()
        return AuthorizerSpec(
            name=name, function=function, payload_type=payload_type,
            header=identity.get("Header", "Authorization") if payload_type == "TOKEN" else None,
            validation_expression=identity.get("ValidationExpression"),
            headers=identity.get("Headers", []) or [], query_strings=identity.get("QueryStrings", []) or [],
            ttl_s=int(identity.get("ReauthorizeEvery", 300)))

    def queue(self, lid: str) -> QueueSpec:
        props = self.resolver.resolve(self.props(lid), lid)
        redrive = props.get("RedrivePolicy") or {}
        return QueueSpec(
            logical_id=lid, name=self.resolver.physical_name(lid), url=self.resolver.ref(lid),
            arn=self.resolver.get_att(lid, "Arn"), visibility_timeout_s=int(props.get("VisibilityTimeout", 30)),
            dead_letter_arn=redrive.get("deadLetterTargetArn"),
            max_receive_count=int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None)

    def subscription(self, lid: str) -> SubscriptionSpec:
        props = self.resolver.resolve(self.props(lid), lid)
        return SubscriptionSpec(
            logical_id=lid, topic_arn=props["TopicArn"], protocol=props["Protocol"], endpoint=props["Endpoint"],
            raw_message_delivery=str(props.get("RawMessageDelivery", False)).lower() == "true",
            filter_policy=props.get("FilterPolicy"), filter_policy_scope=props.get("FilterPolicyScope"))

    def parameter(self, lid: str) -> ParameterSpec:
        props = self.resolver.resolve(self.props(lid), lid)
        return ParameterSpec(logical_id=lid, name=props["Name"], type=props["Type"], value=str(props["Value"]))


def _decode_resource_path(path: str) -> str:
    """CloudFormation writes /items/{id} as /~1items~1{id}: a leading slash, then the
    path with each of its slashes as ~1."""
    if path == "/*" or "~1" not in path:
        return path
    return path[1:].replace("~1", "/")


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


def _logical_id_of(reference) -> str | None:
    if isinstance(reference, dict):
        if "Ref" in reference:
            return reference["Ref"]
        if "Fn::GetAtt" in reference:
            target = reference["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else target.split(".")[0]
    return None


def _environment_value(value) -> str:
    """A template value as Lambda gives it to a function: text, with booleans as CloudFormation writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
