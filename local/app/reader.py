"""Reads a SAM or plain CloudFormation template into the model (model.py): Globals merged, intrinsics resolved, each
event typed."""

from pathlib import Path

from infra.errors import TemplateError
from infra.intrinsics import Resolver
from infra.nested import load_children
from infra.template import code_uri, resources_of_type
from local.app.api_reader import IMPLICIT_API, ApiReader
from local.app.cfn_shapes import LAMBDA_FUNCTION, LAMBDA_LAYER, function_props, layer_props
from local.app.code_source import inline_folder, zip_folder
from local.app.declaration import read_declaration
from local.app.event_model import AsyncConfig
from local.app.event_reader import EventReader
from local.app.http_api_reader import function_url, http_api_event
from local.app.model import (
    ApiEvent,
    AppModel,
    FunctionSpec,
    LayerSpec,
    ParameterSpec,
    QueueSpec,
    SubscriptionSpec,
    TopicSpec,
)
from local.app.nested_model import with_nested
from local.app.values import environment_value, int_or_none, logical_id_of
from local.settings import DEFAULT_BUILD_DIR

FUNCTION = "AWS::Serverless::Function"
LAYER = "AWS::Serverless::LayerVersion"
QUEUE = "AWS::SQS::Queue"
TOPIC = "AWS::SNS::Topic"
SUBSCRIPTION = "AWS::SNS::Subscription"
PARAMETER = "AWS::SSM::Parameter"


def build_model(template_path: Path, template: dict, resolver: Resolver,
                service_environment: dict[str, str] | None = None,
                env_overrides: dict[str, dict[str, str]] | None = None, code_cache: Path | None = None) -> AppModel:
    """`env_overrides` is SAM's --env-vars file: {"<Function>": {...}, "Parameters": {...}};
    as in SAM, only variables the template declares for a function are overridden.
    `code_cache` is where zipped and inline code is unpacked (default: the build folder's)."""
    del template  # the resolver's copy: what Conditions leave of it
    warnings: list[str] = []
    if resolver.children is None:  # the nested stacks first: the parent may read their Outputs
        load_children(resolver, lambda resource, prop, what: warnings.append(f"{resource}: {prop}: {what}"))
    builder = _Builder(Path(template_path), resolver.template, resolver, code_cache or DEFAULT_BUILD_DIR / "code")
    layers = {lid: LayerSpec(logical_id=lid, content_dir=folder, build_method=builder.build_method(lid),
                             prebuilt=builder.prebuilt)
              for lid in builder.of_type(LAYER) + builder.of_type(LAMBDA_LAYER)
              if (folder := builder.code_dir(lid)) is not None}
    functions = {}
    for lid in builder.of_type(FUNCTION) + builder.of_type(LAMBDA_FUNCTION):
        spec = builder.function(lid, layers, service_environment or {}, env_overrides or {})
        if spec is not None:
            functions[lid] = spec
    EventReader(builder, functions).read()
    api_reader = ApiReader(builder)
    apis = api_reader.read()
    for function, event in api_reader.routes:
        if function in functions:  # else it is not run here, and warned about already
            functions[function].api_events.append(event)
    children = {name: build_model(Path(child.path), child.template, child, service_environment,
                                  _overrides_of(env_overrides or {}, name), code_cache)
                for name, child in (resolver.children or {}).items()}
    model = AppModel(
        functions=functions,
        layers=layers,
        apis=apis,
        queues={lid: builder.queue(lid) for lid in builder.of_type(QUEUE)},
        topics={lid: TopicSpec(logical_id=lid, name=resolver.physical_name(lid), arn=resolver.ref(lid))
                for lid in builder.of_type(TOPIC)},
        subscriptions={lid: builder.subscription(lid) for lid in builder.of_type(SUBSCRIPTION)},
        parameters={lid: builder.parameter(lid) for lid in builder.of_type(PARAMETER)},
        warnings=warnings + builder.warnings,
    )
    return with_nested(model, children) if children else model


def _overrides_of(overrides: dict[str, dict[str, str]], child: str) -> dict[str, dict[str, str]]:
    """A nested stack's share of SAM's env.json: its functions as `Child/Function`, and Parameters."""
    return {"Parameters": overrides.get("Parameters", {}),
            **{key.removeprefix(f"{child}/"): value for key, value in overrides.items() if key.startswith(f"{child}/")}}


