"""API Gateway proxy responses, and the one place where errors become HTTP answers."""

import functools
import json
import logging
from typing import Any, Callable

from .errors import AppError

log = logging.getLogger(__name__)

JSON_HEADERS = {"Content-Type": "application/json"}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict:
    return {
        "statusCode": status,
        "headers": {**JSON_HEADERS, **(headers or {})},
        "body": json.dumps(body, separators=(",", ":"), default=str),
        "isBase64Encoded": False,
    }


def error_response(error: AppError) -> dict:
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    return json_response(error.status, body)


def api_handler(fn: Callable[[dict, Any], dict]) -> Callable[[dict, Any], dict]:
    """Wrap a proxy-integration handler: project errors become their HTTP answer, anything
    else a 500 whose body says nothing about the internals (the log has the traceback)."""

    @functools.wraps(fn)
    def wrapper(event: dict, context: Any) -> dict:
        try:
            return fn(event, context)
        except AppError as error:
            return error_response(error)
        except Exception:
            log.exception("unhandled error in %s", fn.__qualname__)
            return error_response(AppError("internal error"))

    return wrapper
