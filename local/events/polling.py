"""The thread every event source runs in: turn after turn until stopped."""

import logging
import threading

log = logging.getLogger("local.events")


class PollingThread(threading.Thread):
    def __init__(self, name: str, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.stop = stop
        self._warned = False

    def run(self) -> None:
        """Turn after turn until stopped; an unexpected error is logged, never the end of it."""
        while not self.stop.is_set():
            try:
                self.turn()
            except Exception:
                log.exception("%s: unexpected error; going on", self.name)
                self.stop.wait(1)

    def turn(self) -> None:
        raise NotImplementedError

    def warn_once(self, message: str) -> None:
        if not self._warned:
            log.warning(message)
            self._warned = True

    def recovered(self) -> None:
        if self._warned:
            log.warning("%s: connected again", self.name)
            self._warned = False