class _Builder:
    def __init__(self, path: Path, template: dict, resolver: Resolver, code_cache: Path):
        self.path, self.template, self.resolver, self.code_cache = path, template, resolver, code_cache
        self.warnings: list[str] = []  # one line each: what is in the template and not run here
        self.resources = template["Resources"]
        self.sam_function_globals = (template.get("Globals") or {}).get("Function", {})
        self.api_globals = (template.get("Globals") or {}).get("Api", {})
        self.layer_folders = read_declaration(path, template).layers
        # `sam build` writes its output template with SamResourceId in every built resource's
        # Metadata; its folders then hold what Lambda mounts, dependencies installed.
        built = [self.resources[lid] for lid in self.of_type(FUNCTION) + self.of_type(LAYER) +
                 self.of_type(LAMBDA_FUNCTION) + self.of_type(LAMBDA_LAYER)]
        self.prebuilt = bool(built) and all("SamResourceId" in (r.get("Metadata") or {}) for r in built)

    def of_type(self, kind: str) -> list[str]:
        return resources_of_type(self.template, kind)

    def props(self, logical_id: str) -> dict:
        """A resource's Properties; CloudFormation's Lambda resources in SAM's shapes."""
        props = self.resources[logical_id].get("Properties", {}) or {}
        kind = self.resources[logical_id]["Type"]
        if kind == LAMBDA_FUNCTION:
            return function_props(props)
        return layer_props(props) if kind == LAMBDA_LAYER else props

    def function_globals(self, logical_id: str) -> dict:
        # SAM's Globals apply to SAM's functions only.
        return self.sam_function_globals if self.resources[logical_id]["Type"] == FUNCTION else {}

    def build_method(self, logical_id: str) -> str | None:
        method = (self.resources[logical_id].get("Metadata") or {}).get("BuildMethod")
        return method if isinstance(method, str) else None

    def mapped_layer(self, arn: str) -> LayerSpec | None:
        """A layer by ARN that the app maps to a local folder (Metadata: Local: Layers)."""
        folder = self.layer_folders.get(arn) or self.layer_folders.get(arn.rsplit(":", 1)[0])
        if folder is None:
            return None
        # A folder laid out as the layer's zip (python/...) is mounted as it is; one with a
        # requirements.txt instead is built, as sam build builds a layer with a BuildMethod.
        build_method = None if (folder / "python").is_dir() else "python3.11"
        return LayerSpec(logical_id=arn.split(":layer:", 1)[-1], content_dir=folder, build_method=build_method)

    def warn(self, resource: str, prop: str, what: str) -> None:
        self.warnings.append(f"{resource}: {prop}: {what}")

    def code_dir(self, lid: str) -> Path | None:
        """The folder of a function's or layer's code; None (and a warning) for code in S3."""
        props = self.props(lid)
        if "InlineCode" in props:
            return inline_folder(str(self.resolver.resolve(props["InlineCode"], lid)), self.code_cache)
        kind = self.resources[lid]["Type"]
        raw = code_uri(self.template, lid) if kind in (FUNCTION, LAYER) else props.get("CodeUri", props.get("ContentUri"))
        uri = self.resolver.resolve(raw, lid)
        prop = {LAYER: "ContentUri", LAMBDA_FUNCTION: "Code", LAMBDA_LAYER: "Content"}.get(kind, "CodeUri")
        if uri is None:
            raise TemplateError(self.path, "has neither CodeUri nor InlineCode", resource=lid)
        if isinstance(uri, dict) or str(uri).startswith("s3://"):
            self.warn(lid, prop, "code in S3 is not fetched; not run (point it at a local folder or .zip)")
            return None
        location = (self.path.parent / str(uri)).resolve()
        if location.is_file():
            return zip_folder(location, self.code_cache, self.path, lid)
        if not location.is_dir():
            raise TemplateError(self.path, f"{prop} {uri} does not exist", resource=lid)
        return location

    def function(self, lid: str, layers: dict[str, LayerSpec], services: dict[str, str],
                 overrides: dict[str, dict[str, str]]) -> FunctionSpec | None:
        own = self.props(lid)
        function_globals = self.function_globals(lid)
        merged = {**function_globals, **own}
        value = lambda name, default=None: self.resolver.resolve(merged.get(name, default), lid)  # noqa: E731
        handler = value("Handler")
        runtime = str(value("Runtime", "python3.11"))
        if (merged.get("PackageType") or "Zip") != "Zip":
            self.warn(lid, "PackageType", f"{merged['PackageType']} functions are not run (Zip only)")
            return None
        if not runtime.startswith("python"):
            self.warn(lid, "Runtime", f"{runtime} is not run here (Python runtimes only)")
            return None
        if not isinstance(handler, str) or "." not in handler:
            raise TemplateError(self.path, f"Handler {handler!r} is not module.function", resource=lid)
        code_dir = self.code_dir(lid)
        if code_dir is None:
            return None
        declared = {**function_globals.get("Environment", {}).get("Variables", {}),
                    **own.get("Environment", {}).get("Variables", {})}
        environment = {key: environment_value(value) for key, value in self.resolver.resolve(declared, lid).items()}
        for source in (overrides.get("Parameters", {}), overrides.get(lid, {})):
            environment.update({k: environment_value(v) for k, v in source.items() if k in declared})
        environment.update({k: v for k, v in services.items() if v is not None})
        # SAM puts the Globals layers before the function's own.
        function_layers = []
        for ref in function_globals.get("Layers", []) + own.get("Layers", []):
            logical = logical_id_of(ref)
            if logical in layers:
                function_layers.append(layers[logical])
            elif (mapped := self.mapped_layer(str(self.resolver.resolve(ref, lid)))) is not None:
                function_layers.append(mapped)
            else:
                self.warn(lid, "Layers", f"{self.resolver.resolve(ref, lid)} is not a layer of this template; "
                                         "its code is not on the path (map it to a folder in Metadata: Local: "
                                         "Layers, see README)")
        name = self.resolver.physical_name(lid)
        spec = FunctionSpec(
            logical_id=lid, function_name=name, arn=self.resolver.arn("lambda", f"function:{name}"),
            code_dir=code_dir, handler=handler, runtime=runtime, timeout=float(value("Timeout", 3)),
            memory_mb=int(value("MemorySize", 128)),
            reserved_concurrency=int_or_none(value("ReservedConcurrentExecutions")), prebuilt=self.prebuilt,
            layers=function_layers, environment=environment, url=function_url(value("FunctionUrlConfig")),
        )
        dead_letters = (merged.get("DeadLetterQueue") or merged.get("DeadLetterConfig") or {}).get("TargetArn")
        if dead_letters is not None:
            spec.async_config = AsyncConfig(dead_letter_arn=self.resolver.resolve(dead_letters, lid))
        if spec.url is not None and spec.url.auth_type not in ("NONE", "AWS_IAM"):  # Lambda refuses it
            raise TemplateError(self.path, f"FunctionUrlConfig.AuthType {spec.url.auth_type!r} is not NONE or "
                                           "AWS_IAM", resource=lid)
        for event_name, event in (own.get("Events") or {}).items():
            self._add_event(spec, event_name, event)
        return spec

    def _add_event(self, spec: FunctionSpec, name: str, event: dict) -> None:
        kind, raw = event.get("Type"), event.get("Properties", {}) or {}
        props = self.resolver.resolve({k: v for k, v in raw.items() if k not in ("RestApiId", "ApiId", "Queue")},
                                      spec.logical_id)
        if kind == "HttpApi":
            spec.api_events.append(http_api_event(name, raw, props))
        elif kind == "Api":
            api = raw.get("RestApiId", {"Ref": IMPLICIT_API})
            spec.api_events.append(ApiEvent(
                name=name, path=str(props["Path"]), method=str(props["Method"]).upper(),
                api=logical_id_of(api) or str(api), auth=props.get("Auth"),
                timeout_ms=int(props.get("TimeoutInMillis", 29_000))))
        elif kind == "S3":  # left in Events by infra/sam_events.py: SAM refuses it too
            spec.other_events[name] = str(kind)
            self.warn(spec.logical_id, f"Events.{name}.Bucket", "not an S3 bucket of this template (SAM requires "
                                                                "one); not run")
        else:
            spec.other_events[name] = str(kind)
            self.warn(spec.logical_id, f"Events.{name}", f"Type {kind} is not run here (it runs on AWS)")

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
