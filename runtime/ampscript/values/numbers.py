"""Numbers: what reads as one, the range AMPscript holds, conversions for function arguments, doubles."""

from __future__ import annotations

import math as _math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import ScriptError
from .model import LARGEST_EXPONENT, SMALLEST_EXPONENT, UNSET, Double, Number
from .text import g15, shown


# The range of numbers AMPscript holds: a double's (Marketing Cloud runs on
# .NET, whose Double.Parse refuses anything past about 1.8E+308 on the .NET
# Framework).  A number closer to zero than the smallest double is zero, as
# .NET parses it.  Checked on the exponent, so that no value, however many
# digits or however large an exponent it has, costs more than its length to
# classify: Decimal("1E+999999999") is cheap to hold but hangs int(), format()
# and every arithmetic operation.
_LARGEST_DOUBLE = Decimal("1.7976931348623157E+308")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# Below this, integers and their sums, differences and products are exact
# doubles, and whole results print as integers (`from_double`): the integer
# operation gives the same number as the double one, without the detour
# (`ampscript.functions.math`, the compiler's integer arithmetic in
# `ampscript.runtime`).
EXACT_INT = 10**15


_WHOLE = re.compile(r"[+-]?[0-9]+\Z")
# The shape of a decimal number in text, checked before Decimal() is asked:
# Decimal() would also take "1_000", "Infinity" and "NaN" (which .NET does
# not read as numbers), and raising for every word it cannot read is slow.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


class OutOfRange(ValueError):
    """A numeric value beyond the numbers AMPscript holds (see `parse_number`)."""


def _bounded(number: Decimal) -> Decimal:
    if not number.is_finite():
        raise OutOfRange
    exponent = number.adjusted()
    if exponent < SMALLEST_EXPONENT:
        return Decimal(0)
    if exponent > LARGEST_EXPONENT or abs(number) > _LARGEST_DOUBLE:
        raise OutOfRange
    return number


def _number_or_range_error(value: Any) -> Number | None:
    """`parse_number`, except that a number out of range raises `OutOfRange`."""
    if type(value) is int:  # the common case first
        if value.bit_length() > 1024:  # past 1.8E+308 (1024 bits) in constant time
            raise OutOfRange
        return value
    # Text (data) and floats (JSON) before the other types: the types are
    # disjoint, so the order only decides how soon the common ones are found
    # (bool must still come before int, its base).
    if isinstance(value, str):
        text = value.strip()
        if not text or not text.isascii():  # .NET reads ASCII digits only; Decimal() would take "١٢"
            return None
        if _WHOLE.match(text):
            if len(text.lstrip("+-0")) > LARGEST_EXPONENT + 1:
                raise OutOfRange
            return int(text)
        if not _DECIMAL.match(text):
            return None  # words, "NaN", "Infinity", "1_000" are text
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            return None
        return _bounded(number)
    if isinstance(value, float):
        if not _math.isfinite(value):
            raise OutOfRange
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if type(value) is Double and not value.is_finite():
            return value  # an infinite or undefined result of arithmetic goes on as one
        return _bounded(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if value.bit_length() > 1024:  # past 1.8E+308 (1024 bits) in constant time
            raise OutOfRange
        return value
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
            f"{shown(value)} is too large a number for argument {argument!r} of {function}() "
            "(numbers go up to about 1.8E+308)"
        ) from None
    if number is None and (value is None or value is UNSET):
        raise ScriptError(f"invalid number (null) for argument {argument!r} of {function}()")
    if number is None:
        raise ScriptError(f"invalid number {shown(value)} for argument {argument!r} of {function}()")
    return number


def to_int(value: Any, function: str, argument: str) -> int:
    """A function argument as a 64-bit whole number (what .NET's Int64 holds), or an error naming both."""
    if type(value) is int and INT64_MIN <= value <= INT64_MAX:
        return value  # the common case (loop bounds, counters), which the rules below give back as it is
    number = to_number(value, function, argument)
    if isinstance(number, Decimal):
        if not number.is_finite() or number != number.to_integral_value():  # ∞ and NaN (Divide by zero)
            raise ScriptError(
                f"{function}() expects a whole number for argument {argument!r}, got {shown(value)}"
            )
        if number.adjusted() > 18:  # constant time, before int() builds the digits
            raise _int64_error(value, function, argument)
        number = int(number)
    if not INT64_MIN <= number <= INT64_MAX:
        raise _int64_error(value, function, argument)
    return number


def _int64_error(value: Any, function: str, argument: str) -> ScriptError:
    return ScriptError(
        f"{shown(value)} is outside the whole numbers argument {argument!r} of {function}() takes "
        f"({INT64_MIN} to {INT64_MAX})"
    )


def from_double(value: float) -> Number:
    """The AMPscript number for the result of a double computation.

    Whole results below 1E+15 become ``int``; others a `Double`.  An
    infinite or undefined result is a `Double` too (``Double("Infinity")``,
    ``Double("NaN")``), which prints ``∞``, ``-∞`` and ``NaN`` as Marketing
    Cloud does (https://sfmc.guide/engagement/differs-from-docs/#divide-zero-divisor-infinity).
    """
    if _math.isnan(value):
        return Double("NaN")
    if _math.isinf(value):
        return Double("Infinity" if value > 0 else "-Infinity")
    if value == 0:
        return 0  # .NET Framework prints -0.0 as "0"
    text = g15(value)
    if "." in text or "e" in text:
        return Double(text)
    return int(text)


def to_double(value: Any, function: str, argument: str) -> float:
    """A function argument as the double Marketing Cloud computes with."""
    return float(to_number(value, function, argument))  # in range, so finite



# The integer part of a number written with commas between its digits.
_GROUPED_INTEGER = re.compile(r"\s*[+-]?[0-9][0-9,]*")


def without_group_separators(value: Any) -> Any:
    """A number held in a string with its thousands separators (commas) left out: "1,234.56" -> "1234.56".

    As .NET reads a number that allows thousands separators: commas count
    only between digits of the integer part (",5" and "1.2,5" stay invalid).
    Commas only, in every culture (choice: sfmc.guide shows en-US input).
    Issue 9: FormatNumber("1,234.56", "G", "en_US") is 1234.56.
    """
    if not isinstance(value, str):
        return value
    integer = _GROUPED_INTEGER.match(value)
    if integer is None:
        return value
    return integer.group().replace(",", "") + value[integer.end() :]
