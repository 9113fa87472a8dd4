"""API Gateway emulation: the template's Api routes over HTTP, as REST API proxy events.

Split as converter -> gateway -> thin HTTP server, so tests can call `Gateway.handle`
without a socket. This is the first cut (routing, the proxy event, the proxy response and
API Gateway's error answers); authorizers, throttling and binary media come later.
"""

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .functions import ApiRoute, FunctionSpec
from .runtime import FunctionWorker

MISSING_TOKEN = (403, {"message": "Missing Authentication Token"})
INTERNAL_ERROR = (502, {"message": "Internal server error"})


@dataclass
class HttpRequest:
    method: str
    target: str  # path and query, as received
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class _Route:
    route: ApiRoute
    function: str
    pattern: re.Pattern
    literal_chars: int  # more literal characters = more specific


def _compile(path: str) -> tuple[re.Pattern, int]:
    regex, literal = "", 0
    for segment in path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            regex += f"/(?P<{segment[1:-2]}>.+)"
        elif segment.startswith("{") and segment.endswith("}"):
            regex += f"/(?P<{segment[1:-1]}>[^/]+)"
        elif segment:
            regex += "/" + re.escape(segment)
            literal += len(segment) + 1
    return re.compile((regex or "/") + "$"), literal


class Gateway:
    def __init__(self, functions: dict[str, FunctionSpec], workers: dict[str, FunctionWorker],
                 stage: str, account_id: str, clock=time.time):
        self.workers = workers
        self.stage, self.account_id, self.clock = stage, account_id, clock
        self.routes = []
        for name, spec in functions.items():
            for route in spec.routes:
                pattern, literal = _compile(route.path)
                self.routes.append(_Route(route, name, pattern, literal))
        self.routes.sort(key=lambda r: (-r.literal_chars, r.route.method == "ANY"))

    def handle(self, request: HttpRequest) -> HttpResponse:
        url = urlsplit(request.target)
        match = self._match(request.method.upper(), url.path)
        if match is None:
            return _json(*MISSING_TOKEN)
        route, path_parameters = match
        event = self._event(request, url, route, path_parameters)
        outcome = self.workers[route.function].invoke(event)
        if outcome.error is not None:
            return _json(*INTERNAL_ERROR)
        return _proxy_response(outcome.payload)

    def _match(self, method: str, path: str):
        for candidate in self.routes:
            if candidate.route.method not in (method, "ANY"):
                continue
            found = candidate.pattern.match(path)
            if found:
                return candidate, found.groupdict()
        return None

    def _event(self, request: HttpRequest, url, route: _Route, path_parameters: dict) -> dict:
        headers, multi_headers = _single_and_multi(request.headers)
        query, multi_query = _single_and_multi(parse_qsl(url.query, keep_blank_values=True))
        now = self.clock()
        body = request.body.decode("utf-8") if request.body else None
        return {
            "resource": route.route.path,
            "path": url.path,
            "httpMethod": request.method.upper(),
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": self.account_id,
                "apiId": "local",
                "stage": self.stage,
                "requestId": str(uuid.uuid4()),
                "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, route.route.path).hex[:6],
                "resourcePath": route.route.path,
                "httpMethod": request.method.upper(),
                "path": f"/{self.stage}{url.path}",
                "protocol": "HTTP/1.1",
                "identity": {"sourceIp": request.source_ip, "userAgent": headers.get("User-Agent") if headers else None},
                "requestTime": datetime.fromtimestamp(now, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "requestTimeEpoch": int(now * 1000),
                "authorizer": None,
            },
            "body": body,
            "isBase64Encoded": False,
        }


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


def _proxy_response(payload) -> HttpResponse:
    if not isinstance(payload, dict) or not isinstance(payload.get("statusCode"), int):
        return _json(*INTERNAL_ERROR)
    headers = [(k, str(v)) for k, v in (payload.get("headers") or {}).items()]
    for key, values in (payload.get("multiValueHeaders") or {}).items():
        headers.extend((key, str(v)) for v in values)
    body = payload.get("body") or ""
    if not isinstance(body, str):
        return _json(*INTERNAL_ERROR)
    raw = base64.b64decode(body) if payload.get("isBase64Encoded") else body.encode("utf-8")
    return HttpResponse(payload["statusCode"], headers, raw)


def _json(status: int, body: dict) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json")], json.dumps(body).encode())


class _Handler(BaseHTTPRequestHandler):
    gateway: Gateway  # set on the subclass made by serve()
    protocol_version = "HTTP/1.1"

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.gateway.handle(HttpRequest(self.command, self.path, list(self.headers.items()), body,
                                                   self.client_address[0]))
        self.send_response(response.status)
        for key, value in response.headers:
            if key.lower() not in ("content-length", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve


class GatewayServer:
    """The HTTP front of a Gateway, in a background thread."""

    def __init__(self, gateway: Gateway, port: int, host: str = "127.0.0.1"):
        handler = type("GatewayHandler", (_Handler,), {"gateway": gateway})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="gateway", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
