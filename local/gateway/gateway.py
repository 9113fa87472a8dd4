"""API Gateway in front of the function runtime: REST and HTTP APIs side by side on one port,
at their plain paths, as SAM CLI serves them.

http/server -> gateway (this module) -> rest_api / http_api -> runtime; the test client
(client.py) drives `Gateway.handle` without a socket. One request: limits -> the emulator's
console -> route (every API's routes in one table) -> the route's API, which does the rest.
"""

import re
import sys
import threading
import time
import traceback
import uuid
from urllib.parse import unquote, urlsplit

from local.app.model import HTTP, ApiSpec, AppModel
from local.auth.jwks import KeySource
from local.auth.jwt_check import JwtChecker
from local.gateway import cors, http_cors
from local.gateway.answers import (
    BAD_REQUEST,
    HEADERS_TOO_LARGE,
    HTTP_NOT_FOUND,
    INTERNAL_ERROR,
    MAX_BODY_BYTES,
    MISSING_TOKEN,
    TOO_LARGE,
    Answer,
    render,
)
from local.gateway.http_api import HttpApi
from local.gateway.invocation import GatewayContext
from local.gateway.rest_api import RestApi
from local.gateway.routes import Route, RouteTable
from local.http.messages import HttpRequest, HttpResponse
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


class Gateway:
    def __init__(self, model: AppModel, runtime: Runtime, account_id: str, region: str = "us-east-1",
                 clock=time.monotonic, wall_clock=time.time, access_log: AccessLog | None = None, console=None,
                 keys: KeySource | None = None):
        """`keys` finds the public keys of JWT and Cognito authorizers' issuers (by default
        with no development issuer trusted)."""
        self.model, self.runtime = model, runtime
        self.account_id, self.region = account_id, region
        self.context = GatewayContext(runtime, account_id, region, clock, wall_clock,
                                      JwtChecker(keys or KeySource(), clock=wall_clock))
        self.routes = RouteTable(model)
        self.apis = {lid: (HttpApi if spec.kind == HTTP else RestApi)(spec, self.context)
                     for lid, spec in model.apis.items()}
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
            response = render(response, self._responses_of(route), request, request_id)
        response.headers.append(("x-amzn-RequestId", request_id))
        self.access_log.write(request, response.status, time.perf_counter() - began,
                              route.function if route else None, request_id)
        return response

    def _responses_of(self, route: Route | None) -> ApiSpec | None:
        """The API whose GatewayResponses shape an answer: the route's, or the only one."""
        if route is not None:
            api = self.apis.get(route.event.api)
            return api.gateway_responses if api else None
        return next(iter(self.apis.values())).gateway_responses if len(self.apis) == 1 else None

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
        if http_cors.is_preflight(request):  # an HTTP API answers its paths' preflights before any route
            api = next((self.apis[lid] for lid in self.routes.apis_at(raw_path)
                        if lid in self.apis and self.apis[lid].spec.http_cors), None)
            if api is not None:
                return None, http_cors.preflight(api.spec.http_cors, request)

        match = self.routes.match(method, raw_path)
        if match is None:
            return None, self._unrouted(request, method, raw_path)
        route, path_parameters = match
        api = self.apis.get(route.event.api)
        if api is None:  # an event naming an API the template does not declare: served as SAM CLI does
            api = RestApi(ApiSpec(logical_id=route.event.api, name=route.event.api, stage="Prod"), self.context)
            self.apis[route.event.api] = api
        path_parameters = {k: unquote(v) for k, v in path_parameters.items()}
        return route, await api.serve(request, route, path_parameters, raw_path, request_id)

    def _unrouted(self, request: HttpRequest, method: str, path: str) -> HttpResponse | Answer:
        """No route: a CORS preflight the API answers itself, or its not-found answer (a REST
        API's 403 Missing Authentication Token, an HTTP API's 404)."""
        if method == "OPTIONS":
            http = next((api.spec for api in self.apis.values() if api.spec.http_cors), None)
            if http is not None and http_cors.is_preflight(request):
                return http_cors.preflight(http.http_cors, request)
            methods = self.routes.methods_at(path)
            rest = next((api.spec for api in self.apis.values() if api.spec.cors), None)
            if methods and rest is not None:
                return cors.preflight(rest.cors, methods)
        if self.apis and all(api.spec.kind == HTTP for api in self.apis.values()):
            return HTTP_NOT_FOUND
        return MISSING_TOKEN
