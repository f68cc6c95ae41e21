"""What AMPscript's operators mean: comparisons, `not`, `and`/`or`, and `if`.

The generated code calls these rather than Python's operators, because
AMPscript compares differently.  Sources: Evaluating Conditions
(https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/guide/mc-ampscript-guide-language-basics-condition-evaluation.html),
If Statements
(https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/guide/mc-ampscript-guide-language-basics-if-statements.html)
and Language Elements, whose comparison section says the comparison
operators are not case-sensitive and that NOT reverses a Boolean expression
(https://developer.salesforce.com/docs/marketing/ja-jp/marketing-cloud/guide/languageElements.html).
Where the reference is silent, the rule below is ampc's choice, marked so.

Comparisons (``==``, ``!=``, ``<``, ``>``, ``<=``, ``>=``):

* Strings compare ignoring case: ``"ABC" == "abc"`` is true (documented).
  ``<`` and ``>`` on strings that are not numbers compare them ordinally,
  ignoring case the way .NET's OrdinalIgnoreCase does (by upper case)
  (choice: no documented example orders strings).
* When both sides read as numbers (a number, or a string holding one), they
  compare as numbers: ``"10" == 10.0`` and ``"9" < "10"`` are true
  (documented: ``If @age >= 30`` compares "the numeric value" of @age).
* A boolean compares with a boolean, with the strings ``true``/``false`` in
  any case, and with a number (non-zero is true) (choice).
* A date compares with a date, and with a string that reads as a date
  (``Now() > "1/1/2020"``); otherwise as text (choice).
* null equals null and the empty string, and nothing else; in ``<`` and
  ``>`` it orders as the empty string (choice).
* Anything else compares as text, ignoring case.

Conditions (``if``, ``elseif``, ``not``, ``and``, ``or``, Iif):

* A condition must be a boolean: a boolean, the strings ``true``/``false``
  (any case), or a number (non-zero is true); null and the empty string are
  false.  Any other value, such as ``"yes"`` or a rowset, is an error
  (choice: the reference only ever tests Boolean expressions).
* ``not`` reverses its operand (documented).
* ``and`` and ``or`` are evaluated left to right and stop as soon as the
  result is known: ``false and X`` does not evaluate X.  The reference does
  not say; the generated code uses Python's ``and``/``or``, which behave so.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from dateutil import parser as _date_parser

from .errors import ScriptError
from .values import parse_boolean, parse_number, to_text

_NULL, _BOOL, _DATE, _NUMBER, _TEXT = "null", "bool", "date", "number", "text"


def _kind(value: Any) -> str:
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, _dt.date):
        return _DATE
    if parse_number(value) is not None:
        return _NUMBER
    return _TEXT


def _as_text(value: Any) -> str:
    return to_text(value).upper()


def _as_date(value: Any) -> _dt.datetime | None:
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        # Month first, as Marketing Cloud (en-US) reads 1/5/2026; missing
        # parts come from a fixed day, never from today.
        parsed = _date_parser.parse(value, default=_dt.datetime(1900, 1, 1))
    except (ValueError, OverflowError):
        return None
    return parsed.replace(tzinfo=None)


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """The pair of Python values that compare the way AMPscript compares left and right."""
    kinds = {_kind(left), _kind(right)}
    if kinds == {_NUMBER}:
        return parse_number(left), parse_number(right)
    if kinds == {_BOOL} or (_BOOL in kinds and _NULL not in kinds):
        left_flag, right_flag = parse_boolean(left), parse_boolean(right)
        if left_flag is not None and right_flag is not None:
            return left_flag, right_flag
    if _DATE in kinds and _NULL not in kinds:
        left_date, right_date = _as_date(left), _as_date(right)
        if left_date is not None and right_date is not None:
            return left_date, right_date
    return _as_text(left), _as_text(right)


def eq(left: Any, right: Any) -> bool:
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
