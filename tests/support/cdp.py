"""Headless Chromium driven through the DevTools protocol, for tests that click (`--dump-dom`
only reads a page). No library: `--remote-debugging-pipe` makes Chromium read the protocol's
JSON messages, each ended by a NUL byte, from its fd 3 and write its own to its fd 4. A page
is a target attached with `flatten`, so its commands go on the same pipe with a sessionId.
Written for this project from the protocol's documentation (chromedevtools.github.io)."""

import fcntl
import itertools
import json
import os
import queue
import subprocess
import threading
from pathlib import Path
from typing import Self

from . import eventually

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--remote-debugging-pipe"]


class CdpError(Exception):
    pass


class Browser:
    def __init__(self, executable: str, profile_dir, timeout: float = 30):
        self.timeout = timeout
        commands_read, self._commands = os.pipe()  # we write, Chromium reads (its fd 3)
        self._answers, answers_write = os.pipe()  # Chromium writes (its fd 4), we read
        # Above 3 and 4, so that putting one end in place in the child never closes the other.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (commands_read, answers_write)]
        os.close(commands_read)
        os.close(answers_write)

        def put_in_place():  # in the child, before exec: dup2 leaves 3 and 4 open across it
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        # Its messages go to a file: a pipe nobody reads would stop Chromium once full.
        self.log = Path(f"{profile_dir}.log")
        with open(self.log, "wb") as log:
            # close_fds=False: 3 and 4 must stay open; every fd Python opened is closed at exec anyway.
            self.process = subprocess.Popen([executable, *FLAGS, f"--user-data-dir={profile_dir}", "about:blank"],
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=False,
                                            preexec_fn=put_in_place)  # noqa: PLW1509 - two dup2 calls, no lock taken
        for fd in high:
            os.close(fd)
        self._ids = itertools.count(1)
        self._waiting: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        message_id = next(self._ids)
        answer: queue.Queue = queue.Queue(1)
        message = {"id": message_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        with self._lock:
            self._waiting[message_id] = answer
            os.write(self._commands, json.dumps(message).encode() + b"\0")
        try:
            reply = answer.get(timeout=self.timeout)
        except queue.Empty:
            raise CdpError(f"{method}: no answer within {self.timeout} s (Chromium exit {self.process.poll()})") from None
        if reply is None:
            raise CdpError(f"{method}: Chromium closed the pipe: {self.log.read_text(errors='replace')[-2000:]}")
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def open(self, url: str) -> "Page":
        target = self.call("Target.createTarget", {"url": url})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return Page(self, session)

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except CdpError:
            pass
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        self._reader.join(5)
        os.close(self._answers)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def _read(self) -> None:
        """Answers to their callers; events (messages without an id) are not needed here."""
        pending = b""
        while True:
            try:
                data = os.read(self._answers, 65536)
            except OSError:
                data = b""
            if not data:
                break
            pending += data
            *messages, pending = pending.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                waiting = self._waiting.pop(message.get("id"), None)
                if waiting is not None:
                    waiting.put(message)
        for waiting in list(self._waiting.values()):
            waiting.put(None)


class Page:
    def __init__(self, browser: Browser, session: str):
        self.browser, self.session = browser, session

    def evaluate(self, expression: str):
        """The expression's value (a promise awaited), as JSON; a JavaScript exception raises."""
        result = self.browser.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                        "returnByValue": True}, self.session)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CdpError(f"{expression!r}: {details.get('exception', {}).get('description') or details['text']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, within: float = 20):
        """The expression's first truthy value, evaluated again and again; past `within`, CdpError."""
        value = eventually(lambda: self.evaluate(expression), within=within, every=0.1)
        if not value:
            raise CdpError(f"{expression!r} still {value!r} after {within} s")
        return value
