"""Booleans: what reads as one, and conversions for function arguments.

A boolean argument is ``true`` or ``false`` in any case, or a number: 1 is
true and every other number false.  URLEncode's switches are observed to
take 2 as off (https://sfmc.guide/engagement/differs-from-docs/#urlencode-flag-spellings-and-default-passthrough),
as comparisons take a number as a boolean (issue 9, rule 2), so every
boolean argument reads numbers that way (choice for the other functions).
Any other text is not a boolean: an error naming the function and argument.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import ScriptError
from .numbers import parse_number
from .text import to_text


def parse_boolean(value: Any) -> bool | None:
    """The boolean a value stands for (``true``/``false`` in any case, a number: 1 true, others false), or None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)):
        return value == 1
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "true":
            return True
        if text == "false":
            return False
        number = parse_number(text)
        if number is not None:
            return number == 1
    return None


def to_boolean(value: Any, function: str, argument: str) -> bool:
    flag = parse_boolean(value)
    if flag is None:
        raise ScriptError(f"invalid boolean {to_text(value)!r} for argument {argument!r} of {function}()")
    return flag

