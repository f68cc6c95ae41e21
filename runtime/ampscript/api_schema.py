"""Marketing Cloud's API object types, from the WSDL (see scripts/derive_api_schema.py).

`schema()` answers: which object types exist, which properties each has
(its own and inherited), of which WSDL type, and whether a property is an
array; and the values of every enumeration.  Names match case-insensitively,
as the SOAP API accepts them.

A few names that AMPscript accepts in CreateObject() are not WSDL types but
execute/perform payloads; they are declared in `_SCRIPT_ONLY_TYPES`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class PropertySpec:
    name: str
    type: str  # a WSDL type: "string", "int", "boolean", "dateTime", "double", an enum or an object type
    array: bool


@dataclass(frozen=True)
class TypeSpec:
    name: str
    base: str | None
    own: dict[str, PropertySpec]  # lowercase name -> spec


# The payloads of InvokeExecute() in the InvokeExecute reference page's
# examples (a LogUnsubEvent object; a Refresh wrapping a Group).
_SCRIPT_ONLY_TYPES = {
    "LogUnsubEvent": {
        name: {"type": "string", "array": False}
        for name in ("SubscriberKey", "SubscriberID", "EmailAddress", "JobID", "ListID", "BatchID", "Reason")
    },
    "Refresh": {"Object": {"type": "APIObject", "array": False}},
}


class Schema:
    def __init__(self, data: dict) -> None:
        raw_types = dict(data["types"])
        for name, properties in _SCRIPT_ONLY_TYPES.items():
            raw_types[name] = {"base": None, "properties": properties}
        self._types = {
            name.lower(): TypeSpec(
                name,
                spec["base"],
                {p.lower(): PropertySpec(p, info["type"], info["array"]) for p, info in spec["properties"].items()},
            )
            for name, spec in raw_types.items()
        }
        self._enums = {name.lower(): values for name, values in data["enums"].items()}

    def type(self, name: str) -> TypeSpec | None:
        return self._types.get(name.lower())

    def type_names(self) -> list[str]:
        return [spec.name for spec in self._types.values()]

    def property(self, type_name: str, property_name: str) -> PropertySpec | None:
        """A property of the type or of one of its base types."""
        spec = self.type(type_name)
        while spec is not None:
            found = spec.own.get(property_name.lower())
            if found is not None:
                return found
            spec = self.type(spec.base) if spec.base else None
        return None

    def is_subtype(self, type_name: str, ancestor: str) -> bool:
        spec = self.type(type_name)
        while spec is not None:
            if spec.name.lower() == ancestor.lower():
                return True
            spec = self.type(spec.base) if spec.base else None
        return ancestor.lower() == "apiobject"

    def enum(self, name: str) -> list[str] | None:
        return self._enums.get(name.lower())


@cache
def schema() -> Schema:
    text = resources.files("ampscript").joinpath("data/api_schema.json").read_text(encoding="utf-8")
    return Schema(json.loads(text))
