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
`BooleanOrEmpty`,  a boolean, whole number or number, or ``None`` when the
`IntegerOrEmpty`,  argument is null, unset or ``""`` (scripts pass ``""`` to
`NumberOrEmpty`    skip an optional argument and reach a later one)
`GroupedNumber`    a number that may carry thousands separators
                   (``"1,234.56"``, `values.numbers.without_group_separators`)
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
from .model import UNSET, Row, Rowset, is_empty
from .numbers import INT64_MAX, INT64_MIN, to_int, to_number, without_group_separators
from .text import shown, to_text


@dataclass(frozen=True)
class Param:
    """A parameter type: its name (as ``ampc functions --json`` lists it) and its conversion.

    `fast` names the values that need no conversion, so the registry's
    wrapper lets them through with one type check (`ampscript.converting`):
    ``"str"`` text, ``"int"`` a 64-bit int, ``"unset"`` anything but unset,
    ``"pass"`` anything, ``"always"`` nothing.
    """

    kind: str
    convert: Callable[[Any, str, str], Any]  # (value, function name, parameter name) -> converted
    fast: str = "always"


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


def _or_empty(convert: Callable[[Any, str, str], Any]) -> Callable[[Any, str, str], Any]:
    """`convert`, with null, unset and ``""`` standing for the argument left out (None)."""

    def converted(value: Any, function: str, parameter: str) -> Any:
        return None if is_empty(value) else convert(value, function, parameter)

    return converted


def _grouped_number(value: Any, function: str, parameter: str) -> Any:
    return to_number(without_group_separators(None if value is UNSET else value), function, parameter)


def _integer(value: Any, function: str, parameter: str) -> int:
    if type(value) is int and INT64_MIN <= value <= INT64_MAX:
        return value  # the common case, before the general rules
    return to_int(None if value is UNSET else value, function, parameter)


def _number(value: Any, function: str, parameter: str) -> Any:
    if type(value) is int and INT64_MIN <= value <= INT64_MAX:
        return value
    return to_number(None if value is UNSET else value, function, parameter)


def _null_is_none(convert: Callable[[Any, str, str], Any]) -> Callable[[Any, str, str], Any]:
    """`convert`, with unset treated as null first (the conversions know null, not unset)."""

    def converted(value: Any, function: str, parameter: str) -> Any:
        return convert(None if value is UNSET else value, function, parameter)

    return converted


Text = Annotated[str, Param("text", _text, fast="str")]
# Text the function converts itself (as `_text` does): for the hottest
# variadic text functions (Concat), where even the registry's one type check
# per argument and its wrapper call are a large part of the cost.
TextAsGiven = Annotated[Any, Param("text", _text, fast="pass")]
Number = Annotated[int | Decimal, Param("number", _number, fast="int")]
Integer = Annotated[int, Param("integer", _integer, fast="int")]
Boolean = Annotated[bool, Param("boolean", _null_is_none(to_boolean))]
Date = Annotated[_dt.datetime, Param("date", _null_is_none(parse_date))]
RowsetValue = Annotated[Rowset, Param("rowset", _rowset)]
RowValue = Annotated[Row, Param("row", _row)]
ApiObjectValue = Annotated[Any, Param("API object", _api_object)]
BooleanOrEmpty = Annotated[bool | None, Param("boolean", _or_empty(to_boolean))]
IntegerOrEmpty = Annotated[int | None, Param("integer", _or_empty(to_int))]
NumberOrEmpty = Annotated[int | Decimal | None, Param("number", _or_empty(to_number))]
# A 64-bit int passes as it is (fast="int"), as its conversion would give it back.
GroupedNumber = Annotated[int | Decimal, Param("number", _grouped_number, fast="int")]
Value = Annotated[Any, Param("value", _value, fast="unset")]
AnyValue = Annotated[Any, Param("value", _any_value, fast="pass")]
Pairs = Annotated[Any, Param("name/value pairs", _value, fast="unset")]  # names are converted as Text

# The conversion for a name in `Pairs`.
PAIR_NAME = Param("text", _text, fast="str")


def convert(kind: Any, value: Any, function: str, parameter: str) -> Any:
    """Convert a value to a parameter type by hand (for a value a function finds, not one it is given)."""
    for metadata in getattr(kind, "__metadata__", ()):
        if isinstance(metadata, Param):
            return metadata.convert(value, function, parameter)
    raise TypeError(f"{kind!r} is not a parameter type")

__all__ = [
    "AnyValue",
    "ApiObjectValue",
    "Boolean",
    "BooleanOrEmpty",
    "Date",
    "GroupedNumber",
    "Integer",
    "IntegerOrEmpty",
    "Number",
    "NumberOrEmpty",
    "PAIR_NAME",
    "Pairs",
    "Param",
    "RowValue",
    "RowsetValue",
    "Text",
    "Value",
    "convert",
]

