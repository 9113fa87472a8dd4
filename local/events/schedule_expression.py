"""Schedule expressions as AWS writes them: `rate(value unit)`, `cron(six fields)` and, for
the EventBridge Scheduler only, `at(yyyy-mm-ddThh:mm:ss)`. This module reads and checks
them; when they fire is cron.py's (cron) and scheduler_expression.py's (start and end dates,
time zones) business.

EventBridge rules ("Creating a rule that runs on a schedule", EventBridge user guide): times
are UTC; a rate's unit is singular for a value of 1 and plural above it (`rate(1 hour)`,
`rate(5 hours)`; `rate(1 hours)` and `rate(5 hour)` are refused), and a rate "starts when
you create the rule". The Scheduler's API reference lists the same six unit words without
that rule, so the Scheduler takes either."""

import re
from datetime import datetime

from local.errors import LocalError
from local.events.cron import CronError, CronExpression

_RATE = re.compile(r"rate\(\s*(\S+)\s+(\S+)\s*\)")
_CRON = re.compile(r"cron\((.*)\)")
_AT = re.compile(r"at\((.*)\)")
_AT_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}


class ScheduleError(LocalError, ValueError):
    """A schedule AWS would refuse, or one that cannot fire; the text names the problem."""


class ScheduleExpression:
    """One expression, parsed: `kind` is "rate" (with `period_s`), "cron" (with `cron`) or
    "at" (with `at`, a wall-clock time in the schedule's time zone)."""

    def __init__(self, expression: str, scheduler: bool = False):
        self.expression = text = str(expression).strip()
        self.period_s: int | None = None
        self.cron: CronExpression | None = None
        self.at: datetime | None = None
        if rate := _RATE.fullmatch(text):
            self.kind = "rate"
            self.period_s = _rate_seconds(text, rate[1], rate[2], singular_rule=not scheduler)
        elif cron := _CRON.fullmatch(text):
            self.kind = "cron"
            try:
                self.cron = CronExpression(cron[1])
            except CronError as error:
                raise ScheduleError(f"{text}: {error}") from None
        elif at := _AT.fullmatch(text):
            if not scheduler:
                raise ScheduleError(f"{text}: at() is for EventBridge Scheduler schedules (ScheduleV2, "
                                    "AWS::Scheduler::Schedule); a rule takes rate() or cron()")
            self.kind = "at"
            self.at = _at_time(text, at[1].strip())
        else:
            forms = "rate(value unit), cron(fields) or at(yyyy-mm-ddThh:mm:ss)" if scheduler \
                else "rate(value unit) or cron(fields)"
            raise ScheduleError(f"{text!r} is not a schedule expression: AWS takes {forms}")

    def next_after(self, t: float) -> float | None:
        """For a rule (UTC): the first firing after epoch second t, a rate counting from t;
        None when the expression never fires again."""
        if self.period_s is not None:
            return t + self.period_s
        if self.cron is not None:
            return self.cron.next_from(t + 1e-3)  # a cron's times are whole minutes: "after" skips t itself
        raise ScheduleError(f"{self.expression}: an at() fires once; a rule has no such expression")

    def __str__(self) -> str:
        return self.expression


def _rate_seconds(text: str, value: str, unit: str, singular_rule: bool) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ScheduleError(f"{text}: the value of a rate is a positive whole number, not {value!r}")
    count, base = int(value), unit.lower().removesuffix("s")
    if base not in UNIT_SECONDS or unit.lower() not in (base, base + "s"):
        raise ScheduleError(f"{text}: the unit is minute(s), hour(s) or day(s), not {unit!r}")
    if singular_rule and (unit.lower() == base) != (count == 1):
        right = base if count == 1 else base + "s"
        raise ScheduleError(f"{text}: a value of {count} takes the {'singular' if count == 1 else 'plural'} "
                            f"unit, as AWS requires: rate({count} {right})")
    return count * UNIT_SECONDS[base]


def _at_time(text: str, moment: str) -> datetime:
    if not _AT_TIME.fullmatch(moment):
        raise ScheduleError(f"{text}: at() takes a time written yyyy-mm-ddThh:mm:ss, not {moment!r}")
    try:
        return datetime.fromisoformat(moment)
    except ValueError as error:
        raise ScheduleError(f"{text}: {error}") from None
