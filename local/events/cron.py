"""AWS's cron(): six fields (minutes hours day-of-month month day-of-week year), read as the
EventBridge user guide's "Cron expressions" table defines them, and the next moment they
give in a time zone.

Fields and their wildcards (AWS's table):
  minutes 0-59, hours 0-23, month 1-12 or JAN-DEC, year 1970-2199: `, - * /`
  day-of-month 1-31: `, - * ? / L W` (`L` the last day, `15W` the weekday nearest the 15th
    within the month, `LW` the last weekday)
  day-of-week 1-7 or SUN-SAT, Sunday being 1: `, - * ? L #` (`L` alone is the last day of
    the week, Saturday; `6L` the month's last Friday; `2#1` its first Monday)
One of day-of-month and day-of-week is `?`, never both and never neither. With `#` the
day-of-week field holds that one expression only. A range may wrap (hours `20-2` runs from
22:00 to 02:00, as AWS's own example does), except in the year field.

Written here rather than taken from croniter, whose fields differ from AWS's (days of the
week counted 0-6 from Sunday, no year, no `W` next to `L`), so that each rule above is
AWS's and each error names the field and what is wrong with it."""

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo

MONTHS = {name: n for n, name in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                                             "NOV", "DEC"], start=1)}
WEEKDAYS = {name: n for n, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
SATURDAY, SUNDAY = 7, 1


class CronError(ValueError):
    """An expression AWS would refuse; the text names the field and the problem."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] = field(default_factory=dict)
    wraps: bool = True


MINUTES, HOURS = _Field("minutes", 0, 59), _Field("hours", 0, 23)
DAY_OF_MONTH, MONTH = _Field("day-of-month", 1, 31), _Field("month", 1, 12, MONTHS)
DAY_OF_WEEK, YEAR = _Field("day-of-week", 1, 7, WEEKDAYS), _Field("year", 1970, 2199, wraps=False)


def _number(text: str, spec: _Field) -> int:
    value = spec.names.get(text.upper()) if text.isalpha() else (int(text) if text.isdigit() else None)
    if value is None:
        raise CronError(f"{spec.name}: {text!r} is not a value (expected {spec.low}-{spec.high}"
                        + (f" or {min(spec.names, key=spec.names.get)}-{max(spec.names, key=spec.names.get)}"
                           if spec.names else "") + ")")
    if not spec.low <= value <= spec.high:
        raise CronError(f"{spec.name}: {value} is outside {spec.low}-{spec.high}")
    return value


def _values(item: str, spec: _Field) -> set[int]:
    """The values of one list item: `*`, `n`, `a-b`, and any of them with `/step`."""
    span, slash, step_text = item.partition("/")
    if slash and not (step_text.isdigit() and int(step_text) > 0):
        raise CronError(f"{spec.name}: the step in {item!r} is not a positive number")
    step = int(step_text) if slash else 1
    if span == "*":
        first, last = spec.low, spec.high
    elif "-" in span:
        start, _, end = span.partition("-")
        first, last = _number(start, spec), _number(end, spec)
        if first > last and not spec.wraps:
            raise CronError(f"{spec.name}: the range {span!r} runs backwards")
    else:  # `n`, or `n/step`: from n to the end of the field
        first = _number(span, spec)
        last = spec.high if slash else first
    size = spec.high - spec.low + 1
    count = (last - first) % size + 1  # a range like hours 20-2 wraps past the end of the field
    return {spec.low + (first - spec.low + offset) % size for offset in range(0, count, step)}


def _plain(text: str, spec: _Field) -> set[int]:
    values = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{spec.name}: an empty item in {text!r}")
        if item in ("?", "L", "LW") or "#" in item or (item[:-1].isdigit() and item[-1] in "LW"):
            raise CronError(f"{spec.name}: {item!r} is not allowed here (only day-of-month and day-of-week take "
                            f"{'?' if item == '?' else 'L, W or #'})")
        values |= _values(item, spec)
    return values


@dataclass
class _Days:
    """What a day-of-month or a day-of-week field admits, beside plain numbers."""
    numbers: set[int] = field(default_factory=set)
    last: bool = False  # day-of-month `L`
    last_weekday: bool = False  # day-of-month `LW`
    nearest_weekday: set[int] = field(default_factory=set)  # day-of-month `nW`
    last_of: set[int] = field(default_factory=set)  # day-of-week `nL`: the month's last such day
    nth: tuple[int, int] | None = None  # day-of-week `n#k`: the k-th such day of the month


def _day_of_month(text: str) -> _Days:
    days = _Days()
    for item in text.split(","):
        if item == "L":
            days.last = True
        elif item == "LW":
            days.last_weekday = True
        elif item.endswith("W"):
            if not item[:-1].isdigit():
                raise CronError(f"day-of-month: W follows a day number (15W) or L (LW), not {item[:-1]!r}")
            days.nearest_weekday.add(_number(item[:-1], DAY_OF_MONTH))
        elif any(mark in item for mark in "LW#"):
            raise CronError(f"day-of-month: {item!r} is not a form AWS takes (L, LW or a day with W, like 15W)")
        else:
            days.numbers |= _plain(item, DAY_OF_MONTH)
    return days


def _day_of_week(text: str) -> _Days:
    days = _Days()
    items = text.split(",")
    if "#" in text and len(items) > 1:
        raise CronError(f"day-of-week: with # the field holds one expression only, not {text!r}")
    for item in items:
        if "#" in item:
            day, _, nth = item.partition("#")
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise CronError(f"day-of-week: in {item!r} the week of the month is 1-5")
            days.nth = (_number(day, DAY_OF_WEEK), int(nth))
        elif item == "L":
            days.numbers.add(SATURDAY)  # the last day of the week
        elif item.endswith("L") and "-" not in item and "/" not in item:
            days.last_of.add(_number(item[:-1], DAY_OF_WEEK))
        elif item.endswith("W") or "L" in item:
            raise CronError(f"day-of-week: {item!r} is not a form AWS takes (L, a day with L like 6L, "
                            "or a day with # like 2#1; W belongs to day-of-month)")
        else:
            days.numbers |= _plain(item, DAY_OF_WEEK)
    return days


def _weekday(year: int, month: int, day: int) -> int:
    """AWS's number of the day of the week: 1 Sunday ... 7 Saturday."""
    return date(year, month, day).isoweekday() % 7 + 1


class CronExpression:
    """The six fields of a cron(), parsed; `next_from(t, tz)` is its first moment at or after t."""

    def __init__(self, fields_text: str):
        fields = fields_text.upper().split()  # names of months and days are read in any case
        if len(fields) != 6:
            raise CronError(f"cron() takes six fields (minutes hours day-of-month month day-of-week year), "
                            f"not {len(fields)}")
        minutes, hours, day_of_month, month, day_of_week, year = fields
        if (day_of_month == "?") == (day_of_week == "?"):
            raise CronError("one of day-of-month and day-of-week must be ? and the other not (AWS takes a "
                            f"value or * in only one of them), not {day_of_month!r} and {day_of_week!r}")
        self.minutes, self.hours = sorted(_plain(minutes, MINUTES)), sorted(_plain(hours, HOURS))
        self.months, self.years = sorted(_plain(month, MONTH)), sorted(_plain(year, YEAR))
        self.by_month_day = day_of_month != "?"
        self.days = _day_of_month(day_of_month) if self.by_month_day else _day_of_week(day_of_week)

    def matches_day(self, year: int, month: int, day: int) -> bool:
        days, length = self.days, calendar.monthrange(year, month)[1]
        if self.by_month_day:
            return (day in days.numbers or (days.last and day == length)
                    or (days.last_weekday and day == _nearest_weekday(year, month, length, length))
                    or any(day == _nearest_weekday(year, month, n, length) for n in days.nearest_weekday))
        weekday = _weekday(year, month, day)
        return (weekday in days.numbers or (weekday in days.last_of and day + 7 > length)
                or (days.nth is not None and days.nth == (weekday, (day - 1) // 7 + 1)))

    def next_from(self, t: float, tz: tzinfo = timezone.utc) -> float | None:
        """The first firing at or after epoch second `t`, read in `tz`; None when there is none
        before the year 2199 ends.

        In a time zone with daylight saving time, a wall-clock time that the spring change skips
        fires nothing that day, and one that the autumn change repeats fires once, at its first
        occurrence: the EventBridge Scheduler guide's rules."""
        start = datetime.fromtimestamp(t, tz)
        for year in self.years:
            if year < start.year:
                continue
            for month in self.months:
                if (year, month) < (start.year, start.month):
                    continue
                first_day = start.day if (year, month) == (start.year, start.month) else 1
                for day in range(first_day, calendar.monthrange(year, month)[1] + 1):
                    if self.matches_day(year, month, day):
                        found = self._first_time(year, month, day, t, tz, start)
                        if found is not None:
                            return found
        return None

    def _first_time(self, year: int, month: int, day: int, t: float, tz: tzinfo, start: datetime) -> float | None:
        same_day = (year, month, day) == (start.year, start.month, start.day)
        for hour in self.hours:
            if same_day and hour < start.hour:
                continue
            for minute in self.minutes:
                wall = datetime(year, month, day, hour, minute, tzinfo=tz)  # fold=0: a repeated time's first
                moment = wall.timestamp()
                back = datetime.fromtimestamp(moment, tz)
                if (back.day, back.hour, back.minute) != (day, hour, minute):
                    continue  # a time the clocks skip
                if moment >= t:
                    return moment
        return None


def _nearest_weekday(year: int, month: int, day: int, length: int) -> int | None:
    """The weekday (Monday-Friday) nearest `day` without leaving the month; None for a day the month lacks."""
    if day > length:
        return None
    weekday = _weekday(year, month, day)
    if weekday == SATURDAY:
        return day - 1 if day > 1 else day + 2
    if weekday == SUNDAY:
        return day + 1 if day < length else day - 2
    return day
