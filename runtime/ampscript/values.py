"""The AMPscript value model and its conversions.

AMPscript values are represented by plain Python objects wherever one fits,
so generated code and tests stay readable:

=================  ==========================================================
AMPscript          Python
=================  ==========================================================
null               ``None``
string             ``str``
number             ``int`` (integers) or ``decimal.Decimal`` (decimals); never
                   a binary float, so ``0.1 + 0.2`` prints ``0.3``
boolean            ``bool``
date               ``datetime.datetime`` (naive; Marketing Cloud system time)
rowset / row       `Rowset` / `Row` (below)
API object         `ampscript.api_objects.ApiObject`
=================  ==========================================================

`to_text` is how a value prints (``%%= =%%``, ``Output``, ``Concat``).
"""

from __future__ import annotations

import datetime as _dt
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
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, float):
        return _decimal_text(Decimal(repr(value)))
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


class Rowset(list):
    """An ordered list of `Row`s, as Lookup*, InvokeRetrieve and BuildRowset* return."""

    def __repr__(self) -> str:
        return f"Rowset({list.__repr__(self)})"
