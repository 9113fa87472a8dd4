"""Schedule events: EventBridge rules with `rate(...)` or `cron(...)` expressions, firing
their function with a scheduled event.

cron() is AWS's six-field form (minutes hours day-of-month month day-of-week year, UTC),
evaluated by croniter after two conversions: AWS numbers the days of the week 1-7 from
Sunday where croniter counts 0-6, and croniter has no year field, so a firing in a year the
expression excludes is skipped."""

import json
import re
import threading
import time
from datetime import datetime, timedelta, timezone

from croniter import croniter

from local.events.polling import PollingThread, log
from local.events.shapes import schedule_event
from local.runtime.runtime import Runtime

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((.*)\)")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_WEEKDAY_NUMBER = re.compile(r"(?<![#\w])([1-7])")  # a day number, not the n of `#n`
MAX_YEAR = 2199  # AWS's cron years run from 1970 to 2199


class ScheduleError(ValueError):
    pass


class ScheduleExpression:
    """When a schedule fires next: `next_after(now)` gives the epoch seconds of its next firing."""

    def __init__(self, expression: str):
        self.expression = expression.strip()
        rate = _RATE.fullmatch(self.expression)
        cron = _CRON.fullmatch(self.expression)
        self.period_s = int(rate.group(1)) * _UNITS[rate.group(2).rstrip("s")] if rate else None
        if rate:
            if self.period_s == 0:
                raise ScheduleError(f"{expression!r}: a rate is at least 1")
            return
        if not cron:
            raise ScheduleError(f"{expression!r} is neither rate(...) nor cron(...)")
        fields = cron.group(1).split()
        if len(fields) != 6:
            raise ScheduleError(f"{expression!r}: cron() takes six fields (minutes hours day-of-month month "
                                f"day-of-week year), not {len(fields)}")
        minutes, hours, day, month, weekday, self._years = fields
        self._cron = " ".join([minutes, hours, day, month, _WEEKDAY_NUMBER.sub(lambda m: str(int(m[1]) - 1), weekday)])
        try:
            _first_year(self._years, 1970)
        except ValueError:
            raise ScheduleError(f"{expression!r}: the year field {self._years!r} is not years") from None
        if not croniter.is_valid(self._cron):
            raise ScheduleError(f"{expression!r} is not a valid cron expression")

    def next_after(self, now: float) -> float:
        if self.period_s is not None:
            return now + self.period_s
        start = datetime.fromtimestamp(now, timezone.utc)
        while True:
            moment = croniter(self._cron, start).get_next(datetime)
            year = _first_year(self._years, moment.year)
            if year is None:
                raise ScheduleError(f"{self.expression!r} never fires again")
            if year == moment.year:
                return moment.timestamp()
            start = datetime(year, 1, 1, tzinfo=timezone.utc) - timedelta(minutes=1)  # a later year: from its start


def _first_year(field: str, year: int) -> int | None:
    """The first year from `year` on that the year field admits, or None when none does."""
    candidates = []
    for part in field.split(","):
        if part in ("*", "?"):
            return year
        low, _, step = part.partition("/")
        start, _, end = low.partition("-")
        first = int(start) if start not in ("*", "") else year
        last = int(end) if end else (first if not step else MAX_YEAR)
        every = int(step or 1)
        if year > last:
            continue
        nearest = first if year <= first else first + -(-(year - first) // every) * every
        if nearest <= last:
            candidates.append(nearest)
    return min(candidates, default=None)


class Schedule(PollingThread):
    """Fires the function at each moment the expression gives; `every_s` (the
    LOCAL_SCHEDULE_SECONDS setting) fires it that often instead, to see a schedule work now.
    With the event's `Input` (JSON text) the function gets that instead of the scheduled
    event, as EventBridge passes a target's constant input."""

    def __init__(self, runtime: Runtime, function: str, name: str, expression: ScheduleExpression, rule_arn: str,
                 stop: threading.Event, every_s: float | None = None, clock=time.time, input: str | None = None):
        super().__init__(f"schedule:{name}->{function}", stop)
        self.runtime, self.function, self.expression, self.rule_arn = runtime, function, expression, rule_arn
        self.every_s, self.clock = every_s, clock
        self.input = None if input is None else json.loads(input)

    def turn(self) -> None:
        now = self.clock()
        try:
            due = now + self.every_s if self.every_s else self.expression.next_after(now)
        except ScheduleError as error:  # past its last year: said once, then idle until stopped
            self.warn_once(f"{self.name}: {error}")
            self.stop.wait()
            return
        if self.stop.wait(max(0.0, due - now)):
            return
        event = schedule_event(self.rule_arn) if self.input is None else self.input
        outcome = self.runtime.invoke(self.function, event)
        if outcome.failed:
            log.warning("%s failed: %s", self.name, outcome.error.get("errorMessage"))
