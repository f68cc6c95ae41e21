"""Retrieve filters: does a stored object pass a SimpleFilterPart or ComplexFilterPart?

Values compare as AMPscript compares them (`ampscript.operators`): text
ignoring case, numbers as numbers; LIKE's ``%`` and ``_`` over folded text.
An operator the SOAP API does not have is `BadFilter`, which a Retrieve
answers with an error status.
"""

from __future__ import annotations

import re
from typing import Any

from .. import operators
from ..api_objects import ApiObject
from ..values import Row, field_at_path, to_text
from ..values.case import fold


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def matches(stored: Row, condition: ApiObject) -> bool:
    """Does a stored object pass a SimpleFilterPart / ComplexFilterPart?"""
    if condition.object_type.lower() == "complexfilterpart":
        left = matches(stored, condition.get("LeftOperand"))
        right = matches(stored, condition.get("RightOperand"))
        if to_text(condition.get("LogicalOperator")).upper() == "OR":
            return left or right
        return left and right
    name = to_text(condition.get("Property"))
    operator = to_text(condition.get("SimpleOperator")).lower()
    values = as_list(condition.get("Value")) or as_list(condition.get("DateValue"))
    actual = field_at_path(stored, name)
    return _compare(operator, actual, values)


_OPERATORS = {
    "equals", "notequals", "greaterthan", "greaterthanorequal", "lessthan", "lessthanorequal",
    "isnull", "isnotnull", "between", "in", "like",
}


def _like(pattern: str) -> re.Pattern[str]:
    """A LIKE pattern over folded text (the value core's case folding, as every comparison)."""
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in fold(pattern)]
    return re.compile("".join(parts), re.DOTALL)


def _compare(operator: str, actual: Any, values: list[Any]) -> bool:
    first = values[0] if values else None
    if operator not in _OPERATORS:
        raise BadFilter(f"Unknown SimpleOperator '{operator}'")
    if operator == "isnull":
        return actual is None or actual == ""
    if operator == "isnotnull":
        return not (actual is None or actual == "")
    if actual is None:
        return False
    if operator == "equals":
        return operators.eq(actual, first)
    if operator == "notequals":
        return operators.ne(actual, first)
    if operator == "greaterthan":
        return operators.gt(actual, first)
    if operator == "greaterthanorequal":
        return operators.ge(actual, first)
    if operator == "lessthan":
        return operators.lt(actual, first)
    if operator == "lessthanorequal":
        return operators.le(actual, first)
    if operator == "between":
        return len(values) >= 2 and operators.ge(actual, values[0]) and operators.le(actual, values[1])
    if operator == "in":
        return any(operators.eq(actual, value) for value in values)
    if operator == "like":
        return bool(_like(to_text(first)).fullmatch(fold(to_text(actual))))
    raise AssertionError(operator)


class BadFilter(ValueError):
    pass
