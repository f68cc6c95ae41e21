"""Booleans: what reads as one, and conversions for function arguments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import ScriptError
from .numbers import parse_number
from .text import to_text


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

