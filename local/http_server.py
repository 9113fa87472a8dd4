"""A small HTTP/1.1 server on the emulator's event loop, in front of an application object
with `async handle(HttpRequest) -> HttpResponse`; applications are tested without sockets.

httptools (the C parser uvicorn uses) reads requests; one connection answers its requests
in order, keep-alive by default. Broken HTTP gets a 4xx and the connection closed, never a
traceback: the server goes on serving everyone else.
"""

import asyncio
import json
import sys
import traceback
from dataclasses import dataclass
from http import HTTPStatus

import httptools

from .event_loop import BackgroundLoop

# Bodies and header blocks above these are refused before they are kept in memory; each
# application has its own, lower limits.
MAX_BODY_BYTES = 12 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024


@dataclass
class HttpRequest:
    method: str
    target: str  # path and query, as received
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"

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


def serialize(response: HttpResponse, head_only: bool = False, close: bool = False) -> bytes:
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    lines += [f"{key}: {value}" for key, value in response.headers
              if key.lower() not in ("content-length", "connection", "transfer-encoding")]
    lines.append(f"Content-Length: {len(response.body)}")
    if close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
    return head if head_only else head + response.body


class _Reject(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


class HttpProtocol(asyncio.Protocol):
    def __init__(self, application, connections: set):
        self.application = application
        self.connections = connections
        self.parser = httptools.HttpRequestParser(self)
        self.transport = None
        self._reset()

    # -- connection ------------------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        self.connections.add(self)
        peer = transport.get_extra_info("peername")
        self.source_ip = peer[0] if peer else "127.0.0.1"

    def connection_lost(self, exc):
        self.connections.discard(self)

    def data_received(self, data: bytes):
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserInvalidMethodError:
            self._refuse(501, "Not Implemented")
        except httptools.HttpParserUpgrade:
            self._refuse(400, "Upgrade is not supported")
        except (httptools.HttpParserError, _Reject) as error:
            # A _Reject raised in a callback reaches us wrapped in the parser's own error.
            reject = error if isinstance(error, _Reject) else (error.__cause__ or error.__context__)
            if isinstance(reject, _Reject):
                self._refuse(reject.status, reject.message)
            else:
                self._refuse(400, "Bad Request")

    # -- httptools callbacks ---------------------------------------------------------------

    def _reset(self):
        self.url = b""
        self.headers: list[tuple[str, str]] = []
        self.header_bytes = 0
        self.body: list[bytes] = []
        self.body_bytes = 0

    def on_message_begin(self):
        self._reset()

    def on_url(self, url: bytes):
        self.url += url
        self.header_bytes += len(url)
        if self.header_bytes > MAX_HEADER_BYTES:
            raise _Reject(414, "URI Too Long")

    def on_header(self, name: bytes, value: bytes):
        self.header_bytes += len(name) + len(value)
        if self.header_bytes > MAX_HEADER_BYTES:
            raise _Reject(431, "Request Header Fields Too Large")
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes):
        self.body_bytes += len(body)
        if self.body_bytes > MAX_BODY_BYTES:
            raise _Reject(413, "Request Entity Too Large")
        self.body.append(body)

    def on_message_complete(self):
        request = HttpRequest(self.parser.get_method().decode("ascii"), self.url.decode("latin-1"), self.headers,
                              b"".join(self.body), self.source_ip)
        keep_alive = self.parser.should_keep_alive()
        # One request at a time per connection: pipelined requests wait in the socket.
        self.transport.pause_reading()
        asyncio.get_running_loop().create_task(self._answer(request, keep_alive))

    async def _answer(self, request: HttpRequest, keep_alive: bool):
        try:
            response = await self.application.handle(request)
        except Exception:  # the console gets the traceback, the client a bare 500
            traceback.print_exc(file=sys.stderr)
            response = json_response(500, {"message": "Internal server error"})
        if self.transport.is_closing():
            return
        self.transport.write(serialize(response, head_only=request.method == "HEAD", close=not keep_alive))
        if keep_alive:
            self.transport.resume_reading()
        else:
            self.transport.close()

    def _refuse(self, status: int, message: str):
        if not self.transport.is_closing():
            self.transport.write(serialize(json_response(status, {"message": message}), close=True))
            self.transport.close()


class HttpServer:
    """Serves one application on the given loop (a BackgroundLoop of its own by default)."""

    def __init__(self, application, port: int, host: str = "127.0.0.1", loop: BackgroundLoop | None = None):
        self.application = application
        self._owns_loop = loop is None
        self.loop = loop or BackgroundLoop(name="http")
        self.host, self.port = host, port
        self._server = None
        self._connections: set[HttpProtocol] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        async def listen():
            return await asyncio.get_running_loop().create_server(
                lambda: HttpProtocol(self.application, self._connections), self.host, self.port, reuse_address=True)

        self._server = self.loop.run(listen())
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close():
            self._server.close()
            for connection in list(self._connections):
                connection.transport.close()
            await self._server.wait_closed()

        if self._server is not None:
            self.loop.run(close())
            self._server = None
        if self._owns_loop:
            self.loop.stop()
