"""API objects: what CreateObject() returns and Invoke*() functions send.

An `ApiObject` is a typed bag of properties, as in Marketing Cloud's SOAP
API: scalar properties (SetObjectProperty), array properties
(AddObjectArrayItem) and nested objects (a property whose value is another
`ApiObject`).  Property names are case-insensitive and keep the spelling they
were first set with.
"""

from __future__ import annotations

from typing import Any


class ApiObject:
    def __init__(self, object_type: str) -> None:
        self.object_type = object_type
        self._properties: dict[str, tuple[str, Any]] = {}

    def set(self, name: str, value: Any) -> None:
        spelling = self._properties.get(name.lower(), (name, None))[0]
        self._properties[name.lower()] = (spelling, value)

    def add(self, name: str, item: Any) -> None:
        """Append to an array property, creating it if needed."""
        spelling, current = self._properties.get(name.lower(), (name, None))
        items = list(current) if isinstance(current, list) else ([] if current is None else [current])
        items.append(item)
        self._properties[name.lower()] = (spelling, items)

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
