"""Resolve the CloudFormation intrinsics that matter on one machine.

Ref and Fn::GetAtt of the resources we run (queues, topics, buckets, parameters, functions,
layers) give the local names, ARNs and URLs those resources have on the AWS endpoint in use;
Parameters take their overrides or defaults; Fn::Sub and Fn::Join are evaluated.
"""

import re
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


# Property that holds the physical name of each resource type we create locally.
_NAME_PROPERTIES = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SSM::Parameter": "Name",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::Serverless::Api": "Name",
}


class Resolver:
    def __init__(self, template: dict, deployment: Deployment, template_path: Path | str = "template.yaml"):
        self.template = template
        self.deployment = deployment
        self.path = template_path
        self.parameters = self._parameter_values()

    # -- public ----------------------------------------------------------------------

    def resolve(self, value, resource: str | None = None):
        """Return `value` with every intrinsic function replaced by its local value."""
        if isinstance(value, list):
            return [self.resolve(item, resource) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref":
                return self.ref(argument, resource)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(logical_id, attribute, resource)
            if key == "Fn::Sub":
                return self._sub(argument, resource)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(part) for part in self.resolve(items, resource))
            if key == "Fn::Select":
                index, items = self.resolve(argument, resource)
                return items[int(index)]
            if key == "Fn::Split":
                separator, text = self.resolve(argument, resource)
                return text.split(separator)
        return {key: self.resolve(item, resource) for key, item in value.items()}

    def physical_name(self, logical_id: str) -> str:
        resource = self._resource(logical_id, None)
        prop = _NAME_PROPERTIES.get(resource["Type"])
        name = resource.get("Properties", {}).get(prop) if prop else None
        if name is None:
            # Locally a function is known by its logical id, as `sam local` names it.
            if resource["Type"] == "AWS::Serverless::Function":
                return logical_id
            return f"{self.deployment.stack_name}-{logical_id}"
        return str(self.resolve(name, logical_id))

    def ref(self, name: str, resource: str | None = None):
        pseudo = self._pseudo_parameter(name)
        if pseudo is not None:
            return pseudo
        if name in self.parameters:
            return self.parameters[name]
        kind = self._resource(name, resource)["Type"]
        d = self.deployment
        if kind == "AWS::SQS::Queue":
            return self.queue_url(self.physical_name(name))
        if kind == "AWS::SNS::Topic":
            return self.arn("sns", self.physical_name(name))
        if kind == "AWS::Serverless::LayerVersion":
            return self.arn("lambda", f"layer:{self.physical_name(name)}:1")
        if kind == "AWS::Serverless::Api":
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
        }.get(kind, {})
        if attribute not in values:
            raise TemplateError(self.path, f"Fn::GetAtt {logical_id}.{attribute} is not supported locally",
                                resource=resource)
        return values[attribute]()

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
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }.get(name)

    def _resource(self, logical_id: str, referrer: str | None) -> dict:
        resource = self.template.get("Resources", {}).get(logical_id)
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
