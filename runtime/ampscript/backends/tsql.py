"""SQL Server's rules for a query activity's T-SQL, on SQLite (used by `ampscript.backends.queries`).

SQLite types values, not columns, and compares text with a number by
storage class (any text is greater than any number), so T-SQL run there
as it is gives other answers than SQL Server.  This module rewrites the
sqlglot tree before it becomes SQLite SQL, knowing each column's type from
its data extension field:

* Text, EmailAddress, Phone, Locale: nvarchar (choice: Marketing Cloud's
  text fields are Unicode), held as str;
* Number: int, held as int;
* Decimal: decimal(18, scale), held as float;
* Date: datetime, held as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (the store's format;
  a date is 'YYYY-MM-DD');
* Boolean: bit, held as 0 or 1.

What follows SQL Server
-----------------------

* Implicit conversion by data type precedence ("Data type precedence
  (Transact-SQL)": datetime > date > float > decimal > bigint > int > bit >
  nvarchar > varchar): in a comparison, IN, BETWEEN, CASE, COALESCE,
  arithmetic, UNION and a join's ON, the operand of the lower type is
  converted to the higher one: ``WHERE Points > 100`` on a Text column
  compares numbers; ``Text = Date`` compares datetimes.  Conversions are only
  added where the types differ (a column compared with a value of its own
  type is left alone).  ISNULL converts its second argument to the first's
  type; ``'a' + 'b'`` concatenates; ``datetime + n`` adds days.
* A value that does not convert stops the query, with SQL Server's message
  (nvarchar for a field, varchar for a '...' literal, nvarchar for N'...'):

  - "Conversion failed when converting the nvarchar value 'abc' to data type int." (245)
  - "The conversion of the nvarchar value '99999999999' overflowed an int column." (248)
  - "Error converting data type nvarchar to numeric." / "... to float." (8114)
  - "Arithmetic overflow error converting nvarchar to data type numeric." (8115)
  - "Conversion failed when converting date and/or time from character string." (241)
  - "The conversion of a nvarchar data type to a datetime data type resulted in an out-of-range value." (242)
  - "Divide by zero error encountered." (8134)
  - "Operand data type nvarchar is invalid for sum operator." (8117)

* Text compares case-insensitively and ignoring trailing spaces, as under
  SQL_Latin1_General_CP1_CI_AS: ``=``, ``<>``, ``<``, IN, BETWEEN, simple
  CASE, ORDER BY, GROUP BY, DISTINCT, UNION/INTERSECT/EXCEPT and
  COUNT(DISTINCT) use the ``AMPC_CI_AS`` collation; an explicit ``COLLATE
  *_CS_*`` is case-sensitive (``AMPC_CS_AS``).  LIKE has ``%``, ``_``,
  ``[abc]``, ``[a-c]``, ``[^a]`` and ESCAPE, case-insensitively; the value's
  trailing spaces do not count, the pattern's do (KB 316626).  A pattern of
  ASCII without brackets that ends in ``%`` runs as SQLite's own LIKE.
* CAST, CONVERT (with date styles 0-14, 20-25, 100-114, 120, 121, 126,
  127), TRY_CAST and TRY_CONVERT to int, bigint, smallint, tinyint, bit,
  decimal(p,s)/numeric, money, float/real, varchar(n)/nvarchar(n)/char(n)
  (truncated to n; 30 without n), date, datetime/datetime2/smalldatetime.
* GETDATE() (SYSDATETIME, CURRENT_TIMESTAMP) is the render's clock
  (`Context.now`, Central Standard Time); GETUTCDATE() six hours later.
* DATEADD (end of month clamped), DATEDIFF (datepart boundaries crossed;
  weeks start on Sunday), DATEPART/DATENAME (us_english: weekday 1 is
  Sunday), YEAR, MONTH, DAY, EOMONTH, DATEFROMPARTS; LEN (trailing spaces
  not counted), LEFT, RIGHT, SUBSTRING, CHARINDEX and REPLACE (both
  case-insensitive), UPPER, LOWER, LTRIM, RTRIM, CONCAT, ISNULL, ROUND
  (negative lengths, half away from zero); AVG of integers is an integer;
  TOP n PERCENT (rounded up).

* The selected columns are converted to the target's field types as
  ``INSERT INTO target SELECT ...`` converts them (text into a Number field
  to int, a datetime into a Text field in style 0, a decimal keeping its
  scale).

Approximations and choices: an IN list converts every value to the highest
type among them all (SQL Server converts pair by pair); an implicit
conversion to decimal has no precision limit (an explicit CAST has).
Not modelled:
money/time/uniqueidentifier arithmetic, float styles beyond 0-2,
DATEFIRST/LANGUAGE settings (us_english only), datetime's 1/300 s
rounding, int overflow in arithmetic, TOP ... WITH TIES (refused with a
message), and collations other than case-(in)sensitive.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from ..data_extensions import DataExtensionStore, FieldSpec
from ..errors import ScriptError
from ..values.case import fold

COLLATION = "AMPC_CI_AS"  # SQL_Latin1_General_CP1_CI_AS: case-insensitive, trailing spaces ignored
COLLATION_CS = "AMPC_CS_AS"  # a case-sensitive collation named in the query


class SqlServerError(Exception):
    """An error SQL Server raises while the query runs; `message` is its wording."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _NotAllowed(SqlServerError):
    """A conversion SQL Server refuses outright (TRY_CAST and TRY_CONVERT fail with it too)."""


# ---- types ----------------------------------------------------------------------------

