"""The payload format 2.0 event, built from an HTTP request: what an HTTP API gives a function
(and, with its own requestContext, a function URL). Where it differs from 1.0 (proxy_event.py),
as AWS documents it: header names in lower case and repeated values joined by commas, cookies
apart from the headers, query values joined by commas, the route key, and the body base64
unless its content type is text."""

import base64
import functools
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

from local.http.messages import HttpRequest

# Content types whose bodies arrive as text; anything else (or no type and bytes that are not
# UTF-8) is base64 with isBase64Encoded, as HTTP APIs and function URLs pass them.
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml",
               "application/x-www-form-urlencoded", "application/graphql", "+json", "+xml")


def http_event(request: HttpRequest, route_key: str, path_parameters: dict[str, str] | None, *, stage: str,
               api_id: str, account_id: str, domain_name: str, now: float, request_id: str,
               authorizer: dict | None = None, stage_variables: dict[str, str] | None = None,
               raw_path: str | None = None) -> dict:
    """`raw_path` is the path as the client gave it when it differs from the request target's
    (a named stage's prefix, which HTTP APIs keep in rawPath)."""
    url = urlsplit(request.target)
    headers, cookies = joined_headers(request)
    body, encoded = request_body(request.body, request.header("Content-Type"))
    path = raw_path if raw_path is not None else url.path
    context = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".", 1)[0],
        "http": {"method": request.method.upper(), "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": request.source_ip, "userAgent": request.header("User-Agent") or ""},
        "requestId": request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": _request_time(int(now)),
        "timeEpoch": int(now * 1000),
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    event = {"version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": url.query}
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = joined_query(url.query)
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = context
    if body is not None:
        event["body"] = body
    if path_parameters:
        event["pathParameters"] = path_parameters
    event["isBase64Encoded"] = encoded
    if stage_variables:
        event["stageVariables"] = stage_variables
    return event


def joined_headers(request: HttpRequest) -> tuple[dict[str, str], list[str]]:
    """Lower-case names with repeated values joined by commas; each Cookie header's cookies
    taken out into their own list."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies += [part.strip() for part in value.split(";") if part.strip()]
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    if request.local_port is not None:
        headers["x-forwarded-port"] = str(request.local_port)
    headers["x-forwarded-proto"] = "http"
    return headers, cookies


def joined_query(query: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        values[key] = f"{values[key]},{value}" if key in values else value
    return values


def request_body(body: bytes, content_type: str | None) -> tuple[str | None, bool]:
    if not body:
        return None, False
    media = (content_type or "").split(";")[0].strip().lower()
    if media and (media.startswith(_TEXT_TYPES[0]) or any(t in media for t in _TEXT_TYPES[1:])):
        return body.decode("utf-8", errors="replace"), False
    if not media:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True


@functools.lru_cache(maxsize=4)
def _request_time(second: int) -> str:
    return datetime.fromtimestamp(second, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
