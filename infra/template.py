"""Read template.yaml into plain long-form data and check what must exist on disk.

cfn-flip's loader understands CloudFormation's short tags (!Ref, !Sub, !GetAtt, ...) and
turns them into their long form ({"Ref": ...}, {"Fn::Sub": ...}), so the rest of the code
deals with one shape only.
"""

import json
from pathlib import Path

import yaml
from cfn_tools import load_yaml

from .errors import TemplateError
from .sam_events import expand_events

# Resource types whose code lives in a local folder, and the property that names it.
_CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


def load_template(path: Path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(path, f"cannot be read: {error}") from None
    try:
        loaded = load_yaml(text)
    except yaml.YAMLError as error:
        raise TemplateError(path, f"invalid YAML: {_describe_yaml_error(error)}") from None
    # cfn-flip returns its own ordered dicts; plain dicts and lists are easier to compare.
    template = json.loads(json.dumps(loaded))
    _check_shape(path, template)
    _check_code_folders(path, template)
    # A function's event sources as the resources SAM makes of them, read and provisioned as
    # a plain CloudFormation template's are (sam_events.py).
    return expand_events(template)


def _describe_yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return problem


def _check_shape(path: Path, template) -> None:
    if not isinstance(template, dict):
        raise TemplateError(path, "the document is not a mapping")
    resources = template.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise TemplateError(path, "no Resources section")
    for name, resource in resources.items():
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            raise TemplateError(path, "has no Type", resource=name)
        if not isinstance(resource.get("Properties", {}), dict):
            raise TemplateError(path, "Properties is not a mapping", resource=name)


def _check_code_folders(path: Path, template: dict) -> None:
    """A local CodeUri or ContentUri must exist (a folder, or a .zip file). S3 locations,
    InlineCode and values given by an intrinsic are the model's to judge."""
    base = path.parent
    for name, resource in template["Resources"].items():
        uri = code_uri(template, name)
        if isinstance(uri, str) and not uri.startswith("s3://") and not (base / uri).exists():
            prop = _CODE_PROPERTIES[resource["Type"]]
            raise TemplateError(path, f"{prop} {uri} does not exist", resource=name)


def resources_of_type(template: dict, kind: str) -> list[str]:
    """The logical ids of the template's resources of one type, in the template's order."""
    return [name for name, resource in template["Resources"].items() if resource["Type"] == kind]


def code_uri(template: dict, logical_id: str):
    """A function's CodeUri (its own, else the Globals') or a layer's ContentUri, as written;
    None for a resource without code of its own (InlineCode) or of another type."""
    resource = template["Resources"][logical_id]
    prop = _CODE_PROPERTIES.get(resource["Type"])
    if prop is None:
        return None
    properties = resource.get("Properties", {}) or {}
    if prop in properties:
        return properties[prop]
    if prop == "CodeUri" and "InlineCode" not in properties:
        return ((template.get("Globals") or {}).get("Function") or {}).get("CodeUri")
    return None