_TEXT_KINDS = ("varchar", "nvarchar")
_INTEGERS = {
    "bit": (0, 1),
    "tinyint": (0, 255),
    "smallint": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
# Data type precedence (Transact-SQL), lowest first, for the types a query meets.
_RANK = {
    "null": 0,
    "varchar": 1,
    "nvarchar": 2,
    "bit": 3,
    "tinyint": 4,
    "smallint": 5,
    "int": 6,
    "bigint": 7,
    "decimal": 8,
    "float": 9,
    "date": 10,
    "datetime": 11,
}


@dataclass(frozen=True)
class SqlType:
    kind: str
    length: int | None = None  # varchar/nvarchar: characters (None: max)
    precision: int | None = None  # decimal (None: not limited, an implicit conversion's target)
    scale: int | None = None
    fixed: bool = False  # char/nchar: padded with spaces to `length`

    @property
    def is_text(self) -> bool:
        return self.kind in _TEXT_KINDS

    @property
    def is_number(self) -> bool:
        return self.kind in _INTEGERS or self.kind in ("decimal", "float")

    @property
    def is_temporal(self) -> bool:
        return self.kind in ("date", "datetime")

    @property
    def name(self) -> str:
        """The type's name in SQL Server's messages."""
        if self.is_text and self.fixed:
            return "nchar" if self.kind == "nvarchar" else "char"
        return "numeric" if self.kind == "decimal" else self.kind

    def spec(self) -> str:
        """The type as `parse_spec` reads it (what the SQL passes to ampc_convert)."""
        if self.kind == "decimal" and self.precision is not None:
            return f"decimal({self.precision},{self.scale or 0})"
        if self.kind == "decimal" and self.scale is not None:
            return f"decimal(,{self.scale})"
        if self.is_text:
            name = ("n" if self.kind == "nvarchar" else "") + ("char" if self.fixed else "varchar")
            return f"{name}({self.length})" if self.length is not None else name
        return self.kind


NULL = SqlType("null")
VARCHAR = SqlType("varchar")
NVARCHAR = SqlType("nvarchar")
INT = SqlType("int")
BIGINT = SqlType("bigint")
FLOAT = SqlType("float")
DATE = SqlType("date")
DATETIME = SqlType("datetime")
BIT = SqlType("bit")


@lru_cache(maxsize=256)
def parse_spec(spec: str) -> SqlType | None:
    match = re.fullmatch(r"(\w+)(?:\((\d*)(?:,(\d+))?\))?", spec or "")
    if not match:
        return None
    name, first, second = match.group(1), match.group(2), match.group(3)
    if name in ("varchar", "nvarchar", "char", "nchar"):
        kind = "nvarchar" if name.startswith("n") else "varchar"
        return SqlType(kind, int(first) if first else None, fixed=name.endswith("char") and "varchar" not in name)
    if name == "decimal":
        return SqlType("decimal", precision=int(first) if first else None, scale=int(second) if second is not None else None)
    return SqlType(name) if name in _RANK else None


def field_type(field_kind: str, scale: int | None = None) -> SqlType:
    """A data extension field's SQL Server type."""
    kind = field_kind.lower()
    if kind == "number":
        return INT
    if kind == "decimal":
        return SqlType("decimal", precision=18, scale=scale)
    if kind == "date":
        return DATETIME
    if kind == "boolean":
        return BIT
    return NVARCHAR


def higher(types: Iterable[SqlType | None]) -> SqlType | None:
    """The type of highest precedence (None if any is unknown); NULL if all are NULL."""
    result = NULL
    for t in types:
        if t is None:
            return None
        if t.kind == "null":
            continue
        if result.kind == "null":
            result = t
        elif t.is_text and result.is_text:
            kind = "nvarchar" if "nvarchar" in (t.kind, result.kind) else "varchar"
            result = SqlType(kind)
        elif t.kind == result.kind == "decimal":
            scale = None if t.scale is None or result.scale is None else max(t.scale, result.scale)
            result = SqlType("decimal", precision=38, scale=scale)
        elif _RANK[t.kind] > _RANK[result.kind]:
            result = t
    return result


def needs_conversion(source: SqlType | None, target: SqlType | None) -> bool:
    """Whether a value of `source` must go through ampc_convert to be a `target` in SQLite."""
    if source is None or target is None or source.kind == "null" or target.kind == "null":
        return False
    if source.kind == target.kind or (source.is_text and target.is_text):
        return False
    # number to number needs nothing: SQLite compares and adds them as they are
    return source.is_text or target.is_text or target.is_temporal


def implicit(target: SqlType) -> SqlType:
    """The target of an implicit conversion: no length, precision or padding to enforce."""
    return SqlType(target.kind)


# ---- conversions ----------------------------------------------------------------------

_INT_TEXT = re.compile(r" *[+-]? *[0-9]+ *")
_DECIMAL_TEXT = re.compile(r" *[+-]? *(?:[0-9]+\.?[0-9]*|\.[0-9]+) *")
_FLOAT_TEXT = re.compile(r" *[+-]? *(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)? *")
_EPOCH = _dt.datetime(1900, 1, 1)
_DATE_FIELD = FieldSpec("Date", "Date")
_DATETIME_MIN = _dt.datetime(1753, 1, 1)


def _kind_of(value: Any) -> SqlType:
    if isinstance(value, str):
        return NVARCHAR
    if isinstance(value, int):
        return INT if _INTEGERS["int"][0] <= value <= _INTEGERS["int"][1] else BIGINT
    if isinstance(value, float):
        return FLOAT
    return SqlType("varbinary")


def _article(name: str) -> str:
    return "an" if name[:1] in "aeiou" else "a"


def canonical(moment: _dt.datetime) -> str:
    """A datetime as the store holds Date fields."""
    return moment.isoformat(sep=" ")


def stored_moment(value: Any) -> _dt.datetime:
    """A date or datetime value as SQLite holds it here, as a Python datetime."""
    if isinstance(value, _dt.datetime):
        return value
    text = str(value)
    try:  # the store's own format, which this module writes too
        return DataExtensionStore.from_storage(_DATE_FIELD, text)
    except ValueError:
        moment = parse_datetime(text)
        if moment is None:
            raise SqlServerError("Conversion failed when converting date and/or time from character string.") from None
        return moment


def convert(value: Any, target: SqlType, source: SqlType | None = None, style: Any = None) -> Any:
    """CAST/CONVERT(`target`, value, style) of a value of type `source`, as SQL Server converts."""
    if value is None:
        return None
    if source is None or source.kind == "null":
        source = _kind_of(value)
    style = None if style is None else int(style)
    kind = target.kind
    if target.is_text:
        return _to_text(value, target, source, style)
    if source.is_text and not isinstance(value, str):
        source = _kind_of(value)  # text in the query's types, a number in the row (a CASE branch)
    if kind in _INTEGERS:
        return _to_integer(value, target, source)
    if kind == "decimal":
        return _to_decimal(value, target, source)
    if kind == "float":
        return _to_float(value, source)
    if kind in ("date", "datetime"):
        return _to_temporal(value, target, source, style)
    raise _NotAllowed(f"Explicit conversion from data type {source.name} to {target.name} is not allowed.")


def _to_integer(value: Any, target: SqlType, source: SqlType) -> int:
    low, high = _INTEGERS[target.kind]
    if source.is_text:
        text = str(value)
        stripped = text.strip(" ")
        if target.kind == "bit":
            if stripped.upper() in ("TRUE", "FALSE"):
                return int(stripped.upper() == "TRUE")
            if _INT_TEXT.fullmatch(text) or not stripped:
                return int(bool(int(stripped.replace(" ", "") or 0)))
            raise SqlServerError(f"Conversion failed when converting the {source.name} value '{text}' to data type bit.")
        if not stripped:
            return 0
        if not _INT_TEXT.fullmatch(text):
            raise SqlServerError(
                f"Conversion failed when converting the {source.name} value '{text}' to data type {target.kind}."
            )
        number = int(stripped.replace(" ", ""))
        if not low <= number <= high:
            raise SqlServerError(
                f"The conversion of the {source.name} value '{text}' overflowed {_article(target.kind)} {target.kind} column."
            )
        return number
    if source.kind == "date":
        raise _NotAllowed(f"Explicit conversion from data type date to {target.kind} is not allowed.")
    if source.kind == "datetime":
        days = (stored_moment(value) - _EPOCH) / _dt.timedelta(days=1)
        number = math.floor(days + 0.5)  # rounded to the nearest day
    elif target.kind == "bit":
        return int(value != 0)
    else:
        number = int(value) if isinstance(value, int) else math.trunc(value)
    if not low <= number <= high:
        shown = "numeric" if source.kind == "decimal" else "expression"
        raise SqlServerError(f"Arithmetic overflow error converting {shown} to data type {target.kind}.")
    return number


def _to_decimal(value: Any, target: SqlType, source: SqlType) -> float:
    if source.is_text:
        text = str(value)
        if not _DECIMAL_TEXT.fullmatch(text):
            raise SqlServerError(f"Error converting data type {source.name} to numeric.")
        number = Decimal(text.replace(" ", ""))
    elif source.is_temporal:
        number = Decimal(repr((stored_moment(value) - _EPOCH) / _dt.timedelta(days=1)))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise SqlServerError(f"Arithmetic overflow error converting {source.name} to data type numeric.")
        number = Decimal(repr(value))
    else:
        number = Decimal(value)
    if target.scale is not None:
        number = number.quantize(Decimal(1).scaleb(-target.scale), rounding=ROUND_HALF_UP)
    if target.precision is not None and abs(number) >= Decimal(10) ** (target.precision - (target.scale or 0)):
        shown = source.name if source.is_text or source.kind in ("int", "bigint", "float") else "numeric"
        raise SqlServerError(f"Arithmetic overflow error converting {shown} to data type numeric.")
    return float(number)


def _to_float(value: Any, source: SqlType) -> float:
    if source.is_text:
        text = str(value)
        if not text.strip(" "):
            return 0.0
        if not _FLOAT_TEXT.fullmatch(text):
            raise SqlServerError(f"Error converting data type {source.name} to float.")
        return float(text.replace(" ", ""))
    if source.is_temporal:
        if source.kind == "date":
            raise _NotAllowed("Explicit conversion from data type date to float is not allowed.")
        return (stored_moment(value) - _EPOCH) / _dt.timedelta(days=1)
    return float(value)


def _to_temporal(value: Any, target: SqlType, source: SqlType, style: int | None) -> str:
    if source.is_text:
        moment = parse_datetime(str(value), _STYLE_ORDER.get(style or 0, "mdy"))
        if moment is None:
            raise SqlServerError("Conversion failed when converting date and/or time from character string.")
        if target.kind == "datetime" and moment < _DATETIME_MIN:
            raise SqlServerError(
                f"The conversion of {_article(source.name)} {source.name} data type to a datetime data type "
                "resulted in an out-of-range value."
            )
    elif source.is_temporal:
        moment = stored_moment(value)
    else:
        if target.kind == "date" or source.kind == "bit":
            raise _NotAllowed(f"Explicit conversion from data type {source.name} to {target.kind} is not allowed.")
        try:
            moment = _EPOCH + _dt.timedelta(days=float(value))
        except OverflowError:
            moment = _dt.datetime.max
        if not _DATETIME_MIN <= moment < _dt.datetime(9999, 12, 31, 23, 59, 59, 998000):
            raise SqlServerError("Arithmetic overflow error converting expression to data type datetime.")
    if target.kind == "date":
        return moment.date().isoformat()
    return canonical(moment)


def _to_text(value: Any, target: SqlType, source: SqlType, style: int | None) -> str:
    numeric = False
    if source.kind == "datetime" and isinstance(value, str):
        text = format_datetime(stored_moment(value), style, "datetime")
    elif source.kind == "date" and isinstance(value, str):
        text = format_datetime(stored_moment(value), style, "date")
    elif isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    elif source.kind == "bit":
        text = "1" if value else "0"
    elif source.kind == "decimal" or (source.kind in _INTEGERS and isinstance(value, float)):
        text, numeric = decimal_text(value, source.scale), True
    elif isinstance(value, float):
        text, numeric = float_text(value, style), True
    else:
        text, numeric = str(value), True
    if target.length is not None and len(text) > target.length:
        if numeric:
            if source.kind in _INTEGERS and target.kind == "varchar":
                return "*"  # SQL Server's answer for an int too long for varchar(n)
            shown = "numeric" if source.kind == "decimal" else "expression"
            raise SqlServerError(f"Arithmetic overflow error converting {shown} to data type {target.kind}.")
        text = text[: target.length]
    if target.fixed and target.length is not None:
        text = text.ljust(target.length)
    return text


def decimal_text(value: Any, scale: int | None) -> str:
    number = Decimal(repr(float(value))) if isinstance(value, float) else Decimal(value)
    if scale is not None:
        number = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    elif number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    if number == 0:
        number = abs(number)
    return format(number, "f")


def float_text(value: float, style: int | None = None) -> str:
    """float -> varchar: style 0 (at most 6 digits), 1 (8 digits, scientific), 2 (16 digits, scientific)."""
    if style in (1, 2):
        text = f"{value:.{7 if style == 1 else 15}e}"
    elif value == 0:
        return "0"
    else:
        text = f"{value:.6g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{exponent[0]}{int(exponent[1:]):03d}"
    return text


# ---- dates ----------------------------------------------------------------------------

_MONTH_NAMES = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]
_DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = {name.lower(): number for number, name in enumerate(_MONTH_NAMES, 1)}
_MONTHS.update({name[:3].lower(): number for number, name in enumerate(_MONTH_NAMES, 1)})
_MONTHS["sept"] = 9

