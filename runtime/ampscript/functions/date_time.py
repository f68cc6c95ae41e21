"""Date and Time functions.

Dates are naive datetimes in Marketing Cloud system time (Central Standard
Time, UTC-6 all year).  Strings are read by `ampscript.formatting.dates`,
which also formats them the way .NET does.

Send times and the user's local time zone come from the `Context`, read
defensively so a context without them still works:

* ``local_time_zone``: the Marketing Cloud user's time zone, as an IANA name
  (``"America/New_York"``), a UTC offset (``"+01:00"``) or a `tzinfo`;
  without it, local time is system time;
* ``send_time``: when the send to this subscriber completed (GetSendTime());
* ``job_time``: when the send job started or was published (Now(true),
  GetSendTime(true)).
Without send times, as during a send and on CloudPages, both are the current
system time.
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ScriptError
from ..formatting.dates import SYSTEM_TIME_ZONE, add_months, format_date, parse_date
from ..registry import ampscript_function
from ..rendering import current_context
from ..values import format_default_datetime, is_empty, to_boolean, to_int, to_number, to_text

__all__ = [
    "DateAdd",
    "DateDiff",
    "DateParse",
    "DatePart",
    "FormatDate",
    "GetSendTime",
    "LocalDateToSystemDate",
    "Now",
    "StringToDate",
    "SystemDateToLocalDate",
]

_CATEGORY = "Date and Time"
_UNITS = ("Y", "M", "D", "H", "MI")
_MILLISECONDS = {"D": 86_400_000, "H": 3_600_000, "MI": 60_000}


def _unit(value: Any, function: str, argument: str) -> str:
    unit = to_text(value).strip().upper()
    if unit not in _UNITS:
        raise ScriptError(
            f"invalid unit {to_text(value)!r} for argument {argument!r} of {function}(): use Y, M, D, H or MI"
        )
    return unit


@ampscript_function(_CATEGORY)
def DateAdd(date: Any, amount_to_add: Any, unit_to_add: Any) -> _dt.datetime:
    """The date plus an amount of years (Y), months (M), days (D), hours (H) or minutes (MI).

    A negative amount subtracts.  Adding months or years keeps the day of the
    month unless the target month is shorter (Jan 31 + 1 M is Feb 28 or 29).
    Years and months must be whole numbers; days, hours and minutes may have
    decimals, kept to the millisecond as .NET does.
    """
    start = parse_date(date, "DateAdd", "date")
    unit = _unit(unit_to_add, "DateAdd", "unitToAdd")
    try:
        if unit in ("Y", "M"):
            months = to_int(amount_to_add, "DateAdd", "amountToAdd") * (12 if unit == "Y" else 1)
            return add_months(start, months)
        amount = Decimal(to_number(amount_to_add, "DateAdd", "amountToAdd"))
        if amount.adjusted() > _LARGEST_AMOUNT_EXPONENT:  # past any date, before arithmetic on it
            raise OverflowError
        milliseconds = (amount * _MILLISECONDS[unit]).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return start + _dt.timedelta(milliseconds=int(milliseconds))
    except OverflowError:
        raise ScriptError("DateAdd(): the result is outside the range of dates (years 1 to 9999)") from None


# 10,000 years is about 3.2E+14 milliseconds; any amount of 1E+15 or more of any
# unit leaves the range of dates, whichever date it is added to.
_LARGEST_AMOUNT_EXPONENT = 14


@ampscript_function(_CATEGORY)
def DateDiff(start_date: Any, end_date: Any, unit_of_difference: Any) -> int:
    """endDate minus startDate in years, months, days, hours or minutes.

    Counts the unit boundaries crossed, as AMPscript does (Salesforce's
    Handlebars DateDiff reference describes its ``version="ampscript"`` mode
    so): Dec 31 to Jan 1 is 1 year, 11:59 to 12:00 is 1 hour.
    """
    start = parse_date(start_date, "DateDiff", "startDate")
    end = parse_date(end_date, "DateDiff", "endDate")
    unit = _unit(unit_of_difference, "DateDiff", "unitOfDifference")
    if unit == "Y":
        return end.year - start.year
    if unit == "M":
        return (end.year * 12 + end.month) - (start.year * 12 + start.month)
    if unit == "D":
        return (end.date() - start.date()).days
    span = _truncate(end, unit) - _truncate(start, unit)
    return int(span.total_seconds()) // (3600 if unit == "H" else 60)


def _truncate(value: _dt.datetime, unit: str) -> _dt.datetime:
    if unit == "H":
        return value.replace(minute=0, second=0, microsecond=0)
    return value.replace(second=0, microsecond=0)


@ampscript_function(_CATEGORY)
def DatePart(date_string: Any, date_part: Any) -> int:
    """The year (Y), month number (M), day (D), hour 0-23 (H) or minute (MI) of a date."""
    value = parse_date(date_string, "DatePart", "dateString")
    unit = _unit(date_part, "DatePart", "datePart")
    return {"Y": value.year, "M": value.month, "D": value.day, "H": value.hour, "MI": value.minute}[unit]


@ampscript_function(_CATEGORY)
def DateParse(date_string: Any, bool_use_utc: Any = False) -> _dt.datetime:
    """The date a string stands for, in system time, or in UTC when boolUseUtc is true.

    A string with a UTC offset (``2023-08-05T13:41:23-06:00``) is converted;
    one without is taken as system time.
    """
    value = parse_date(date_string, "DateParse", "dateString")
    if to_boolean(bool_use_utc, "DateParse", "boolUseUtc"):
        return _convert(value, SYSTEM_TIME_ZONE, _dt.timezone.utc)
    return value


@ampscript_function(_CATEGORY)
def StringToDate(date_string: Any) -> _dt.datetime:
    """The date a string stands for (ISO 8601, US, long English, CJK notations).

    The catalog lists an optional format argument; Salesforce's reference
    has only dateString, so only that is accepted.
    """
    return parse_date(date_string, "StringToDate", "dateString")


# FormatDate's keywords for the date and time formats (case-insensitive).
_DATE_KEYWORDS = {
    "s": "d", "short": "d",
    "l": "D", "long": "D",
    "sortable": "yyyy'-'MM'-'dd",
    "iso": "o", "o": "o",
    "rfc": "r", "r": "r",
}
_TIME_KEYWORDS = {
    "s": "t", "short": "t",
    "l": "T", "long": "T",
    "iso": "o", "o": "o",
    "rfc": "r", "r": "r",
}


@ampscript_function(_CATEGORY, output_grows=True)
def FormatDate(date_string: Any, date_format: Any = None, time_format: Any = None, locale_code: Any = None) -> str:
    """A date written with a date format, then a space and a time format, in a culture.

    Formats are .NET format strings (``MMMM d, yyyy``, ``h:mm tt``) or one of
    FormatDate's keywords: ``S``/``short`` and ``L``/``long`` (the culture's
    short or long date, or time in timeFormat), ``sortable`` (2017-10-05),
    ``ISO``/``o`` (2017-10-05T20:09:34.5678900-06:00) and ``RFC``/``r``.
    Unlike Format(), ``s`` is the short date here, not the sortable one.
    The catalog's fourth argument is a time zone; the reference's is
    localeCode, which is followed.  Without a date format the date is
    written as Marketing Cloud prints dates (``G``).
    """
    value = parse_date(date_string, "FormatDate", "dateString")
    culture = None if is_empty(locale_code) else locale_code
    date_part = _keyword_format(date_format, _DATE_KEYWORDS)
    time_part = _keyword_format(time_format, _TIME_KEYWORDS)
    if not date_part and not time_part:
        return format_date(value, "G", culture)
    parts = [format_date(value, fmt, culture) for fmt in (date_part, time_part) if fmt]
    return " ".join(parts)


def _keyword_format(value: Any, keywords: dict[str, str]) -> str:
    text = to_text(value)
    return keywords.get(text.strip().lower(), text)


@ampscript_function(_CATEGORY)
def Now(bool_preserve_email_sent_time: Any = False) -> _dt.datetime:
    """The current system time; with true, the send job's start (or publish) time when there is one."""
    context = current_context()
    if to_boolean(bool_preserve_email_sent_time, "Now", "boolPreserveEmailSentTime"):
        return _context_time(context, "job_time") or context.now()
    return context.now()


