"""Request bodies checked against pydantic models: every field error listed in one 400."""

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from .errors import ValidationFailed

Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], data) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        details = [{"field": ".".join(str(part) for part in issue["loc"]) or "(body)", "message": issue["msg"],
                    "type": issue["type"]} for issue in error.errors(include_url=False, include_input=False)]
        raise ValidationFailed(f"{len(details)} field(s) are not valid", details=details) from None
