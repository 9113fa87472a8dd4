"""A REST API (Lambda proxy integration, payload format 1.0) serving one matched request:
throttle -> authorizer (Lambda or Cognito) -> proxy event -> function -> proxy response, with
API Gateway's own answers wherever it would give one, shaped by the API's GatewayResponses."""

from local.app.model import ApiSpec
from local.gateway import cors
from local.gateway.answers import INTERNAL_ERROR, LAMBDA_THROTTLED, THROTTLED, TIMED_OUT, Answer, render
from local.gateway.authorizers import Authorizers, method_arn
from local.gateway.invocation import GatewayContext, invoke_within
from local.gateway.proxy_event import authorizer_fields, proxy_event
from local.gateway.proxy_response import is_binary, proxy_response
from local.gateway.routes import Route
from local.gateway.throttle import Throttle
from local.http.messages import HttpRequest, HttpResponse
from local.runtime.pool import Throttled


class RestApi:
    def __init__(self, spec: ApiSpec, context: GatewayContext):
        self.spec, self.context = spec, context
        self.throttle = Throttle(spec, context.clock)
        self.authorizers = Authorizers(spec, context.runtime, context.clock, context.tokens)

    @property
    def gateway_responses(self) -> ApiSpec:
        return self.spec

    async def serve(self, request: HttpRequest, route: Route, path_parameters: dict[str, str], raw_path: str,
                    request_id: str) -> HttpResponse | Answer:
        spec, context, method = self.spec, self.context, request.method.upper()
        if not self.throttle.allow(route.event.path, method):
            return THROTTLED

        def event(authorizer_context=None) -> dict:
            return proxy_event(request, route.event.path, path_parameters, stage=spec.stage,
                               api_id=route.event.api_id, account_id=context.account_id,
                               binary=is_binary(spec.binary_media_types, request.header("Content-Type")),
                               now=context.wall_clock(), request_id=request_id, authorizer=authorizer_context,
                               stage_variables=spec.variables)

        authorizer_context = None
        authorizer = self.authorizers.for_route(route.event)
        if authorizer is not None:
            arn = method_arn(context.region, context.account_id, route.event.api_id, spec.stage, method, raw_path)
            verdict = await self.authorizers.check(authorizer, request, arn, lambda: authorizer_fields(event()),
                                                   route.event)
            if verdict.denied is not None:
                return self.with_cors(render(verdict.denied, spec, request, request_id))
            authorizer_context = verdict.context

        try:
            outcome = await invoke_within(context.runtime, route.function, event(authorizer_context),
                                          route.event.timeout_ms)
        except Throttled:
            return LAMBDA_THROTTLED
        if outcome is None:
            return TIMED_OUT
        if outcome.failed:
            return INTERNAL_ERROR
        response = proxy_response(outcome.payload, lambda headers: self._decodes(headers, request))
        if response is None:
            return INTERNAL_ERROR
        return self.with_cors(response)

    def _decodes(self, headers: list[tuple[str, str]], request: HttpRequest) -> bool:
        # API Gateway turns base64 back into bytes only for a binary media type (the
        # response's Content-Type or the client's Accept).
        content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
        types = self.spec.binary_media_types
        return is_binary(types, content_type) or is_binary(types, request.header("Accept"))

    def with_cors(self, response: HttpResponse) -> HttpResponse:
        return cors.add_response_headers(self.spec.cors, response) if self.spec.cors else response

