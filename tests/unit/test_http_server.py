"""The gateway's HTTP/1.1 server (local/http/server.py) over real sockets: pipelined requests
answered in order (RFC 9112 section 9.3.2), idle connections closed, and no answer written
ahead of a client that does not read what it was sent."""

import asyncio
import socket
import time

import pytest

from local.http.messages import HttpResponse
from local.http.server import HttpServer


class Application:
    """Answers GET /sleep/<ms> after that long and GET /bytes/<n> with n bytes; counts calls."""

    def __init__(self):
        self.handled: list[str] = []

    async def handle(self, request) -> HttpResponse:
        self.handled.append(request.target)
        kind, value = request.target.strip("/").split("/")
        if kind == "sleep":
            await asyncio.sleep(int(value) / 1000)
            return HttpResponse(200, [("Content-Type", "text/plain")], request.target.encode())
        return HttpResponse(200, [("Content-Type", "application/octet-stream")], b"x" * int(value))


@pytest.fixture
def serve():
    servers = []

    def start(**options) -> tuple[HttpServer, Application]:
        application = Application()
        server = HttpServer(application, 0, **options)
        server.start()
        servers.append(server)
        return server, application

    yield start
    for server in servers:
        server.stop()


def get(target: str, close: bool = False) -> bytes:
    connection = "Connection: close\r\n" if close else ""
    return f"GET {target} HTTP/1.1\r\nHost: x\r\n{connection}\r\n".encode()


def read_responses(connection: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """`count` responses off one connection: (status, body) each."""
    stream = connection.makefile("rb")
    responses = []
    for _ in range(count):
        status = int(stream.readline().split()[1])
        length = 0
        while (line := stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        responses.append((status, stream.read(length)))
    return responses


def test_pipelined_requests_are_answered_in_the_order_they_were_sent(serve):
    server, application = serve()
    with socket.create_connection((server.host, server.port), timeout=10) as connection:
        # The first takes longest: answered first all the same.
        connection.sendall(get("/sleep/300") + get("/sleep/0") + get("/bytes/5") + get("/sleep/1", close=True))
        responses = read_responses(connection, 4)
        assert connection.recv(1) == b""  # closed after the one that asked for it
    assert [body for _, body in responses] == [b"/sleep/300", b"/sleep/0", b"xxxxx", b"/sleep/1"]
    assert application.handled == ["/sleep/300", "/sleep/0", "/bytes/5", "/sleep/1"]


def test_broken_http_after_good_requests_is_answered_after_them(serve):
    server, _ = serve()
    with socket.create_connection((server.host, server.port), timeout=10) as connection:
        connection.sendall(get("/sleep/200") + b"GET /x HTTP/1.1 extra\r\n\r\n")
        responses = read_responses(connection, 2)
        assert connection.recv(1) == b""
    assert [status for status, _ in responses] == [200, 400]


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(serve):
    server, _ = serve(keep_alive_timeout_s=0.5)
    with socket.create_connection((server.host, server.port), timeout=10) as connection:
        connection.sendall(get("/sleep/0"))
        assert read_responses(connection, 1)[0][0] == 200
        began = time.monotonic()
        assert connection.recv(1) == b""  # the server closed it
        assert 0.3 < time.monotonic() - began < 3
    with socket.create_connection((server.host, server.port), timeout=10) as connection:
        connection.sendall(b"GET /sleep/0 HTTP/1.1\r\n")  # half a request, then nothing
        assert connection.recv(1) == b""
    with socket.create_connection((server.host, server.port), timeout=10) as connection:
        connection.sendall(get("/sleep/800"))  # a request under way is not idle, however long it takes
        assert read_responses(connection, 1) == [(200, b"/sleep/800")]


def test_no_answer_is_written_ahead_of_a_client_that_does_not_read(serve):
    """50 pipelined requests for 1 MB each, and the client reads nothing for a while: the
    server stops after the first answers fill the socket, instead of holding 50 MB for it;
    once the client reads, every answer comes, in order."""
    server, application = serve()
    with socket.create_connection((server.host, server.port), timeout=20) as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        connection.sendall(b"".join(get(f"/bytes/{1_000_000 + n}") for n in range(50)))
        time.sleep(1)
        handled_while_not_reading = len(application.handled)
        responses = read_responses(connection, 50)
    assert handled_while_not_reading <= 5
    assert [len(body) for _, body in responses] == [1_000_000 + n for n in range(50)]
