"""What AMPscript's operators mean: comparisons, `not`, `and`/`or`, and `if`.

The generated code calls these rather than Python's operators, because
AMPscript compares differently:

* ``==`` and ``!=`` between strings ignore case (``"ABC" == "abc"`` is true).
* When both sides read as numbers (a number, or a string holding one), they
  are compared as numbers: ``"10" == 10.0`` is true and ``"9" < "10"`` is true.
* Booleans compare with booleans and with the strings ``true``/``false``, in
  any case.
* Dates compare as dates when both sides are dates.
* null compares equal to null and to the empty string, and to nothing else.
* Otherwise ``<``, ``>``, ``<=`` and ``>=`` compare strings case-insensitively
  in ordinal order.
* ``if`` and ``not`` need a boolean: a boolean, the strings ``true``/``false``
  (any case), or a number (non-zero is true).  null and the empty string are
  false.  Any other value is an error, as in Marketing Cloud.
* ``and`` and ``or`` are evaluated left to right and stop as soon as the
  result is known.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from .errors import ScriptError
from .values import parse_boolean, parse_number, to_text


def _key(value: Any) -> tuple[str, Any]:
    """Reduce a value to a comparable (kind, value) pair."""
    if value is None:
        return ("text", "")
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, _dt.datetime):
        return ("date", value)
    number = parse_number(value)
    if number is not None:
        return ("number", number)
    return ("text", to_text(value).lower())


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    lkind, lvalue = _key(left)
    rkind, rvalue = _key(right)
    if lkind == rkind:
        return lvalue, rvalue
    if "bool" in (lkind, rkind):
        lflag, rflag = parse_boolean(left), parse_boolean(right)
        if lflag is not None and rflag is not None and not (left is None or right is None):
            return lflag, rflag
    return to_text(left).lower(), to_text(right).lower()


def eq(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return to_text(left) == to_text(right)
    a, b = _comparable(left, right)
    return a == b


def ne(left: Any, right: Any) -> bool:
    return not eq(left, right)


def lt(left: Any, right: Any) -> bool:
    a, b = _comparable(left, right)
    return a < b


def gt(left: Any, right: Any) -> bool:
    a, b = _comparable(left, right)
    return a > b


def le(left: Any, right: Any) -> bool:
    return not gt(left, right)


def ge(left: Any, right: Any) -> bool:
    return not lt(left, right)


def truthy(value: Any) -> bool:
    """The boolean an `if` condition or a `not` operand stands for."""
    if value is None or value == "":
        return False
    flag = parse_boolean(value)
    if flag is None:
        raise ScriptError(f"{to_text(value)!r} is not a boolean value and cannot be used as a condition")
    return flag