# CONVERT styles: how a string's numeric date is ordered when it is read.
_STYLE_ORDER = {s: "mdy" for s in (0, 100, 1, 101, 7, 107, 9, 109, 10, 110, 22)}
_STYLE_ORDER.update({s: "dmy" for s in (3, 103, 4, 104, 5, 105, 6, 106, 13, 113)})
_STYLE_ORDER.update({s: "ymd" for s in (2, 102, 11, 111, 12, 112, 20, 120, 21, 121, 23, 25, 126, 127)})

_TIME = (
    r"(?P<h>\d{1,2})(?::(?P<mi>\d{1,2})(?::(?P<s>\d{1,2})(?:(?P<sep>[.:])(?P<f>\d{1,7}))?)?)?"
    r"\s*(?P<ampm>[AaPp][Mm])?"
)
_TIME_RE = re.compile(_TIME)
_DATE_FORMS = [
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
    re.compile(r"(?P<a>\d{1,2})(?P<x>[/.-])(?P<b>\d{1,2})(?P=x)(?P<c>\d{4}|\d{2})"),
    re.compile(r"(?P<a>\d{2})(?P<b>\d{2})(?P<c>\d{2})"),
    re.compile(r"(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4}|\d{2})"),
    re.compile(r"(?P<d>\d{1,2})[\s-](?P<mon>[A-Za-z]{3,9})\.?,?[\s-](?P<y>\d{4}|\d{2})"),
    re.compile(r"(?P<y>\d{4})\s+(?P<mon>[A-Za-z]{3,9})\s+(?P<d>\d{1,2})"),
    re.compile(r"(?P<mon>[A-Za-z]{3,9})\s+(?P<y>\d{4})"),
]


def _year(digits: str) -> int:
    year = int(digits)
    if len(digits) <= 2:  # two digit year cutoff 2049
        year += 2000 if year < 50 else 1900
    return year


def _time(text: str) -> _dt.time | None:
    match = _TIME_RE.fullmatch(text.strip())
    if not match or (match.group("mi") is None and match.group("ampm") is None):
        return None
    hour, minute = int(match.group("h")), int(match.group("mi") or 0)
    second = int(match.group("s") or 0)
    fraction = match.group("f") or ""
    if match.group("sep") == ":":  # hh:mi:ss:mmm, milliseconds
        if len(fraction) > 3:
            return None
        micro = int(fraction) * 1000
    else:
        micro = int((fraction + "000000")[:6]) if fraction else 0
    ampm = (match.group("ampm") or "").upper()
    if ampm:
        if not 1 <= hour <= 12 and hour != 0:
            return None
        hour = hour % 12 + (12 if ampm == "PM" else 0)
    try:
        return _dt.time(hour, minute, second, micro)
    except ValueError:
        return None


def parse_datetime(text: str, order: str = "mdy") -> _dt.datetime | None:
    """A string as SQL Server (us_english) reads it as a datetime; None if it cannot."""
    text = " ".join(text.split())
    if not text:
        return _EPOCH
    time_only = _time(text)
    if time_only is not None:
        return _dt.datetime.combine(_EPOCH.date(), time_only)
    for form in _DATE_FORMS:
        match = form.match(text)
        if not match:
            continue
        rest = text[match.end():]
        if rest and not rest.startswith((" ", "T")):
            continue
        moment = _time(rest[1:]) if rest else _dt.time()
        if moment is None:
            continue
        parts = match.groupdict()
        try:
            if parts.get("a") is not None:
                a, b, c = parts["a"], parts["b"], parts["c"]
                if order == "dmy":
                    day, month, year = int(a), int(b), _year(c)
                elif order == "ymd":
                    year, month, day = _year(a), int(b), int(c)
                else:
                    month, day, year = int(a), int(b), _year(c)
            else:
                if parts.get("mon") is not None:
                    month = _MONTHS.get(parts["mon"].lower())
                    if month is None:
                        continue
                else:
                    month = int(parts["m"])
                year, day = _year(parts["y"]), int(parts.get("d") or 1)
            return _dt.datetime.combine(_dt.date(year, month, day), moment)
        except ValueError:
            return None
    return None


