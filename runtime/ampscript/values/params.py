"""Parameter types: what a function declares each argument to be, so that the registry converts it.

A runtime function annotates its parameters with these types::

    @ampscript_function("String")
    def Substring(source_string: params.Text, start_position: params.Integer,
                  substring_length: params.Integer = OMITTED) -> str:

and `ampscript.registry` converts every argument before the body runs,
naming the function and the parameter (in AMPscript's camelCase,
``startPosition``) in every conversion error.  The body gets plain Python
values: `Text` a ``str``, `Integer` an ``int``, `Date` a ``datetime``...

=================  ==========================================================
type               the argument becomes
=================  ==========================================================
`Text`             how it prints (`to_text`); null and unset are ``""``
`Number`           a number (``int`` or ``Decimal``, `to_number`); an error
                   if it does not read as one
`Integer`          a 64-bit whole number (`to_int`)
`Boolean`          ``True``/``False`` (`to_boolean`)
`Date`             a naive system-time ``datetime`` (`values.dates.parse_date`)
`RowsetValue`      a `Rowset`
`RowValue`         a `Row`
`ApiObjectValue`   an API object made by CreateObject()
`Value`            the value itself, with unset made null (``None``)
`AnyValue`         the value itself, unset kept (`UNSET`): only IsNull and
                   the functions that must tell unset from null use it
`Pairs`            (on ``*args``) name/value pairs: names as `Text`, values
                   as `Value`
``Ref``            an out-parameter cell (`ampscript.variables.Ref`)
=================  ==========================================================

An optional parameter keeps its default when the script leaves it out; an
argument the script passes is converted like any other (a null passed for
an `Integer` is an error, as it is for a required one).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from ..errors import ScriptError
from .booleans import to_boolean
from .dates import parse_date
from .model import UNSET, Row, Rowset
from .numbers import to_int, to_number
from .text import shown, to_text


@dataclass(frozen=True)
class Param:
    """A parameter type: its name (as ``ampc functions --json`` lists it) and its conversion."""

    kind: str
    convert: Callable[[Any, str, str], Any]  # (value, function name, parameter name) -> converted


def _text(value: Any, function: str, parameter: str) -> str:
    return value if type(value) is str else to_text(value)


def _value(value: Any, function: str, parameter: str) -> Any:
    return None if value is UNSET else value


def _any_value(value: Any, function: str, parameter: str) -> Any:
    return value


def _rowset(value: Any, function: str, parameter: str) -> Rowset:
    if isinstance(value, Rowset):
        return value
    if isinstance(value, list):
        return Rowset(value)
    if value is None or value is UNSET or value == "":
        raise ScriptError(f"{function}() needs a rowset for argument {parameter!r}, but the value is empty (null)")
    raise ScriptError(f"{function}() needs a rowset for argument {parameter!r}, got {shown(value)}")


def _row(value: Any, function: str, parameter: str) -> Row:
    if isinstance(value, Row):
        return value
    if value is None or value is UNSET or value == "":
        raise ScriptError(f"{function}() needs a row for argument {parameter!r}, but the value is empty (null)")
    raise ScriptError(f"{function}() needs a row for argument {parameter!r}, got {shown(value)}")


def _api_object(value: Any, function: str, parameter: str) -> Any:
    from ..api_objects import ApiObject  # the API object model needs the value core, not the other way

    if not isinstance(value, ApiObject):
        raise ScriptError(
            f"{function}() needs an API object created with CreateObject() for argument {parameter!r}, "
            f"got {shown(value)}"
        )
    return value


def _null_is_none(convert: Callable[[Any, str, str], Any]) -> Callable[[Any, str, str], Any]:
    """`convert`, with unset treated as null first (the conversions know null, not unset)."""

    def converted(value: Any, function: str, parameter: str) -> Any:
        return convert(None if value is UNSET else value, function, parameter)

    return converted


Text = Annotated[str, Param("text", _text)]
Number = Annotated[int | Decimal, Param("number", _null_is_none(to_number))]
Integer = Annotated[int, Param("integer", _null_is_none(to_int))]
Boolean = Annotated[bool, Param("boolean", _null_is_none(to_boolean))]
Date = Annotated[_dt.datetime, Param("date", _null_is_none(parse_date))]
RowsetValue = Annotated[Rowset, Param("rowset", _rowset)]
RowValue = Annotated[Row, Param("row", _row)]
ApiObjectValue = Annotated[Any, Param("API object", _api_object)]
Value = Annotated[Any, Param("value", _value)]
AnyValue = Annotated[Any, Param("value", _any_value)]
Pairs = Annotated[Any, Param("name/value pairs", _value)]  # names are converted as Text by the registry

# The conversion for a name in `Pairs`.
PAIR_NAME = Param("text", _text)

__all__ = [
    "AnyValue",
    "ApiObjectValue",
    "Boolean",
    "Date",
    "Integer",
    "Number",
    "PAIR_NAME",
    "Pairs",
    "Param",
    "RowValue",
    "RowsetValue",
    "Text",
    "Value",
]

