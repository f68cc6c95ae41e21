"""Data extension functions: rowsets, rows and fields, lookups and writes, data filters."""

from __future__ import annotations

import functools
from typing import Any

from .. import operators
from ..api_objects import ApiObject
from ..backends.base import retrieve_all
from ..capabilities import ApiObjects, ClaimRequest, DataExtensions, RowsRequest
from ..data_extensions import parse_order_by
from ..errors import ScriptError
from ..registry import ampscript_function
from ..rendering import current_context
from ..values import Row as RowValue
from ..values import Rowset, params, parse_number, to_text

__all__ = [
    "ClaimRow",
    "ClaimRowValue",
    "DataExtensionRowCount",
    "DeleteData",
    "DeleteDE",
    "ExecuteFilter",
    "ExecuteFilterOrderedRows",
    "Field",
    "InsertData",
    "InsertDE",
    "Lookup",
    "LookupOrderedRows",
    "LookupOrderedRowsCS",
    "LookupRows",
    "LookupRowsCS",
    "Row",
    "RowCount",
    "UpdateData",
    "UpdateDE",
    "UpsertData",
    "UpsertDE",
]


@ampscript_function("Data Extension")
def RowCount(rowset: params.RowsetValue) -> int:
    """The number of rows in a rowset."""
    return len(rowset)


@ampscript_function("Data Extension")
def Row(rowset: params.RowsetValue, index: params.Integer) -> RowValue:
    """The row at a 1-based index."""
    rows, position = rowset, index
    if position < 1 or position > len(rows):
        raise ScriptError(
            "Invalid index (parameter 2) passed to Row function. "
            "Index must be less than or equal to the row count. "
            f"Index Value: {position} Row Count: {len(rows)}"
        )
    return rows[position - 1]


@ampscript_function("Data Extension")
def Field(row: params.Value, field_name: params.Text, bool_exception_if_not_found: params.Boolean = True) -> Any:
    """A field of a row, or a property of an API object; names are case-insensitive.

    A row's field can also be named by its 1-based position, as the reference
    reads BuildRowSetFromString's one column (``Field(@row, 1)``); a field
    really named "1" wins over the position.
    """
    name, strict = field_name, bool_exception_if_not_found
    if isinstance(row, ApiObject):
        if row.has(name):
            return row.get(name)
    elif isinstance(row, RowValue):
        if name in row:
            return row[name]
        position = parse_number(name)
        if isinstance(position, int) and 1 <= position <= len(row):
            return row[list(row)[position - 1]]
    else:
        raise ScriptError(f"Field() needs a row or an API object, got {to_text(row)!r}")
    if strict:
        raise ScriptError(f"The field {name!r} was not found in the row")
    return ""


# ---- Looking rows up and changing them -------------------------------------------
#
# The lookups and writes run on the data extension store of the simulator
# (`ampscript.data_extensions`).  Field/value pairs are ANDed; text matches
# ignore case except in the ...CS functions.  The ...DE forms are for emails
# and return nothing; the ...Data forms are for pages and return the number
# of rows affected.

# LookupRows and LookupOrderedRows return at most this many rows.
MAX_LOOKUP_ROWS = 2000


def _store(function: str) -> DataExtensions:
    return current_context().capability(DataExtensions, function)


def _pairs(values: tuple, function: str, first_position: int) -> list[tuple[str, Any]]:
    """Trailing `name, value, name, value, ...` arguments (names already text) as pairs."""
    if len(values) % 2:
        raise ScriptError(
            f"{function}() needs a value for every field name: argument {first_position + len(values) - 1} "
            "has no value after it"
        )
    return [(values[i], values[i + 1]) for i in range(0, len(values), 2)]


def _name(name: str, function: str) -> str:
    if not name:
        raise ScriptError(f"{function}() needs the name of a data extension")
    return name


@ampscript_function("Data Extension")
def Lookup(
    data_extension: params.Text,
    return_column: params.Text,
    lookup_column: params.Text,
    lookup_value: params.Value,
    *more: params.Pairs,
) -> Any:
    """A field of the first row matching every name/value pair; null when none matches (issue 9: IsNull is true)."""
    criteria = _pairs((lookup_column, lookup_value, *more), "Lookup", 3)
    store = _store("Lookup")
    rows = store.select(RowsRequest(_name(data_extension, "Lookup"), criteria, limit=1))
    column = return_column
    store.spec(data_extension).field(column)  # an unknown column is an error even without rows
    return rows[0][column] if rows else None


