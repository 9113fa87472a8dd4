"""API Gateway (REST API, Lambda proxy integration) in front of the function runtime.

converter (apigw_event) -> gateway (this module) -> thin HTTP server (http_server); the
test client (gateway_client) drives `Gateway.handle` without a socket. One request:
limits -> route -> CORS preflight -> throttle -> authorizer -> proxy event -> function ->
proxy response, with API Gateway's own answers wherever it would give one.
"""

import asyncio
import base64
import re
import sys
import threading
import time
import traceback
import uuid
from fnmatch import fnmatch
from urllib.parse import unquote, urlsplit

from local.app.model import ApiSpec, AppModel
from local.gateway import cors
from local.gateway.answers import (
    BAD_REQUEST,
    HEADERS_TOO_LARGE,
    INTERNAL_ERROR,
    LAMBDA_THROTTLED,
    MAX_BODY_BYTES,
    MISSING_TOKEN,
    THROTTLED,
    TIMED_OUT,
    TOO_LARGE,
    Answer,
    render,
)
from local.gateway.authorizers import Authorizers, method_arn
from local.gateway.proxy_event import proxy_event
from local.gateway.routes import Route, RouteTable
from local.gateway.throttle import Throttle
from local.http.messages import HttpRequest, HttpResponse
from local.runtime.pool import Throttled
from local.runtime.runtime import Runtime

