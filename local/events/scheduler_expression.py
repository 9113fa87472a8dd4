"""When a schedule fires, all things counted: its expression, and for an EventBridge Scheduler
schedule its time zone, StartDate, EndDate and flexible time window.

What the Scheduler user guide ("Schedule types") and API reference (CreateSchedule) say, and
what is done here:
- cron() and at() are read in ScheduleExpressionTimezone (UTC without one); a cron time that
  the spring change skips does not fire that day, one the autumn change repeats fires once
  (cron.py). A rate counts fixed durations: "1 day" is 24 hours across a change.
- A rate schedule without StartDate "starts invoking the target immediately" and then every
  period; with one, its first firing is at StartDate. cron() fires on or after StartDate.
  Nothing fires on or after EndDate. Both dates are UTC, and ignored for at().
- FLEXIBLE windows: the target is invoked some time within MaximumWindowInMinutes (1-1440)
  after the scheduled time; here a uniform random delay.
An EventBridge rule has none of these: UTC, and a rate's first firing is a period after the
rule was created (here: after the runner started)."""

import math
import random
from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo

from local.app.event_model import SCHEDULER, ScheduleEvent
from local.events.schedule_expression import ScheduleError, ScheduleExpression

MAX_WINDOW_MIN = 1440


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Timing:
    """The firings of one schedule from `created` (epoch seconds on the runner's clock) on."""

    def __init__(self, spec: ScheduleEvent, created: float):
        self.scheduler = spec.kind == SCHEDULER
        self.expression = expression = ScheduleExpression(spec.schedule, scheduler=self.scheduler)
        self.tz = zone(spec.timezone) if self.scheduler and spec.timezone else timezone.utc
        recurring = expression.kind != "at"
        self.start = _date(spec.start, "StartDate") if self.scheduler and recurring else None
        self.end = _date(spec.end, "EndDate") if self.scheduler and recurring else None
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ScheduleError(f"StartDate {iso(self.start)} is not before EndDate {iso(self.end)}")
        window = spec.flexible_window_min if self.scheduler else None
        if window is not None and not 1 <= window <= MAX_WINDOW_MIN:
            raise ScheduleError(f"FlexibleTimeWindow MaximumWindowInMinutes is 1-{MAX_WINDOW_MIN}, not {window}")
        self.window_s = (window or 0) * 60
        self.at = expression.at.replace(tzinfo=self.tz).timestamp() if expression.at is not None else None
        period = expression.period_s or 0
        self.anchor = (self.start if self.start is not None else created) if self.scheduler else created + period

    def next_from(self, t: float) -> float | None:
        """The first firing at or after t; None when the schedule fires no more."""
        expression = self.expression
        if self.at is not None:
            return self.at if self.at >= t else None
        t = max(t, self.start) if self.start is not None else t
        if expression.period_s is not None:
            steps = max(0, math.ceil((t - self.anchor) / expression.period_s))
            moment = self.anchor + steps * expression.period_s
        else:
            moment = expression.cron.next_from(t, self.tz)
        if moment is None or (self.end is not None and moment >= self.end):
            return None
        return moment

    def why_none(self, t: float) -> str:
        """Why `next_from(t)` is None, in words."""
        if self.at is not None:
            return f"{self.expression} ({self.tz}) was due at {iso(self.at)}, which has passed"
        if self.end is not None and (t >= self.end or self.next_from(t) is None):
            return f"its EndDate {iso(self.end)} has passed"
        return f"{self.expression} gives no time from {iso(t)} on (within its years, up to 2199)"

    def delay_s(self, rng: random.Random) -> float:
        """A flexible window's delay after the scheduled time: uniform within the window."""
        return rng.uniform(0, self.window_s) if self.window_s else 0.0


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(str(name))
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        raise ScheduleError(f"ScheduleExpressionTimezone {name!r} is not a time zone (an IANA name, like "
                            "America/New_York, or UTC)") from None


def _date(value, what: str) -> float | None:
    """A StartDate or EndDate: ISO 8601 text (or a date-time the template's YAML already read);
    without an offset it is UTC, as the API reference gives both."""
    if value is None or value == "":
        return None
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ScheduleError(f"{what} {value!r} is not an ISO 8601 date and time (like 2030-01-01T00:00:00Z)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
