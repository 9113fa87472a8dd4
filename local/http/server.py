"""A small HTTP/1.1 server on the emulator's event loop, in front of an application object
with `async handle(HttpRequest) -> HttpResponse`; applications are tested without sockets.

httptools (the C parser uvicorn uses) reads requests; one connection answers its requests
in order, pipelined ones included, keep-alive by default, closed after KEEP_ALIVE_TIMEOUT_S
idle. Broken HTTP gets a 4xx and the connection closed, never a traceback: the server goes
on serving everyone else.
"""

import asyncio
import collections
import sys
import traceback
from http import HTTPStatus

import httptools

from local.http.messages import HttpRequest, HttpResponse, json_response
from local.loop_thread import BackgroundLoop

# Bodies and header blocks above these are refused before they are kept in memory; each
# application has its own, lower limits.
MAX_BODY_BYTES = 12 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024


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


# A connection with no request under way is closed after this long without a byte from the
# client (uvicorn's default): an idle client must not hold a connection for ever.
KEEP_ALIVE_TIMEOUT_S = 5.0


class HttpProtocol(asyncio.Protocol):
    """One connection. Requests are answered one at a time, in the order they came, as
    RFC 9112 section 9.3.2 requires of pipelined requests (uvicorn's httptools protocol works
    the same way): while one is answered, the next ones wait in a queue and reading pauses;
    an answer is written only when the client has taken in the previous ones (the
    transport's write buffer below its high-water mark)."""

    def __init__(self, application, connections: set, keep_alive_timeout_s: float = KEEP_ALIVE_TIMEOUT_S):
        self.application = application
        self.connections = connections
        self.keep_alive_timeout_s = keep_alive_timeout_s
        self.parser = httptools.HttpRequestParser(self)
        self.transport = None
        # (request, keep_alive, refusal): parsed, not yet answered. A refusal (broken HTTP) is
        # answered in its turn too, and ends the connection.
        self._pipeline: collections.deque = collections.deque()
        self._answering = False
        self._broken = False
        self._writable = asyncio.Event()
        self._writable.set()
        self._idle_timer: asyncio.TimerHandle | None = None
        self._reset()

    # -- connection ------------------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        self.connections.add(self)
        peer = transport.get_extra_info("peername")
        self.source_ip = peer[0] if peer else "127.0.0.1"
        own = transport.get_extra_info("sockname")
        self.local_port = own[1] if own else None
        self._wait_idle()

    def connection_lost(self, exc):
        self.connections.discard(self)
        self._stop_idle_timer()
        self._pipeline.clear()
        self._writable.set()  # an answer waiting to be written finds the connection closed

    def pause_writing(self):
        self._writable.clear()

    def resume_writing(self):
        self._writable.set()

    def data_received(self, data: bytes):
        self._stop_idle_timer()
        if self._broken:
            return
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
            return
        if not self._answering:
            self._wait_idle()  # part of a request: the rest must come within the timeout too

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
                              b"".join(self.body), self.source_ip, self.local_port)
        self._enqueue((request, self.parser.should_keep_alive(), None))

    # -- answering, in order ---------------------------------------------------------------

    def _enqueue(self, entry) -> None:
        self._pipeline.append(entry)
        if self._answering:
            # Pipelined: it waits for the ones before it, and the socket holds the rest.
            self.transport.pause_reading()
        else:
            self._answering = True
            asyncio.get_running_loop().create_task(self._answer_in_order())

    async def _answer_in_order(self):
        while self._pipeline:
            request, keep_alive, refusal = self._pipeline.popleft()
            response = refusal or await self._respond(request)
            if self.transport.is_closing():
                return
            await self._writable.wait()  # the client has taken in the answers before this one
            if self.transport.is_closing():
                return
            close = refusal is not None or not keep_alive
            self.transport.write(serialize(response, head_only=request is not None and request.method == "HEAD",
                                           close=close))
            if close:
                self.transport.close()
                return
        self._answering = False
        self.transport.resume_reading()
        self._wait_idle()

    async def _respond(self, request: HttpRequest) -> HttpResponse:
        try:
            return await self.application.handle(request)
        except Exception:  # the console gets the traceback, the client a bare 500
            traceback.print_exc(file=sys.stderr)
            return json_response(500, {"message": "Internal server error"})

    def _refuse(self, status: int, message: str):
        """Broken HTTP: nothing after it can be parsed, so reading stops; the answers owed to
        the requests before it go first, then this one, then the connection is closed."""
        self._broken = True
        self.transport.pause_reading()
        self._enqueue((None, False, json_response(status, {"message": message})))

    # -- idle connections -------------------------------------------------------------------

    def _wait_idle(self) -> None:
        if self.keep_alive_timeout_s and not self.transport.is_closing():
            self._idle_timer = asyncio.get_running_loop().call_later(self.keep_alive_timeout_s, self._close_idle)

    def _stop_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _close_idle(self) -> None:
        self._idle_timer = None
        if not self._answering and not self.transport.is_closing():
            self.transport.close()


class HttpServer:
    """Serves one application on the given loop (a BackgroundLoop of its own by default)."""

    def __init__(self, application, port: int, host: str = "127.0.0.1", loop: BackgroundLoop | None = None,
                 keep_alive_timeout_s: float = KEEP_ALIVE_TIMEOUT_S):
        self.application = application
        self.keep_alive_timeout_s = keep_alive_timeout_s
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
                lambda: HttpProtocol(self.application, self._connections, self.keep_alive_timeout_s),
                self.host, self.port, reuse_address=True)

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
