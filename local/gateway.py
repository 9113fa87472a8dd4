"""API Gateway emulation: the template's Api events over HTTP, as REST API proxy events.

converter (apigw_event) -> gateway (this module) -> thin HTTP server (http_server), so tests
call `Gateway.handle` without a socket. This cut does routing, the proxy event and response,
and API Gateway's error answers; authorizers, throttling and binary media come later.
"""

import base64
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .apigw_event import proxy_event
from .http_server import HttpRequest, HttpResponse, json_response
from .model import ApiEvent, AppModel
from .runtime import Runtime

MISSING_TOKEN = (403, {"message": "Missing Authentication Token"})
INTERNAL_ERROR = (502, {"message": "Internal server error"})


@dataclass
class _Route:
    event: ApiEvent
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


class RouteTable:
    """The template's Api events; the most specific route wins, an exact method before ANY."""

    def __init__(self, model: AppModel):
        self.routes = []
        for name, spec in model.functions.items():
            for event in spec.api_events:
                pattern, literal = _compile(event.path)
                self.routes.append(_Route(event, name, pattern, literal))
        self.routes.sort(key=lambda r: (-r.literal_chars, r.event.method == "ANY"))

    def match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        for candidate in self.routes:
            if candidate.event.method not in (method, "ANY"):
                continue
            found = candidate.pattern.match(path)
            if found:
                return candidate, found.groupdict()
        return None


class Gateway:
    def __init__(self, model: AppModel, runtime: Runtime, account_id: str, clock=None):
        self.model, self.runtime, self.account_id, self.clock = model, runtime, account_id, clock
        self.routes = RouteTable(model)

    def handle(self, request: HttpRequest) -> HttpResponse:
        path = urlsplit(request.target).path
        match = self.routes.match(request.method.upper(), path)
        if match is None:
            return json_response(*MISSING_TOKEN)
        route, path_parameters = match
        api = self.model.apis.get(route.event.api)
        event = proxy_event(request, route.event.path, path_parameters, stage=api.stage if api else "Prod",
                            api_id=route.event.api.lower(), account_id=self.account_id,
                            now=self.clock() if self.clock else None)
        outcome = self.runtime.invoke(route.function, event)
        if outcome.failed:
            return json_response(*INTERNAL_ERROR)
        return _proxy_response(outcome.payload)


def _proxy_response(payload) -> HttpResponse:
    if not isinstance(payload, dict) or not isinstance(payload.get("statusCode"), int):
        return json_response(*INTERNAL_ERROR)
    headers = [(k, str(v)) for k, v in (payload.get("headers") or {}).items()]
    for key, values in (payload.get("multiValueHeaders") or {}).items():
        headers.extend((key, str(v)) for v in values)
    body = payload.get("body") or ""
    if not isinstance(body, str):
        return json_response(*INTERNAL_ERROR)
    raw = base64.b64decode(body) if payload.get("isBase64Encoded") else body.encode("utf-8")
    return HttpResponse(payload["statusCode"], headers, raw)