def format_datetime(moment: _dt.datetime, style: int | None, kind: str = "datetime") -> str:
    """CONVERT(varchar, moment, style); a date's default is yyyy-mm-dd, a datetime's style 0."""
    if style is None:
        style = 23 if kind == "date" else 0
    y4 = f"{moment.year:04d}"
    y2, mm, dd = y4[2:], f"{moment.month:02d}", f"{moment.day:02d}"
    mon = _MONTH_NAMES[moment.month - 1][:3]
    h12, ampm = moment.hour % 12 or 12, ("AM" if moment.hour < 12 else "PM")
    hms = f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    ms = f"{moment.microsecond // 1000:03d}"
    styles = {
        0: f"{mon} {moment.day:>2} {y4} {h12:>2}:{moment.minute:02d}{ampm}",
        1: f"{mm}/{dd}/{y2}", 101: f"{mm}/{dd}/{y4}",
        2: f"{y2}.{mm}.{dd}", 102: f"{y4}.{mm}.{dd}",
        3: f"{dd}/{mm}/{y2}", 103: f"{dd}/{mm}/{y4}",
        4: f"{dd}.{mm}.{y2}", 104: f"{dd}.{mm}.{y4}",
        5: f"{dd}-{mm}-{y2}", 105: f"{dd}-{mm}-{y4}",
        6: f"{dd} {mon} {y2}", 106: f"{dd} {mon} {y4}",
        7: f"{mon} {dd}, {y2}", 107: f"{mon} {dd}, {y4}",
        8: hms, 24: hms, 108: hms,
        9: f"{mon} {moment.day:>2} {y4} {h12:>2}:{moment.minute:02d}:{moment.second:02d}:{ms}{ampm}",
        10: f"{mm}-{dd}-{y2}", 110: f"{mm}-{dd}-{y4}",
        11: f"{y2}/{mm}/{dd}", 111: f"{y4}/{mm}/{dd}",
        12: f"{y2}{mm}{dd}", 112: f"{y4}{mm}{dd}",
        13: f"{dd} {mon} {y4} {hms}:{ms}",
        14: f"{hms}:{ms}", 114: f"{hms}:{ms}",
        20: f"{y4}-{mm}-{dd} {hms}", 120: f"{y4}-{mm}-{dd} {hms}",
        21: f"{y4}-{mm}-{dd} {hms}.{ms}", 25: f"{y4}-{mm}-{dd} {hms}.{ms}", 121: f"{y4}-{mm}-{dd} {hms}.{ms}",
        22: f"{mm}/{dd}/{y2} {h12:>2}:{moment.minute:02d}:{moment.second:02d} {ampm}",
        23: f"{y4}-{mm}-{dd}",
        126: f"{y4}-{mm}-{dd}T{hms}" + (f".{ms}" if moment.microsecond // 1000 else ""),
    }
    styles.update({100: styles[0], 109: styles[9], 113: styles[13], 127: styles[126]})
    if style not in styles:
        raise SqlServerError(f"{style} is not a valid style number when converting from {kind} to a character string.")
    text = styles[style]
    if kind == "date":  # a date has no time: the styles that show one show the date alone
        cut = {0: 11, 100: 11, 9: 11, 109: 11, 13: 11, 113: 11, 20: 10, 120: 10, 21: 10, 25: 10, 121: 10,
               126: 10, 127: 10, 22: 8}
        text = text[: cut.get(style, len(text))]
    return text


DATEPARTS = {
    "year": ("year", "yy", "yyyy"),
    "quarter": ("quarter", "qq", "q"),
    "month": ("month", "mm", "m"),
    "dayofyear": ("dayofyear", "dy", "y"),
    "day": ("day", "dd", "d"),
    "week": ("week", "wk", "ww"),
    "weekday": ("weekday", "dw", "w"),
    "hour": ("hour", "hh"),
    "minute": ("minute", "mi", "n"),
    "second": ("second", "ss", "s"),
    "millisecond": ("millisecond", "ms"),
    "microsecond": ("microsecond", "mcs"),
    "nanosecond": ("nanosecond", "ns"),
    "iso_week": ("iso_week", "isowk", "isoww"),
    "tzoffset": ("tzoffset", "tz"),
}
_PART_OF = {alias: part for part, aliases in DATEPARTS.items() for alias in aliases}
_TIME_PARTS = {"hour", "minute", "second", "millisecond", "microsecond", "nanosecond"}
_MICROSECONDS = {"hour": 3_600_000_000, "minute": 60_000_000, "second": 1_000_000, "millisecond": 1_000, "microsecond": 1}


def datepart_name(word: str, function: str) -> str:
    """A datepart argument (yy, month, ...) as its full name; SQL Server's error if it is none."""
    part = _PART_OF.get(word.lower())
    allowed = {
        "dateadd": set(DATEPARTS) - {"iso_week", "tzoffset"},
        "datediff": set(DATEPARTS) - {"iso_week", "tzoffset"},
    }.get(function, set(DATEPARTS))
    if part is None or part not in allowed:
        raise ScriptError(f"'{word}' is not a recognized {function} option.")
    return part


def _add_months(moment: _dt.datetime, months: int) -> _dt.datetime:
    total = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise OverflowError
    last = (_dt.date(year + (month == 11), (month + 1) % 12 + 1, 1) - _dt.timedelta(days=1)).day
    return moment.replace(year=year, month=month + 1, day=min(moment.day, last))


def dateadd(part: str, number: Any, value: Any, kind: str) -> str | None:
    if value is None or number is None:
        return None
    moment = stored_moment(value)
    if kind == "date" and part in _TIME_PARTS:
        raise SqlServerError(f"The datepart {part} is not supported by date function dateadd for data type date.")
    try:
        if part == "dayfraction":  # datetime + number: days, with their fraction
            moment += _dt.timedelta(days=float(number))
        else:
            count = int(number) if isinstance(number, int) else math.trunc(number)
            if part in ("year", "quarter", "month"):
                moment = _add_months(moment, count * {"year": 12, "quarter": 3, "month": 1}[part])
            elif part == "week":
                moment += _dt.timedelta(weeks=count)
            elif part in ("day", "dayofyear", "weekday"):
                moment += _dt.timedelta(days=count)
            elif part == "nanosecond":
                moment += _dt.timedelta(microseconds=count // 1000)
            else:
                moment += _dt.timedelta(microseconds=count * _MICROSECONDS[part])
        if kind == "datetime" and moment < _DATETIME_MIN:
            raise OverflowError
    except OverflowError:
        raise SqlServerError(f"Adding a value to a '{kind}' column caused an overflow.") from None
    return moment.date().isoformat() if kind == "date" else canonical(moment)


def _ticks(moment: _dt.datetime, part: str) -> int:
    """How many `part` boundaries lie between 0001-01-01 and the moment."""
    if part == "year":
        return moment.year
    if part == "quarter":
        return moment.year * 4 + (moment.month - 1) // 3
    if part == "month":
        return moment.year * 12 + moment.month
    if part == "week":  # weeks begin on Sunday (DATEDIFF ignores SET DATEFIRST)
        return moment.toordinal() // 7
    days = moment.toordinal()
    if part in ("day", "dayofyear", "weekday"):
        return days
    micro = ((days * 24 + moment.hour) * 60 + moment.minute) * 60_000_000 + moment.second * 1_000_000 + moment.microsecond
    if part == "nanosecond":
        return micro * 1000
    return micro // _MICROSECONDS[part]


def datediff(part: str, start: Any, end: Any, kind: str = "int") -> int | None:
    if start is None or end is None:
        return None
    result = _ticks(stored_moment(end), part) - _ticks(stored_moment(start), part)
    low, high = _INTEGERS[kind]
    if not low <= result <= high:
        raise SqlServerError(
            f"The {'datediff_big' if kind == 'bigint' else 'datediff'} function resulted in an overflow. The number of "
            "dateparts separating two date/time instances is too large. Try to use datediff with a less precise datepart."
        )
    return result


def datepart(part: str, value: Any) -> int | None:
    if value is None:
        return None
    moment = stored_moment(value)
    if part == "year":
        return moment.year
    if part == "quarter":
        return (moment.month - 1) // 3 + 1
    if part == "month":
        return moment.month
    if part == "dayofyear":
        return moment.timetuple().tm_yday
    if part == "day":
        return moment.day
    if part == "week":  # week 1 holds January 1; weeks begin on Sunday (us_english)
        first = _dt.date(moment.year, 1, 1).isoweekday() % 7
        return (moment.timetuple().tm_yday - 1 + first) // 7 + 1
    if part == "weekday":  # Sunday is 1 (us_english: DATEFIRST 7)
        return moment.isoweekday() % 7 + 1
    if part == "iso_week":
        return moment.isocalendar()[1]
    if part == "tzoffset":
        return 0
    if part == "millisecond":
        return moment.microsecond // 1000
    if part == "microsecond":
        return moment.microsecond
    if part == "nanosecond":
        return moment.microsecond * 1000
    return getattr(moment, part)


def datename(part: str, value: Any) -> str | None:
    if value is None:
        return None
    moment = stored_moment(value)
    if part == "month":
        return _MONTH_NAMES[moment.month - 1]
    if part == "weekday":
        return _DAY_NAMES[moment.weekday()]
    return str(datepart(part, value))


def eomonth(value: Any, months: Any) -> str | None:
    if value is None:
        return None
    try:
        moment = _add_months(stored_moment(value).replace(day=1), int(months or 0))
        return (_add_months(moment, 1) - _dt.timedelta(days=1)).date().isoformat()
    except OverflowError:
        raise SqlServerError("Adding a value to a 'date' column caused an overflow.") from None


def datefromparts(year: Any, month: Any, day: Any) -> str | None:
    if year is None or month is None or day is None:
        return None
    try:
        return _dt.date(int(year), int(month), int(day)).isoformat()
    except (ValueError, OverflowError):
        raise SqlServerError(
            "Cannot construct data type date, some of the arguments have values which are not valid."
        ) from None


# ---- strings --------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else convert(value, NVARCHAR)


def _same_length_case(text: str, upper: bool) -> str:
    if text.isascii():
        return text.upper() if upper else text.lower()
    change = str.upper if upper else str.lower
    return "".join(c if len(change(c)) != 1 else change(c) for c in text)


def upper(value: Any) -> str | None:
    return None if value is None else _same_length_case(_text(value), True)


def lower(value: Any) -> str | None:
    return None if value is None else _same_length_case(_text(value), False)


def _folded(text: str) -> str:
    return _same_length_case(text, True)


def charindex(needle: Any, haystack: Any, start: Any = 1) -> int | None:
    if needle is None or haystack is None or start is None:
        return None
    needle, haystack = _folded(_text(needle)), _folded(_text(haystack))
    if not needle:
        return 0
    return haystack.find(needle, max(int(start), 1) - 1) + 1


def replace_text(value: Any, old: Any, new: Any) -> str | None:
    if value is None or old is None or new is None:
        return None
    value, old, new = _text(value), _text(old), _text(new)
    if not old:
        return value
    return re.sub(re.escape(old), lambda _: new, value, flags=re.IGNORECASE)


def _length(value: Any, function: str) -> int:
    number = int(value) if isinstance(value, int) else math.trunc(value)
    if number < 0:
        raise SqlServerError(f"Invalid length parameter passed to the {function} function.")
    return number


def substring(value: Any, start: Any, length: Any) -> str | None:
    if value is None or start is None or length is None:
        return None
    text, begin = _text(value), int(start)
    end = begin + _length(length, "substring")  # first position after the result (1-based)
    return text[max(begin, 1) - 1 : max(end - 1, 0)]


def left(value: Any, count: Any) -> str | None:
    if value is None or count is None:
        return None
    return _text(value)[: _length(count, "left")]


def right(value: Any, count: Any) -> str | None:
    if value is None or count is None:
        return None
    count = _length(count, "right")
    return _text(value)[-count:] if count else ""


def round_number(value: Any, length: Any, truncate: Any) -> Any:
    """ROUND(value, length[, function]): half away from zero; a negative length rounds left of the point."""
    if value is None or length is None:
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    mode = ROUND_DOWN if truncate else ROUND_HALF_UP
    rounded = number.quantize(Decimal(1).scaleb(-int(length)), rounding=mode) if int(length) >= 0 else (
        (number / Decimal(10) ** -int(length)).quantize(Decimal(1), rounding=mode) * Decimal(10) ** -int(length)
    )
    return int(rounded) if isinstance(value, int) else float(rounded)


def nonzero(value: Any) -> Any:
    """A divisor: SQL Server stops the query where SQLite would give NULL."""
    if value is not None and not isinstance(value, (str, bytes)) and value == 0:
        raise SqlServerError("Divide by zero error encountered.")
    return value


@lru_cache(maxsize=512)
def _like_pattern(pattern: str, escape: str | None) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if escape and c == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        elif c == "[" and pattern.find("]", i + 2) != -1:
            end = pattern.find("]", i + 2)
            body = pattern[i + 1 : end]
            negate = body.startswith("^") and len(body) > 1
            body = body[1:] if negate else body
            parts, k = [], 0
            while k < len(body):
                if k + 2 < len(body) and body[k + 1] == "-":
                    parts.append(f"{re.escape(body[k])}-{re.escape(body[k + 2])}")
                    k += 3
                else:
                    parts.append(re.escape(body[k]))
                    k += 1
            out.append("[" + ("^" if negate else "") + "".join(parts) + "]")
            i = end + 1
            continue
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out), re.IGNORECASE | re.DOTALL)
    except re.error:  # a range backwards ([z-a]) matches nothing
        return re.compile(r"(?!)")


def like(value: Any, pattern: Any, escape: Any = None) -> int | None:
    """T-SQL LIKE under a case-insensitive collation: %, _, [abc], [a-c], [^a], ESCAPE."""
    if value is None or pattern is None:
        return None
    if escape is not None and len(_text(escape)) != 1:
        raise SqlServerError("The invalid escape character \"" + _text(escape) + "\" was specified in a LIKE predicate.")
    regex, text = _like_pattern(_text(pattern), escape), _text(value)
    # The value's trailing spaces do not count, the pattern's do (KB 316626: '1 ' LIKE '1', not '1' LIKE '1 ').
    return int(regex.fullmatch(text) is not None or (text.endswith(" ") and regex.fullmatch(text.rstrip(" ")) is not None))


def _collate(left: str, right: str, ignore_case: bool = True) -> int:
    left, right = left.rstrip(" "), right.rstrip(" ")
    if ignore_case:
        if left.isascii() and right.isascii():
            left, right = left.upper(), right.upper()
        else:
            left, right = fold(left), fold(right)
    return (left > right) - (left < right)


def _converter(try_: bool) -> Callable[..., Any]:
    def call(value: Any, target: str, source: str, style: Any) -> Any:
        wanted = parse_spec(target)
        if wanted is None:
            raise SqlServerError(f"Type {target} is not a defined system type.")
        try:
            return convert(value, wanted, parse_spec(source) if source else None, style)
        except _NotAllowed:
            raise
        except SqlServerError:
            if try_:
                return None
            raise

    return call


