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
import math as _math
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ScriptError

Number = int | Decimal


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
    # Plain notation, never exponent notation (Decimal("1E+3") prints "1000").
    if value == value.to_integral_value() and value.as_tuple().exponent > 0:
        value = value.quantize(Decimal(1))
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
    number = to_number(value, function, argument)
    converted = float(number)
    if not _math.isfinite(converted):
        raise ScriptError(
            f"{to_text(value)!r} is too large a number for argument {argument!r} of {function}()"
        )
    return converted


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


def parse_number(value: Any) -> Number | None:
    """The number a value stands for, or None if it is not numeric."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            if text.lstrip("+-").isdigit():
                return int(text)
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            return None
        return number if number.is_finite() else None
    return None


def to_number(value: Any, function: str, argument: str) -> Number:
    """Convert a function argument to a number, or raise an error naming both."""
    number = parse_number(value)
    if number is None and value is None:
        raise ScriptError(f"invalid number (null) for argument {argument!r} of {function}()")
    if number is None:
        raise ScriptError(
            f"invalid number {to_text(value)!r} for argument {argument!r} of {function}()"
        )
    return number


def to_int(value: Any, function: str, argument: str) -> int:
    number = to_number(value, function, argument)
    if isinstance(number, Decimal):
        if number != number.to_integral_value():
            raise ScriptError(
                f"{function}() expects a whole number for argument {argument!r}, got {to_text(value)!r}"
            )
        return int(number)
    return number


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
