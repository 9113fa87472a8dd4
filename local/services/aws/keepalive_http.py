"""A threaded HTTP/1.1 server that keeps connections open, for the local AWS endpoint.

Why not werkzeug's server, which moto ships with: it closes the connection after every
response, so every boto3 call paid for a new TCP connection and a new server thread, on
both sides of the socket, and a busy event pipeline spent more on that than on SNS and
SQS. Why not cheroot or waitress: measured side by side with a boto3 client, they cost the
server nearly twice as much CPU a request as this one (docs/ARCHITECTURE.md). The job here is
narrow (loopback, AWS SDK clients): the standard library's threaded server, with a plain
header parser of its own, is enough.

A `Responder` takes (method, target, headers, body) and gives (status, headers, body).
`wsgi_responder` turns a WSGI application (moto's) into one.
"""

import email.utils
import io
import select
import socket
import sys
import threading
import urllib.parse
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Response = tuple[int, list[tuple[str, str]], bytes]
Responder = Callable[[str, str, "Headers", bytes], Response]

IDLE_CONNECTION_S = 600  # a client that went away without closing does not hold a thread forever
MAX_LINE = 65536
MAX_HEADERS = 100
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class MalformedRequest(Exception):
    pass


class ClientGone(BaseException):
    """Raised by a responder that found its client gone mid-request: nothing is answered.
    A BaseException, like GeneratorExit: no handler in between (moto's, Flask's, the fast
    path's fallback) may take it for an error of its own and answer it."""


_serving = threading.local()  # the connection of the request this thread is answering


def client_gone() -> bool:
    """Whether the client of the request this thread is answering has closed its connection
    (for a long poll: a message must not be taken for a client that can no longer get it)."""
    connection = getattr(_serving, "connection", None)
    if connection is None:
        return False
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        # Readable with nothing to read is the end of the stream; a pipelined request is data.
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def read_body(rfile, headers) -> bytes:
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        return _read_chunked(rfile)
    length = headers.get("Content-Length")
    if not length:
        return b""
    if not length.isdigit():
        raise MalformedRequest(f"bad Content-Length {length!r}")
    return rfile.read(int(length))


def _read_chunked(rfile) -> bytes:
    body = bytearray()
    while True:
        size_line = rfile.readline(MAX_LINE + 1).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise MalformedRequest(f"bad chunk size {size_line!r}") from None
        if size == 0:
            while rfile.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):  # trailers, then the blank line
                pass
            return bytes(body)
        body += rfile.read(size)
        rfile.readline(3)  # the CRLF after each chunk


class Headers:
    """Request headers: names matched without regard to case, repeats kept in order."""

    def __init__(self):
        self._items: list[tuple[str, str]] = []
        self._first: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        self._items.append((name, value))
        self._first.setdefault(name.lower(), value)

    def get(self, name: str, default=None):
        return self._first.get(name.lower(), default)

    def __getitem__(self, name: str):
        return self._first.get(name.lower())

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._first

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def keys(self) -> list[str]:
        return [name for name, _ in self._items]



