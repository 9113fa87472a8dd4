"""Resolve the CloudFormation intrinsics that matter on one machine.

Ref and Fn::GetAtt of the resources we run (queues, topics, buckets, parameters, functions,
layers) give the local names, ARNs and URLs those resources have on the AWS endpoint in use;
Parameters take their overrides or defaults; Conditions are evaluated, and a resource whose
Condition is false is left out (`Resolver.template`); Fn::Sub, Fn::Join, Fn::If,
Fn::FindInMap, Fn::Select, Fn::Split, Fn::Base64 and Fn::GetAZs are evaluated.
"""

import base64
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .errors import TemplateError

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")

# The account moto answers as (and LocalStack too) unless told otherwise.
DEFAULT_ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class Deployment:
    """Where the stack lives: what AWS's pseudo parameters evaluate to."""

    region: str = "us-east-1"
    account_id: str = DEFAULT_ACCOUNT_ID
    stack_name: str = "local"  # SAM CLI's AWS::StackName for local runs
    # The AWS endpoint in use (moto or LocalStack); None means real AWS.
    endpoint_url: str | None = None
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    nested: bool = False  # a nested stack's (infra/nested.py): its functions' names carry its stack name


# Property that holds the physical name of each resource type we create locally.
_NAME_PROPERTIES = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SSM::Parameter": "Name",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::Serverless::Api": "Name",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Kinesis::Stream": "Name",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Scheduler::Schedule": "Name",
}
# The label in a DynamoDB stream's ARN is the moment the stream was made, which no template
# can know; locally its ARN carries this one, and the stream is found by its table's name.
LOCAL_STREAM_LABEL = "local"
_FUNCTIONS = ("AWS::Serverless::Function", "AWS::Lambda::Function")
_LAYERS = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")


# What Ref AWS::NoValue leaves: the property (or list item) is removed, as CloudFormation does.
_NO_VALUE = object()
_CONDITION_FUNCTIONS = ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition")


