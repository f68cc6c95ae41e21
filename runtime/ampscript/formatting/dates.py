"""Dates in and out the way Marketing Cloud (.NET) reads and writes them.

Two entry points, shared by the Date and Time functions and by Format():

* `parse_date(value, function, argument)`: the naive system-time datetime a
  value stands for.  Strings are read in the forms the AMPscript reference
  lists (ISO 8601 with or without time and offset, US month/day/year, long
  English forms, time only, Chinese/Japanese and Korean notation); a string
  with a UTC offset is converted to Marketing Cloud system time.
* `format_date(value, dotnet_format, culture)`: a datetime formatted with a
  .NET standard (``d``, ``D``, ``f``, ``F``, ``g``, ``G``, ``M``, ``o``,
  ``r``, ``s``, ``t``, ``T``, ``u``, ``U``, ``Y``) or custom
  (``MMMM d, yyyy``, ``hh:mm tt``, ...) format string in a culture
  (``en-US`` by default; ``de-DE`` and ``de_DE`` are both accepted).

Marketing Cloud system time is Central Standard Time, UTC-6 all year.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from dateutil import parser as _dateutil_parser

from ..errors import ScriptError
from ..values import to_text

__all__ = ["SYSTEM_TIME_ZONE", "parse_date", "format_date", "add_months"]

SYSTEM_TIME_ZONE = _dt.timezone(_dt.timedelta(hours=-6), "CST")

# ---------------------------------------------------------------- parsing

_TIME = (
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,7}))?)?"
    r"\s*(?P<meridiem>[AaPp]\.?[Mm]\.?)?"
)
_OFFSET = r"(?P<offset>Z|z|[+-]\d{2}(?::?\d{2})?)"
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
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    text = value.strip() if isinstance(value, str) else None
    parsed = _parse_text(text) if text else None
    if parsed is None:
        raise ScriptError(f"invalid date {to_text(value)!r} for argument {argument!r} of {function}()")
    return parsed


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
        value = _dt.datetime(year, month, day, *time)
    except ValueError:
        return None
    return _to_system_time(value, fields.get("offset"))


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


def _to_system_time(value: _dt.datetime, offset: str | None) -> _dt.datetime:
    if not offset:
        return value
    if offset in ("Z", "z"):
        zone = _dt.timezone.utc
    else:
        digits = offset[1:].replace(":", "")
        delta = _dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        zone = _dt.timezone(-delta if offset[0] == "-" else delta)
    return value.replace(tzinfo=zone).astimezone(SYSTEM_TIME_ZONE).replace(tzinfo=None)


def _parse_english(text: str) -> _dt.datetime | None:
    """Long forms with English month names: ``5 August 2023``, ``Monday, August 15, 2011 1:41 PM``."""
    if not _ENGLISH_MONTH.search(text) or _ORDINAL_SUFFIX.search(text):
        return None
    # Every letter must belong to an English month or day name, AM/PM or a
    # time zone marker: "5 août 2023" is not a date Marketing Cloud reads.
    if re.search(r"[^\W\d_]", _ENGLISH_WORDS.sub("", text)):
        return None
    default = _dt.datetime.combine(_today(), _dt.time()).replace(month=1, day=1)
    try:
        value = _dateutil_parser.parse(text, default=default)
    except (ValueError, OverflowError):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(SYSTEM_TIME_ZONE).replace(tzinfo=None)
    return value


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


# ---------------------------------------------------------------- cultures


@dataclass(frozen=True)
class _Culture:
    locale: Locale
    short_date: str
    long_date: str
    short_time: str
    long_time: str
    month_day: str
    year_month: str
    date_separator: str = "/"
    time_separator: str = ":"
    era: str | None = None

    def month_name(self, month: int, width: str, genitive: bool) -> str:
        context = "format" if genitive else "stand-alone"
        return self.locale.months[context][width][month]

    def day_name(self, weekday: int, width: str) -> str:
        return self.locale.days["format"][width][weekday]

    def designator(self, hour: int) -> str:
        # CLDR's wide AM/PM names are .NET's designators where they differ
        # (Korean 오전/오후); most locales only have abbreviated ones.
        period = "am" if hour < 12 else "pm"
        periods = self.locale.day_periods["format"]
        return periods["wide"].get(period) or periods["abbreviated"][period]

    def era_name(self) -> str:
        return self.era or self.locale.eras["abbreviated"][1]


# The patterns .NET on Windows uses for the cultures emails are most often
# formatted in (CLDR's differ: de-DE's short date is dd.MM.yy there, but
# dd.MM.yyyy in .NET).  Other cultures fall back to CLDR patterns.
_DOTNET_PATTERNS: dict[str, dict[str, str]] = {
    "en_US": dict(short_date="M/d/yyyy", long_date="dddd, MMMM d, yyyy", short_time="h:mm tt",
                  long_time="h:mm:ss tt", month_day="MMMM d", year_month="MMMM yyyy", era="A.D."),
    "en_GB": dict(short_date="dd/MM/yyyy", long_date="dd MMMM yyyy", short_time="HH:mm",
                  long_time="HH:mm:ss", month_day="d MMMM", year_month="MMMM yyyy", era="A.D."),
    "de_DE": dict(short_date="dd.MM.yyyy", long_date="dddd, d. MMMM yyyy", short_time="HH:mm",
                  long_time="HH:mm:ss", month_day="d. MMMM", year_month="MMMM yyyy", date_separator="."),
    "fr_FR": dict(short_date="dd/MM/yyyy", long_date="dddd d MMMM yyyy", short_time="HH:mm",
                  long_time="HH:mm:ss", month_day="d MMMM", year_month="MMMM yyyy"),
    "es_ES": dict(short_date="dd/MM/yyyy", long_date="dddd, d' de 'MMMM' de 'yyyy", short_time="H:mm",
                  long_time="H:mm:ss", month_day="d' de 'MMMM", year_month="MMMM' de 'yyyy"),
    "it_IT": dict(short_date="dd/MM/yyyy", long_date="dddd d MMMM yyyy", short_time="HH:mm",
                  long_time="HH:mm:ss", month_day="d MMMM", year_month="MMMM yyyy"),
    "ja_JP": dict(short_date="yyyy/MM/dd", long_date="yyyy'年'M'月'd'日'", short_time="H:mm",
                  long_time="H:mm:ss", month_day="M'月'd'日'", year_month="yyyy'年'M'月'"),
    "zh_CN": dict(short_date="yyyy/M/d", long_date="yyyy'年'M'月'd'日'", short_time="H:mm",
                  long_time="H:mm:ss", month_day="M'月'd'日'", year_month="yyyy'年'M'月'"),
    "ko_KR": dict(short_date="yyyy-MM-dd", long_date="yyyy'년' M'월' d'일' dddd", short_time="tt h:mm",
                  long_time="tt h:mm:ss", month_day="M'월' d'일'", year_month="yyyy'년' M'월'",
                  date_separator="-"),
    "nl_NL": dict(short_date="d-M-yyyy", long_date="dddd d MMMM yyyy", short_time="HH:mm",
                  long_time="HH:mm:ss", month_day="d MMMM", year_month="MMMM yyyy", date_separator="-"),
    "pt_BR": dict(short_date="dd/MM/yyyy", long_date="dddd, d' de 'MMMM' de 'yyyy", short_time="HH:mm",
                  long_time="HH:mm:ss", month_day="d' de 'MMMM", year_month="MMMM' de 'yyyy"),
}

# CLDR pattern letters and their .NET equivalents, for the fallback.
_CLDR_TO_DOTNET = {"G": "g", "L": "M", "E": "ddd", "c": "ddd", "a": "tt", "K": "h", "k": "H"}


def _resolve_culture(culture: Any) -> _Culture:
    name = to_text(culture).strip() or "en-US"
    return _culture(name)


@lru_cache(maxsize=64)
def _culture(name: str) -> _Culture:
    try:
        locale = Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ScriptError(f"unknown culture code {name!r}") from None
    key = str(locale)
    if key == "en":
        key = "en_US"
    known = _DOTNET_PATTERNS.get(key) or _DOTNET_PATTERNS.get(f"{key}_{key.upper()}")
    if known:
        return _Culture(locale, **known)
    return _Culture(
        locale,
        short_date=_from_cldr(locale.date_formats["short"].pattern),
        long_date=_from_cldr(locale.date_formats["full"].pattern),
        short_time=_from_cldr(locale.time_formats["short"].pattern),
        long_time=_from_cldr(locale.time_formats["medium"].pattern),
        month_day=_from_cldr(_skeleton(locale, "MMMMd", "MMMM d")),
        year_month=_from_cldr(_skeleton(locale, "yMMMM", "MMMM y")),
        date_separator=_separator(locale.date_formats["short"].pattern),
    )


def _skeleton(locale: Locale, skeleton: str, default: str) -> str:
    pattern = locale.datetime_skeletons.get(skeleton)
    return pattern.pattern if pattern is not None else default


def _from_cldr(pattern: str) -> str:
    """A CLDR date pattern rewritten in .NET custom-format letters."""

    def rewrite(match: re.Match) -> str:
        run = match.group(0)
        if run.startswith("'"):
            return run
        letter = run[0]
        if letter == "y":
            return "yy" if len(run) == 2 else "yyyy"
        if letter in ("E", "c"):
            return "dddd" if len(run) >= 4 else "ddd"
        mapped = _CLDR_TO_DOTNET.get(letter, letter)
        return mapped if len(mapped) > 1 else mapped * len(run)

    return re.sub(r"'[^']*'|([A-Za-z])\1*", rewrite, pattern)


def _separator(pattern: str) -> str:
    found = re.search(r"[dMy]+([./-])", pattern)
    return found.group(1) if found else "/"


# ---------------------------------------------------------------- formatting

_STANDARD_INVARIANT = {
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
}


def format_date(value: _dt.datetime, dotnet_format: str | None, culture: Any = None) -> str:
    """Format a datetime as .NET's ``DateTime.ToString(format, culture)`` does.

    `value` is naive Marketing Cloud system time; an empty or missing format
    is ``G`` (general date, long time), and `culture` is a culture code such
    as ``de-DE`` or ``ja_JP`` (default ``en-US``).  Raises `ScriptError` for a
    one-letter format that is not a .NET standard format, and for unknown
    cultures.
    """
    info = _resolve_culture(culture)
    fmt = dotnet_format or "G"
    if len(fmt) == 1:
        return _format_standard(value, fmt, info)
    return _format_custom(value, fmt, info)


def _format_standard(value: _dt.datetime, letter: str, info: _Culture) -> str:
    lower = letter.lower()
    if lower in _STANDARD_INVARIANT and letter != "U":
        return _format_custom(value, _STANDARD_INVARIANT[lower], _culture("en-US"))
    patterns = {
        "d": info.short_date,
        "D": info.long_date,
        "f": f"{info.long_date} {info.short_time}",
        "F": f"{info.long_date} {info.long_time}",
        "g": f"{info.short_date} {info.short_time}",
        "G": f"{info.short_date} {info.long_time}",
        "m": info.month_day,
        "M": info.month_day,
        "t": info.short_time,
        "T": info.long_time,
        "y": info.year_month,
        "Y": info.year_month,
    }
    if letter == "U":
        # Universal full date/time: the system time converted to UTC.
        universal = value.replace(tzinfo=SYSTEM_TIME_ZONE).astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return _format_custom(universal, f"{info.long_date} {info.long_time}", info)
    if letter not in patterns:
        raise ScriptError(f"invalid date format {letter!r}")
    return _format_custom(value, patterns[letter], info)


_TOKEN_LETTERS = set("dfFghHKmMstyz")


def _format_custom(value: _dt.datetime, fmt: str, info: _Culture) -> str:
    genitive = _uses_day_number(fmt)
    out: list[str] = []
    index = 0
    while index < len(fmt):
        char = fmt[index]
        if char in ("'", '"'):
            literal, index = _quoted(fmt, index)
            out.append(literal)
        elif char == "\\":
            if index + 1 >= len(fmt):
                raise ScriptError(f"invalid date format {fmt!r}: it ends with a backslash")
            out.append(fmt[index + 1])
            index += 2
        elif char == "%":
            # %d: the one-letter custom specifier, not the standard format d.
            if index + 1 >= len(fmt) or fmt[index + 1] == "%":
                raise ScriptError(f"invalid date format {fmt!r}")
            index += 1
        elif char in _TOKEN_LETTERS:
            run = _run_length(fmt, index)
            out.append(_token(value, char, run, info, genitive, out))
            index += run
        elif char == ":":
            out.append(info.time_separator)
            index += 1
        elif char == "/":
            out.append(info.date_separator)
            index += 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _run_length(fmt: str, start: int) -> int:
    end = start
    while end < len(fmt) and fmt[end] == fmt[start]:
        end += 1
    return end - start


def _quoted(fmt: str, start: int) -> tuple[str, int]:
    quote, index, text = fmt[start], start + 1, []
    while index < len(fmt) and fmt[index] != quote:
        if fmt[index] == "\\" and index + 1 < len(fmt):
            index += 1
        text.append(fmt[index])
        index += 1
    if index >= len(fmt):
        raise ScriptError(f"invalid date format {fmt!r}: unterminated quote")
    return "".join(text), index + 1


def _uses_day_number(fmt: str) -> bool:
    # .NET uses the genitive month name ("stycznia", not "styczeń") when the
    # format also shows the day of the month (d or dd, not ddd/dddd).
    unquoted = re.sub(r"'[^']*'|\"[^\"]*\"|\\.", "", fmt)
    return any(len(run.group(0)) <= 2 for run in re.finditer(r"d+", unquoted))


def _token(value: _dt.datetime, letter: str, run: int, info: _Culture, genitive: bool, out: list[str]) -> str:
    if letter == "d":
        if run <= 2:
            return f"{value.day:0{run}d}"
        return info.day_name(value.weekday(), "abbreviated" if run == 3 else "wide")
    if letter == "M":
        if run <= 2:
            return f"{value.month:0{run}d}"
        return info.month_name(value.month, "abbreviated" if run == 3 else "wide", genitive)
    if letter == "y":
        if run <= 2:
            return f"{value.year % 100:0{run}d}"
        return f"{value.year:0{run}d}"
    if letter == "h":
        return f"{value.hour % 12 or 12:0{min(run, 2)}d}"
    if letter in "Hms":
        number = {"H": value.hour, "m": value.minute, "s": value.second}[letter]
        return f"{number:0{min(run, 2)}d}"
    if letter in "fF":
        return _fraction(value, letter, run, out)
    if letter == "t":
        designator = info.designator(value.hour)
        return designator[:1] if run == 1 else designator
    if letter == "g":
        return info.era_name()
    if letter == "z":
        # Naive values are system time: UTC-6, written -6, -06 or -06:00.
        return {1: "-6", 2: "-06"}.get(run, "-06:00")
    return "-06:00"  # K: the system time's offset


def _fraction(value: _dt.datetime, letter: str, run: int, out: list[str]) -> str:
    if run > 7:
        raise ScriptError("invalid date format: more than seven f or F")
    ticks = value.microsecond * 10  # .NET counts 100-nanosecond ticks
    digits = f"{ticks // 10 ** (7 - run):0{run}d}"
    if letter == "F":
        digits = digits.rstrip("0")
        if not digits and out and out[-1].endswith("."):
            # .NET drops the decimal point before an empty F fraction.
            out[-1] = out[-1][:-1]
    return digits
