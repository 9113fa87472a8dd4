"""CORS from the API's `Cors`: the gateway answers preflight requests itself and adds the
allow-origin headers to responses that lack them."""

from local.app.model import CorsSpec
from local.http.messages import HttpResponse


def preflight(cors: CorsSpec, methods: list[str]) -> HttpResponse:
    allow_methods = cors.allow_methods or ",".join(sorted({*methods, "OPTIONS"} - {"ANY"})) or "OPTIONS"
    headers = [("Access-Control-Allow-Origin", cors.allow_origin), ("Access-Control-Allow-Methods", allow_methods)]
    if cors.allow_headers:
        headers.append(("Access-Control-Allow-Headers", cors.allow_headers))
    if cors.max_age:
        headers.append(("Access-Control-Max-Age", cors.max_age))
    if cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return HttpResponse(200, headers, b"")


def add_response_headers(cors: CorsSpec, response: HttpResponse) -> HttpResponse:
    present = {key.lower() for key, _ in response.headers}
    if "access-control-allow-origin" not in present:
        response.headers.append(("Access-Control-Allow-Origin", cors.allow_origin))
    if cors.allow_credentials and "access-control-allow-credentials" not in present:
        response.headers.append(("Access-Control-Allow-Credentials", "true"))
    return response
