"""An HTTP request and response as the emulator's applications see them (the gateway, the
Invoke API, the console), apart from the server that reads and writes them."""

import json
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit


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

    def query_value(self, name: str) -> str | None:
        """A query string parameter's value (the last one, if repeated), as identity sources read it."""
        query = self.__dict__.get("_query")
        if query is None:
            query = self.__dict__["_query"] = parse_qs(urlsplit(self.target).query, keep_blank_values=True)
        values = query.get(name)
        return values[-1] if values else None


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def json_response(status: int, body, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json"), *(headers or [])],
                        json.dumps(body).encode())
