"""The AMPscript value model and its conversions.

AMPscript values are represented by plain Python objects wherever one fits,
so generated code and tests stay readable:

=================  ==========================================================
AMPscript          Python
=================  ==========================================================
null               ``None``
string             ``str``
number             ``int`` (integers) or ``decimal.Decimal`` (decimals); never
                   a binary float.  `Double`, a Decimal, marks the result of
                   Marketing Cloud's double arithmetic (the Math functions).
boolean            ``bool``
date               ``datetime.datetime`` (naive; Marketing Cloud system time)
rowset / row       `Rowset` / `Row` (below)
API object         `ampscript.api_objects.ApiObject`
=================  ==========================================================

`to_text` is how a value prints (``%%= =%%``, ``Output``, ``Concat``).

Rules, from Salesforce's AMPscript reference and where it is silent, chosen:

* Numeric constants are digits with at most one decimal point and a leading
  minus sign, no commas; string constants use double or single quotes;
  ``true``/``false`` in any case are booleans (Language Elements,
  https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmat-content/languageElements.htm).
* A numeric constant prints as written: ``1.50`` prints ``1.50``, and a
  literal beyond 64 bits prints all its digits.  (The reference shows no
  example; AMPscript keeps constants as text, and nothing reformats them.)
* The Math functions compute in IEEE doubles and print the result the way
  .NET prints a double: 15 significant digits, so ``Add(1.1, 2.2)`` is
  ``3.3`` and ``Divide(1, 3)`` is ``0.333333333333333``, but the error of a
  double can show, as in the reference's ``Mod(-500.123, 12.456)`` =
  ``-1.88300000000001``
  (https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math-mod.html).
  From 1E+15 up and below 1E-04 .NET switches to exponent notation
  (``1E+15``, ``1.5E-05``).  See `Double`.
* Booleans print ``True``/``False`` (.NET's spelling).  The IsNull() page
  shows ``true`` in lower case as its output; the corpus follows ``True``
  until a real Marketing Cloud render says otherwise.
* null prints nothing.  A declared but unset variable is null (Variables,
  https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/guide/mc-ampscript-guide-language-basics-variables.html).
* Empty() is true for null and the empty string; IsNull() only for null
  (https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmatic-content/isnull.htm).
  A space is not empty.
"""

from __future__ import annotations

import datetime as _dt
import json
import math as _math
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ScriptError

Number = int | Decimal


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text with every lone UTF-16 surrogate replaced by U+FFFD.

    Python can hold half of a surrogate pair in a string (JSON's "\\ud83d"
    escape makes one); such a string cannot be encoded, stored or printed.
    .NET's encoders replace one with U+FFFD, so ampc does that where text
    enters the runtime (JSON, the subscriber, AMPscript source); U+FFFD is
    one UTF-16 unit too, so lengths and positions do not change.
    """
    return _LONE_SURROGATE.sub("\ufffd", text) if not text.isascii() else text


def parse_json(text: str | bytes, **options: Any) -> Any:
    """JSON as the runtime reads it: `json.loads`, with strings made clean (`clean_text`).

    JSON nested too deeply for Python's parser is a `json.JSONDecodeError`
    like any other invalid JSON, never a RecursionError.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    try:
        document = json.loads(text, **options)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text[:100], 0) from None
    if "\\u" in text:  # only an escape can make a lone surrogate from text that has none
        document = _cleaned(document)
    return document


def _cleaned(document: Any) -> Any:
    """`document` with every string in it (keys too) made clean; iterative, for any depth."""
    def clean(value: Any) -> Any:
        return clean_text(value) if isinstance(value, str) else value

    if not isinstance(document, (dict, list)):
        return clean(document)
    root: list[Any] = [document]
    pending: list[tuple[Any, Any]] = [(root, 0)]
    while pending:
        container, key = pending.pop()
        value = container[key]
        if isinstance(value, dict):
            value = {clean(k): v for k, v in value.items()}
            container[key] = value
            pending.extend((value, k) for k in value)
        elif isinstance(value, list):
            pending.extend((value, index) for index in range(len(value)))
        else:
            container[key] = clean(value)
    return root[0]


