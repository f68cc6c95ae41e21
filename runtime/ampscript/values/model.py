"""How AMPscript values are held in Python: the value model (see the package docstring)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from .case import fold

Number = int | Decimal


class _Unset:
    """The value of a variable that was never set, or declared with ``var`` and not set since.

    It is null in every respect (it prints nothing, compares as null, is
    empty) but one: IsNull() is false for it, as Marketing Cloud's is
    (https://sfmc.guide/engagement/differs-from-docs/#isnull-unset-variable-not-null):
    IsNull() tests for a null that came from data.  Functions never see it
    unless a parameter asks for it (`ampscript.values.params.AnyValue`); the
    registry turns it into ``None`` for every other parameter.
    """

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNSET"


UNSET = _Unset()


def is_null(value: Any) -> bool:
    """Null or unset: the values that print nothing and compare as null."""
    return value is None or value is UNSET

# The range of numbers AMPscript holds, as Decimal.adjusted() exponents: a
# double's (about 1.8E+308 down to 4.9E-324); see `ampscript.values.numbers`.
LARGEST_EXPONENT = 308
SMALLEST_EXPONENT = -324


class Double(Decimal):
    """A number that came out of Marketing Cloud's double arithmetic.

    Its value is the double rounded to the 15 significant digits .NET shows,
    so it holds what Marketing Cloud prints and nothing more (no float
    noise survives into later comparisons).  It is a Decimal in every other
    respect; only `to_text` treats it differently, printing exponent
    notation where .NET does (``1E+15``).
    """

    __slots__ = ()


def is_empty(value: Any) -> bool:
    """AMPscript's notion of empty: null or the empty string (Empty())."""
    if value is None or value is UNSET:
        return True
    if isinstance(value, str):
        return value == ""
    return False


class Row(Mapping[str, Any]):
    """One row of a rowset: fields by name, matched case-insensitively (`case.fold`), in order.

    (ASCII names fold by ``str.upper``, which is the same mapping, without the call.)
    """

    __slots__ = ("_fields", "_index")

    def __init__(self, fields: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()):
        if type(fields) is dict:
            # A plain dict whose names differ even ignoring case (an audience's row, JSON): one pass each.
            index = {(name.upper() if name.isascii() else fold(name)): name for name in fields}
            if len(index) == len(fields):
                self._index: dict[str, str] = index
                self._fields: dict[str, Any] = dict(fields)
                return
        items = fields.items() if isinstance(fields, Mapping) else fields
        self._fields = {}
        self._index = {}
        for name, value in items:
            key = self._index.setdefault(name.upper() if name.isascii() else fold(name), name)
            self._fields[key] = value

    def field_name(self, name: str) -> str | None:
        """The field's own spelling, or None if the row has no such field."""
        return self._index.get(name.upper() if name.isascii() else fold(name))

    def __getitem__(self, name: str) -> Any:
        key = self._index.get(name.upper() if name.isascii() else fold(name))
        if key is None:
            raise KeyError(name)
        return self._fields[key]

    def get(self, name: str, default: Any = None) -> Any:
        """The field's value, or `default` if the row has none: Mapping.get, with one look-up, not two."""
        key = self._index.get(name.upper() if name.isascii() else fold(name))
        return default if key is None else self._fields[key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name.upper() if name.isascii() else fold(name)) in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"Row({self._fields!r})"


def field_at_path(row: Mapping[str, Any], path: str) -> Any:
    """A field by name, or a nested one by dotted path (``Client.ID``,
    ``DataExtension.CustomerKey``); None where the path leads nowhere.
    Nested plain dicts (stored JSON) are read as rows too."""
    value: Any = row
    for part in path.split("."):
        if isinstance(value, dict):
            value = Row(value)
        if not isinstance(value, Row) or part not in value:
            return None
        value = value[part]
    return value


class Rowset(list):
    """An ordered list of `Row`s, as Lookup*, InvokeRetrieve and BuildRowset* return."""

    def __repr__(self) -> str:
        return f"Rowset({list.__repr__(self)})"

