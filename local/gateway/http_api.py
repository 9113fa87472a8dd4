"""An HTTP API serving one matched request: CORS preflight -> throttle -> authorizer (JWT or
Lambda) -> event in the route's payload format (2.0 unless it says 1.0) -> function ->
response, with an HTTP API's own answers (500, 503, 429, ...) wherever it gives one.

A named stage keeps its name in rawPath (/dev/items), as on AWS, though the route is served at
its plain path here, as SAM CLI serves it. domainName is the host the client called, as on
AWS, where that is the API's domain."""

from local.app.model import DEFAULT_ROUTE, ApiSpec
from local.gateway import http_cors
from local.gateway.answers import HTTP_INTERNAL_ERROR, HTTP_THROTTLED, HTTP_TIMED_OUT, Answer
from local.gateway.http_authorizers import HttpAuthorizers, route_arn
from local.gateway.http_event import http_event
from local.gateway.http_response import http_response
from local.gateway.invocation import GatewayContext, invoke_within
from local.gateway.proxy_event import proxy_event
from local.gateway.proxy_response import proxy_response
from local.gateway.routes import Route
from local.gateway.throttle import Throttle
from local.http.messages import HttpRequest, HttpResponse, json_response
from local.runtime.pool import Throttled


class HttpApi:
    def __init__(self, spec: ApiSpec, context: GatewayContext):
        self.spec, self.context = spec, context
        self.throttle = Throttle(spec, context.clock)
        self.authorizers = HttpAuthorizers(spec, context)

    @property
    def gateway_responses(self) -> None:
        return None  # HTTP APIs have none: their answers are given as they are

    async def serve(self, request: HttpRequest, route: Route, path_parameters: dict[str, str], raw_path: str,
                    request_id: str) -> HttpResponse:
        cors = self.spec.http_cors
        if cors is not None and http_cors.is_preflight(request):
            return http_cors.preflight(cors, request)
        response = await self._serve(request, route, path_parameters, raw_path, request_id)
        # The CORS headers go on every answer, the API's own refusals too, so a browser can read them.
        return http_cors.add_response_headers(cors, request, response) if cors else response

    async def _serve(self, request: HttpRequest, route: Route, path_parameters: dict[str, str], raw_path: str,
                     request_id: str) -> HttpResponse:
        spec, context, method = self.spec, self.context, request.method.upper()
        if not self.throttle.allow(route.event.path, route.event.method):
            return answer(HTTP_THROTTLED)
        stage_path = raw_path if spec.stage == DEFAULT_ROUTE else f"/{spec.stage}{raw_path}"

        def event(version: str, authorizer_context=None) -> dict:
            if version == "1.0":
                built = proxy_event(request, route.event.route_key if route.event.path == DEFAULT_ROUTE
                                    else route.event.path, path_parameters, stage=spec.stage,
                                    api_id=route.event.api_id, account_id=context.account_id,
                                    now=context.wall_clock(), request_id=request_id,
                                    authorizer=authorizer_context, stage_variables=spec.variables)
                built["requestContext"]["path"] = stage_path  # no /$default prefix: the stage is in the domain
                return {"version": "1.0", **built}
            return http_event(request, route.event.route_key, path_parameters, stage=spec.stage,
                              api_id=route.event.api_id, account_id=context.account_id,
                              domain_name=request.header("Host") or "localhost", now=context.wall_clock(),
                              request_id=request_id, authorizer=authorizer_context,
                              stage_variables=spec.variables, raw_path=stage_path)

        authorizer_context = None
        authorizer = self.authorizers.for_route(route.event)
        if authorizer is not None:
            arn = route_arn(context.region, context.account_id, route.event.api_id, spec.stage, route.event,
                            method, raw_path)
            verdict = await self.authorizers.check(authorizer, request, route.event, arn, event)
            if verdict.denied is not None:
                denied = answer(verdict.denied)
                denied.headers += verdict.headers or []
                return denied
            authorizer_context = verdict.context

        try:
            outcome = await invoke_within(context.runtime, route.function,
                                          event(route.event.payload_version, authorizer_context),
                                          route.event.timeout_ms)
        except Throttled:
            return answer(HTTP_INTERNAL_ERROR)
        if outcome is None:
            return answer(HTTP_TIMED_OUT)
        if outcome.failed:
            return answer(HTTP_INTERNAL_ERROR)
        if route.event.payload_version == "1.0":
            response = proxy_response(outcome.payload, lambda headers: True)  # HTTP APIs decode any base64 body
        else:
            response = http_response(outcome.payload)
        return response if response is not None else answer(HTTP_INTERNAL_ERROR)


def answer(kind: Answer) -> HttpResponse:
    return json_response(kind.status, kind.body)
