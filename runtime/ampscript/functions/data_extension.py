"""Data extension functions: rowsets, rows and fields."""

from __future__ import annotations

from typing import Any

from ..api_objects import ApiObject
from ..errors import ScriptError
from ..registry import ampscript_function
from ..values import Row as RowValue
from ..values import Rowset, to_boolean, to_int, to_text

__all__ = ["Field", "Row", "RowCount"]


def _rowset(value: Any, function: str) -> Rowset:
    if isinstance(value, list):
        return value if isinstance(value, Rowset) else Rowset(value)
    if value is None or value == "":
        raise ScriptError(f"{function}() needs a rowset, but the value is empty (null)")
    raise ScriptError(f"{function}() needs a rowset, got {to_text(value)!r}")


@ampscript_function("Data Extension")
def RowCount(rowset: Any) -> int:
    """The number of rows in a rowset."""
    return len(_rowset(rowset, "RowCount"))


@ampscript_function("Data Extension")
def Row(rowset: Any, index: Any) -> RowValue:
    """The row at a 1-based index."""
    rows = _rowset(rowset, "Row")
    position = to_int(index, "Row", "index")
    if position < 1 or position > len(rows):
        raise ScriptError(
            "Invalid index (parameter 2) passed to Row function. "
            "Index must be less than or equal to the row count. "
            f"Index Value: {position} Row Count: {len(rows)}"
        )
    return rows[position - 1]


@ampscript_function("Data Extension")
def Field(row: Any, field_name: Any, exception_if_not_found: Any = True) -> Any:
    """A field of a row, or a property of an API object; names are case-insensitive."""
    name = to_text(field_name)
    strict = to_boolean(exception_if_not_found, "Field", "boolExceptionIfNotFound")
    if isinstance(row, ApiObject):
        if row.has(name):
            return row.get(name)
    elif isinstance(row, RowValue):
        if name in row:
            return row[name]
    else:
        raise ScriptError(f"Field() needs a row or an API object, got {to_text(row)!r}")
    if strict:
        raise ScriptError(f"The field {name!r} was not found in the row")
    return ""