MAX_HEADER_BYTES = 10 * 1024
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class AccessLog:
    """One line per request: client, method, path, status, latency, function, request id."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()

    def write(self, request: HttpRequest, status: int, seconds: float, function: str | None, request_id: str):
        line = (f'{request.source_ip} "{request.method} {request.target}" {status} {seconds * 1000:.2f}ms '
                f"{function or '-'} {request_id}\n")
        with self._lock:
            self.stream.write(line)
            self.stream.flush()


class _Api:
    """What the gateway keeps per API: its throttle and its authorizers (with their cache)."""

    def __init__(self, spec: ApiSpec, runtime: Runtime, clock):
        self.spec = spec
        self.throttle = Throttle(spec, clock)
        self.authorizers = Authorizers(spec, runtime, clock)


class Gateway:
    def __init__(self, model: AppModel, runtime: Runtime, account_id: str, region: str = "us-east-1",
                 clock=time.monotonic, wall_clock=time.time, access_log: AccessLog | None = None, console=None):
        self.model, self.runtime = model, runtime
        self.account_id, self.region = account_id, region
        self.wall_clock = wall_clock
        self.routes = RouteTable(model)
        self.apis = {lid: _Api(spec, runtime, clock) for lid, spec in model.apis.items()}
        self.access_log = access_log or AccessLog()
        self.console = console  # the emulator's own pages under /_local/, not part of the API

    async def handle(self, request: HttpRequest) -> HttpResponse:
        began = time.perf_counter()
        request_id = str(uuid.uuid4())
        route = None
        try:
            route, response = await self._handle(request, request_id)
        except Exception:  # never a traceback to the client; the console gets it
            traceback.print_exc()
            route, response = None, INTERNAL_ERROR
        if isinstance(response, Answer):
            response = render(response, self._api_of(route), request, request_id)
        response.headers.append(("x-amzn-RequestId", request_id))
        self.access_log.write(request, response.status, time.perf_counter() - began,
                              route.function if route else None, request_id)
        return response

    def _api_of(self, route: Route | None) -> ApiSpec | None:
        """The API whose GatewayResponses shape an answer: the route's, or the only one."""
        if route is not None:
            api = self.apis.get(route.event.api)
            return api.spec if api else None
        return next(iter(self.apis.values())).spec if len(self.apis) == 1 else None

    async def _handle(self, request: HttpRequest, request_id: str) -> tuple[Route | None, HttpResponse | Answer]:
        if len(request.body) > MAX_BODY_BYTES:
            return None, TOO_LARGE
        if sum(len(k) + len(v) for k, v in request.headers) > MAX_HEADER_BYTES:
            return None, HEADERS_TOO_LARGE
        raw_path = urlsplit(request.target).path
        if _BAD_ESCAPE.search(raw_path):
            return None, BAD_REQUEST
        if self.console is not None and self.console.handles(raw_path):
            return None, await self.console.handle(request)
        method = request.method.upper()

        match = self.routes.match(method, raw_path)
        if match is None:
            preflight = self._preflight(method, raw_path)
            return None, preflight or MISSING_TOKEN
        route, path_parameters = match
        api = self.apis.get(route.event.api)
        spec = api.spec if api else ApiSpec(logical_id=route.event.api, name=route.event.api, stage="Prod")
        path_parameters = {k: unquote(v) for k, v in path_parameters.items()}

        if api and not api.throttle.allow(route.event.path, method):
            return route, THROTTLED

        def event(authorizer_context=None) -> dict:
            return proxy_event(request, route.event.path, path_parameters, stage=spec.stage,
                               api_id=route.event.api_id, account_id=self.account_id,
                               binary=_is_binary(spec, request.header("Content-Type")), now=self.wall_clock(),
                               request_id=request_id, authorizer=authorizer_context, stage_variables=spec.variables)

        authorizer_context = None
        authorizer = api.authorizers.for_route(route.event) if api else None
        if authorizer is not None:
            arn = method_arn(self.region, self.account_id, route.event.api_id, spec.stage, method, raw_path)
            verdict = await api.authorizers.check(authorizer, request, arn, lambda: _request_fields(event()))
            if verdict.denied is not None:
                return route, self._with_cors(spec, render(verdict.denied, spec, request, request_id))
            authorizer_context = verdict.context

        try:
            outcome = await self._invoke(route, event(authorizer_context))
        except Throttled:
            return route, LAMBDA_THROTTLED
        if outcome is None:
            return route, TIMED_OUT
        if outcome.failed:
            return route, INTERNAL_ERROR
        response = _proxy_response(outcome.payload, spec, request)
        if isinstance(response, Answer):
            response = render(response, spec, request, request_id)
        return route, self._with_cors(spec, response)

    async def _invoke(self, route: Route, event: dict):
        """The function's outcome, or None past the integration timeout, when the function runs
        on to its own timeout, as on AWS. The integration's clock starts when an instance takes
        the call: waiting for one under the local ceiling is this machine's doing, not the
        function's. Raises Throttled at the function's reserved concurrency."""
        limit_s = route.event.timeout_ms / 1000
        if self.runtime.spec(route.function).timeout <= limit_s:  # its own timeout comes first: no timer
            return await self.runtime.invoke_async(route.function, event, throttle=True)
        started = asyncio.Event()
        call = asyncio.ensure_future(self.runtime.invoke_async(route.function, event, on_start=started.set,
                                                               throttle=True))
        waiting = asyncio.ensure_future(started.wait())
        try:
            await asyncio.wait({call, waiting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
        if call.done():
            return call.result()
        try:
            return await asyncio.wait_for(asyncio.shield(call), limit_s)
        except asyncio.TimeoutError:
            return None

    def _preflight(self, method: str, path: str) -> HttpResponse | None:
        if method != "OPTIONS":
            return None
        methods = self.routes.methods_at(path)
        spec = next((api.spec for api in self.apis.values() if api.spec.cors), None)
        if not methods or spec is None:
            return None
        return cors.preflight(spec.cors, methods)

    @staticmethod
    def _with_cors(spec: ApiSpec, response: HttpResponse) -> HttpResponse:
        return cors.add_response_headers(spec.cors, response) if spec.cors else response


def _request_fields(event: dict) -> dict:
    """The proxy event's fields that a REQUEST authorizer receives."""
    keys = ("resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
            "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext")
    return {key: event[key] for key in keys}


def _is_binary(spec: ApiSpec, content_type: str | None) -> bool:
    if not content_type or not spec.binary_media_types:
        return False
    # A Content-Type, or an Accept list, of which API Gateway looks at the first type.
    media_type = content_type.split(",")[0].split(";")[0].strip().lower()
    return any(fnmatch(media_type, pattern.lower()) for pattern in spec.binary_media_types)


def _proxy_response(payload, spec: ApiSpec, request: HttpRequest) -> HttpResponse | Answer:
    if not isinstance(payload, dict) or not isinstance(payload.get("statusCode"), int):
        return INTERNAL_ERROR
    headers = [(k, str(v)) for k, v in (payload.get("headers") or {}).items()]
    for key, values in (payload.get("multiValueHeaders") or {}).items():
        headers.extend((key, str(v)) for v in values)
    body = payload.get("body") or ""
    if not isinstance(body, str):
        return INTERNAL_ERROR
    if payload.get("isBase64Encoded"):
        # API Gateway turns base64 back into bytes only for a binary media type (the
        # response's Content-Type or the client's Accept); otherwise the client gets the text.
        content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
        if _is_binary(spec, content_type) or _is_binary(spec, request.header("Accept")):
            try:
                return HttpResponse(payload["statusCode"], headers, base64.b64decode(body, validate=True))
            except ValueError:
                return INTERNAL_ERROR
    return HttpResponse(payload["statusCode"], headers, body.encode("utf-8"))
