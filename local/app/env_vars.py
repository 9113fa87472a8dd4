"""SAM CLI's --env-vars file: {"<Function logical id>": {"NAME": value}, "Parameters": {...}},
where "Parameters" applies to every function. As in SAM CLI, only variables the template
declares for a function are overridden (reader.py applies them)."""

import json
from pathlib import Path

from local.errors import LocalError


def read_env_vars(path: Path | None) -> dict[str, dict[str, str]] | None:
    if path is None:
        return None
    try:
        document = json.loads(Path(path).read_bytes())
    except OSError as error:
        raise LocalError(f"{path}: cannot be read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise LocalError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise LocalError(f"{path}: not JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise LocalError(f'{path}: must be {{"<Function>": {{"NAME": "value"}}, "Parameters": {{...}}}}')
    for scope, variables in document.items():
        for name, value in variables.items():
            if isinstance(value, (dict, list)):
                raise LocalError(f"{path}: {scope}.{name} must be text, a number or a boolean")
    return document
