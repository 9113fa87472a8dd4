"""A function's answer in payload format 1.0 (REST APIs, and HTTP APIs whose integration says
1.0) turned into the response: statusCode required, headers and multiValueHeaders merged, a
base64 body decoded where the API treats the type as binary."""

import base64
from fnmatch import fnmatch

from local.http.messages import HttpResponse


def is_binary(binary_media_types: list[str], content_type: str | None) -> bool:
    if not content_type or not binary_media_types:
        return False
    # A Content-Type, or an Accept list, of which API Gateway looks at the first type.
    media_type = content_type.split(",")[0].split(";")[0].strip().lower()
    return any(fnmatch(media_type, pattern.lower()) for pattern in binary_media_types)


def proxy_response(payload, decode_base64) -> HttpResponse | None:
    """None for an answer API Gateway cannot use. `decode_base64(headers)` says whether an
    isBase64Encoded body goes back to bytes (REST: only for a binary media type; otherwise the
    client gets the text)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("statusCode"), int):
        return None
    headers = [(k, str(v)) for k, v in (payload.get("headers") or {}).items()]
    for key, values in (payload.get("multiValueHeaders") or {}).items():
        headers.extend((key, str(v)) for v in values)
    body = payload.get("body") or ""
    if not isinstance(body, str):
        return None
    if payload.get("isBase64Encoded") and decode_base64(headers):
        try:
            return HttpResponse(payload["statusCode"], headers, base64.b64decode(body, validate=True))
        except ValueError:
            return None
    return HttpResponse(payload["statusCode"], headers, body.encode("utf-8"))