# name -> (number of arguments, function): registered on the store's connection for each query.
SQL_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "ampc_convert": (4, _converter(False)),
    "ampc_try_convert": (4, _converter(True)),
    "ampc_like": (3, like),
    "ampc_dateadd": (4, dateadd),
    "ampc_datediff": (4, datediff),
    "ampc_datepart": (2, datepart),
    "ampc_datename": (2, datename),
    "ampc_eomonth": (2, eomonth),
    "ampc_datefromparts": (3, datefromparts),
    "ampc_upper": (1, upper),
    "ampc_lower": (1, lower),
    "ampc_charindex": (3, charindex),
    "ampc_replace": (3, replace_text),
    "ampc_substring": (3, substring),
    "ampc_left": (2, left),
    "ampc_right": (2, right),
    "ampc_round": (3, round_number),
    "ampc_nonzero": (1, nonzero),
}


_state = threading.local()  # the failures of the query running in this thread


def _guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        try:
            return function(*args)
        except SqlServerError as error:
            failures = getattr(_state, "failures", None)
            if failures is not None:
                failures.append(error)
            raise

    return call


def register(db: Any) -> None:
    """Give the connection this module's functions and collations (again: replacing them is harmless)."""
    try:
        for name, (count, function) in SQL_FUNCTIONS.items():
            db.create_function(name, count, _guarded(function), deterministic=True)
        db.create_collation(COLLATION, _collate)
        db.create_collation(COLLATION_CS, lambda a, b: _collate(a, b, ignore_case=False))
    except sqlite3.OperationalError:  # statements are active: SQLite keeps the ones an earlier query registered
        pass


@contextmanager
def collecting() -> Iterator[list[SqlServerError]]:
    """The SQL Server errors this thread's functions raise meanwhile (the first is the query's error)."""
    previous = getattr(_state, "failures", None)
    _state.failures = failures = []
    try:
        yield failures
    finally:
        _state.failures = previous


# ---- parsing --------------------------------------------------------------------------

# T-SQL functions this module implements: parsed as they are written (sqlglot's own
# T-SQL parser turns some into other dialects' forms on the way, e.g. YEAR(x) into
# YEAR(TsOrDsToDate(x)), DATEPART into EXTRACT), then rewritten below.
_RAW_FUNCTIONS = {
    "DATEADD", "DATEDIFF", "DATEDIFF_BIG", "DATEPART", "DATENAME", "YEAR", "MONTH", "DAY", "EOMONTH",
    "DATEFROMPARTS", "LEN", "LEFT", "RIGHT", "CHARINDEX", "ISNULL", "CONCAT", "REPLACE", "SUBSTRING", "UPPER",
    "LOWER", "LTRIM", "RTRIM", "GETUTCDATE",
}


def _dialect() -> Any:
    from sqlglot.dialects.tsql import TSQL

    class AmpcTSQL(TSQL):  # registered with sqlglot under this name; used only here
        class Parser(TSQL.Parser):
            FUNCTIONS = {name: f for name, f in TSQL.Parser.FUNCTIONS.items() if name not in _RAW_FUNCTIONS}  # noqa: RUF012
            FUNCTION_PARSERS = {  # noqa: RUF012
                name: f for name, f in TSQL.Parser.FUNCTION_PARSERS.items() if name not in _RAW_FUNCTIONS
            }

    return AmpcTSQL


_DIALECT: Any = None


def dialect() -> Any:
    """The T-SQL dialect queries are parsed with."""
    global _DIALECT
    if _DIALECT is None:
        _DIALECT = _dialect()
    return _DIALECT


# ---- the rewrite ----------------------------------------------------------------------


def _postorder(root: Any) -> list[Any]:
    out, stack = [], [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            out.append(node)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(node.iter_expressions())))
    return out


def _classes(module: Any, *names: str) -> tuple[type, ...]:
    return tuple(getattr(module, name) for name in names if hasattr(module, name))


def _ci_get(mapping: dict[str, Any], name: str) -> Any:
    if name in mapping:
        return mapping[name]
    folded = name.lower()
    return next((value for key, value in mapping.items() if key.lower() == folded), None)


