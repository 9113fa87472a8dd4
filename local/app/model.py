"""The template as the emulator sees it, in typed objects: functions, layers, APIs, queues,
topics, subscriptions, parameters, with Globals merged and intrinsics resolved to the local
names, ARNs and URLs (reader.py makes them): what the runtime, the gateway and the event
sources run from. What triggers a function is in event_model.py."""

from pathlib import Path

from pydantic import BaseModel

from local.app.event_model import (
    AsyncConfig,
    RuleEvent,
    S3Event,
    ScheduleEvent,
    SnsEvent,
    SqsEvent,
    StreamEvent,
)


class LayerSpec(BaseModel):
    logical_id: str
    content_dir: Path
    build_method: str | None = None  # Metadata: BuildMethod
    prebuilt: bool = False  # read from a `sam build` output: the folder holds python/ already

    @property
    def built_by_sam(self) -> bool:
        return (self.build_method or "").startswith("python") and not self.prebuilt

    @property
    def python_dir(self) -> Path:
        # Lambda puts a layer's python/ folder on the import path (/opt/python). With a Python
        # BuildMethod, sam build makes that folder of ContentUri's contents and requirements.
        return self.content_dir if self.built_by_sam else self.content_dir / "python"

    @property
    def requirements(self) -> Path | None:
        return self.content_dir / "requirements.txt" if self.built_by_sam else None


REST, HTTP = "REST", "HTTP"  # API Gateway's two kinds of API
DEFAULT_ROUTE = "$default"  # an HTTP API's catch-all route: its path and its route key


class ApiEvent(BaseModel):
    name: str
    path: str  # a resource path, or $default (HTTP APIs)
    method: str  # upper case, or ANY
    api: str  # logical id of the API
    auth: dict | None = None  # SAM's event Auth: Authorizer, AuthorizationScopes
    timeout_ms: int = 29_000  # API Gateway's integration timeout (HTTP APIs: 30 s)
    api_type: str = REST
    payload_version: str = "1.0"  # HTTP APIs: PayloadFormatVersion, 2.0 unless the event says 1.0

    @property
    def route_key(self) -> str:
        """HTTP API's name for a route, as in its event's routeKey: `GET /items/{id}`, `$default`."""
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"

    @property
    def api_id(self) -> str:
        """The API's id in events and method ARNs: its logical id, lower case; a nested
        stack's `Child/Api` as `child-api`, since an ARN's `/` separates its parts."""
        return self.api.lower().replace("/", "-")


class HttpCorsSpec(BaseModel):
    """An HTTP API's CorsConfiguration, or a function URL's Cors: lists, as AWS keeps them."""
    allow_origins: list[str] = []
    allow_methods: list[str] = []
    allow_headers: list[str] = []
    expose_headers: list[str] = []
    max_age: int | None = None
    allow_credentials: bool = False


class FunctionUrlSpec(BaseModel):
    auth_type: str = "NONE"  # NONE or AWS_IAM (SigV4 checked)
    cors: HttpCorsSpec | None = None
    invoke_mode: str = "BUFFERED"


class FunctionSpec(BaseModel):
    logical_id: str
    function_name: str
    arn: str
    code_dir: Path
    handler: str
    runtime: str
    timeout: float
    memory_mb: int
    reserved_concurrency: int | None = None
    prebuilt: bool = False  # see LayerSpec.prebuilt
    layers: list[LayerSpec] = []
    environment: dict[str, str] = {}
    api_events: list[ApiEvent] = []
    sqs_events: list[SqsEvent] = []
    stream_events: list[StreamEvent] = []
    sns_events: list[SnsEvent] = []
    rule_events: list[RuleEvent] = []
    s3_events: list[S3Event] = []
    schedule_events: list[ScheduleEvent] = []
    other_events: dict[str, str] = {}  # name -> type, for what runs only on AWS
    async_config: AsyncConfig = AsyncConfig()  # EventInvokeConfig, DeadLetterConfig
    url: FunctionUrlSpec | None = None  # FunctionUrlConfig

    @property
    def layer_dirs(self) -> list[Path]:
        return [layer.python_dir for layer in self.layers]

    @property
    def requirements(self) -> Path | None:
        # sam build installs a Python function's requirements.txt beside its code (/var/task);
        # in a build output they are there already.
        return None if self.prebuilt else self.code_dir / "requirements.txt"


