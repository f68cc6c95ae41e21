"""Comparisons (``==``, ``!=``, ``<``, ``>``, ``<=``, ``>=``) and conditions: Marketing Cloud's rules.

The rules are the ones Marketing Cloud's own engineers observed running
comparisons against the platform (ampc issue 9); the first rule that
applies decides:

1. **Null.**  Null (from data) and unset (a variable never set, or declared
   with ``var``) are null; ``""`` is not.  With exactly one side null,
   ``==``, ``<=``, ``>=`` are false and ``!=``, ``<``, ``>`` true (so
   ``0 < @unset`` and ``0 > @unset`` are both true); with both null,
   ``==``, ``<=``, ``>=`` are true and the others false.
2. **Booleans.**  If either side is a boolean, both become booleans
   (`boolean_of`): a boolean is itself; a whole number is true when it is
   exactly 1 and false otherwise; the strings ``true``/``false`` in any case
   are themselves; anything else (``1.5``, ``"a"``, a date) is false.
   Booleans have no order: equal booleans make ``==``, ``<=``, ``>=`` true
   and the others false; different ones make ``==``, ``<=``, ``>=`` false
   and ``!=``, ``<``, ``>`` all true (``true < false`` and ``true > false``
   are both true).  A string holding a whole number counts as that number
   (choice: the rule speaks of numbers, and data extension fields are text).
3. **Dates.**  If either side is a date value (Now(), DateAdd, StringToDate,
   DateParse, a Date field), both become dates; a side that does not read
   as a date (the one date parser, `values.dates`) counts as 1 January 0001,
   so ``Now() > "a"`` is true.  Two strings that look like dates are not
   dates here.
4. **Numbers.**  If either side is a number or a string that reads as a
   decimal number (`values.numbers.parse_number`), both become numbers; a
   side that does not read as one counts as 0: ``"a" < 1`` and ``"a" == 0``
   are true, ``"4" < "50"`` is true.  An undefined result of arithmetic
   (NaN) equals nothing and orders with nothing, as a .NET double's does.
5. **Text.**  Otherwise both sides compare as they print: ``==`` and ``!=``
   ignoring case with one-to-one case mapping (`values.case.fold`:
   ``"Andreas Graßl" == "Andreas Grassl"`` is false); ``<``, ``>``, ``<=``,
   ``>=`` by en-US collation ignoring case and accents
   (`values.case.collation_key`).

Conditions (``if``, ``elseif``, ``not``, ``and``, ``or``, IIf) take the
boolean of their value the way rule 2 does, and never fail: a condition that
is not a boolean is false.  Observed for IIf with ``""``, ``"   "``, ``0``,
``"0"``, ``"false"``, ``"hello"`` and unset variables, which all take the
false branch (https://sfmc.guide/engagement/ampscript/functions/iif/); ``if``
follows the same rule (choice: nothing observed says otherwise).
"""

from __future__ import annotations

import datetime as _dt
import operator
from decimal import Decimal
from typing import Any

from ..errors import ScriptError
from .case import collation_key, fold
from .model import UNSET
from .booleans import parse_boolean
from .numbers import parse_number
from .text import to_text

__all__ = ["boolean_of", "condition", "eq", "ge", "gt", "le", "lt", "ne"]

_EARLIEST = _dt.datetime(1, 1, 1)

# What each operator answers when the two sides are equal, ordered before, after.
_EQ, _NE, _LT, _GT, _LE, _GE = range(6)
_UNORDERED_EQUAL = (True, False, False, False, True, True)  # null with null, equal booleans
_UNORDERED_DIFFERENT = (False, True, True, True, False, False)  # one null, different booleans
_NAN = (False, True, False, False, False, False)


def boolean_of(value: Any) -> bool:
    """The boolean a value counts as in a comparison with a boolean, and as a condition (rule 2).

    What reads as a boolean argument (`values.booleans.parse_boolean`: true,
    false, a number that is 1 or not) is that boolean; anything else (text,
    a date, null) is false.
    """
    return parse_boolean(value) is True


# A condition (if, elseif, not, and, or, IIf) is the boolean its value counts as.
condition = boolean_of


def _as_date(value: Any) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str) and value.strip():
        from .dates import parse_date

        try:
            return parse_date(value, "comparison", "value")
        except ScriptError:
            return _EARLIEST
    return _EARLIEST


# A string can only read as a number if it starts with one of these (after
# white space, which parse_number strips): most text is ruled out at once.
_NUMBER_START = frozenset("0123456789+-.")