def to_text(value: Any) -> str:
    """How Marketing Cloud prints a value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Double):
        return double_text(value)
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, float):
        return double_text(value)
    if isinstance(value, _dt.datetime):
        return format_default_datetime(value)
    if isinstance(value, _dt.date):
        return format_default_datetime(_dt.datetime(value.year, value.month, value.day))
    return str(value)


def _decimal_text(value: Decimal) -> str:
    # Plain notation, never exponent notation (Decimal("1E+3") prints "1000"),
    # for every number AMPscript holds; a Decimal beyond them (only Python
    # code can make one) prints in exponent notation rather than as a
    # billion digits.
    if not value.is_finite() or not _SMALLEST_EXPONENT <= value.adjusted() <= _LARGEST_EXPONENT:
        return str(value)
    return format(value, "f")


class Double(Decimal):
    """A number that came out of Marketing Cloud's double arithmetic.

    Its value is the double rounded to the 15 significant digits .NET shows,
    so it holds what Marketing Cloud prints and nothing more (no float
    noise survives into later comparisons).  It is a Decimal in every other
    respect; only `to_text` treats it differently, printing exponent
    notation where .NET does (``1E+15``).
    """

    __slots__ = ()


def from_double(value: float) -> Number | None:
    """The AMPscript number for the result of a double computation.

    Whole results below 1E+15 become ``int``; others a `Double`.  A result
    that overflowed (infinite) or is undefined (NaN) gives None, so that the
    caller can raise an error naming its function.
    """
    if not _math.isfinite(value):
        return None
    if value == 0:
        return 0  # .NET Framework prints -0.0 as "0"
    text = _g15(value)
    if "." in text or "e" in text:
        return Double(text)
    return int(text)


def to_double(value: Any, function: str, argument: str) -> float:
    """A function argument as the double Marketing Cloud computes with."""
    return float(to_number(value, function, argument))  # in range, so finite


def double_text(value: Decimal | float) -> str:
    """How .NET prints a double: 15 significant digits, exponent as ``E+15``/``E-05``."""
    if value == 0:
        return "0"
    return _g15(float(value)).replace("e", "E")


def _g15(value: float) -> str:
    # Python's %g and .NET's "G" agree on when to use exponent notation
    # (exponent < -4, or >= the precision) and both print at least two
    # exponent digits; only the letter's case differs (fixed by the caller).
    return "%.15g" % value


def format_default_datetime(value: _dt.datetime) -> str:
    """Marketing Cloud's default (en-US) date rendering: ``1/5/2026 3:04:05 PM``."""
    hour = value.hour % 12 or 12
    meridiem = "AM" if value.hour < 12 else "PM"
    return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d}:{value.second:02d} {meridiem}"


# The range of numbers AMPscript holds: a double's (Marketing Cloud runs on
# .NET, whose Double.Parse refuses anything past about 1.8E+308 on the .NET
# Framework).  A number closer to zero than the smallest double is zero, as
# .NET parses it.  Checked on the exponent, so that no value, however many
# digits or however large an exponent it has, costs more than its length to
# classify: Decimal("1E+999999999") is cheap to hold but hangs int(), format()
# and every arithmetic operation.
_LARGEST_EXPONENT = 308  # Decimal.adjusted() of the largest double, 1.797...E+308
_SMALLEST_EXPONENT = -324  # the smallest double is 4.9E-324
_LARGEST_DOUBLE = Decimal("1.7976931348623157E+308")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


_WHOLE = re.compile(r"[+-]?[0-9]+\Z")


class OutOfRange(ValueError):
    """A numeric value beyond the numbers AMPscript holds (see `parse_number`)."""


def _bounded(number: Decimal) -> Decimal:
    if not number.is_finite():
        raise OutOfRange
    exponent = number.adjusted()
    if exponent < _SMALLEST_EXPONENT:
        return Decimal(0)
    if exponent > _LARGEST_EXPONENT or abs(number) > _LARGEST_DOUBLE:
        raise OutOfRange
    return number


def _number_or_range_error(value: Any) -> Number | None:
    """`parse_number`, except that a number out of range raises `OutOfRange`."""
    if type(value) is int:  # the common case first
        if value.bit_length() > 1024:  # past 1.8E+308 (1024 bits) in constant time
            raise OutOfRange
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if value.bit_length() > 1024:  # past 1.8E+308 (1024 bits) in constant time
            raise OutOfRange
        return value
    if isinstance(value, Decimal):
        return _bounded(value)
    if isinstance(value, float):
        if not _math.isfinite(value):
            raise OutOfRange
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip()
        if not text or not text.isascii():  # .NET reads ASCII digits only; Decimal() would take "١٢"
            return None
        if _WHOLE.match(text):
            if len(text.lstrip("+-0")) > _LARGEST_EXPONENT + 1:
                raise OutOfRange
            return int(text)
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            return None
        if not number.is_finite():
            return None  # "NaN", "Infinity", "inf" are text
        return _bounded(number)
    return None


