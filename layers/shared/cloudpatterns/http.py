"""API Gateway proxy events in, proxy responses out, and the one place where errors become
HTTP answers: `{"error": {"code", "message", "details"}, "requestId"}`."""

import base64
import functools
import json
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from .errors import AppError, BadRequest, PayloadTooLarge, UnsupportedMediaType

log = logging.getLogger(__name__)

JSON_HEADERS = {"Content-Type": "application/json"}
WRITE_METHODS = {"POST", "PUT", "PATCH"}
MAX_BODY_BYTES = 256 * 1024
NUL = "\x00"


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

    def check_input(self) -> None:
        """The edge checks every request passes before its handler runs: no NUL character in
        its parameters (SQL text cannot hold one: Postgres refuses the query); and for a write,
        a bounded size, a JSON content type, and JSON that parses, with no NUL in its strings."""
        for where, values in (("query parameter", self.query), ("path parameter", self.path_parameters)):
            for name, value in values.items():
                if NUL in str(name) or NUL in str(value):
                    raise BadRequest(f"{where} {name!r} contains a NUL character", details={"field": name})
        if self.method not in WRITE_METHODS or not self.raw_body:
            return
        if len(self.raw_body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES} bytes", details={"limit": MAX_BODY_BYTES})
        media_type = (self.header("Content-Type") or "").split(";")[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise UnsupportedMediaType("send the body as application/json", details={"content_type": media_type or None})
        if _holds_nul(self._parsed_body):
            raise BadRequest("the body holds a string with a NUL character (\\u0000)")

    def if_match(self) -> list[int] | None:
        """The versions an If-Match header accepts (see parse_if_match); None when absent."""
        raw = self.header("If-Match")
        return None if raw is None else parse_if_match(raw)


def _holds_nul(value) -> bool:
    """Whether any string in parsed JSON (keys included) contains NUL; iterative, for any depth."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def etag(version: int) -> str:
    return f'"{version}"'


# One element of an If-Match list (RFC 9110 sections 5.6.1 and 8.8.3): optional whitespace, an
# entity tag [ "W/" ] DQUOTE *etagc DQUOTE (or nothing: empty elements are ignored), optional
# whitespace, then a comma or the end. etagc = %x21 / %x23-7E / obs-text.
_LIST_ELEMENT = re.compile(r'[ \t]*(?:(W/)?"([\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(?:,|$)')
MAX_VERSION = 2**31 - 1  # the version columns are Postgres integers


def parse_if_match(raw: str) -> list[int] | None:
    """If-Match as RFC 9110 section 13.1.1 reads it: None for "*" (any current version), else
    the versions of the listed entity tags that this API could have issued, by strong
    comparison. A well-formed tag it never issued ("stale-version", a weak W/"3") matches
    nothing, so the list may be empty: the condition is then false, a 412. A value that is
    not entity-tag syntax at all is a 400."""
    text = raw.strip(" \t")
    if text == "*":
        return None
    versions, tags, position = [], 0, 0
    while position < len(text):
        element = _LIST_ELEMENT.match(text, position)
        if element is None or element.end() == position:
            raise _bad_if_match()
        weak, opaque = element.groups()
        if opaque is not None:
            tags += 1
            if not weak and opaque.isascii() and opaque.isdigit() and 0 < int(opaque) <= MAX_VERSION:
                versions.append(int(opaque))
        position = element.end()
    if tags == 0:
        raise _bad_if_match()
    return versions


def _bad_if_match() -> BadRequest:
    return BadRequest('If-Match must be "*" or a list of entity tags such as "3"', details={"header": "If-Match"})


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
            request.check_input()
            result = fn(request, context)
        except AppError as error:
            return error_response(error, request.request_id)
        except Exception:
            # The Lambda log line carries the request id; this one names the request too.
            log.exception("unhandled error answering %s %s (request %s)", request.method, request.path,
                          request.request_id)
            return error_response(AppError("internal error"), request.request_id)
        return result.to_proxy() if isinstance(result, Response) else result

    return wrapper
