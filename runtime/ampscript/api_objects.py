"""API objects: what CreateObject() returns and Invoke*() functions send.

An `ApiObject` is a typed bag of properties, as in Marketing Cloud's SOAP
API: scalar properties (SetObjectProperty), array properties
(AddObjectArrayItem) and nested objects.  Types and properties come from
the WSDL (`ampscript.api_schema`): an unknown type or property is an error,
and values are converted to the property's WSDL type (int, boolean,
dateTime, double, enumerations, nested object types) when they are set, so a
bad value fails at the line that set it.  Property names are
case-insensitive and take the WSDL's spelling.
"""

from __future__ import annotations

import difflib
from decimal import Decimal
from typing import Any

from .api_schema import PropertySpec, schema
from .errors import ScriptError
from .values import parse_boolean, parse_number, to_text
from .values.case import fold
from .values.dates import read_date

_INTEGER_TYPES = {"int", "long", "short", "byte", "unsignedint", "unsignedlong", "unsignedshort"}
_NUMBER_TYPES = {"double", "decimal", "float"}


def _nearest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name.lower(), [c.lower() for c in candidates], n=1, cutoff=0.75)
    if not close:
        return ""
    spelled = next(c for c in candidates if c.lower() == close[0])
    return f" (did you mean '{spelled}'?)"


class ApiObject:
    def __init__(self, object_type: str) -> None:
        spec = schema().type(object_type)
        if spec is None:
            raise ScriptError(
                f"'{object_type}' is not a Marketing Cloud API object type"
                + _nearest(object_type, schema().type_names())
            )
        self.object_type = spec.name
        self._properties: dict[str, tuple[str, Any]] = {}

    # ---- writing ---------------------------------------------------------------

    def set(self, name: str, value: Any) -> None:
        spec = self._spec(name)
        if spec.array:
            items = value if isinstance(value, list) else [value]
            value = [self._convert(spec, item) for item in items]
        else:
            value = self._convert(spec, value)
        self._properties[spec.name.lower()] = (spec.name, value)

    def add(self, name: str, item: Any) -> None:
        """Append to an array property."""
        spec = self._spec(name)
        if not spec.array:
            raise ScriptError(
                f"property '{spec.name}' of {self.object_type} is not an array; set it with SetObjectProperty()"
            )
        current = self._properties.get(spec.name.lower(), (spec.name, []))[1]
        self._properties[spec.name.lower()] = (spec.name, [*current, self._convert(spec, item)])

    def _spec(self, name: str) -> PropertySpec:
        spec = schema().property(self.object_type, name)
        if spec is None:
            known = self._property_names()
            raise ScriptError(f"{self.object_type} has no property '{name}'" + _nearest(name, known))
        return spec

    def _property_names(self) -> list[str]:
        names, spec = [], schema().type(self.object_type)
        while spec is not None:
            names += [p.name for p in spec.own.values()]
            spec = schema().type(spec.base) if spec.base else None
        return names

    def _convert(self, spec: PropertySpec, value: Any) -> Any:
        """A value converted to the property's WSDL type, or a ScriptError saying why not."""
        if value is None:
            return None
        kind = spec.type.lower()
        where = f"property '{spec.name}' of {self.object_type}"

        def invalid(expected: str) -> ScriptError:
            return ScriptError(f"invalid value {to_text(value)!r} for {where}: expected {expected}")

        if isinstance(value, ApiObject):
            target = schema().type(spec.type)
            if target is None or not schema().is_subtype(value.object_type, target.name):
                raise invalid(f"a value of type {spec.type}, not a {value.object_type} object")
            return value
        if kind == "string":
            return to_text(value)
        if kind in _INTEGER_TYPES:
            number = parse_number(value)
            if number is None or number != int(number):
                raise invalid("a whole number")
            return int(number)
        if kind in _NUMBER_TYPES:
            number = parse_number(value)
            if number is None:
                raise invalid("a number")
            return Decimal(number)
        if kind == "boolean":
            flag = parse_boolean(value)
            if flag is None:
                raise invalid("true or false")
            return flag
        if kind == "datetime":
            moment = read_date(value)  # the one date parser: what AMPscript reads as a date
            if moment is None:
                raise invalid("a date")
            return moment
        allowed = schema().enum(spec.type)
        if allowed is not None:
            text = to_text(value)
            for option in allowed:
                if fold(option) == fold(text):
                    return option
            raise invalid("one of " + ", ".join(allowed))
        if schema().type(spec.type) is not None:
            raise invalid(f"a {spec.type} object created with CreateObject()")
        return value

    # ---- reading ---------------------------------------------------------------

    def get(self, name: str, default: Any = None) -> Any:
        return self._properties.get(name.lower(), (name, default))[1]

    def has(self, name: str) -> bool:
        return name.lower() in self._properties

    def items(self) -> list[tuple[str, Any]]:
        return list(self._properties.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain data (nested objects become dicts with an ``ObjectType`` key)."""

        def plain(value: Any) -> Any:
            if isinstance(value, ApiObject):
                return {"ObjectType": value.object_type, **value.to_dict()}
            if isinstance(value, list):
                return [plain(item) for item in value]
            return value

        return {name: plain(value) for name, value in self._properties.values()}

    def __repr__(self) -> str:
        return f"ApiObject({self.object_type!r}, {self.to_dict()!r})"
