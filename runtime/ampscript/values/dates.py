"""The one date parser: what reads as a date, in Marketing Cloud system time; and date arithmetic.

`parse_date(value, function, argument)` gives the naive system-time datetime
a value stands for, or raises an error naming the function and argument;
`read_date(value)` gives it or None (FormatDate() and the data extension
and API object field checks, which report a bad date their own way).
Strings are read in the forms the AMPscript reference lists (ISO 8601 with
or without time and offset, US month/day/year, long English forms, time
only, Chinese/Japanese and Korean notation); a string with a UTC offset is
converted to Marketing Cloud system time, which is Central Standard Time,
UTC-6 all year.  An offset may have a one-digit hour
(``2023-05-01 2:30PM-1:00`` is 3:30 PM UTC, issue 9).  Rejected, as
Marketing Cloud rejects them: ordinal suffixes (``March 4th, 2026``),
non-English month names (``4 mai 2026``), numeric strings (``1772614800``)
and numbers, day-first dates (``25/12/2025``)
(https://sfmc.guide/engagement/differs-from-docs/#dateparse-unsupported-input-aborts-the-page).

`read_iso_datetime(text)` reads the ISO 8601 timestamps of Marketing
Cloud's SOAP API, and `read_time_zone(setting)` a time zone setting (the
render context's ``local_time_zone``).  Every part of the runtime that
reads a date calls this module (`ampscript.formatting.dates` formats
them); it is the only one that uses dateutil.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ScriptError
from .text import to_text

__all__ = ["SYSTEM_TIME_ZONE", "add_months", "parse_date", "read_date", "read_iso_datetime", "read_time_zone"]

SYSTEM_TIME_ZONE = _dt.timezone(_dt.timedelta(hours=-6), "CST")

# ---------------------------------------------------------------- parsing

_TIME = (
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,7}))?)?"
    r"\s*(?P<meridiem>[AaPp]\.?[Mm]\.?)?"
)
# A one-digit hour needs the colon: -1:00 (issue 9's DateParse("2023-05-01 2:30PM-1:00", 1)).
_OFFSET = r"(?P<offset>Z|z|[+-](?:\d{2}(?::?\d{2})?|\d:\d{2}))"
# re.ASCII: \d is 0-9 only; dates in other numerals are not read (reference).
_NUMERIC_FORMS = [
    # ISO 8601, with a T or a space before the time: 2023-08-05T13:41:23-06:00
    re.compile(rf"(?P<year>\d{{4}})-(?P<month>\d{{1,2}})-(?P<day>\d{{1,2}})(?:(?:T|\s+){_TIME})?\s*{_OFFSET}?", re.ASCII),
    # year first with slashes: 2023/08/05 1:41 PM
    re.compile(rf"(?P<year>\d{{4}})/(?P<month>\d{{1,2}})/(?P<day>\d{{1,2}})(?:\s+{_TIME})?\s*{_OFFSET}?", re.ASCII),
    # US month/day/year: 8/5/2023 1:41 PM (never day first, as in Marketing Cloud)
    re.compile(rf"(?P<month>\d{{1,2}})/(?P<day>\d{{1,2}})/(?P<year>\d{{4}}|\d{{2}})(?:\s+{_TIME})?\s*{_OFFSET}?", re.ASCII),
    # Chinese/Japanese 2023 年 8 月 5 日 and Korean 2023년 8월 5일
    re.compile(
        rf"(?P<year>\d{{4}})\s*[年년]\s*(?P<month>\d{{1,2}})\s*[月월]\s*(?P<day>\d{{1,2}})\s*[日일]"
        rf"(?:\s*{_TIME})?",
        re.ASCII,
    ),
    # time only: today at that time
    re.compile(rf"{_TIME}\s*{_OFFSET}?", re.ASCII),
]
_ENGLISH_MONTH = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b\.?", re.IGNORECASE
)
_ORDINAL_SUFFIX = re.compile(r"\d(st|nd|rd|th)\b", re.IGNORECASE)
_ENGLISH_WORDS = re.compile(
    r"(jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)[a-z]*\.?"
    r"|(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?|[ap]\.?m\.?|gmt|utc|z|t|at|of",
    re.IGNORECASE,
)


def parse_date(value: Any, function: str, argument: str) -> _dt.datetime:
    """The datetime (naive, Marketing Cloud system time) a function argument stands for.

    Raises a `ScriptError` naming the function and argument when the value is
    not a date Marketing Cloud would accept (null, empty, numbers, ordinal
    suffixes such as ``August 5th``, non-English month names, day-first
    numeric dates such as ``13/5/2023``).
    """
    parsed = read_date(value)
    if parsed is None:
        raise ScriptError(f"invalid date {to_text(value)!r} for argument {argument!r} of {function}()")
    return parsed


def read_date(value: Any) -> _dt.datetime | None:
    """The datetime (naive, Marketing Cloud system time) a value stands for, or None if it is not a date."""
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    text = value.strip() if isinstance(value, str) else None
    return _parse_text(text) if text else None


def read_iso_datetime(text: str, zone: _dt.tzinfo | None = None) -> _dt.datetime | None:
    """An ISO 8601 timestamp (``2026-01-05T15:04:05.123``, with or without offset) in system time, or None.

    The SOAP API writes ``xsd:dateTime`` values this way; one with an offset
    is converted to system time (or to `zone`), one without is taken as it is.
    """
    from dateutil import parser as dateutil_parser  # on first use: dateutil costs start-up

    try:
        value = dateutil_parser.isoparse(text.strip())
        if value.tzinfo is not None:
            value = value.astimezone(zone or SYSTEM_TIME_ZONE).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None
    return value


def read_iso_datetime_utc(text: str) -> _dt.datetime | None:
    """An ISO 8601 timestamp as naive UTC (``Z`` or an offset converted; none taken as UTC), or None.

    Salesforce's APIs write date-times this way (``2026-01-05T14:30:00.000+0000``).
    """
    return read_iso_datetime(text, _dt.timezone.utc)


def _parse_text(text: str) -> _dt.datetime | None:
    for form in _NUMERIC_FORMS:
        match = form.fullmatch(text)
        if match:
            return _from_fields(match.groupdict())
    return _parse_english(text)


def _from_fields(fields: dict[str, str | None]) -> _dt.datetime | None:
    if fields.get("year") is None:
        today = _today()
        year, month, day = today.year, today.month, today.day
    else:
        year, month, day = _full_year(fields["year"]), int(fields["month"]), int(fields["day"])
    time = _time_of_day(fields)
    if time is None:
        return None
    try:
        return _to_system_time(_dt.datetime(year, month, day, *time), fields.get("offset"))
    except (ValueError, OverflowError):  # no such day, or past the range of dates once converted
        return None


def _full_year(digits: str) -> int:
    # .NET's two-digit year window: 00-29 are 2000s, 30-99 are 1900s.
    year = int(digits)
    if len(digits) == 2:
        year += 2000 if year <= 29 else 1900
    return year


def _time_of_day(fields: dict[str, str | None]) -> tuple[int, int, int, int] | None:
    if fields.get("hour") is None:
        return (0, 0, 0, 0)
    hour, minute = int(fields["hour"]), int(fields["minute"])
    second = int(fields["second"] or 0)
    microsecond = int((fields["fraction"] or "0").ljust(7, "0")[:6])
    meridiem = (fields.get("meridiem") or "").lower()[:1]
    if meridiem and hour <= 12:
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    elif meridiem == "a":  # 13:00 AM is not a time
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    return (hour, minute, second, microsecond)


def _wall_time_to_system_time(value: _dt.datetime, zone: _dt.tzinfo) -> _dt.datetime:
    """A naive wall time in `zone` as naive system time."""
    return value.replace(tzinfo=zone).astimezone(SYSTEM_TIME_ZONE).replace(tzinfo=None)


def _to_system_time(value: _dt.datetime, offset: str | None) -> _dt.datetime:
    if not offset:
        return value
    if offset in ("Z", "z"):
        zone = _dt.timezone.utc
    else:
        hours, _, minutes = offset[1:].partition(":")
        if not minutes and len(hours) > 2:  # +0130
            hours, minutes = hours[:2], hours[2:]
        delta = _dt.timedelta(hours=int(hours), minutes=int(minutes or 0))
        zone = _dt.timezone(-delta if offset[0] == "-" else delta)
    return _wall_time_to_system_time(value, zone)


def _parse_english(text: str) -> _dt.datetime | None:
    """Long forms with English month names: ``5 August 2023``, ``Monday, August 15, 2011 1:41 PM``."""
    if not _ENGLISH_MONTH.search(text) or _ORDINAL_SUFFIX.search(text):
        return None
    # Every letter must belong to an English month or day name, AM/PM or a
    # time zone marker: "5 août 2023" is not a date Marketing Cloud reads.
    if re.search(r"[^\W\d_]", _ENGLISH_WORDS.sub("", text)):
        return None
    from dateutil import parser as dateutil_parser  # on first use: dateutil costs start-up

    default = _dt.datetime.combine(_today(), _dt.time()).replace(month=1, day=1)
    try:
        value = dateutil_parser.parse(text, default=default)
        if value.tzinfo is not None:
            value = value.astimezone(SYSTEM_TIME_ZONE).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None
    return value


_ZONE_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE | re.ASCII)


def read_time_zone(setting: Any) -> _dt.tzinfo | None:
    """A time zone setting (an IANA name such as ``Europe/Berlin``, a UTC offset such as
    ``+01:00`` or ``UTC-5``, or a tzinfo) as a tzinfo, or None if it names no zone."""
    if isinstance(setting, _dt.tzinfo):
        return setting
    text = str(setting).strip()
    offset = _ZONE_OFFSET.fullmatch(text)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = _dt.timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta >= _dt.timedelta(hours=24):
            return None
        return _dt.timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _today() -> _dt.date:
    # A time without a date means today, in Marketing Cloud system time.
    from ..rendering import current_context

    return current_context().now().date()


def add_months(value: _dt.datetime, months: int) -> _dt.datetime:
    """Add calendar months the .NET way: Jan 31 + 1 month is the last day of February."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError("date out of range")
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)
