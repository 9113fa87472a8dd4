"""A Debug Adapter Protocol client, as small as the tests need: what VS Code or PyCharm say to
debugpy when they attach, over TCP. A message is a `Content-Length: N` header, a blank line
and N bytes of JSON; requests are answered by responses with their `request_seq`, and the
adapter sends events (`initialized`, `stopped`, `output`, ...) whenever it likes.

https://microsoft.github.io/debug-adapter-protocol/specification"""

import json
import socket
import threading
import time

from . import eventually


class DapError(AssertionError):
    """The adapter refused a request (`success: false`), or did not answer in time."""


class DapClient:
    def __init__(self, host: str, port: int, connect_within: float = 30.0):
        self.sock = self._connect(host, port, connect_within)
        self._seq = 0
        self._lock = threading.Condition()
        self._responses: dict[int, dict] = {}
        self.events: list[dict] = []  # every event received, in order
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @staticmethod
    def _connect(host: str, port: int, within: float) -> socket.socket:
        def attempt():
            try:
                return socket.create_connection((host, port), timeout=5)
            except OSError:
                return None

        sock = eventually(attempt, within=within, every=0.1)
        if sock is None:
            raise DapError(f"nothing listens for a debugger on {host}:{port}")
        sock.settimeout(None)
        return sock

    # -- the wire ------------------------------------------------------------------------

    def _read(self) -> None:
        stream = self.sock.makefile("rb")
        try:
            while True:
                length = None
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                message = json.loads(stream.read(length))
                with self._lock:
                    if message["type"] == "response":
                        self._responses[message["request_seq"]] = message
                    elif message["type"] == "event":
                        self.events.append(message)
                    self._lock.notify_all()
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._closed = True
                self._lock.notify_all()

    def send(self, command: str, **arguments) -> int:
        """Send a request without waiting for its answer; its sequence number."""
        with self._lock:
            self._seq += 1
            seq = self._seq
        body = json.dumps({"seq": seq, "type": "request", "command": command, "arguments": arguments}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return seq

    def response(self, seq: int, timeout: float = 30.0) -> dict:
        """The body of the answer to request `seq`; DapError if it failed or never came."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while seq not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise DapError(f"no answer to request {seq} ({'connection closed' if self._closed else 'timeout'})")
                self._lock.wait(left)
            message = self._responses.pop(seq)
        if not message.get("success"):
            raise DapError(f"{message.get('command')} refused: {message.get('message')} {message.get('body')}")
        return message.get("body") or {}

    def request(self, command: str, timeout: float = 30.0, **arguments) -> dict:
        return self.response(self.send(command, **arguments), timeout)

    def event(self, name: str, after: int = 0, timeout: float = 30.0, where=lambda body: True) -> dict:
        """The body of the first event called `name` among those received from position
        `after` on (len(client.events) before the action that causes it)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for message in self.events[after:]:
                    if message["event"] == name and where(message.get("body") or {}):
                        return message.get("body") or {}
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise DapError(f"no {name!r} event ({'connection closed' if self._closed else 'timeout'}); "
                                   f"received: {[m['event'] for m in self.events[after:]]}")
                self._lock.wait(left)

    def wait_closed(self, timeout: float = 30.0) -> None:
        """Returns once the debuggee has closed the connection (its process ended, say)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DapError("the connection is still open")
                self._lock.wait(left)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    # -- what an editor does -------------------------------------------------------------

    def attach(self, breakpoints: dict[str, list[int]], path_mappings: list[dict] | None = None) -> dict:
        """initialize, attach, breakpoints, configurationDone, as VS Code does it. debugpy answers
        `attach` only after `configurationDone`, so it is sent first and awaited last.
        Returns {path: [breakpoint, ...]} as the adapter reported them (each with `verified`)."""
        self.request("initialize", clientID="tests", adapterID="debugpy", pathFormat="path",
                     linesStartAt1=True, columnsStartAt1=True, supportsVariableType=True)
        attach = self.send("attach", justMyCode=True, **({"pathMappings": path_mappings} if path_mappings else {}))
        self.event("initialized")
        bound = {path: self.request("setBreakpoints", source={"path": path},
                                    breakpoints=[{"line": line} for line in lines])["breakpoints"]
                 for path, lines in breakpoints.items()}
        self.request("configurationDone")
        self.response(attach)
        return bound

    def stopped(self, after: int = 0, timeout: float = 30.0) -> dict:
        """The `stopped` event's body (reason, threadId) once the debuggee pauses."""
        return self.event("stopped", after, timeout)

    def top_frame(self, thread_id: int) -> dict:
        return self.request("stackTrace", threadId=thread_id, startFrame=0, levels=1)["stackFrames"][0]

    def locals_of(self, frame_id: int) -> dict[str, str]:
        """The frame's local variables, name -> repr as the debugger shows it."""
        scopes = self.request("scopes", frameId=frame_id)["scopes"]
        local_scope = next(scope for scope in scopes if scope["name"].lower().startswith("locals"))
        variables = self.request("variables", variablesReference=local_scope["variablesReference"])["variables"]
        return {variable["name"]: variable["value"] for variable in variables}

    def resume(self, thread_id: int, wait: bool = True) -> None:
        """`continue`; without `wait` when the debuggee may end at once (its answer may never come)."""
        seq = self.send("continue", threadId=thread_id)
        if wait:
            self.response(seq)