class MethodSetting(BaseModel):
    resource_path: str  # "/*" for the whole stage, else a resource path such as /items/{id}
    http_method: str  # "*" or a method
    rate: float | None = None
    burst: int | None = None


class AuthorizerSpec(BaseModel):
    name: str
    function: str = ""  # logical id of the authorizer function (Lambda authorizers)
    # TOKEN or REQUEST (Lambda), JWT (HTTP APIs), COGNITO (REST user pools); UNRUN for a kind
    # not run here (its routes answer 401)
    payload_type: str = "TOKEN"
    header: str | None = None  # TOKEN, COGNITO, JWT: where the token is
    validation_expression: str | None = None
    headers: list[str] = []  # REQUEST identity sources
    query_strings: list[str] = []
    ttl_s: int = 300
    payload_version: str = "1.0"  # HTTP API Lambda authorizers: AuthorizerPayloadFormatVersion
    simple_responses: bool = False  # HTTP API Lambda authorizers: EnableSimpleResponses
    issuer: str | None = None  # JWT, COGNITO
    audiences: list[str] = []  # JWT: JwtConfiguration.audience
    scopes: list[str] = []  # COGNITO: AuthorizationScopes every route it protects requires


class CorsSpec(BaseModel):
    allow_origin: str = "*"
    allow_methods: str | None = None
    allow_headers: str | None = None
    max_age: str | None = None
    allow_credentials: bool = False


class GatewayResponseSpec(BaseModel):
    """One of an API's GatewayResponses (local/gateway/answers.py applies them)."""
    status: int | None = None
    headers: dict[str, str] = {}  # name -> 'static value' or method.request.header.NAME
    templates: dict[str, str] = {}  # media type -> body


class ApiSpec(BaseModel):
    logical_id: str
    name: str
    stage: str
    kind: str = REST
    method_settings: list[MethodSetting] = []
    authorizers: dict[str, AuthorizerSpec] = {}
    default_authorizer: str | None = None
    cors: CorsSpec | None = None
    binary_media_types: list[str] = []
    gateway_responses: dict[str, GatewayResponseSpec] = {}  # by gateway response type
    variables: dict[str, str] = {}  # the stage's Variables: the proxy event's stageVariables
    http_cors: HttpCorsSpec | None = None  # HTTP APIs: CorsConfiguration

    @property
    def stage_throttle(self) -> MethodSetting | None:
        return next((m for m in self.method_settings if m.resource_path == "/*" and m.http_method == "*"), None)


class QueueSpec(BaseModel):
    logical_id: str
    name: str
    url: str
    arn: str
    visibility_timeout_s: int = 30
    dead_letter_arn: str | None = None
    max_receive_count: int | None = None


class TopicSpec(BaseModel):
    logical_id: str
    name: str
    arn: str


class SubscriptionSpec(BaseModel):
    logical_id: str
    topic_arn: str
    protocol: str
    endpoint: str
    raw_message_delivery: bool = False
    filter_policy: dict | None = None
    filter_policy_scope: str | None = None  # MessageAttributes (AWS's default) or MessageBody


class ParameterSpec(BaseModel):
    logical_id: str
    name: str
    type: str
    value: str


class AppModel(BaseModel):
    functions: dict[str, FunctionSpec]
    layers: dict[str, LayerSpec]
    apis: dict[str, ApiSpec]
    queues: dict[str, QueueSpec]
    topics: dict[str, TopicSpec]
    subscriptions: dict[str, SubscriptionSpec]
    parameters: dict[str, ParameterSpec]
    warnings: list[str] = []  # "<resource>: <property>: <what>", one line each: in the template, not run here

    def function(self, name: str) -> FunctionSpec | None:
        """A function by logical id, FunctionName or ARN, as Lambda's API accepts them."""
        if name in self.functions:  # the gateway and event sources use the logical id
            return self.functions[name]
        for spec in self.functions.values():
            if name in (spec.logical_id, spec.function_name, spec.arn):
                return spec
        return None