class Rewriter:
    """Types a checked query's tree (SQL Server's rules) and rewrites it to behave so in SQLite."""

    def __init__(self, tree: Any, store: Any, now: _dt.datetime) -> None:
        from sqlglot import exp

        self.exp = exp
        self.store = store
        self.now = now
        self.types: dict[int, SqlType | None] = {}
        self._keep: list[Any] = []  # typed nodes stay alive, so their ids stay theirs
        self._busy: set[int] = set()
        self._scope_of: dict[int, Any] = {}
        self._scope_by_query: dict[int, Any] = {}
        self._set_operation = getattr(exp, "SetOperation", exp.Union)
        # sqlglot classes by name: a version without one of them types its nodes as unknown
        self._ranking = _classes(exp, "RowNumber", "Rank", "DenseRank")
        self._keeps_type = _classes(exp, "Round", "Abs", "Sign")
        self._float_functions = _classes(exp, "Sqrt", "Pow", "Exp", "Ln", "Log")
        try:
            from sqlglot.optimizer.scope import traverse_scope

            for scope in traverse_scope(tree):
                self._scope_by_query[id(scope.expression)] = scope
                for column in scope.columns:
                    self._scope_of.setdefault(id(column), scope)
        except Exception:  # noqa: BLE001 - a query sqlglot cannot scope: its columns stay untyped (SQLite's rules)
            self._scope_of = {}

    # ---- types ----

    def of(self, node: Any) -> SqlType | None:
        key = id(node)
        if key in self.types:
            return self.types[key]
        if key in self._busy:  # a recursive common table expression's own column
            return None
        self._busy.add(key)
        try:
            found = self._infer(node)
        finally:
            self._busy.discard(key)
        return self.put(node, found)

    def put(self, node: Any, t: SqlType | None) -> Any:
        self.types[id(node)] = t
        self._keep.append(node)
        return t

    def _infer(self, node: Any) -> SqlType | None:
        exp = self.exp
        if isinstance(node, (exp.Paren, exp.Alias, exp.Neg, exp.Collate, exp.Window, exp.Nullif, exp.Min, exp.Max)):
            return self.of(node.this)
        if isinstance(node, exp.Literal):
            return self._literal(node)
        if isinstance(node, exp.National):
            return NVARCHAR
        if isinstance(node, exp.Null):
            return NULL
        if isinstance(node, exp.Column):
            return self._column(node)
        if isinstance(node, (exp.Cast, exp.TryCast)):
            return datatype(node.args.get("to"))
        if isinstance(node, exp.Convert):
            return datatype(node.this)
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)):
            return self._arithmetic_type(node)
        if isinstance(node, exp.DPipe):
            return higher([self.of(node.this), self.of(node.expression), VARCHAR])
        if isinstance(node, exp.Case):
            return higher([self.of(i.args.get("true")) for i in node.args.get("ifs") or []] + [self._of_default(node)])
        if isinstance(node, exp.If):
            return higher([self.of(node.args.get("true")), self._of_default(node, "false")])
        if isinstance(node, exp.Coalesce):
            return higher([self.of(node.this)] + [self.of(e) for e in node.expressions])
        if isinstance(node, exp.CurrentTimestamp):
            return DATETIME
        if isinstance(node, exp.Count):
            return INT
        if isinstance(node, self._ranking):
            return BIGINT
        if isinstance(node, exp.Sum):
            return self._aggregate_type(self.of(node.this), average=False)
        if isinstance(node, exp.Avg):
            return self._aggregate_type(self.of(node.this), average=True)
        if isinstance(node, self._keeps_type):
            return self.of(node.this)
        if isinstance(node, (exp.Ceil, exp.Floor)):
            t = self.of(node.this)
            return replace(t, scale=0) if t is not None and t.kind == "decimal" else t
        if isinstance(node, self._float_functions):
            return FLOAT
        if isinstance(node, exp.Trim):
            return _text_of(self.of(node.this))
        if isinstance(node, exp.Subquery):
            return self._query_type(node.this, 0)
        if isinstance(node, exp.Anonymous):
            return self._function_type(node)
        return None

    def _of_default(self, node: Any, key: str = "default") -> SqlType | None:
        default = node.args.get(key)
        return NULL if default is None else self.of(default)

    @staticmethod
    def _literal(node: Any) -> SqlType:
        text = str(node.this)
        if node.is_string:
            return SqlType("varchar", max(len(text), 1))
        if "e" in text.lower():
            return FLOAT
        if "." in text:
            whole, _, fraction = text.lstrip("-").partition(".")
            return SqlType("decimal", precision=max(len(whole.lstrip("0")) + len(fraction), 1), scale=len(fraction))
        digits = text.lstrip("-")  # a T-SQL integer literal: digits only
        return INT if int(digits) <= _INTEGERS["int"][1] else SqlType("decimal", precision=len(digits), scale=0)

    def _arithmetic_type(self, node: Any) -> SqlType | None:
        exp = self.exp
        a, b = self.of(node.this), self.of(node.expression)
        if a is None or b is None:
            return None
        if isinstance(node, exp.Add) and (a.is_text or a.kind == "null") and (b.is_text or b.kind == "null"):
            return higher([a, b, VARCHAR])
        if isinstance(node, (exp.Add, exp.Sub)) and a.is_temporal and b.is_number:
            return a
        if isinstance(node, exp.Add) and b.is_temporal and a.is_number:
            return b
        result = higher([a, b])
        if result is not None and result.kind == "decimal":
            s1, s2 = (t.scale if t.kind == "decimal" else 0 for t in (a, b))
            p2 = (b.precision or 10) if b.kind == "decimal" else 10
            if s1 is None or s2 is None:
                return SqlType("decimal", precision=38)
            if isinstance(node, exp.Mul):
                scale = s1 + s2
            elif isinstance(node, exp.Div):
                scale = max(6, s1 + p2 + 1)
            else:
                scale = max(s1, s2)
            return SqlType("decimal", precision=38, scale=min(scale, 38))
        return result

    @staticmethod
    def _aggregate_type(t: SqlType | None, average: bool) -> SqlType | None:
        if t is None or not t.is_number:
            return None
        if t.kind == "decimal":
            scale = None if t.scale is None else (max(t.scale, 6) if average else t.scale)
            return SqlType("decimal", precision=38, scale=scale)
        if t.kind in ("bit", "tinyint", "smallint"):
            return INT
        return t

    def _function_type(self, node: Any) -> SqlType | None:
        name = node.name.upper()
        args = node.expressions
        if name in ("DATEDIFF", "DATEPART", "YEAR", "MONTH", "DAY", "LEN", "CHARINDEX"):
            return INT
        if name == "DATEDIFF_BIG":
            return BIGINT
        if name == "DATEADD" and len(args) == 3:
            t = self.of(args[2])
            return t if t is not None and t.is_temporal else DATETIME
        if name == "DATENAME":
            return NVARCHAR
        if name in ("EOMONTH", "DATEFROMPARTS"):
            return DATE
        if name == "GETUTCDATE":
            return DATETIME
        if name in ("LEFT", "RIGHT", "SUBSTRING", "UPPER", "LOWER", "LTRIM", "RTRIM", "REPLACE") and args:
            return _text_of(self.of(args[0]))
        if name == "CONCAT":
            return higher([_text_of(self.of(a)) for a in args] + [VARCHAR])
        if name == "ISNULL" and len(args) == 2:
            first = self.of(args[0])
            return self.of(args[1]) if first is not None and first.kind == "null" else first
        return None

    def _column(self, column: Any) -> SqlType | None:
        exp = self.exp
        if isinstance(column.this, exp.Star):
            return None
        scope = self._scope_of.get(id(column))
        ancestor = column.parent
        while scope is None and ancestor is not None:  # a column sqlglot left out: ORDER BY an alias
            scope = self._scope_by_query.get(id(ancestor))
            ancestor = ancestor.parent
        name, table = column.name, column.table
        current = scope
        while current is not None:
            if table:
                source = _ci_get(current.sources, table)
                if source is not None:
                    return self._source_column(source, name)[1]
            else:
                if column.find_ancestor(exp.Order) is not None:  # ORDER BY names a select's alias first
                    for item in getattr(current.expression, "selects", []):
                        if isinstance(item, exp.Alias) and item.alias.lower() == name.lower() and item.this is not column:
                            return self.of(item)
                for _, source in current.selected_sources.values():
                    found, t = self._source_column(source, name)
                    if found:
                        return t
            current = current.parent
        return None

    def _source_column(self, source: Any, name: str) -> tuple[bool, SqlType | None]:
        exp = self.exp
        if isinstance(source, exp.Table):
            try:
                f = self.store.spec(source.name).field(name)
            except ScriptError:
                return False, None
            return True, field_type(f.type, f.scale)
        query = getattr(source, "expression", None)
        if query is None:
            return False, None
        return self._query_column(query, name)

    def _alias_columns(self, query: Any) -> list[str]:
        parent = query.parent
        if isinstance(parent, (self.exp.CTE, self.exp.Subquery)):
            alias = parent.args.get("alias")
            if alias is not None and alias.columns:
                return [c.name for c in alias.columns]
        return []

    def branches(self, query: Any) -> list[Any]:
        exp = self.exp
        if isinstance(query, self._set_operation):
            return self.branches(query.this) + self.branches(query.expression)
        if isinstance(query, exp.Subquery):
            return self.branches(query.this)
        return [query] if isinstance(query, exp.Select) else []

    def _query_column(self, query: Any, name: str) -> tuple[bool, SqlType | None]:
        exp = self.exp
        branches = self.branches(query)
        if not branches:
            return False, None
        named = self._alias_columns(query)
        first = branches[0]
        if named:
            index = next((i for i, n in enumerate(named) if n.lower() == name.lower()), None)
        else:
            index = next(
                (i for i, e in enumerate(first.expressions) if (e.alias_or_name or "").lower() == name.lower()
                 and not isinstance(e, exp.Star)),
                None,
            )
        if index is None:
            if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
                   for e in first.expressions):
                scope = self._scope_by_query.get(id(first))
                if scope is not None:
                    for _, source in scope.selected_sources.values():
                        found, t = self._source_column(source, name)
                        if found:
                            return True, t
            return False, None
        return True, self._query_type(query, index)

    def _query_type(self, query: Any, index: int) -> SqlType | None:
        types = []
        for branch in self.branches(query):
            if index >= len(branch.expressions):
                return None
            types.append(self.of(branch.expressions[index]))
        return higher(types) if types else None

    # ---- building ----

    def _swap(self, node: Any, build: Callable[[Any], Any]) -> Any:
        """Replace `node` in its tree with `build(node)` (which holds it)."""
        placeholder = self.exp.Null()
        parent = node.parent
        if parent is not None:
            node.replace(placeholder)
        new = build(node)
        if parent is not None:
            placeholder.replace(new)
        return new

    def call(self, name: str, args: list[Any], t: SqlType | None) -> Any:
        node = self.exp.Anonymous(this=name, expressions=args)
        self.put(node, t)
        return node

    def _string(self, text: str) -> Any:
        node = self.exp.Literal.string(text)
        self.put(node, SqlType("varchar", len(text)))
        return node

    def convert_call(self, node: Any, target: SqlType, source: SqlType | None, style: Any = None,
                     try_: bool = False) -> Any:
        return self.call(
            "AMPC_TRY_CONVERT" if try_ else "AMPC_CONVERT",
            [node, self._string(target.spec()), self._string(source.spec() if source else ""), style or self.exp.Null()],
            target,
        )

    def coerce(self, node: Any, target: SqlType | None) -> Any:
        """`node` converted (implicitly) to `target` where SQLite would not treat it as one."""
        source = self.of(node)
        if target is None or not needs_conversion(source, target):
            return node
        return self._swap(node, lambda n: self.convert_call(n, implicit(target), source))

    def unify(self, nodes: list[Any]) -> SqlType | None:
        """Convert operands to the type of highest precedence among them; that type (None: unknown)."""
        target = higher(self.of(n) for n in nodes)
        if target is not None and target.kind != "null":
            for node in nodes:
                self.coerce(node, target)
        return target

    def collate(self, node: Any, name: str = COLLATION) -> Any:
        exp = self.exp
        if isinstance(node, exp.Collate):
            return node

        def build(n: Any) -> Any:
            inner = n if isinstance(n, (exp.Column, exp.Literal, exp.Anonymous, exp.Paren, exp.Null)) else exp.Paren(this=n)
            new = exp.Collate(this=inner, expression=exp.Var(this=name))
            self.put(new, self.of(n))
            return new

        return self._swap(node, build)

    def item(self, select: Any, index: int) -> Any:
        """A select's `index`-th expression, aliased by its output name so that wrapping it keeps the name."""
        exp = self.exp
        node = select.expressions[index]
        if isinstance(node, exp.Alias):
            return node.this
        name = node.output_name if not isinstance(node, exp.Star) else ""
        if not name:
            return node
        alias = self._swap(node, lambda n: exp.Alias(this=n, alias=exp.to_identifier(name)))
        self.put(alias, self.of(node))
        return alias.this

    def text_operand(self, node: Any) -> Any:
        """A string function's argument: a number or date made text as SQL Server does implicitly."""
        t = self.of(node)
        if t is not None and not t.is_text and t.kind != "null":
            return self._swap(node, lambda n: self.convert_call(n, VARCHAR, t))
        return node

    def temporal_operand(self, node: Any) -> Any:
        t = self.of(node)
        if t is not None and not t.is_temporal and t.kind != "null":
            return self._swap(node, lambda n: self.convert_call(n, DATETIME, t))
        return node

    def int_operand(self, node: Any) -> Any:
        t = self.of(node)
        if t is not None and t.is_text:
            return self._swap(node, lambda n: self.convert_call(n, INT, t))
        return node

    # ---- rewriting ----

    def rewrite(self, tree: Any, target: Any = None) -> Any:
        nodes = _postorder(tree)
        for node in nodes:  # every node typed before any changes
            self.of(node)
        root = tree
        for node in nodes:
            new = self._rewrite(node)
            if new is not node:
                if node is root:
                    root = new
                else:
                    node.replace(new)
        if target is not None:
            self._assign(root, target)
        return root

    def _rewrite(self, node: Any) -> Any:
        exp = self.exp
        if isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
            self._compare([node.this, node.expression], node)
        elif isinstance(node, exp.In):
            self._in(node)
        elif isinstance(node, exp.Between):
            self._compare([node.this, node.args["low"], node.args["high"]], node)
        elif isinstance(node, exp.Case):
            self._case(node)
        elif isinstance(node, exp.If) and not isinstance(node.parent, exp.Case):
            self.unify([n for n in (node.args.get("true"), node.args.get("false")) if n is not None])
        elif isinstance(node, exp.Coalesce):
            self.unify([node.this] + list(node.expressions))
        elif isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)):
            return self._arithmetic(node)
        elif isinstance(node, exp.Like) and not isinstance(node.parent, exp.Escape):
            return self._like(node, None)
        elif isinstance(node, exp.Escape) and isinstance(node.this, exp.Like):
            return self._like(node.this, node.expression)
        elif isinstance(node, (exp.Cast, exp.TryCast, exp.Convert)):
            return self._cast(node)
        elif isinstance(node, exp.Anonymous):
            return self._function(node)
        elif isinstance(node, exp.CurrentTimestamp):
            return self._moment(self.now)
        elif isinstance(node, exp.National):  # N'...': SQLite has no such literal
            literal = exp.Literal.string(node.this)
            self.put(literal, NVARCHAR)
            return literal
        elif isinstance(node, (exp.Sum, exp.Avg)):
            return self._aggregate(node)
        elif isinstance(node, exp.Round):
            return self._round(node)
        elif isinstance(node, exp.Collate) and isinstance(node.expression, (exp.Var, exp.Identifier, exp.Column)):
            self._collation(node)
        elif isinstance(node, exp.Ordered):
            self._collate_text(node.this)
        elif isinstance(node, exp.Distinct) and not isinstance(node.parent, exp.Select):
            for expression in list(node.expressions):
                self._collate_text(expression)
        elif isinstance(node, exp.Window):
            for expression in list(node.args.get("partition_by") or []):
                self._collate_text(expression)
            if isinstance(node.this, exp.Avg):
                return self._average(node, self.of(node.this.this))
        elif isinstance(node, exp.Select):
            self._select(node)
        elif isinstance(node, self._set_operation) and not isinstance(node.parent, self._set_operation):
            self._set(node)
        return node

    def _collate_text(self, node: Any) -> None:
        t = self.of(node)
        if t is not None and t.is_text:
            self.collate(node)

    def _compare(self, operands: list[Any], node: Any) -> None:
        target = self.unify(operands)
        exp = self.exp
        if target is not None and target.is_text:
            left = node.this
            keys = ("this", "expression", "low", "high")
            if not any(isinstance(node.args.get(k), exp.Collate) for k in keys):
                self.collate(left)

    def _in(self, node: Any) -> None:
        exp = self.exp
        query = node.args.get("query")
        if query is not None:
            inner = query.this if isinstance(query, exp.Subquery) else query
            branches = self.branches(inner)
            if not branches or any(not b.expressions or isinstance(b.expressions[0], exp.Star) for b in branches):
                return
            target = higher([self.of(node.this)] + [self.of(b.expressions[0]) for b in branches])
            if target is None or target.kind == "null":
                return
            self.coerce(node.this, target)
            for branch in branches:
                if needs_conversion(self.of(branch.expressions[0]), target):
                    self.coerce(self.item(branch, 0), target)
        else:
            target = self.unify([node.this] + list(node.expressions))
        if target is not None and target.is_text and not isinstance(node.this, exp.Collate):
            self.collate(node.this)

    def _case(self, node: Any) -> None:
        ifs = node.args.get("ifs") or []
        if node.this is not None:  # CASE x WHEN v ...: x = v
            target = self.unify([node.this] + [i.this for i in ifs])
            if target is not None and target.is_text:
                self.collate(node.this)
        results = [i.args.get("true") for i in ifs]
        if node.args.get("default") is not None:
            results.append(node.args["default"])
        self.unify([r for r in results if r is not None])

    def _arithmetic(self, node: Any) -> Any:
        exp = self.exp
        a, b = self.of(node.this), self.of(node.expression)
        t = self.of(node)
        if a is None or b is None:
            return node
        if isinstance(node, exp.Add) and t is not None and t.is_text:  # 'a' + 'b' concatenates
            new = exp.DPipe(this=node.this, expression=node.expression)
            self.put(new, t)
            return new
        if isinstance(node, (exp.Add, exp.Sub)) and t is not None and t.is_temporal and (a.is_number or b.is_number):
            moment, days = (node.this, node.expression) if a.is_temporal else (node.expression, node.this)
            if isinstance(node, exp.Sub):
                days = exp.Neg(this=exp.Paren(this=days))
                self.put(days, FLOAT)
            return self.call("AMPC_DATEADD", [self._string("dayfraction"), days, moment, self._string(t.kind)], t)
        self.unify([node.this, node.expression])
        if isinstance(node, (exp.Div, exp.Mod)):
            divisor = node.expression
            literal = isinstance(divisor, exp.Literal) and not divisor.is_string
            if not (literal and float(str(divisor.this)) != 0):
                self._swap(divisor, lambda n: self.call("AMPC_NONZERO", [n], self.of(n)))
        return node

    def _like(self, like: Any, escape: Any) -> Any:
        exp = self.exp
        value = self.text_operand(like.this)
        pattern = self.text_operand(like.expression)
        negate = bool(like.args.get("negate"))
        value_type = self.of(value)
        simple = (
            escape is None
            and isinstance(pattern, exp.Literal)
            and pattern.is_string
            and str(pattern.this).isascii()
            and "[" not in str(pattern.this)
            and str(pattern.this).endswith("%")  # so that the value's trailing spaces match as in SQL Server
        )
        if simple and (value_type is None or value_type.is_text):  # SQLite's LIKE: ASCII case-insensitive, % and _
            return like
        new = self.call("AMPC_LIKE", [value, pattern, escape if escape is not None else exp.Null()], None)
        if negate:
            new = exp.Not(this=new)
        return new

    def _cast(self, node: Any) -> Any:
        exp = self.exp
        if isinstance(node, exp.Convert):
            dt, value, style = node.this, node.expression, node.args.get("style")
        else:
            dt, value, style = node.args.get("to"), node.this, None
        safe = isinstance(node, exp.TryCast) or bool(node.args.get("safe"))
        target = datatype(dt, explicit=True)
        if target is None:
            if isinstance(node, exp.Convert):  # a type the simulator does not model: SQLite's CAST
                return exp.Cast(this=value, to=dt)
            return node
        if isinstance(style, exp.Null):  # CONVERT(type, x, NULL) is NULL
            return exp.Null()
        source = self.of(value)
        if source is not None and style is None and not safe and self._same(source, target):
            return value
        return self.convert_call(value, target, source, style, try_=safe)

    @staticmethod
    def _same(source: SqlType, target: SqlType) -> bool:
        if source.kind in _INTEGERS and target.kind in _INTEGERS:
            return _INTEGERS[source.kind][0] >= _INTEGERS[target.kind][0] and _INTEGERS[source.kind][1] <= _INTEGERS[target.kind][1]
        if source.is_text and target.is_text:
            return target.length is None and not target.fixed
        return source.kind == target.kind and source.kind in ("float", "date", "datetime")

    def _moment(self, moment: _dt.datetime) -> Any:
        node = self.exp.Literal.string(canonical(moment.replace(microsecond=moment.microsecond // 1000 * 1000)))
        self.put(node, DATETIME)
        return node

    def _part(self, node: Any, function: str) -> Any:
        exp = self.exp
        word = node.name if isinstance(node, (exp.Column, exp.Var, exp.Identifier)) else ""
        if isinstance(node, exp.Column) and node.table:
            word = ""
        if not word:
            raise ScriptError(f"'{node.sql(dialect='tsql')}' is not a recognized {function} option.")
        return self._string(datepart_name(word, function))

    def _function(self, node: Any) -> Any:
        exp = self.exp
        name = node.name.upper()
        args = list(node.expressions)
        t = self.of(node)
        if name not in _RAW_FUNCTIONS:
            return node

        def arity(*counts: int) -> None:
            if len(args) not in counts:
                raise ScriptError(
                    f"The {name.lower()} function requires {' or '.join(map(str, counts))} argument(s)."
                )

        if name == "DATEADD":
            arity(3)
            part = self._part(args[0], "dateadd")
            number = self.int_operand(args[1])
            moment = self.temporal_operand(args[2])
            kind = self.of(moment)
            return self.call("AMPC_DATEADD", [part, number, moment, self._string(kind.kind if kind else "datetime")], t)
        if name in ("DATEDIFF", "DATEDIFF_BIG"):
            arity(3)
            part = self._part(args[0], "datediff")
            start, end = self.temporal_operand(args[1]), self.temporal_operand(args[2])
            return self.call("AMPC_DATEDIFF", [part, start, end, self._string("bigint" if name.endswith("BIG") else "int")], t)
        if name in ("DATEPART", "DATENAME"):
            arity(2)
            part = self._part(args[0], name.lower())
            return self.call(f"AMPC_{name}", [part, self.temporal_operand(args[1])], t)
        if name in ("YEAR", "MONTH", "DAY"):
            arity(1)
            return self.call("AMPC_DATEPART", [self._string(name.lower()), self.temporal_operand(args[0])], t)
        if name == "EOMONTH":
            arity(1, 2)
            months = self.int_operand(args[1]) if len(args) == 2 else exp.Literal.number(0)
            return self.call("AMPC_EOMONTH", [self.temporal_operand(args[0]), months], t)
        if name == "DATEFROMPARTS":
            arity(3)
            return self.call("AMPC_DATEFROMPARTS", [self.int_operand(a) for a in args], t)
        if name == "GETUTCDATE":
            arity(0)
            return self._moment(self.now + _dt.timedelta(hours=6))
        if name == "LEN":
            arity(1)
            text = self.text_operand(args[0])
            return self.call("LENGTH", [self.call("RTRIM", [text, self._string(" ")], t)], t)
        if name in ("LTRIM", "RTRIM"):
            arity(1, 2)
            chars = args[1] if len(args) == 2 else self._string(" ")
            return self.call(name, [self.text_operand(args[0]), chars], t)
        if name in ("UPPER", "LOWER"):
            arity(1)
            return self.call(f"AMPC_{name}", [self.text_operand(args[0])], t)
        if name in ("LEFT", "RIGHT"):
            arity(2)
            return self.call(f"AMPC_{name}", [self.text_operand(args[0]), self.int_operand(args[1])], t)
        if name == "SUBSTRING":
            arity(3)
            return self.call(
                "AMPC_SUBSTRING", [self.text_operand(args[0]), self.int_operand(args[1]), self.int_operand(args[2])], t
            )
        if name == "CHARINDEX":
            arity(2, 3)
            start = self.int_operand(args[2]) if len(args) == 3 else exp.Literal.number(1)
            return self.call("AMPC_CHARINDEX", [self.text_operand(args[0]), self.text_operand(args[1]), start], t)
        if name == "REPLACE":
            arity(3)
            return self.call("AMPC_REPLACE", [self.text_operand(a) for a in args], t)
        if name == "CONCAT":
            if len(args) < 2:
                raise ScriptError("The concat function requires 2 to 254 arguments.")
            parts = [exp.Coalesce(this=self.text_operand(a), expressions=[self._string("")]) for a in args]
            joined = parts[0]
            for part in parts[1:]:
                joined = exp.DPipe(this=joined, expression=part)
            self.put(joined, t)
            return exp.Paren(this=joined)
        if name == "ISNULL":
            arity(2)
            first = self.of(args[0])
            second = args[1]
            if first is not None and first.kind != "null":
                second = self.coerce(second, first)
            new = exp.Coalesce(this=args[0], expressions=[second])
            self.put(new, t)
            return new
        return node

    def _aggregate(self, node: Any) -> Any:
        exp = self.exp
        t = self.of(node.this)
        if t is not None and t.is_text:
            operator = "sum" if isinstance(node, exp.Sum) else "avg"
            raise ScriptError(f"Operand data type {t.name} is invalid for {operator} operator.")
        if isinstance(node, exp.Avg) and not isinstance(node.parent, exp.Window):
            return self._average(node, t)
        return node

    def _average(self, node: Any, t: SqlType | None) -> Any:
        """AVG of integers is an integer (truncated), as in SQL Server."""
        exp = self.exp
        if t is None or t.kind not in _INTEGERS:
            return node
        def build(n: Any) -> Any:
            new = exp.Cast(this=n, to=exp.DataType.build("INTEGER"))
            self.put(new, INT)
            return new

        self._swap(node, build)
        return node  # already replaced (by a node that holds it)

    def _round(self, node: Any) -> Any:
        exp = self.exp
        decimals = node.args.get("decimals")
        if decimals is None:
            raise ScriptError("The round function requires 2 or 3 arguments.")
        value = node.this
        t = self.of(value)
        if t is not None and t.is_text:
            value = self.coerce(value, FLOAT)
        truncate = node.args.get("truncate") or exp.Literal.number(0)
        return self.call("AMPC_ROUND", [value, self.int_operand(decimals), truncate], t)

    def _collation(self, node: Any) -> None:
        name = node.expression.name.upper()
        if name == "DATABASE_DEFAULT" or "_CI" in name:
            chosen = COLLATION
        elif "_CS" in name or name.endswith(("_BIN", "_BIN2")):
            chosen = COLLATION_CS
        elif name in (COLLATION, COLLATION_CS):
            return
        else:
            raise ScriptError(f"Invalid collation '{node.expression.name}'.")
        node.set("expression", self.exp.Var(this=chosen))

    def _select(self, node: Any) -> None:
        exp = self.exp
        if node.args.get("distinct") is not None:
            for index, expression in enumerate(list(node.expressions)):
                if not isinstance(expression, exp.Star):
                    t = self.of(expression)
                    if t is not None and t.is_text:
                        self.collate(self.item(node, index))
        group = node.args.get("group")
        if group is not None:
            for expression in list(group.expressions):
                self._collate_text(expression)
        limit = node.args.get("limit")
        if isinstance(limit, exp.Limit):
            options = limit.args.get("limit_options")
            flags = options.args if options is not None else limit.args
            if flags.get("with_ties"):
                raise ScriptError("TOP ... WITH TIES is not supported by the simulator's query activities")
            if flags.get("percent"):
                self._top_percent(node, limit)

    def _top_percent(self, node: Any, limit: Any) -> None:
        """TOP (p) PERCENT: the first p% of the rows, rounded up."""
        import sqlglot

        exp = self.exp
        counted = node.copy()
        counted.set("limit", None)
        counted.set("order", None)
        percent = limit.expression.sql(dialect="sqlite")
        share = f"COUNT(*) * ({percent}) / 100.0"
        rows = sqlglot.parse_one(
            f"SELECT CAST(x AS INTEGER) + (x > CAST(x AS INTEGER)) FROM (SELECT {share} AS x FROM (SELECT 1) AS _ampc_rows)",
            read="sqlite",
        )
        rows.find(exp.Subquery).this.find(exp.Subquery).set("this", counted)
        node.set("limit", exp.Limit(expression=exp.Subquery(this=rows)))

    def _set(self, node: Any) -> None:
        exp = self.exp
        branches = self.branches(node)
        if not branches or any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
                               for b in branches for e in b.expressions):
            return
        width = min(len(b.expressions) for b in branches)
        distinct = any(
            op.args.get("distinct") is not False for op in [node, *node.find_all(self._set_operation)]
        )
        for index in range(width):
            target = higher(self.of(b.expressions[index]) for b in branches)
            if target is None or target.kind == "null":
                continue
            for branch in branches:
                if needs_conversion(self.of(branch.expressions[index]), target):
                    self.coerce(self.item(branch, index), target)
            if distinct and target.is_text:
                for branch in branches:
                    inner = self.item(branch, index)
                    if not isinstance(inner, exp.Collate):
                        self.collate(inner)

    def _assign(self, root: Any, spec: Any) -> None:
        """INSERT INTO target SELECT ...: each column converted to its target field's type, as SQL Server assigns."""
        exp = self.exp
        branches = self.branches(root)
        if not branches:
            return
        first = branches[0]
        for index, expression in enumerate(first.expressions):
            name = expression.output_name if not isinstance(expression, exp.Star) else ""
            if not name:
                continue
            try:
                f = spec.field(name)
            except ScriptError:
                continue
            wanted = field_type(f.type, f.scale)
            for branch in branches:
                if index >= len(branch.expressions):
                    continue
                node = branch.expressions[index]
                source = self.of(node.this if isinstance(node, exp.Alias) else node)
                if source is None:
                    continue
                if source.kind == "datetime" and wanted.kind in _INTEGERS:
                    raise ScriptError(
                        f"Implicit conversion from data type datetime to {wanted.kind} is not allowed. "
                        "Use the CONVERT function to run this query."
                    )
                convert_it = (
                    (source.is_text and not wanted.is_text)
                    or (wanted.is_text and source.kind in ("datetime", "decimal", "float"))
                    or (wanted.kind in _INTEGERS and source.kind in ("decimal", "float"))
                    or (wanted.kind == "datetime" and source.kind == "date")
                )
                if convert_it:
                    inner = self.item(branch, index)
                    self._swap(inner, lambda n, s=source, w=wanted: self.convert_call(n, implicit(w), s))


def _text_of(t: SqlType | None) -> SqlType | None:
    if t is None:
        return None
    return SqlType(t.kind) if t.is_text else VARCHAR


def datatype(node: Any, explicit: bool = True) -> SqlType | None:
    """A sqlglot DataType as the SQL Server type it names (CAST's defaults: varchar(30), decimal(18,0))."""
    if node is None or not hasattr(node, "this"):
        return None
    name = getattr(node.this, "name", str(node.this)).upper()
    params = []
    for param in node.expressions:
        value = param.this if hasattr(param, "this") else param
        digits = str(getattr(value, "this", value))
        params.append(int(digits) if digits.isdigit() else None)  # None: MAX
    if name in ("VARCHAR", "NVARCHAR", "CHAR", "NCHAR"):
        length = params[0] if params else (30 if explicit else None)
        return SqlType("nvarchar" if name.startswith("N") else "varchar", length, fixed=not name.endswith("VARCHAR"))
    if name == "TEXT":
        return VARCHAR
    if name in ("INT", "BIGINT", "SMALLINT", "BIT"):
        return SqlType(name.lower())
    if name in ("TINYINT", "UTINYINT"):
        return SqlType("tinyint")
    if name == "BOOLEAN":
        return BIT
    if name in ("DECIMAL", "NUMERIC"):
        precision = params[0] if params and params[0] else 18
        scale = params[1] if len(params) > 1 and params[1] is not None else 0
        return SqlType("decimal", precision=precision, scale=scale)
    if name == "MONEY":
        return SqlType("decimal", precision=19, scale=4)
    if name == "SMALLMONEY":
        return SqlType("decimal", precision=10, scale=4)
    if name in ("FLOAT", "DOUBLE", "REAL"):
        return FLOAT
    if name == "DATE":
        return DATE
    if name in ("DATETIME", "DATETIME2", "SMALLDATETIME"):
        return DATETIME
    return None


def rewrite(tree: Any, store: Any, now: _dt.datetime, target: Any = None) -> Any:
    """The checked query's tree made to follow SQL Server's rules in SQLite (see the module)."""
    return Rewriter(tree, store, now).rewrite(tree, target)