def _plain_texts(left: str, right: str) -> bool:
    """Two non-empty texts that cannot read as numbers (`_number_of` would say None at their first characters).

    The two in one call: comparisons of texts are the most common.
    """
    if not left or not right:
        return False
    first, second = left[0], right[0]
    return first not in _NUMBER_START and second not in _NUMBER_START and not first.isspace() and not second.isspace()


def _number_of(value: Any) -> Any:
    if type(value) is str:
        start = value[:1]
        if start not in _NUMBER_START and not (start.isspace() and value.lstrip()[:1] in _NUMBER_START):
            return None
    return parse_number(value)


# Python's int and float (a subscriber attribute from JSON) between these
# bounds compare, as Python compares them, exactly as rule 4 compares them
# (a float as the Decimal of its shortest repr): every int there is a float,
# and no float lies between another float and its repr.  Infinities and NaN
# are outside, as are ints past a double's range.
_BINARY_NUMBERS = (int, float)
_EXACT_BOUND = 2**53


def _compare(left: Any, right: Any, operator: int) -> bool:
    """One comparison of two AMPscript values by the rules (module docstring)."""
    kind, other = type(left), type(right)
    if kind is other:
        if kind is int or (kind is str and left == right):
            return _ORDERED[operator](left, right)  # the common cases, which every rule answers the same way
        if kind is str and _plain_texts(left, right):
            # Two texts that cannot read as numbers: only the last rule
            # applies (what _by_rules would find, sooner).
            return _as_texts(left, right, operator)
    if (
        kind in _BINARY_NUMBERS
        and other in _BINARY_NUMBERS
        and -_EXACT_BOUND < left < _EXACT_BOUND
        and -_EXACT_BOUND < right < _EXACT_BOUND
    ):
        return _ORDERED[operator](left, right)  # rule 4, without making Decimals (see _EXACT_BOUND)
    return _by_rules(left, right, operator)


def _by_rules(left: Any, right: Any, operator: int) -> bool:
    """The comparison rules in order (module docstring)."""
    left_null = left is None or left is UNSET  # null or unset (model.is_null, inline)
    right_null = right is None or right is UNSET
    if left_null or right_null:
        return (_UNORDERED_EQUAL if left_null and right_null else _UNORDERED_DIFFERENT)[operator]
    if isinstance(left, bool) or isinstance(right, bool):
        same = boolean_of(left) == boolean_of(right)
        return (_UNORDERED_EQUAL if same else _UNORDERED_DIFFERENT)[operator]
    if isinstance(left, _dt.date) or isinstance(right, _dt.date):
        return _ORDERED[operator](_as_date(left), _as_date(right))
    left_number, right_number = _number_of(left), _number_of(right)
    if left_number is not None or right_number is not None:
        a = 0 if left_number is None else left_number
        b = 0 if right_number is None else right_number
        if (isinstance(a, Decimal) and a.is_nan()) or (isinstance(b, Decimal) and b.is_nan()):
            return _NAN[operator]
        return _ORDERED[operator](a, b)
    return _as_texts(to_text(left), to_text(right), operator)


def _as_texts(left_text: str, right_text: str, operator: int) -> bool:
    """The last rule: texts compare ignoring case, ordered by the collation."""
    # `fold` maps each character to one character: texts of different lengths
    # are different ignoring case too, without folding them.
    if left_text == right_text or (len(left_text) == len(right_text) and fold(left_text) == fold(right_text)):
        # Equal ignoring case: ordering ignores case too, so <= and >= hold.
        return _UNORDERED_EQUAL[operator]
    if operator == _EQ:
        return False
    if operator == _NE:
        return True
    return _ORDERED[operator](collation_key(left_text), collation_key(right_text))


_ORDERED = (operator.eq, operator.ne, operator.lt, operator.gt, operator.le, operator.ge)


def eq(left: Any, right: Any) -> bool:
    return _compare(left, right, _EQ)


def ne(left: Any, right: Any) -> bool:
    return _compare(left, right, _NE)


def lt(left: Any, right: Any) -> bool:
    return _compare(left, right, _LT)


def gt(left: Any, right: Any) -> bool:
    return _compare(left, right, _GT)


def le(left: Any, right: Any) -> bool:
    return _compare(left, right, _LE)


def ge(left: Any, right: Any) -> bool:
    return _compare(left, right, _GE)
