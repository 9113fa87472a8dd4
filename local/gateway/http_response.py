"""A function's answer as an HTTP API (payload format 2.0) or a function URL turns it into a
response, as AWS documents it: a dict with a statusCode is read for headers, cookies, body
and isBase64Encoded; anything else that is JSON (a dict without statusCode, a list, a number)
is a 200 whose body is that JSON, and a string is a 200 whose body is the string itself."""

import base64
import json

from local.http.messages import HttpResponse


def http_response(payload) -> HttpResponse | None:
    """None for an answer API Gateway cannot use (its 500)."""
    if isinstance(payload, str):
        return HttpResponse(200, [("Content-Type", "application/json")], payload.encode("utf-8"))
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(payload).encode("utf-8"))
    status = payload["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    headers = payload.get("headers") or {}
    cookies = payload.get("cookies") or []
    body = payload.get("body")
    if (not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599
            or not isinstance(headers, dict) or not isinstance(cookies, list)):
        return None
    pairs = [(str(key), _header_text(value)) for key, value in headers.items()]
    pairs += [("Set-Cookie", str(cookie)) for cookie in cookies]
    if body is None:
        return HttpResponse(status, pairs, b"")
    if not isinstance(body, str):
        body = json.dumps(body)
    if payload.get("isBase64Encoded"):
        try:
            return HttpResponse(status, pairs, base64.b64decode(body, validate=True))
        except ValueError:
            return None
    return HttpResponse(status, pairs, body.encode("utf-8"))


def _header_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
