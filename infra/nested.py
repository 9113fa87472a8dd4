"""Nested stacks with local templates: AWS::Serverless::Application with a local `Location`
and AWS::CloudFormation::Stack with a local `TemplateURL` (what `sam package` and
`aws cloudformation package` upload). Each child gets a Resolver of its own, as a child
stack gets its own parameters and names; the parent reads its Outputs through
`!GetAtt Child.Outputs.Name`."""

import dataclasses
from pathlib import Path

from .errors import TemplateError
from .intrinsics import Resolver
from .template import load_template

APPLICATION = "AWS::Serverless::Application"
STACK = "AWS::CloudFormation::Stack"
NESTED_TYPES = (APPLICATION, STACK)


def load_children(resolver: Resolver, warn=lambda resource, prop, what: None, depth: int = 0) -> None:
    """Fills `resolver.children` (and theirs), in template order, so that a child's
    Parameters may name an earlier sibling's Outputs. `warn` hears of the children that
    cannot be loaded here (an application from the Serverless Application Repository, a
    template at a URL)."""
    if depth > 5:
        raise TemplateError(resolver.path, "nested stacks go deeper than five levels (a template that includes itself?)")
    resolver.children = {}
    for lid, resource in resolver.template["Resources"].items():
        if resource["Type"] not in NESTED_TYPES:
            continue
        props = resource.get("Properties") or {}
        prop = "Location" if resource["Type"] == APPLICATION else "TemplateURL"
        location = resolver.resolve(props.get(prop), lid)
        if not isinstance(location, str) or location.startswith(("s3://", "http://", "https://")):
            what = "an application from the Serverless Application Repository" if isinstance(location, dict) \
                else f"{location!r}, not a local file,"
            warn(lid, prop, f"{what} is not loaded; its resources do not run here")
            continue
        path = (Path(resolver.path).parent / location).resolve()
        if not path.is_file():
            raise TemplateError(resolver.path, f"{prop} {location} does not exist", resource=lid)
        parameters = resolver.resolve(props.get("Parameters") or {}, lid)
        if not isinstance(parameters, dict):
            raise TemplateError(resolver.path, "Parameters must be a mapping of names to values", resource=lid)
        deployment = dataclasses.replace(
            resolver.deployment, stack_name=f"{resolver.deployment.stack_name}-{lid}", nested=True,
            parameter_overrides={str(k): _parameter_text(v) for k, v in parameters.items()})
        child = Resolver(load_template(path), deployment, path)
        load_children(child, lambda resource, p, what: warn(f"{lid}/{resource}", p, what), depth + 1)
        resolver.children[lid] = child


def _parameter_text(value) -> str:
    # CloudFormation passes every parameter as a string; a list is its comma-delimited form.
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
