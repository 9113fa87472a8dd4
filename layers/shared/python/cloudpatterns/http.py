"""API Gateway proxy events in, proxy responses out, and the one place where errors become
HTTP answers: `{"error": {"code", "message", "details"}, "requestId"}`."""

import base64
import functools
import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from .errors import AppError, BadRequest, PayloadTooLarge, UnsupportedMediaType

log = logging.getLogger(__name__)

JSON_HEADERS = {"Content-Type": "application/json"}
WRITE_METHODS = {"POST", "PUT", "PATCH"}
MAX_BODY_BYTES = 256 * 1024


def _default(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), default=_default)


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def to_proxy(self) -> dict:
        if self.body is None:
            return {"statusCode": self.status, "headers": self.headers, "body": "", "isBase64Encoded": False}
        return {"statusCode": self.status, "headers": {**JSON_HEADERS, **self.headers}, "body": dumps(self.body),
                "isBase64Encoded": False}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict:
    return Response(status, body, headers or {}).to_proxy()


class Request:
    """The parts of a REST proxy event a handler reads, with clear 400s for bad input."""

    def __init__(self, event: dict, context: Any = None):
        self.event = event
        self.context = context  # the Lambda context: remaining time bounds retries
        self.method = event.get("httpMethod", "GET")
        self.path = event.get("path", "/")
        self.path_parameters = event.get("pathParameters") or {}
        self.query = event.get("queryStringParameters") or {}
        self.headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        context = event.get("requestContext") or {}
        self.request_id = context.get("requestId")
        self.source_ip = (context.get("identity") or {}).get("sourceIp") or "unknown"
        self.authorizer = context.get("authorizer") or {}

    @property
    def idempotency_key(self) -> str | None:
        return self.header("Idempotency-Key")

    @property
    def principal(self) -> str:
        return str(self.authorizer.get("principalId") or "anonymous")

    @property
    def scopes(self) -> set[str]:
        """The scopes the gatekeeper granted (its context carries them space-separated)."""
        return set(str(self.authorizer.get("scopes") or "").split())

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def path_int(self, name: str) -> int:
        return _positive_int(self.path_parameters.get(name), f"path parameter {name}")

    def query_int(self, name: str, default: int, maximum: int) -> int:
        raw = self.query.get(name)
        if raw is None:
            return default
        value = _positive_int(raw, f"query parameter {name}")
        if value > maximum:
            raise BadRequest(f"query parameter {name} must be at most {maximum}", details={"field": name})
        return value

    @functools.cached_property
    def raw_body(self) -> bytes:
        body = self.event.get("body")
        if body is None:
            return b""
        return base64.b64decode(body) if self.event.get("isBase64Encoded") else body.encode("utf-8")

    def json(self) -> Any:
        if not self.raw_body.strip():
            raise BadRequest("the request needs a JSON body")
        return self._parsed_body

    @functools.cached_property
    def _parsed_body(self) -> Any:
        try:
            return json.loads(self.raw_body)
        except (UnicodeDecodeError, ValueError) as error:
            raise BadRequest(f"the body is not valid JSON: {error}") from None
        except RecursionError:
            raise BadRequest("the body is nested too deeply") from None

    def check_body(self) -> None:
        """The edge checks every write passes before its handler runs: a bounded size, a JSON
        content type, and JSON that parses."""
        if self.method not in WRITE_METHODS or not self.raw_body:
            return
        if len(self.raw_body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES} bytes", details={"limit": MAX_BODY_BYTES})
        media_type = (self.header("Content-Type") or "").split(";")[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise UnsupportedMediaType("send the body as application/json", details={"content_type": media_type or None})
        self._parsed_body

    def if_match(self) -> int | None:
        """The version an If-Match header names, None when absent; `*` is None too (any version)."""
        raw = self.header("If-Match")
        if raw is None or raw.strip() == "*":
            return None
        return parse_etag(raw)


def etag(version: int) -> str:
    return f'"{version}"'


def parse_etag(raw: str) -> int:
    text = raw.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise BadRequest("If-Match must be an ETag this API returned, such as \"3\"", details={"header": "If-Match"})
    return int(text)


def _positive_int(raw, what: str) -> int:
    if raw is None or not str(raw).isdigit() or not 0 < int(raw) < 2**63:
        raise BadRequest(f"{what} must be a positive whole number", details={"value": raw})
    return int(raw)


def error_response(error: AppError, request_id: str | None) -> dict:
    body = {"error": {"code": error.code, "message": error.message, "details": error.details},
            "requestId": request_id}
    return Response(error.status, body, dict(error.headers)).to_proxy()


def api_handler(fn: Callable[[Request, Any], Response | dict]) -> Callable[[dict, Any], dict]:
    """Wrap a proxy-integration handler that takes a Request: project errors become their
    HTTP answer, anything else a 500 whose body says nothing about the internals (the log
    has the traceback)."""

    @functools.wraps(fn)
    def wrapper(event: dict, context: Any) -> dict:
        request = Request(event, context)
        try:
            request.check_body()
            result = fn(request, context)
        except AppError as error:
            return error_response(error, request.request_id)
        except Exception:
            log.exception("unhandled error in %s", fn.__qualname__)
            return error_response(AppError("internal error"), request.request_id)
        return result.to_proxy() if isinstance(result, Response) else result

    return wrapper
