"""API Gateway's REST API proxy event (payload format 1.0), built from an HTTP request."""

import base64
import functools
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

from local.http.messages import HttpRequest


def proxy_event(request: HttpRequest, resource: str, path_parameters: dict[str, str] | None, *,
                stage: str, api_id: str, account_id: str, binary: bool = False, now: float | None = None,
                request_id: str | None = None, authorizer: dict | None = None,
                stage_variables: dict[str, str] | None = None) -> dict:
    url = urlsplit(request.target)
    headers, multi_headers = _single_and_multi(_forwarded(request))
    query, multi_query = _single_and_multi(parse_qsl(url.query, keep_blank_values=True))
    now = time.time() if now is None else now
    method = request.method.upper()
    if not request.body:
        body = None
    elif binary:
        body = base64.b64encode(request.body).decode()
    else:
        body = request.body.decode("utf-8", errors="replace")
    return {
        "resource": resource,
        "path": url.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters or None,
        "stageVariables": stage_variables or None,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "stage": stage,
            "requestId": request_id or str(uuid.uuid4()),
            "resourceId": _resource_id(resource),
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{url.path}",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": request.source_ip, "userAgent": request.header("User-Agent"),
                         "accessKey": None, "accountId": None, "caller": None, "user": None, "userArn": None,
                         "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                         "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None},
            "requestTime": _request_time(int(now)),
            "requestTimeEpoch": int(now * 1000),
            "authorizer": authorizer,
        },
        "body": body,
        "isBase64Encoded": bool(body) and binary,
    }


def authorizer_fields(event: dict) -> dict:
    """The proxy event's fields that a REQUEST authorizer (payload 1.0) receives."""
    return {key: event.get(key) for key in _AUTHORIZER_FIELDS}


_AUTHORIZER_FIELDS = ("resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
                      "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext")


def _forwarded(request: HttpRequest) -> list[tuple[str, str]]:
    """The headers with those API Gateway adds for the function: the client's address after
    any X-Forwarded-For it sent, and the port and scheme it came in on (on AWS 443 and https;
    here the gateway's own)."""
    headers = [(k, v) for k, v in request.headers if k.lower() not in _FORWARDED]
    sent = request.header("X-Forwarded-For")
    headers.append(("X-Forwarded-For", f"{sent}, {request.source_ip}" if sent else request.source_ip))
    if request.local_port is not None:
        headers.append(("X-Forwarded-Port", str(request.local_port)))
    headers.append(("X-Forwarded-Proto", "http"))
    return headers


_FORWARDED = {"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}


@functools.lru_cache(maxsize=1024)
def _resource_id(resource: str) -> str:
    """A stable id per resource, as API Gateway gives each resource of an API its own."""
    return uuid.uuid5(uuid.NAMESPACE_URL, resource).hex[:6]


@functools.lru_cache(maxsize=4)
def _request_time(second: int) -> str:
    return datetime.fromtimestamp(second, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _single_and_multi(pairs):
    """API Gateway's two views of repeated keys: the last value, and all of them; both null
    when there are none."""
    if not pairs:
        return None, None
    single, multi = {}, {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return single, multi