@ampscript_function(_CATEGORY)
def GetSendTime(bool_all_subscribers: Any = False) -> _dt.datetime:
    """When the send to this subscriber completed; with true, when the send job started.

    During a send, on CloudPages and in tests without send times in the
    context, the current system time.
    """
    context = current_context()
    which = "job_time" if to_boolean(bool_all_subscribers, "GetSendTime", "boolAllSubscribers") else "send_time"
    return _context_time(context, which) or context.now()


def _context_time(context: Any, name: str) -> _dt.datetime | None:
    value = getattr(context, name, None)
    return parse_date(value, "GetSendTime", name) if value is not None else None


@ampscript_function(_CATEGORY)
def SystemDateToLocalDate(system_time: Any) -> _dt.datetime:
    """System time (CST, UTC-6) converted to the Marketing Cloud user's local time zone."""
    value = parse_date(system_time, "SystemDateToLocalDate", "systemTime")
    return _convert(value, SYSTEM_TIME_ZONE, _local_time_zone())


@ampscript_function(_CATEGORY)
def LocalDateToSystemDate(local_date: Any) -> _dt.datetime:
    """A time in the Marketing Cloud user's local time zone converted to system time (CST, UTC-6)."""
    value = parse_date(local_date, "LocalDateToSystemDate", "localDate")
    return _convert(value, _local_time_zone(), SYSTEM_TIME_ZONE)


def _convert(value: _dt.datetime, source: _dt.tzinfo, target: _dt.tzinfo) -> _dt.datetime:
    try:
        return value.replace(tzinfo=source).astimezone(target).replace(tzinfo=None)
    except OverflowError:  # 12/31/9999 23:00 system time is past the last date in UTC
        raise ScriptError(
            f"{format_default_datetime(value)} converted to another time zone is outside the range of dates "
            "(years 1 to 9999)"
        ) from None


_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)


def _local_time_zone() -> _dt.tzinfo:
    setting = getattr(current_context(), "local_time_zone", None)
    if setting is None or setting == "":
        return SYSTEM_TIME_ZONE
    if isinstance(setting, _dt.tzinfo):
        return setting
    text = str(setting).strip()
    offset = _OFFSET.fullmatch(text)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = _dt.timedelta(hours=int(hours), minutes=int(minutes or 0))
        return _dt.timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScriptError(f"unknown local time zone {text!r} in the render context") from None