def _lookup_rows(function: str, data_extension: Any, pairs: tuple, case_sensitive: bool) -> Rowset:
    criteria = _pairs(pairs, function, 2)
    rows = _store(function).select(
        RowsRequest(_name(data_extension, function), criteria, limit=MAX_LOOKUP_ROWS, case_sensitive=case_sensitive)
    )
    return Rowset(rows)


@ampscript_function("Data Extension")
def LookupRows(
    data_extension: params.Text, lookup_column: params.Text, lookup_value: params.Value, *more: params.Pairs
) -> Rowset:
    """The rows matching every name/value pair (at most 2,000), case-insensitively."""
    return _lookup_rows("LookupRows", data_extension, (lookup_column, lookup_value, *more), False)


@ampscript_function("Data Extension")
def LookupRowsCS(
    data_extension: params.Text, lookup_column: params.Text, lookup_value: params.Value, *more: params.Pairs
) -> Rowset:
    """LookupRows() with case-sensitive matching."""
    return _lookup_rows("LookupRowsCS", data_extension, (lookup_column, lookup_value, *more), True)


def _ordered_rows(function: str, data_extension: str, limit: int, order: str, pairs: tuple, cs: bool) -> Rowset:
    if limit < 1 or limit > MAX_LOOKUP_ROWS:  # "a value less than 1 returns the default 2000 rows"
        limit = MAX_LOOKUP_ROWS
    criteria = _pairs(pairs, function, 4)
    rows = _store(function).select(
        RowsRequest(_name(data_extension, function), criteria, order_by=order, limit=limit, case_sensitive=cs)
    )
    return Rowset(rows)


@ampscript_function("Data Extension")
def LookupOrderedRows(
    data_extension: params.Text,
    number_of_rows: params.Integer,
    order: params.Text,
    lookup_column: params.Text,
    lookup_value: params.Value,
    *more: params.Pairs,
) -> Rowset:
    """Matching rows sorted by `"Field ASC, Other DESC"`, at most `count` (below 1: 2,000)."""
    return _ordered_rows("LookupOrderedRows", data_extension, number_of_rows, order, (lookup_column, lookup_value, *more), False)


@ampscript_function("Data Extension")
def LookupOrderedRowsCS(
    data_extension: params.Text,
    number_of_rows: params.Integer,
    order: params.Text,
    lookup_column: params.Text,
    lookup_value: params.Value,
    *more: params.Pairs,
) -> Rowset:
    """LookupOrderedRows() with case-sensitive matching."""
    return _ordered_rows("LookupOrderedRowsCS", data_extension, number_of_rows, order, (lookup_column, lookup_value, *more), True)


@ampscript_function("Data Extension")
def DataExtensionRowCount(data_extension: params.Text) -> int:
    """The number of rows in a data extension."""
    return _store("DataExtensionRowCount").count(_name(data_extension, "DataExtensionRowCount"))


def _insert(function: str, data_extension: str, pairs: tuple) -> int:
    values = dict(_pairs(pairs, function, 2))
    return _store(function).insert(_name(data_extension, function), values)


@ampscript_function("Data Extension")
def InsertData(data_extension: params.Text, column: params.Text, value: params.Value, *more: params.Pairs) -> int:
    """Insert a row (pages); returns the number of rows inserted."""
    return _insert("InsertData", data_extension, (column, value, *more))


@ampscript_function("Data Extension")
def InsertDE(data_extension: params.Text, column: params.Text, value: params.Value, *more: params.Pairs) -> None:
    """Insert a row (emails); returns nothing."""
    _insert("InsertDE", data_extension, (column, value, *more))


def _keyed(function: str, count: int, pairs: tuple) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """`keyColumnCount, key1, value1, ..., column1, value1, ...` as (keys, changes)."""
    every = _pairs(pairs, function, 3)
    if count < 1 or count > len(every):
        raise ScriptError(
            f"{function}(): keyColumnCount must be between 1 and the number of name/value pairs ({len(every)}), "
            f"got {count}"
        )
    return every[:count], dict(every[count:])


def _update(function: str, data_extension: str, key_count: int, pairs: tuple, upsert: bool) -> int:
    keys, changes = _keyed(function, key_count, pairs)
    store, name = _store(function), _name(data_extension, function)
    return store.upsert(name, keys, changes) if upsert else store.update(name, keys, changes)


@ampscript_function("Data Extension")
def UpdateData(
    data_extension: params.Text,
    key_column_count: params.Integer,
    key_column: params.Text,
    key_value: params.Value,
    *more: params.Pairs,
) -> int:
    """Update the rows matching the first `key_count` pairs with the other pairs; returns rows updated."""
    return _update("UpdateData", data_extension, key_column_count, (key_column, key_value, *more), False)