class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client asks to close
    timeout = IDLE_CONNECTION_S
    responder: Responder
    server_version = "local-aws"

    def setup(self) -> None:
        super().setup()
        # Each response goes out in one write; without this, Nagle's algorithm and the
        # client's delayed ACK hold small responses back by 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        """The standard library's, with a plain header parser: its own goes through the
        email package, a tenth of the server's time per request."""
        try:
            self._read_request()
        except TimeoutError:  # idle past IDLE_CONNECTION_S
            self.close_connection = True
        except MalformedRequest as error:
            self.close_connection = True
            self.command = self.command or "GET"
            self._write(400, [("Content-Type", "text/plain")], str(error).encode())

    def _read_request(self) -> None:
        self.command = ""
        line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            self.close_connection = True
            return
        if len(line) > MAX_LINE:
            raise MalformedRequest("request line too long")
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1"):
            raise MalformedRequest(f"bad request line {line[:100]!r}")
        self.command, self.path, self.request_version = parts
        headers = Headers()
        for _ in range(MAX_HEADERS + 1):
            line = self.rfile.readline(MAX_LINE + 1)
            if line in (b"\r\n", b"\n", b""):
                break
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or len(line) > MAX_LINE:
                raise MalformedRequest(f"bad header line {line[:100]!r}")
            headers.add(name.strip(), value.strip())
        else:
            raise MalformedRequest(f"more than {MAX_HEADERS} headers")
        self.headers = headers
        connection = headers.get("Connection", "").lower()
        self.close_connection = connection == "close" or (self.request_version == "HTTP/1.0"
                                                          and connection != "keep-alive")
        if headers.get("Expect", "").lower() == "100-continue":  # boto3 asks this before large S3 bodies
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._serve()

    def _serve(self) -> None:
        try:
            body = read_body(self.rfile, self.headers)
        except MalformedRequest as error:
            self.close_connection = True
            self._write(400, [("Content-Type", "text/plain")], str(error).encode())
            return
        _serving.connection = self.connection
        try:
            status, headers, payload = self.responder(self.command, self.path, self.headers, body)
        except ClientGone:
            self.close_connection = True
            return
        except Exception as error:  # a fault in one request answers 500; the server goes on
            print(f"local AWS endpoint: {self.command} {self.path} failed: {error!r}", file=sys.stderr)
            status, headers, payload = 500, [("Content-Type", "text/plain")], b"internal error"
        finally:
            _serving.connection = None
        self._write(status, headers, payload)

    def _write(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        lines = [f"HTTP/1.1 {status} {_reason(status)}", f"Date: {email.utils.formatdate(usegmt=True)}"]
        length = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == "content-length":
                length = value  # kept for HEAD, whose body is not sent
            elif lowered not in _HOP_BY_HOP:
                lines.append(f"{name}: {value}")
        if self.command == "HEAD":
            lines.append(f"Content-Length: {length if length is not None else len(payload)}")
            payload = b""
        else:
            lines.append(f"Content-Length: {len(payload)}")
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)

    def log_message(self, format, *args) -> None:  # one line per request would drown the log
        pass


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class KeepAliveServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], responder: Responder):
        handler = type("Handler", (_Handler,), {"responder": staticmethod(responder)})
        super().__init__(address, handler)

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away mid-answer: nothing to report
        super().handle_error(request, client_address)


def serve_in_thread(server: KeepAliveServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="keepalive-http", daemon=True)
    thread.start()
    return thread


def wsgi_responder(app, server_name: str, server_port: int, extra_environ=None) -> Responder:
    """Call a WSGI application for each request, with the environ a WSGI server gives:
    the path percent-decoded (latin-1, as PEP 3333 says), the raw target in RAW_URI,
    and each header as HTTP_*. `extra_environ(headers)` adds what the application needs
    beyond that."""

    def respond(method: str, target: str, headers, body: bytes) -> Response:
        path, _, query = target.partition("?")
        environ = {
            "REQUEST_METHOD": method, "SCRIPT_NAME": "",
            "PATH_INFO": urllib.parse.unquote(path, encoding="latin-1"), "QUERY_STRING": query,
            "RAW_URI": target, "REQUEST_URI": target,
            "SERVER_NAME": server_name, "SERVER_PORT": str(server_port), "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in headers.items():
            if "_" in name:
                continue  # as WSGI servers do: X_Foo could pass for X-Foo (extra_environ may add them)
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ[key] = value
            elif key not in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
                environ["HTTP_" + key] = f"{environ['HTTP_' + key]},{value}" if "HTTP_" + key in environ else value
        if extra_environ:
            environ.update(extra_environ(headers))
        started = {}

        def start_response(status, response_headers, exc_info=None):
            started["status"], started["headers"] = int(status.split(" ", 1)[0]), response_headers
            return lambda data: chunks.append(data)  # the legacy write() callable

        chunks: list[bytes] = []
        result = app(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return started["status"], list(started["headers"]), b"".join(chunks)

    return respond
