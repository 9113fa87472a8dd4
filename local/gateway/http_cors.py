"""CORS as HTTP APIs and function URLs do it (their CorsConfiguration / Cors): the service
answers every preflight itself, before routes and authorizers, and adds the CORS headers to
the function's answer, replacing any the function set. An origin not allowed gets no CORS
headers at all (the browser then refuses the answer)."""

from local.app.model import HttpCorsSpec
from local.http.messages import HttpRequest, HttpResponse


def is_preflight(request: HttpRequest) -> bool:
    return (request.method.upper() == "OPTIONS" and request.header("Origin") is not None
            and request.header("Access-Control-Request-Method") is not None)


def preflight(cors: HttpCorsSpec, request: HttpRequest) -> HttpResponse:
    headers = _origin_headers(cors, request.header("Origin"))
    if headers:
        methods = cors.allow_methods
        if methods:
            headers.append(("Access-Control-Allow-Methods", ",".join(methods)))
        allowed = cors.allow_headers
        if allowed:
            # A `*` list answers with what the browser asked for when credentials are allowed,
            # since browsers do not read `*` literally then.
            asked = request.header("Access-Control-Request-Headers")
            value = asked if allowed == ["*"] and asked and cors.allow_credentials else ",".join(allowed)
            headers.append(("Access-Control-Allow-Headers", value))
        if cors.max_age is not None:
            headers.append(("Access-Control-Max-Age", str(cors.max_age)))
    return HttpResponse(204, headers, b"")


def add_response_headers(cors: HttpCorsSpec, request: HttpRequest, response: HttpResponse) -> HttpResponse:
    headers = _origin_headers(cors, request.header("Origin"))
    if not headers:
        return response
    if cors.expose_headers:
        headers.append(("Access-Control-Expose-Headers", ",".join(cors.expose_headers)))
    replaced = {name.lower() for name, _ in headers}
    response.headers = [(k, v) for k, v in response.headers if k.lower() not in replaced] + headers
    return response


def _origin_headers(cors: HttpCorsSpec, origin: str | None) -> list[tuple[str, str]]:
    if origin is None:
        return []
    origins = [o.rstrip("/") for o in cors.allow_origins]
    if "*" in origins:
        value = origin if cors.allow_credentials else "*"
    elif origin.rstrip("/") in origins:
        value = origin
    else:
        return []
    headers = [("Access-Control-Allow-Origin", value)]
    if cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    if value != "*":
        headers.append(("Vary", "Origin"))
    return headers