class Resolver:
    def __init__(self, template: dict, deployment: Deployment, template_path: Path | str = "template.yaml"):
        self.deployment = deployment
        self.path = template_path
        self.source = template
        self.template = template
        self.parameters = self._parameter_values()
        self._conditions: dict[str, bool] = {}
        # The template as CloudFormation would create it: resources whose Condition is false left out.
        kept = {name: resource for name, resource in (template.get("Resources") or {}).items()
                if "Condition" not in resource or self.condition(resource["Condition"])}
        self.template = {**template, "Resources": kept}
        # Nested stacks by logical id; None until infra/nested.py's load_children has looked.
        self.children: dict[str, "Resolver"] | None = None

    # -- public ----------------------------------------------------------------------

    def resolve(self, value, resource: str | None = None):
        """Return `value` with every intrinsic function replaced by its local value."""
        resolved = self._resolve(value, resource)
        return None if resolved is _NO_VALUE else resolved

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            declared = self.source.get("Conditions") or {}
            if name not in declared:
                raise TemplateError(self.path, f"condition {name} is not declared in Conditions")
            self._conditions[name] = False  # a condition that refers to itself is false, not a hang
            self._conditions[name] = self._truth(declared[name], None)
        return self._conditions[name]

    def _truth(self, expression, resource: str | None) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            (key, argument), = expression.items()
            if key == "Condition":
                return self.condition(argument)
            if key == "Fn::Equals":
                left, right = (self._resolve(item, resource) for item in argument)
                return str(left) == str(right)
            if key == "Fn::And":
                return all(self._truth(item, resource) for item in argument)
            if key == "Fn::Or":
                return any(self._truth(item, resource) for item in argument)
            if key == "Fn::Not":
                return not self._truth(argument[0], resource)
        value = self._resolve(expression, resource)
        if isinstance(value, bool) or str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise TemplateError(self.path, f"{expression!r} is not a condition", resource=resource)

    def _resolve(self, value, resource: str | None):
        if isinstance(value, list):
            items = [self._resolve(item, resource) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref":
                if argument == "AWS::NoValue":
                    return _NO_VALUE
                return self.ref(argument, resource)
            if key == "Fn::If":
                name, when_true, when_false = argument
                return self._resolve(when_true if self.condition(name) else when_false, resource)
            if key in _CONDITION_FUNCTIONS:
                return self._truth(value, resource)
            if key == "Fn::FindInMap":
                return self._find_in_map(self._resolve(argument, resource), resource)
            if key == "Fn::Base64":
                return base64.b64encode(str(self._resolve(argument, resource)).encode()).decode()
            if key == "Fn::GetAZs":
                region = self._resolve(argument, resource) or self.deployment.region
                return [f"{region}{zone}" for zone in "abc"]
            if key == "Fn::ImportValue":
                raise TemplateError(self.path, "Fn::ImportValue names another stack's output, which does not "
                                               "exist locally; use a parameter instead", resource=resource)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(logical_id, attribute, resource)
            if key == "Fn::Sub":
                return self._sub(argument, resource)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(part) for part in self._resolve(items, resource))
            if key == "Fn::Select":
                index, items = self._resolve(argument, resource)
                return items[int(index)]
            if key == "Fn::Split":
                separator, text = self._resolve(argument, resource)
                return text.split(separator)
        resolved = {key: self._resolve(item, resource) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _find_in_map(self, argument, resource: str | None):
        name, top, second = (str(part) for part in argument)
        try:
            return (self.source.get("Mappings") or {})[name][top][second]
        except KeyError:
            raise TemplateError(self.path, f"Fn::FindInMap [{name}, {top}, {second}]: no such entry in Mappings",
                                resource=resource) from None

    def physical_name(self, logical_id: str) -> str:
        resource = self._resource(logical_id, None)
        prop = _NAME_PROPERTIES.get(resource["Type"])
        name = resource.get("Properties", {}).get(prop) if prop else None
        if name is None:
            # Locally a function is known by its logical id, as `sam local` names it.
            if resource["Type"] in _FUNCTIONS:
                return f"{self.deployment.stack_name}-{logical_id}" if self.deployment.nested else logical_id
            return f"{self.deployment.stack_name}-{logical_id}"
        return str(self.resolve(name, logical_id))

    def ref(self, name: str, resource: str | None = None):
        pseudo = self._pseudo_parameter(name)
        if pseudo is not None:
            return pseudo
        if name in self.parameters:
            kind = str(((self.source.get("Parameters") or {}).get(name) or {}).get("Type", "String"))
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                return [part.strip() for part in self.parameters[name].split(",")] if self.parameters[name] else []
            return self.parameters[name]
        kind = self._resource(name, resource)["Type"]
        d = self.deployment
        if kind == "AWS::SQS::Queue":
            return self.queue_url(self.physical_name(name))
        if kind == "AWS::SNS::Topic":
            return self.arn("sns", self.physical_name(name))
        if kind in _LAYERS:
            return self.arn("lambda", f"layer:{self.physical_name(name)}:1")
        if kind in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
            return f"{d.stack_name}-{name}".lower()
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str, resource: str | None = None):
        kind = self._resource(logical_id, resource)["Type"]
        name = self.physical_name(logical_id)
        values = {
            "AWS::SQS::Queue": {"Arn": lambda: self.arn("sqs", name), "QueueName": lambda: name,
                                "QueueUrl": lambda: self.queue_url(name)},
            "AWS::SNS::Topic": {"TopicArn": lambda: self.arn("sns", name), "TopicName": lambda: name},
            "AWS::S3::Bucket": {"Arn": lambda: f"arn:aws:s3:::{name}",
                                "DomainName": lambda: f"{name}.s3.amazonaws.com"},
            "AWS::Serverless::Function": {"Arn": lambda: self.arn("lambda", f"function:{name}")},
            "AWS::Lambda::Function": {"Arn": lambda: self.arn("lambda", f"function:{name}")},
            "AWS::DynamoDB::Table": {"Arn": lambda: self.arn("dynamodb", f"table/{name}"),
                                     "StreamArn": lambda: self.arn("dynamodb", f"table/{name}/stream/{LOCAL_STREAM_LABEL}")},
            "AWS::Kinesis::Stream": {"Arn": lambda: self.arn("kinesis", f"stream/{name}")},
            "AWS::Events::EventBus": {"Arn": lambda: self.arn("events", f"event-bus/{name}"), "Name": lambda: name},
            "AWS::Events::Rule": {"Arn": lambda: self.rule_arn(logical_id)},
            "AWS::Scheduler::Schedule": {"Arn": lambda: self.arn("scheduler", f"schedule/{self._group(logical_id)}/{name}")},
            # The id of a REST API's root resource ("/"), as AWS::ApiGateway::Resource's ParentId names it.
            "AWS::ApiGateway::RestApi": {"RootResourceId": lambda: f"{logical_id.lower()}-root"},
        }.get(kind, {})
        if attribute in values:
            return values[attribute]()
        if attribute.startswith("Outputs.") and kind in ("AWS::Serverless::Application", "AWS::CloudFormation::Stack"):
            return self._child_output(logical_id, attribute.removeprefix("Outputs."), resource)
        # A resource this emulator does not create (a user pool, a table's stream, ...): an
        # ARN shaped as AWS's, or a stable stand-in, so the template still loads; what reads it
        # locally gets a value that names its source.
        service = kind.split("::")[1].lower() if kind.count("::") == 2 else "unknown"
        if attribute == "Arn" or attribute.endswith("Arn"):
            return self.arn(service, f"{kind.rsplit('::', 1)[-1].lower()}/{name}")
        return f"{name}.{attribute}"

    def rule_arn(self, logical_id: str) -> str:
        """An EventBridge rule's ARN: its bus in it unless that is the default bus."""
        bus = self.resolve(self.template["Resources"][logical_id].get("Properties", {}).get("EventBusName"), logical_id)
        bus = str(bus or "default").rsplit("/", 1)[-1]  # a bus given by ARN
        name = self.physical_name(logical_id)
        return self.arn("events", f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}")

    def _group(self, logical_id: str) -> str:
        group = self.template["Resources"][logical_id].get("Properties", {}).get("GroupName")
        return str(self.resolve(group, logical_id) or "default")

    def _child_output(self, logical_id: str, output: str, resource: str | None):
        child = (self.children or {}).get(logical_id)
        if child is None:
            raise TemplateError(self.path, f"refers to {logical_id}.Outputs.{output}, but {logical_id} is not a "
                                           "nested stack loaded here (a local template, earlier in the file)",
                                resource=resource)
        outputs = child.template.get("Outputs") or {}
        if output not in outputs:
            raise TemplateError(child.path, f"has no output {output} (asked for by {logical_id} in {self.path})")
        return child.resolve(outputs[output].get("Value"), logical_id)

    def arn(self, service: str, resource_part: str) -> str:
        d = self.deployment
        return f"arn:aws:{service}:{d.region}:{d.account_id}:{resource_part}"

    def queue_url(self, queue_name: str) -> str:
        d = self.deployment
        base = d.endpoint_url.rstrip("/") if d.endpoint_url else f"https://sqs.{d.region}.amazonaws.com"
        return f"{base}/{d.account_id}/{queue_name}"

    # -- internals -------------------------------------------------------------------

    def _parameter_values(self) -> dict[str, str]:
        declared = self.template.get("Parameters", {}) or {}
        unknown = set(self.deployment.parameter_overrides) - set(declared)
        if unknown:
            raise TemplateError(self.path, f"parameter override for undeclared parameter(s): {', '.join(sorted(unknown))}")
        values = {}
        for name, spec in declared.items():
            if name in self.deployment.parameter_overrides:
                values[name] = str(self.deployment.parameter_overrides[name])
            elif "Default" in spec:
                values[name] = str(spec["Default"])
            else:
                raise TemplateError(self.path, f"parameter {name} has no Default and no override was given")
            allowed = spec.get("AllowedValues")
            if allowed and values[name] not in [str(value) for value in allowed]:
                raise TemplateError(self.path, f"parameter {name}={values[name]!r} is not one of its AllowedValues "
                                               f"({', '.join(str(value) for value in allowed)})")
            pattern = spec.get("AllowedPattern")
            if pattern and not re.fullmatch(pattern, values[name]):
                raise TemplateError(self.path, f"parameter {name}={values[name]!r} does not match {pattern}")
        return values

    def _pseudo_parameter(self, name: str):
        d = self.deployment
        return {
            "AWS::Region": d.region,
            "AWS::AccountId": d.account_id,
            "AWS::StackName": d.stack_name,
            # A stable id per stack name, shaped as CloudFormation's.
            "AWS::StackId": f"arn:aws:cloudformation:{d.region}:{d.account_id}:stack/{d.stack_name}/"
                            f"{uuid.uuid5(uuid.NAMESPACE_URL, d.stack_name)}",
            "AWS::NotificationARNs": [],
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }.get(name)

    def _resource(self, logical_id: str, referrer: str | None) -> dict:
        resource = self.template.get("Resources", {}).get(logical_id)
        if resource is None and logical_id in (self.source.get("Resources") or {}):
            condition = self.source["Resources"][logical_id]["Condition"]
            raise TemplateError(self.path, f"refers to {logical_id}, which condition {condition} leaves out",
                                resource=referrer)
        if resource is None:
            raise TemplateError(self.path, f"refers to {logical_id}, which is neither a parameter nor a resource",
                                resource=referrer)
        return resource

    def _sub(self, argument, resource: str | None) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], self.resolve(argument[1], resource)
        else:
            text, variables = argument, {}

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute, resource))
            return str(self.ref(name, resource))

        # "${!Literal}" is CloudFormation's escape for a literal "${Literal}".
        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")