@ampscript_function("Data Extension")
def UpdateDE(
    data_extension: params.Text,
    key_column_count: params.Integer,
    key_column: params.Text,
    key_value: params.Value,
    *more: params.Pairs,
) -> None:
    """UpdateData() for emails; returns nothing."""
    _update("UpdateDE", data_extension, key_column_count, (key_column, key_value, *more), False)


@ampscript_function("Data Extension")
def UpsertData(
    data_extension: params.Text,
    key_column_count: params.Integer,
    key_column: params.Text,
    key_value: params.Value,
    *more: params.Pairs,
) -> int:
    """Update the matching rows, or insert one if none matches; returns rows affected."""
    return _update("UpsertData", data_extension, key_column_count, (key_column, key_value, *more), True)


@ampscript_function("Data Extension")
def UpsertDE(
    data_extension: params.Text,
    key_column_count: params.Integer,
    key_column: params.Text,
    key_value: params.Value,
    *more: params.Pairs,
) -> None:
    """UpsertData() for emails; returns nothing."""
    _update("UpsertDE", data_extension, key_column_count, (key_column, key_value, *more), True)


@ampscript_function("Data Extension")
def DeleteData(data_extension: params.Text, column: params.Text, value: params.Value, *more: params.Pairs) -> int:
    """Delete the rows matching every name/value pair; returns rows deleted."""
    criteria = _pairs((column, value, *more), "DeleteData", 2)
    return _store("DeleteData").delete(_name(data_extension, "DeleteData"), criteria)


@ampscript_function("Data Extension")
def DeleteDE(data_extension: params.Text, column: params.Text, value: params.Value, *more: params.Pairs) -> None:
    """DeleteData() for emails; returns nothing."""
    criteria = _pairs((column, value, *more), "DeleteDE", 2)
    _store("DeleteDE").delete(_name(data_extension, "DeleteDE"), criteria)


def _claim(function: str, data_extension: str, claimed_by: str, pairs: tuple) -> RowValue | None:
    """The row already claimed by these claimant values, or the first unclaimed row, now claimed by them."""
    claimant = _pairs(pairs, function, 3)
    return _store(function).claim(ClaimRequest(_name(data_extension, function), claimed_by, claimant))


@ampscript_function("Data Extension")
def ClaimRow(
    data_extension: params.Text,
    claim_column: params.Text,
    claimant_column: params.Text,
    claimant_value: params.Value,
    *more: params.Pairs,
) -> RowValue:
    """Claim a row (coupon codes): the claimant's row if it has one, else the first unclaimed row."""
    row = _claim("ClaimRow", data_extension, claim_column, (claimant_column, claimant_value, *more))
    if row is None:
        raise ScriptError(f"ClaimRow(): data extension '{data_extension}' has no unclaimed rows")
    return row


@ampscript_function("Data Extension")
def ClaimRowValue(
    data_extension: params.Text,
    return_column: params.Text,
    claim_column: params.Text,
    value_if_none: params.Value,
    claimant_column: params.Text,
    claimant_value: params.Value,
    *more: params.Pairs,
) -> Any:
    """ClaimRow(), returning one field of the row, or `value_if_none` when no row can be claimed.

    The reference lists the fallback value as a required argument, so six
    arguments are required (the catalog says three).
    """
    row = _claim("ClaimRowValue", data_extension, claim_column, (claimant_column, claimant_value, *more))
    if row is None:
        return value_if_none
    return row[return_column] if return_column in row else ""


# ---- ExecuteFilter, ExecuteFilterOrderedRows ------------------------------------------
#
# A data filter is a FilterDefinition API object: a DataSource (the data
# extension, by CustomerKey or Name) and a DataFilter (a SimpleFilterPart or
# ComplexFilterPart).  The workspace defines them in
# objects/FilterDefinition.json, and they are read and run through the
# backend's Retrieve, as any API object is:
#
#   [{"CustomerKey": "points-50k", "Name": "50k points plus",
#     "DataSource": {"CustomerKey": "MembershipRewardsProgramme"},
#     "DataFilter": {"Property": "RewardsPoints", "SimpleOperator": "greaterThanOrEqual",
#                    "Value": "50000"}}]
#
# A ComplexFilterPart is {"LeftOperand": {...}, "LogicalOperator": "AND"|"OR",
# "RightOperand": {...}}.


