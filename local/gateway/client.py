"""Drive a Gateway as a client would, without a socket (as Chalice's test client does)."""

import json
from dataclasses import dataclass

from local.gateway.gateway import Gateway
from local.http.messages import HttpRequest


@dataclass
class ClientResponse:
    status: int
    headers: dict[str, str]  # names lower-cased; the last value wins
    header_list: list[tuple[str, str]]
    body: bytes

    def json(self):
        return json.loads(self.body)


class GatewayClient:
    def __init__(self, gateway: Gateway, source_ip: str = "127.0.0.1", default_headers: dict[str, str] | None = None):
        self.gateway = gateway
        self.source_ip = source_ip
        self.default_headers = default_headers or {}  # sent unless a request names the same header

    def request(self, method: str, target: str, *, headers: dict[str, str] | list[tuple[str, str]] | None = None,
                body: bytes | str | None = None, json_body=None) -> ClientResponse:
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        named = {key.lower() for key, _ in pairs}
        pairs += [(k, v) for k, v in self.default_headers.items() if k.lower() not in named]
        if json_body is not None:
            body = json.dumps(json_body)
            pairs.append(("Content-Type", "application/json"))
        raw = body.encode() if isinstance(body, str) else (body or b"")
        request = HttpRequest(method, target, [("Host", "localhost"), *pairs], raw, self.source_ip)
        response = self.gateway.runtime.loop.run(self.gateway.handle(request))
        return ClientResponse(response.status, {k.lower(): v for k, v in response.headers}, response.headers,
                              response.body)

    def get(self, target: str, **kwargs) -> ClientResponse:
        return self.request("GET", target, **kwargs)

    def post(self, target: str, **kwargs) -> ClientResponse:
        return self.request("POST", target, **kwargs)

    def put(self, target: str, **kwargs) -> ClientResponse:
        return self.request("PUT", target, **kwargs)

    def delete(self, target: str, **kwargs) -> ClientResponse:
        return self.request("DELETE", target, **kwargs)

    def options(self, target: str, **kwargs) -> ClientResponse:
        return self.request("OPTIONS", target, **kwargs)
