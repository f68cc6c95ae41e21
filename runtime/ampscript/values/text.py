"""How values print (``%%= =%%``, Output, Concat), and text as it enters the runtime."""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal
from typing import Any

from .model import LARGEST_EXPONENT, SMALLEST_EXPONENT, UNSET, Double


_INFINITY = float("inf")
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


def to_text(value: Any) -> str:
    """How Marketing Cloud prints a value."""
    kind = type(value)
    if kind is str:
        return value
    if kind is int:  # the next most common: counters, Add() results (bool is not int here: type() is exact)
        return str(value)
    if value is None or value is UNSET:
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
    if not value.is_finite() or not SMALLEST_EXPONENT <= value.adjusted() <= LARGEST_EXPONENT:
        return str(value)
    return format(value, "f")


def double_text(value: Decimal | float) -> str:
    """How .NET prints a double: 15 significant digits, exponent as ``E+15``/``E-05``; ``∞``, ``-∞``, ``NaN``."""
    if value != value:  # NaN
        return "NaN"
    if value in (_INFINITY, -_INFINITY):
        return "∞" if value > 0 else "-∞"
    if value == 0:
        return "0"
    return g15(float(value)).replace("e", "E")


def g15(value: float) -> str:
    # Python's %g and .NET's "G" agree on when to use exponent notation
    # (exponent < -4, or >= the precision) and both print at least two
    # exponent digits; only the letter's case differs (fixed by the caller).
    return "%.15g" % value


def format_default_datetime(value: _dt.datetime) -> str:
    """Marketing Cloud's default (en-US) date rendering: ``1/5/2026 3:04:05 PM``."""
    hour = value.hour % 12 or 12
    meridiem = "AM" if value.hour < 12 else "PM"
    return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d}:{value.second:02d} {meridiem}"


def shown(value: Any, longest: int = 60) -> str:
    """A value quoted for an error message, shortened if long."""
    text = to_text(value) if not isinstance(value, int) or value.bit_length() < 4000 else "a huge number"
    if len(text) > longest:
        text = text[: longest - 3] + "..."
    return repr(text)