def parse_number(value: Any) -> Number | None:
    """The number a value stands for, or None if it is not numeric.

    Numbers beyond the double range (past about 1.8E+308) are not numbers;
    digits other than ASCII ones (``"١٢"``) are not digits.
    """
    try:
        return _number_or_range_error(value)
    except OutOfRange:
        return None


def to_number(value: Any, function: str, argument: str) -> Number:
    """Convert a function argument to a number, or raise an error naming both."""
    try:
        number = _number_or_range_error(value)
    except OutOfRange:
        raise ScriptError(
            f"{_shown(value)} is too large a number for argument {argument!r} of {function}() "
            "(numbers go up to about 1.8E+308)"
        ) from None
    if number is None and value is None:
        raise ScriptError(f"invalid number (null) for argument {argument!r} of {function}()")
    if number is None:
        raise ScriptError(f"invalid number {_shown(value)} for argument {argument!r} of {function}()")
    return number


def to_int(value: Any, function: str, argument: str) -> int:
    """A function argument as a 64-bit whole number (what .NET's Int64 holds), or an error naming both."""
    number = to_number(value, function, argument)
    if isinstance(number, Decimal):
        if number != number.to_integral_value():
            raise ScriptError(
                f"{function}() expects a whole number for argument {argument!r}, got {_shown(value)}"
            )
        if number.adjusted() > 18:  # constant time, before int() builds the digits
            raise _int64_error(value, function, argument)
        number = int(number)
    if not INT64_MIN <= number <= INT64_MAX:
        raise _int64_error(value, function, argument)
    return number


def _int64_error(value: Any, function: str, argument: str) -> ScriptError:
    return ScriptError(
        f"{_shown(value)} is outside the whole numbers argument {argument!r} of {function}() takes "
        f"({INT64_MIN} to {INT64_MAX})"
    )


def _shown(value: Any, longest: int = 60) -> str:
    """A value quoted for an error message, shortened if long."""
    text = to_text(value) if not isinstance(value, int) or value.bit_length() < 4000 else "a huge number"
    if len(text) > longest:
        text = text[: longest - 3] + "..."
    return repr(text)


def parse_boolean(value: Any) -> bool | None:
    """The boolean a value stands for (``true``/``false`` in any case, 1/0), or None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "true":
            return True
        if text == "false":
            return False
        number = parse_number(text)
        if number is not None:
            return number != 0
    return None


def to_boolean(value: Any, function: str, argument: str) -> bool:
    flag = parse_boolean(value)
    if flag is None:
        raise ScriptError(f"invalid boolean {to_text(value)!r} for argument {argument!r} of {function}()")
    return flag


def is_empty(value: Any) -> bool:
    """AMPscript's notion of empty: null or the empty string (Empty())."""
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    return False


class Row(Mapping[str, Any]):
    """One row of a rowset: fields by name, matched case-insensitively, in order."""

    __slots__ = ("_fields", "_index")

    def __init__(self, fields: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()):
        items = fields.items() if isinstance(fields, Mapping) else fields
        self._fields: dict[str, Any] = {}
        self._index: dict[str, str] = {}
        for name, value in items:
            key = self._index.setdefault(name.lower(), name)
            self._fields[key] = value

    def field_name(self, name: str) -> str | None:
        """The field's own spelling, or None if the row has no such field."""
        return self._index.get(name.lower())

    def __getitem__(self, name: str) -> Any:
        key = self._index.get(name.lower())
        if key is None:
            raise KeyError(name)
        return self._fields[key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"Row({self._fields!r})"


def field_at_path(row: Mapping[str, Any], path: str) -> Any:
    """A field by name, or a nested one by dotted path (``Client.ID``,
    ``DataExtension.CustomerKey``); None where the path leads nowhere.
    Nested plain dicts (stored JSON) are read as rows too."""
    value: Any = row
    for part in path.split("."):
        if isinstance(value, dict):
            value = Row(value)
        if not isinstance(value, Row) or part not in value:
            return None
        value = value[part]
    return value


class Rowset(list):
    """An ordered list of `Row`s, as Lookup*, InvokeRetrieve and BuildRowset* return."""

    def __repr__(self) -> str:
        return f"Rowset({list.__repr__(self)})"
