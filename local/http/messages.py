"""An HTTP request and response as the emulator's applications see them (the gateway, the
Invoke API, the console), apart from the server that reads and writes them."""

import json
from dataclasses import dataclass


@dataclass
class HttpRequest:
    method: str
    target: str  # path and query, as received
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"
    local_port: int | None = None  # the port it came in on (API Gateway's X-Forwarded-Port)

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header's value by case-insensitive name (the last one, if repeated)."""
        lookup = self.__dict__.get("_lookup")
        if lookup is None:
            lookup = self.__dict__["_lookup"] = {key.lower(): value for key, value in self.headers}
        return lookup.get(name.lower(), default)


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def json_response(status: int, body, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json"), *(headers or [])],
                        json.dumps(body).encode())
