"""The event runner's clock: the wall clock, or one that runs LOCAL_TIME_SCALE times faster
from the moment the runner started, so that what AWS does over minutes (a schedule's next
firing, the asynchronous retries a minute and two minutes apart, a flexible window) happens
in seconds. Everything in the runner that waits on AWS's time asks this clock; timestamps in
events are this clock's too, so a scheduled event says the time it was due."""

import threading
import time


class Clock:
    def __init__(self, scale: float = 1.0, wall=time.time):
        if not scale > 0:
            raise ValueError(f"a clock runs forward: scale {scale!r}")
        self.scale, self._wall = scale, wall
        self._origin = wall()

    def now(self) -> float:
        """Epoch seconds on this clock."""
        return self._origin + (self._wall() - self._origin) * self.scale

    def since(self, wall_epoch: float) -> float:
        """This clock's seconds since a moment of the wall clock (an event's arrival, say)."""
        return (self._wall() - wall_epoch) * self.scale

    def real_seconds(self, seconds: float) -> float:
        """How long `seconds` of this clock's time last on the wall clock."""
        return max(0.0, seconds) / self.scale

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Wait `seconds` of this clock's time; True when `stop` was set meanwhile."""
        return stop.wait(self.real_seconds(seconds))


WALL_CLOCK = Clock()
