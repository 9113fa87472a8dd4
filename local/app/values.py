"""Small readings of template values that every reader shares."""


def logical_id_of(reference) -> str | None:
    if isinstance(reference, dict):
        if "Ref" in reference:
            return reference["Ref"]
        if "Fn::GetAtt" in reference:
            target = reference["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else target.split(".")[0]
    return None


def true(value) -> bool:
    return str(value).lower() == "true" if not isinstance(value, bool) else value


def int_or_none(value) -> int | None:
    return None if value is None else int(value)


def environment_value(value) -> str:
    """A template value as Lambda gives it to a function: text, with booleans as CloudFormation writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def decode_resource_path(path: str) -> str:
    """CloudFormation writes /items/{id} as /~1items~1{id}: a leading slash, then the
    path with each of its slashes as ~1."""
    if path == "/*" or "~1" not in path:
        return path
    return path[1:].replace("~1", "/")