def _filter_part(data: Any, key: str) -> ApiObject:
    if isinstance(data, ApiObject):
        return data
    if not isinstance(data, dict):
        raise ScriptError(
            f"data filter {key!r}: DataFilter must be a SimpleFilterPart or ComplexFilterPart object"
        )
    data = RowValue(data)
    if "LeftOperand" in data:
        part = ApiObject("ComplexFilterPart")
        part.set("LeftOperand", _filter_part(data.get("LeftOperand"), key))
        part.set("LogicalOperator", data.get("LogicalOperator"))
        part.set("RightOperand", _filter_part(data.get("RightOperand"), key))
        return part
    part = ApiObject("SimpleFilterPart")
    for name in ("Property", "SimpleOperator", "Value", "DateValue"):
        if name in data:
            part.set(name, data[name])
    return part


def _retrieve_all(request: ApiObject, what: str, function: str) -> Rowset:
    return retrieve_all(current_context().capability(ApiObjects, function), request, what)


def _filter_rows(function: str, external_key: str) -> Rowset:
    key = external_key.strip()
    if key == "":
        raise ScriptError(f"{function}() needs the external key of a data filter")
    by_key = ApiObject("SimpleFilterPart")
    by_key.set("Property", "CustomerKey")
    by_key.set("SimpleOperator", "equals")
    by_key.set("Value", key)
    request = ApiObject("RetrieveRequest")
    request.set("ObjectType", "FilterDefinition")
    request.set("Filter", by_key)
    found = _retrieve_all(request, f"{function}()", function)
    if not found:
        raise ScriptError(
            f"{function}(): no data filter has the external key {key!r}",
            hint="define it in the workspace's objects/FilterDefinition.json",
        )
    definition = RowValue(found[0]) if isinstance(found[0], dict) else found[0]
    source = definition.get("DataSource")
    source = RowValue(source) if isinstance(source, dict) else source
    name = to_text(source.get("CustomerKey") or source.get("Name")) if isinstance(source, RowValue) else ""
    if name == "":
        raise ScriptError(
            f"{function}(): data filter {key!r} has no data extension as its DataSource; "
            "only filters on data extensions can run"
        )
    rows_request = ApiObject("RetrieveRequest")
    rows_request.set("ObjectType", f"DataExtensionObject[{name}]")
    if definition.get("DataFilter") is not None:
        rows_request.set("Filter", _filter_part(definition.get("DataFilter"), key))
    return Rowset(RowValue(row.items()) for row in _retrieve_all(rows_request, f"{function}() {key!r}", function))


@ampscript_function("Data Extension")
def ExecuteFilter(data_filter_external_id: params.Text) -> Rowset:
    """The rows of the filter's data extension that pass its filter, in the data extension's order.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-data-extension/mc-ampscript-reference-data-extension-execute-filter.html
    """
    return _filter_rows("ExecuteFilter", data_filter_external_id)


def _sort_terms(sort_column: str, function: str) -> list[tuple[str, bool]]:
    """`"Points DESC, Name"` as (field, descending) pairs; at least one."""
    terms = parse_order_by(sort_column)
    if not terms:
        raise ScriptError(f'{function}() needs a column to sort by, such as "RewardsPoints DESC"')
    return terms


def _compare_values(left: Any, right: Any) -> int:
    # Nulls sort first, as in SQL Server; the rest by AMPscript's comparison
    # (numbers as numbers, text case-insensitively).
    if left is None or right is None:
        return (left is not None) - (right is not None)
    return -1 if operators.lt(left, right) else 1 if operators.gt(left, right) else 0


@ampscript_function("Data Extension")
def ExecuteFilterOrderedRows(
    data_filter_external_id: params.Text, num_rows: params.Integer, sort_column: params.Text
) -> Rowset:
    """ExecuteFilter()'s rows sorted by `"Column ASC"` / `"Column DESC"`, at most `num_rows` (0: all).

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-data-extension/mc-ampscript-reference-data-extension-execute-filter-ordered-rows.html
    The catalog's signature (filter, column, direction) is not the reference's.
    """
    function = "ExecuteFilterOrderedRows"
    limit = num_rows
    if limit < 0:
        raise ScriptError(f"{function}(): numRows must be 0 (all rows) or more, got {limit}")
    terms = _sort_terms(sort_column, function)
    rows = _filter_rows(function, data_filter_external_id)
    for name, _ in terms:
        if rows and name not in rows[0]:
            raise ScriptError(f"{function}(): the data filter's rows have no column {name!r} to sort by")

    def compare(left: RowValue, right: RowValue) -> int:
        for name, descending in terms:
            order = _compare_values(left[name], right[name])
            if order:
                return -order if descending else order
        return 0

    ordered = sorted(rows, key=functools.cmp_to_key(compare))  # stable: ties keep the data extension's order
    return Rowset(ordered[:limit] if limit else ordered)
