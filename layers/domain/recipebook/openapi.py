"""The OpenAPI 3.1 document, generated from the operation table and the pydantic models."""

import re

from pydantic.json_schema import models_json_schema

from .api import OPERATIONS, Operation
from .models import Error

REASONS = {400: "Bad input: every field error is listed", 401: "No or bad credentials", 403: "Not allowed",
           404: "Not found", 409: "Conflict", 412: "The resource changed (If-Match)",
           422: "Refers to something that does not exist, or reuses an Idempotency-Key", 429: "Too many requests",
           503: "A service the API needs is unavailable just now: retry after Retry-After seconds"}


def document(version: str) -> dict:
    models = {model for op in OPERATIONS for model in (op.body, op.response) if model} | {Error}
    keyed = [(model, "validation") for model in models]
    _, schemas = models_json_schema(keyed, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Recipes API", "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
        },
        "security": [{"apiKey": []}],
    }


def _path_schema(name: str) -> dict:
    if name == "token_id":
        return {"type": "string", "pattern": "^[0-9a-f]{32}$"}
    return {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def _ref(model) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(op: Operation) -> dict:
    parameters = [{"name": name, "in": "path", "required": True, "schema": _path_schema(name)}
                  for name in re.findall(r"{(\w+)}", op.path)]
    parameters += [{"name": name, "in": "query", "required": False, "schema": schema, "description": text}
                   for name, (schema, text) in op.query.items()]
    if op.conditional:
        parameters.append({"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
                           "description": "the ETag of the version you changed; 412 if it is not current"})
    if op.idempotent_post:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "schema": {"type": "string", "maxLength": 200},
                           "description": "retries with the same key and body get the first answer"})
    success: dict = {"description": op.summary}
    if op.response is not None:
        success["content"] = {"application/json": {"schema": _ref(op.response)}}
    elif op.success != 204:
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    responses = {str(op.success): success}
    for status in op.errors:
        responses[str(status)] = {"description": REASONS[status],
                                  "content": {"application/json": {"schema": _ref(Error)}}}
    # Answers the gateway gives itself, in API Gateway's own shapes.
    for status in (() if op.public else (401, 403)) + (429,):
        responses.setdefault(str(status), {"description": REASONS[status],
                                           "content": {"application/json": {"schema": {"type": "object"}}}})
    # Any operation may meet a database or a cache that is down (the gatekeeper's too).
    responses.setdefault("503", {"description": REASONS[503],
                                 "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 0}}},
                                 "content": {"application/json": {"schema": _ref(Error)}}})
    result = {"operationId": op.operation_id, "summary": op.summary, "parameters": parameters,
              "responses": responses}
    if op.body is not None:
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(op.body)}}}
    if op.public:
        result["security"] = []
    return result
