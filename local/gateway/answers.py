"""The answers API Gateway gives itself (no function answered), each of one of API Gateway's
gateway response types, and the API's `GatewayResponses` that change them: a status code,
headers and a body template per type, with DEFAULT_4XX and DEFAULT_5XX for the types a
template does not name (AWS's "Gateway response types" in the API Gateway developer guide).

A template may use $context.error.message, $context.error.messageString (the message as a
JSON string), $context.error.responseType and $context.requestId; header values are static
('quoted') or taken from the request (method.request.header.NAME). Templates are not run
through VTL, on AWS either.
"""

import json
from dataclasses import dataclass

from local.app.model import ApiSpec
from local.http.messages import HttpRequest, HttpResponse, json_response


@dataclass(frozen=True)
class Answer:
    type: str  # the gateway response type: what a template's GatewayResponses key names
    status: int
    body: dict

    @property
    def message(self):
        return next(iter(self.body.values()), None)


MAX_BODY_BYTES = 10 * 1024 * 1024
MISSING_TOKEN = Answer("MISSING_AUTHENTICATION_TOKEN", 403, {"message": "Missing Authentication Token"})
UNAUTHORIZED = Answer("UNAUTHORIZED", 401, {"message": "Unauthorized"})
EXPLICIT_DENY = Answer("ACCESS_DENIED", 403,
                       {"Message": "User is not authorized to access this resource with an explicit deny"})
NOT_ALLOWED = Answer("ACCESS_DENIED", 403, {"Message": "User is not authorized to access this resource"})
# The authorizer failed (an error, a timeout), or answered what API Gateway cannot use.
AUTHORIZER_FAILURE = Answer("AUTHORIZER_FAILURE", 500, {"message": None})
AUTHORIZER_UNUSABLE = Answer("AUTHORIZER_CONFIGURATION_ERROR", 500, {"message": None})
THROTTLED = Answer("THROTTLED", 429, {"message": "Too Many Requests"})
TOO_LARGE = Answer("REQUEST_TOO_LARGE", 413, {"message": f"HTTP content length exceeded {MAX_BODY_BYTES} bytes."})
HEADERS_TOO_LARGE = Answer("DEFAULT_4XX", 431, {"message": "Request Header Fields Too Large"})
BAD_REQUEST = Answer("DEFAULT_4XX", 400, {"message": "Bad Request"})
# A function error or a malformed proxy response.
INTERNAL_ERROR = Answer("DEFAULT_5XX", 502, {"message": "Internal server error"})
# Lambda refused the call (its reserved concurrency was reached): a 500, not the 429 Lambda
# gave, since the client did nothing wrong.
LAMBDA_THROTTLED = Answer("DEFAULT_5XX", 500, {"message": "Internal server error"})
TIMED_OUT = Answer("INTEGRATION_TIMEOUT", 504, {"message": "Endpoint request timed out"})


def render(answer: Answer, api: ApiSpec | None, request: HttpRequest, request_id: str) -> HttpResponse:
    """The answer as the API's GatewayResponses make it (as API Gateway's default without)."""
    responses = api.gateway_responses if api else {}
    custom = responses.get(answer.type) or responses.get("DEFAULT_4XX" if answer.status < 500 else "DEFAULT_5XX")
    if custom is None:
        return json_response(answer.status, answer.body)
    headers = [(name, value) for name, value in
               ((name, _header_value(source, request)) for name, source in custom.headers.items()) if value is not None]
    template = custom.templates.get("application/json")
    if template is None:
        body = json.dumps(answer.body).encode()
    else:
        body = (template.replace("$context.error.messageString", json.dumps(answer.message))
                .replace("$context.error.message", "" if answer.message is None else str(answer.message))
                .replace("$context.error.responseType", answer.type)
                .replace("$context.requestId", request_id)).encode()
    return HttpResponse(custom.status or answer.status, [("Content-Type", "application/json"), *headers], body)


def _header_value(source: str, request: HttpRequest) -> str | None:
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    prefix = "method.request.header."
    if source.startswith(prefix):
        return request.header(source[len(prefix):])
    return None

# An HTTP API's own answers. HTTP APIs have no GatewayResponses, so these are given as they are.
HTTP_NOT_FOUND = Answer("HTTP", 404, {"message": "Not Found"})
HTTP_UNAUTHORIZED = Answer("HTTP", 401, {"message": "Unauthorized"})
HTTP_FORBIDDEN = Answer("HTTP", 403, {"message": "Forbidden"})
HTTP_THROTTLED = Answer("HTTP", 429, {"message": "Too Many Requests"})
# A function error, an answer it cannot use, a failed authorizer: all 500 on an HTTP API.
HTTP_INTERNAL_ERROR = Answer("HTTP", 500, {"message": "Internal Server Error"})
HTTP_TIMED_OUT = Answer("HTTP", 503, {"message": "Service Unavailable"})
