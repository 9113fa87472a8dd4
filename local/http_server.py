"""A thin threaded HTTP server in front of an application object with
`handle(HttpRequest) -> HttpResponse`, so applications are tested without sockets."""

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Bodies above this are refused before they are read; each application has its own, lower limit.
MAX_BODY_BYTES = 12 * 1024 * 1024


@dataclass
class HttpRequest:
    method: str
    target: str  # path and query, as received
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"

    def header(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), default)


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def json_response(status: int, body, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json"), *(headers or [])],
                        json.dumps(body).encode())


class _Handler(BaseHTTPRequestHandler):
    application = None  # set on the subclass HttpServer makes
    protocol_version = "HTTP/1.1"
    # Errors in a request line too broken to name its version still get a status line.
    default_request_version = "HTTP/1.0"

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(json_response(413, {"message": "Request Too Long"}))
            return
        body = self.rfile.read(length) if length else b""
        request = HttpRequest(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
        self._send(self.application.handle(request))

    def _send(self, response: HttpResponse):
        self.send_response(response.status)
        for key, value in response.headers:
            if key.lower() not in ("content-length", "connection", "date", "server"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve


class HttpServer:
    """Serves one application in a background thread."""

    def __init__(self, application, port: int, host: str = "127.0.0.1", quiet: bool = False):
        attributes = {"application": application}
        if quiet:
            attributes["log_message"] = lambda self, *args: None
        handler = type(f"{type(application).__name__}Handler", (_Handler,), attributes)
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=type(application).__name__,
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
