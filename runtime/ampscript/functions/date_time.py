"""Date and Time functions.

Reference: https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-date-time

Dates are naive datetimes in Marketing Cloud system time (Central Standard
Time, UTC-6 all year).  Strings are read by the value core
(`ampscript.values.dates`, through ``params.Date``) and written by
`ampscript.formatting.dates`, the way .NET does.  Every function but
FormatDate() aborts on a value that is not a date (an unreadable string, an
empty one, a number); FormatDate() returns the empty string
(https://sfmc.guide/engagement/ampscript/functions/dateadd/,
https://sfmc.guide/engagement/ampscript/functions/formatdate/).

Send times and the user's local time zone come from the `Context`, read
defensively so a context without them still works:

* ``local_time_zone``: the Marketing Cloud user's time zone, as an IANA name
  (``"Europe/Berlin"``), a UTC offset (``"+01:00"``) or a `tzinfo`;
  without it, local time is system time;
* ``send_time``: when the send to this subscriber completed (GetSendTime());
* ``job_time``: when the send job started or was published (Now(true),
  GetSendTime(true)).
Without send times, as during a send and on CloudPages, both are the current
system time.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ..errors import ScriptError
from ..formatting.dates import SYSTEM_TIME_ZONE, add_months, format_date, format_date_time
from ..registry import ampscript_function
from ..rendering import current_context
from ..values import case, format_default_datetime, params, parse_boolean
from ..values.dates import parse_date, read_date, read_time_zone

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


def _unit(text: str, function: str, argument: str, units: tuple[str, ...] = _UNITS) -> str:
    """The unit a unit argument names, compared ignoring case, or an error listing the units."""
    unit = case.fold(text.strip())
    for known in units:
        if case.fold(known) == unit:
            return known
    raise ScriptError(
        f"invalid unit {text!r} for argument {argument!r} of {function}(): use {', '.join(units[:-1])} or {units[-1]}"
    )


def _flag(value: Any) -> bool:
    """A flag the function does not validate: true when it reads as true, false for anything else.

    DateParse("...", "spring") is as DateParse("..."), and Now("spring") and
    GetSendTime("spring") return the current instant
    (https://sfmc.guide/engagement/ampscript/functions/dateparse/,
    https://sfmc.guide/engagement/ampscript/functions/now/,
    https://sfmc.guide/engagement/differs-from-docs/#getsendtime-outside-a-send-returns-now).
    """
    return parse_boolean(value) is True


@ampscript_function(_CATEGORY)
def DateAdd(date: params.Date, amount_to_add: params.Integer, unit_to_add: params.Text) -> _dt.datetime:
    """The date plus a whole number of years (Y), months (M), days (D), hours (H) or minutes (MI).

    A negative amount subtracts; the amount may be a number or a numeric
    string, but must be whole: ``1.5`` and ``"1.5"`` abort rather than being
    rounded (https://sfmc.guide/engagement/ampscript/functions/dateadd/).
    The units ignore case; any other unit aborts
    (https://sfmc.guide/engagement/differs-from-docs/#dateadd-unlisted-unit-aborts-the-page).
    Adding months or years keeps the day of the month unless the target
    month is shorter (Jan 31 + 1 M is Feb 28 or 29), and the clamp is not
    undone by subtracting again
    (https://sfmc.guide/engagement/differs-from-docs/#dateadd-month-end-clamping-is-lossy).
    """
    unit = _unit(unit_to_add, "DateAdd", "unitToAdd")
    try:
        if unit in ("Y", "M"):
            return add_months(date, amount_to_add * (12 if unit == "Y" else 1))
        step = {"D": "days", "H": "hours", "MI": "minutes"}[unit]
        return date + _dt.timedelta(**{step: amount_to_add})
    except OverflowError:
        raise ScriptError("DateAdd(): the result is outside the range of dates (years 1 to 9999)") from None


@ampscript_function(_CATEGORY)
def DateDiff(start_date: params.Date, end_date: params.Date, unit_of_difference: params.Text) -> int:
    """endDate minus startDate in years, months, days, hours or minutes.

    Counts the unit boundaries crossed, as AMPscript does (Salesforce's
    Handlebars DateDiff reference describes its ``version="ampscript"`` mode
    so; observed: https://sfmc.guide/engagement/differs-from-docs/#datediff-counts-boundaries-not-elapsed-time):
    Dec 31 to Jan 1 is 1 year, 11:59 to 12:00 is 1 hour.
    """
    unit = _unit(unit_of_difference, "DateDiff", "unitOfDifference")
    start, end = start_date, end_date
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


_DATE_PARTS = ("Y", "M", "D", "H", "MI", "year", "month", "monthName", "day", "hour", "minute")


@ampscript_function(_CATEGORY)
def DatePart(date_string: params.Date, date_part: params.Text) -> str:
    """A part of a date, as text: ``Y``/``year`` (four digits), ``M``/``month`` and ``D``/``day``
    (two digits, ``03``), ``H``/``hour`` (a 12-hour clock, 1 to 12, unpadded), ``MI``/``minute``
    (unpadded) or ``monthName`` (the English name); the names ignore case.

    Observed (https://sfmc.guide/engagement/ampscript/functions/datepart/,
    https://sfmc.guide/engagement/differs-from-docs/#datepart-hour-is-a-12-hour-clock,
    https://sfmc.guide/engagement/differs-from-docs/#datepart-inconsistent-zero-padding,
    and issue 9): for ``2026-03-04 09:05:07`` the parts are 2026, 03, 04, 9
    and 5; midnight, noon and a date without time are hour 12; 19:35 is
    hour 7.  Other parts (seconds, weeks, ``dayName``) abort.  The text
    still computes as a number (``Add(DatePart(@d, "Y"), 1)``).
    """
    value = date_string
    part = _unit(date_part, "DatePart", "datePart", _DATE_PARTS)
    if part in ("Y", "year"):
        return f"{value.year:04d}"
    if part in ("M", "month"):
        return f"{value.month:02d}"
    if part == "monthName":
        return format_date(value, "MMMM", "en-US")
    if part in ("D", "day"):
        return f"{value.day:02d}"
    if part in ("H", "hour"):
        return str(value.hour % 12 or 12)
    return str(value.minute)


@ampscript_function(_CATEGORY)
def DateParse(date_string: params.Date, bool_use_utc: params.Value = False) -> _dt.datetime:
    """The date a string stands for, in system time, or in UTC when boolUseUtc is true.

    A string with a UTC offset (``2023-08-05T13:41:23-06:00``) is converted;
    one without is taken as system time: ``DateParse("2023-05-01
    2:30PM-1:00", 1)`` is ``5/1/2023 3:30:00 PM`` (issue 9).  A boolUseUtc
    that is not a boolean is false
    (https://sfmc.guide/engagement/ampscript/functions/dateparse/).
    """
    if _flag(bool_use_utc):
        return _convert(date_string, SYSTEM_TIME_ZONE, _dt.timezone.utc)
    return date_string


@ampscript_function(_CATEGORY)
def StringToDate(date_string: params.Date) -> _dt.datetime:
    """The date a string stands for (ISO 8601, US, long English, CJK notations), as DateParse() reads it.

    The catalog lists an optional format argument; Salesforce's reference
    has only dateString, and Marketing Cloud rejects a second argument
    (https://sfmc.guide/engagement/differs-from-docs/#stringtodate-duplicate-of-dateparse).
    """
    return date_string


@ampscript_function(_CATEGORY, output_grows=True)
def FormatDate(
    date_string: params.Value,
    date_format: params.Text = "",
    time_format: params.Text = "",
    locale_code: params.Text = "",
) -> str:
    """A date written with a date pattern, then a space and a time pattern, in a culture.

    The patterns are FormatDate's keywords or .NET format strings in
    FormatDate's own dialect, where ``mm`` in the date pattern is the month
    and the day names are shifted (`ampscript.formatting.dates.format_date_time`).
    A value that is not a date (an unreadable string, an empty one, a
    number) gives the empty string, not an error
    (https://sfmc.guide/engagement/ampscript/functions/formatdate/).  The
    catalog's fourth argument is a time zone; the reference's is
    localeCode, which is followed; ``fr-FR`` and ``fr_FR`` are the same.
    """
    value = read_date(date_string)
    if value is None:
        return ""
    return format_date_time(value, date_format, time_format, locale_code.strip() or None)


@ampscript_function(_CATEGORY)
def Now(bool_preserve_email_sent_time: params.Value = False) -> _dt.datetime:
    """The current system time; with true, the send job's start (or publish) time when there is one.

    One instant for the whole render; an argument that is not a boolean is
    false (https://sfmc.guide/engagement/ampscript/functions/now/).
    """
    context = current_context()
    if _flag(bool_preserve_email_sent_time):
        return _context_time(context, "job_time") or context.now()
    return context.now()


@ampscript_function(_CATEGORY)
def GetSendTime(bool_all_subscribers: params.Value = False) -> _dt.datetime:
    """When the send to this subscriber completed; with true, when the send job started.

    During a send, on CloudPages and in tests without send times in the
    context, the current system time, the same instant as Now()
    (https://sfmc.guide/engagement/differs-from-docs/#getsendtime-outside-a-send-returns-now);
    an argument that is not a boolean is false.
    """
    context = current_context()
    which = "job_time" if _flag(bool_all_subscribers) else "send_time"
    return _context_time(context, which) or context.now()


def _context_time(context: Any, name: str) -> _dt.datetime | None:
    value = getattr(context, name, None)
    return parse_date(value, "GetSendTime", name) if value is not None else None


@ampscript_function(_CATEGORY)
def SystemDateToLocalDate(system_time: params.Date) -> _dt.datetime:
    """System time (CST, UTC-6) converted to the Marketing Cloud user's local time zone.

    The shift follows the zone's daylight saving time: for an account on
    Central European time it is 420 minutes in January and 480 in July
    (https://sfmc.guide/engagement/differs-from-docs/#systemdatetolocaldate-seasonal-shift).
    """
    return _convert(system_time, SYSTEM_TIME_ZONE, _local_time_zone())


@ampscript_function(_CATEGORY)
def LocalDateToSystemDate(local_date: params.Date) -> _dt.datetime:
    """A time in the Marketing Cloud user's local time zone converted to system time (CST, UTC-6).

    The inverse of SystemDateToLocalDate()
    (https://sfmc.guide/engagement/differs-from-docs/#localdatetosystemdate-seasonal-shift).
    """
    return _convert(local_date, _local_time_zone(), SYSTEM_TIME_ZONE)


def _convert(value: _dt.datetime, source: _dt.tzinfo, target: _dt.tzinfo) -> _dt.datetime:
    try:
        return value.replace(tzinfo=source).astimezone(target).replace(tzinfo=None)
    except OverflowError:  # 12/31/9999 23:00 system time is past the last date in UTC
        raise ScriptError(
            f"{format_default_datetime(value)} converted to another time zone is outside the range of dates "
            "(years 1 to 9999)"
        ) from None


def _local_time_zone() -> _dt.tzinfo:
    setting = getattr(current_context(), "local_time_zone", None)
    if setting is None or setting == "":
        return SYSTEM_TIME_ZONE
    zone = read_time_zone(setting)
    if zone is None:
        raise ScriptError(f"unknown local time zone {str(setting)!r} in the render context")
    return zone
