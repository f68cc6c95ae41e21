"""Dates out the way Marketing Cloud (.NET) writes them; reading them is the value core's
(`ampscript.values.dates`).

* `format_date(value, dotnet_format, culture)`: a datetime formatted with a
  .NET standard (``d``, ``D``, ``f``, ``F``, ``g``, ``G``, ``M``, ``o``,
  ``r``, ``s``, ``t``, ``T``, ``u``, ``U``, ``Y``) or custom
  (``MMMM d, yyyy``, ``hh:mm tt``, ...) format string in a culture
  (``en-US`` by default; ``de-DE`` and ``de_DE`` are both accepted), as
  Format() does;
* `format_date_time(value, date_format, time_format, culture)`: FormatDate()'s
  own dialect of those patterns (see there).

AMPscript dates are .NET DateTimes of unspecified kind in Marketing Cloud
system time (Central Standard Time, UTC-6 all year): ``K`` writes nothing
and ``o`` has no offset (``2026-03-04T13:52:07.0000000``,
https://sfmc.guide/engagement/ampscript/functions/formatdate/), while ``z``
writes the system time's offset.  A culture code that names no culture
formats in .NET's invariant culture (a made-up code still renders a date:
https://sfmc.guide/engagement/ampscript/functions/formatdate/; which culture
it renders in was not observed, so the invariant culture, .NET's fallback,
is a choice).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..errors import ScriptError
from ..lazy import lazy_module
from ..values import case, to_text
from ..values.dates import SYSTEM_TIME_ZONE, add_months, parse_date

if TYPE_CHECKING:
    from babel import Locale

babel = lazy_module("babel")  # imported by the first format: Babel costs start-up

__all__ = ["SYSTEM_TIME_ZONE", "add_months", "format_date", "format_date_time", "parse_date"]

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


# .NET's invariant culture, for culture codes that name no culture (module docstring).
_INVARIANT = dict(short_date="MM/dd/yyyy", long_date="dddd, dd MMMM yyyy", short_time="HH:mm",
                  long_time="HH:mm:ss", month_day="MMMM dd", year_month="yyyy MMMM", era="A.D.")


def _resolve_culture(culture: Any) -> _Culture:
    name = to_text(culture).strip() or "en-US"
    return _culture(name)


@lru_cache(maxsize=64)
def _culture(name: str) -> _Culture:
    try:
        locale = babel.Locale.parse(name.replace("-", "_"))
    except (babel.UnknownLocaleError, ValueError, TypeError):
        return _Culture(babel.Locale("en"), **_INVARIANT)
    key = str(locale)
    if key == "en":
        key = "en_US"
    known = _DOTNET_PATTERNS.get(key) or _DOTNET_PATTERNS.get(f"{key}_{key.upper()}")
    if known:
        return _Culture(locale, **known)
    return _Culture(
        locale,
        # .NET's short dates write four-digit years where CLDR's often have two
        # (uk-UA: 04.03.2026, https://sfmc.guide/engagement/ampscript/functions/formatdate/).
        short_date=re.sub(r"(?<!y)yy(?!y)", "yyyy", _from_cldr(locale.date_formats["short"].pattern)),
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

_ROUND_TRIP = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK"
_RFC1123 = "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'"
_STANDARD_INVARIANT = {
    "o": _ROUND_TRIP,
    "O": _ROUND_TRIP,
    "r": _RFC1123,
    "R": _RFC1123,
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
}


class _BadFormat(Exception):
    """A format string .NET refuses; the argument is why ("" when it is simply not a format)."""


def format_date(value: _dt.datetime, dotnet_format: str | None, culture: Any = None) -> str:
    """Format a datetime as .NET's ``DateTime.ToString(format, culture)`` does.

    `value` is naive Marketing Cloud system time; an empty or missing format
    is ``G`` (general date, long time), and `culture` is a culture code such
    as ``de-DE`` or ``ja_JP`` (default ``en-US``; a code that names no
    culture is the invariant culture).  Raises `ScriptError` for a format
    .NET refuses (a one-letter format that is not a standard one, an
    unterminated quote...).
    """
    fmt = dotnet_format or "G"
    try:
        return _format(value, fmt, _resolve_culture(culture))
    except _BadFormat as error:
        raise _format_error(fmt, error) from None


def _format(value: _dt.datetime, fmt: str, info: _Culture) -> str:
    if len(fmt) == 1:
        return _format_standard(value, fmt, info)
    return _format_custom(value, fmt, info)


def _format_error(fmt: str, error: _BadFormat, where: str = "") -> ScriptError:
    reason = f": {error.args[0]}" if error.args and error.args[0] else ""
    return ScriptError(f"invalid date format {fmt!r}{where}{reason}")


def _format_standard(value: _dt.datetime, letter: str, info: _Culture) -> str:
    if letter in _STANDARD_INVARIANT:
        return _format_custom(value, _STANDARD_INVARIANT[letter], _culture("en-US"))
    patterns = {
        "d": info.short_date,
        "D": info.long_date,
        "f": f"{info.long_date} {info.short_time}",
        "F": f"{info.long_date} {info.long_time}",
        "g": f"{info.short_date} {info.short_time}",
        "G": f"{info.short_date} {info.long_time}",
        # Not a .NET standard format, but Format() writes S as the general
        # date and long time: Format(@date, "S") is 10/5/2017 8:09:34 PM, not
        # the sortable s (issue 9; the reference's formatAndFormatDate.htm and
        # commonStringTokens.htm tables).  FormatDate()'s S is its short-date keyword.
        "S": f"{info.short_date} {info.long_time}",
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
        raise _BadFormat("")
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
                raise _BadFormat("it ends with a backslash")
            out.append(fmt[index + 1])
            index += 2
        elif char == "%":
            # %d: the one-letter custom specifier, not the standard format d.
            if index + 1 >= len(fmt) or fmt[index + 1] == "%":
                raise _BadFormat("a % must come before a format letter")
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
        raise _BadFormat("unterminated quote")
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
    return ""  # K: nothing, as for a .NET DateTime of unspecified kind (module docstring)


def _fraction(value: _dt.datetime, letter: str, run: int, out: list[str]) -> str:
    if run > 7:
        raise _BadFormat("more than seven f or F")
    ticks = value.microsecond * 10  # .NET counts 100-nanosecond ticks
    digits = f"{ticks // 10 ** (7 - run):0{run}d}"
    if letter == "F":
        digits = digits.rstrip("0")
        if not digits and out and out[-1].endswith("."):
            # .NET drops the decimal point before an empty F fraction.
            out[-1] = out[-1][:-1]
    return digits


# ---------------------------------------------------------------- FormatDate's dialect

# ISO 8601 with the system time's offset: FormatDate()'s ISO keyword, which
# the reference shows as 2017-10-05T20:09:34.5678900-06:00 (formatAndFormatDate.htm),
# while the standard o writes no offset (sfmc.guide's formatdate page).
_ISO_WITH_OFFSET = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffzzz"

# FormatDate's keywords for the date and the time format, compared ignoring case.
_DATE_KEYWORDS = {
    "S": "d", "SHORT": "d",
    "L": "D", "LONG": "D",
    "SORTABLE": "yyyy'-'MM'-'dd",
    "ISO": _ISO_WITH_OFFSET, "O": "o",
    "RFC": "r", "R": "r",
}
_TIME_KEYWORDS = {
    "S": "t", "SHORT": "t",
    "L": "T", "LONG": "T",
    "ISO": _ISO_WITH_OFFSET, "O": "o",
    "RFC": "r", "R": "r",
}

# .NET's DayOfWeek names, which FormatDate's ddd writes into the pattern (below).
_DAY_OF_WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def format_date_time(value: _dt.datetime, date_format: str, time_format: str, culture: Any = None) -> str:
    """FormatDate(): the date written with a date pattern, a space, and a time pattern.

    Each pattern is one of FormatDate's keywords (``S``/``short``,
    ``L``/``long``, ``sortable``, ``ISO``, ``RFC``, ``o``, ``r``, in any
    case) or a .NET format string in FormatDate's dialect, which Marketing
    Cloud rewrites before .NET formats it
    (https://sfmc.guide/engagement/differs-from-docs/#formatdate-date-pattern-tokens-mean-something-else,
    https://sfmc.guide/engagement/ampscript/functions/formatdate/):

    * the date pattern ignores the case of ``y``, ``d`` and ``m``, and ``m``
      is the month there: ``YYYY`` is ``yyyy``, ``DD`` is ``dd``, ``mm`` and
      ``MM`` are both the month (``yyyy-MM-dd HH:mm:ss`` writes
      ``2026-03-04 13:03:07``), so ``D`` alone is the short date
      (``3/4/2026``);
    * its day names are shifted: ``dddd`` is the abbreviated name (``Wed``),
      ``ddddd`` the full one, and ``ddd`` puts the English day name itself
      into the pattern, where .NET reads its letters as tokens: a Wednesday
      the 4th at 13:52:07 in 2026 gives ``We4ne74a26`` (W, e, d=4, n, e,
      s=7, d=4, a, y=26), a Friday the 25th ``ri25a26`` (F is an empty
      fraction); the reference's table shows ``T8ur345a17`` for a Thursday.
      A run of six or more d is the full name (choice: not observed);
    * in the time pattern ``m``/``M`` are the minutes (``mm`` and ``MM``
      both write ``52``), ``s``/``S`` the seconds and ``MMM`` the
      milliseconds: the reference's example formats
      ``2012-10-05 03:21:34.567890`` with ``"MMM DD, YYYY", "HH:MM:SS.MMM"``
      as ``Oct 05, 2012 03:21:34.567``
      (https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmat-content/FormatDate.htm);
    * quoted text and backslash escapes are left alone (choice);
    * the other letters keep their .NET meaning (``HH`` is the 24-hour hour
      in either pattern), and a single letter is a .NET standard format.

    Without either pattern the date is written as Marketing Cloud prints
    dates (``G``).
    """
    date_part = _formatdate_pattern(date_format, _DATE_KEYWORDS, lambda text: _date_dialect(text, value))
    time_part = _formatdate_pattern(time_format, _TIME_KEYWORDS, _time_dialect)
    if not date_part and not time_part:
        return format_date(value, "G", culture)
    info = _resolve_culture(culture)
    written = []
    for part, given, argument in ((date_part, date_format, "dateFormat"), (time_part, time_format, "timeFormat")):
        if part:
            try:
                written.append(_format(value, part, info))
            except _BadFormat as error:  # named as the script wrote it
                raise _format_error(given, error, f" for argument {argument!r} of FormatDate()") from None
    return " ".join(written)


def _formatdate_pattern(text: str, keywords: dict[str, str], dialect: Callable[[str], str]) -> str:
    keyword = keywords.get(case.fold(text.strip()))
    return keyword if keyword is not None else dialect(text)


def _date_dialect(pattern: str, value: _dt.datetime) -> str:
    def rewrite(letter: str, run: int) -> str:
        if letter == "d":
            if run == 3:
                return _DAY_OF_WEEK[value.weekday()]
            return "d" * run if run <= 2 else "ddd" if run == 4 else "dddd"
        return letter * run

    return _rewrite_runs(pattern, {"d": "d", "D": "d", "y": "y", "Y": "y", "m": "M", "M": "M"}, rewrite)


def _time_dialect(pattern: str) -> str:
    def rewrite(letter: str, run: int) -> str:
        if letter == "m" and run == 3:
            return "fff"
        return letter * run

    return _rewrite_runs(pattern, {"m": "m", "M": "m", "s": "s", "S": "s"}, rewrite)


def _rewrite_runs(pattern: str, letters: dict[str, str], rewrite: Callable[[str, int], str]) -> str:
    """The pattern with each run of one of `letters` (after mapping) replaced by rewrite(letter, length)."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char in ("'", '"'):
            end = pattern.find(char, index + 1)
            end = len(pattern) if end < 0 else end + 1
            out.append(pattern[index:end])
            index = end
        elif char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
        elif char in letters:
            letter, end = letters[char], index
            while end < len(pattern) and letters.get(pattern[end]) == letter:
                end += 1
            out.append(rewrite(letter, end - index))
            index = end
        else:
            out.append(char)
            index += 1
    return "".join(out)
