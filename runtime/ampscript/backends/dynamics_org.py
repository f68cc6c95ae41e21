"""The simulator's Microsoft Dynamics CRM organization: entities, attributes and records in SQLite.

Provides `ampscript.capabilities.DynamicsCRM` to the Microsoft Dynamics CRM
functions (`ampscript.functions.dynamics`) when a render runs against the
embedded simulator.  Its tables, in the simulator's database:

``_ampc_dynamics_entity``   one row per entity: its logical name and its
                            definition (display name, primary ID attribute,
                            attributes with their types), as JSON
``_ampc_dynamics_record``   one row per record: entity, GUID, attribute
                            values as JSON (in the order they were seeded or
                            written)

Seed: the workspace's ``DynamicsCRM/`` folder
---------------------------------------------

One entity per logical name (the file name, lower-cased)::

    DynamicsCRM/contact.csv            records: a header row of attribute names
    DynamicsCRM/account.json           records: a JSON array of objects
    DynamicsCRM/contact.schema.json    optional: the entity's attributes
    DynamicsCRM/lead.schema.json       a schema alone: an entity without records

A schema is a JSON object (keys in any case, ``display_name`` or
``DisplayName``)::

    {"DisplayName": "Contact",
     "Attributes": [
        {"Name": "lastname", "Type": "string", "DisplayName": "Last Name", "Required": true,
         "MaxLength": 50},
        {"Name": "numberofemployees", "Type": "int"},
        {"Name": "gendercode", "Type": "picklist", "Options": {"1": "Male", "2": "Female"}},
        {"Name": "parentcustomerid", "Type": "lookup", "Target": "account"}]}

or just the list of attributes.  Types: string, memo, int, decimal, money,
boolean, datetime, lookup, picklist, uniqueidentifier (and state, status
for statecode / statuscode, whose options may say ``"DefaultStatus"`` and
``"State"``).  Without a schema the attributes are the seed's columns:
text for a CSV, and for JSON the type of the values (whole numbers int,
other numbers decimal, true/false boolean, the rest string).

Every entity also has what Dynamics gives every entity when its files do
not declare them: the primary ID ``<entity>id`` (a GUID; a seeded record
without one gets a GUID derived from the entity and its row number, so a
seed always gives the same IDs), ``createdon`` and ``modifiedon`` (set on
create and update from the render's clock, Marketing Cloud system time),
``statecode`` (0 Active, 1 Inactive) and ``statuscode`` (1 Active,
2 Inactive; a new record is Active).  When there is a ``list`` entity
(marketing lists, whose ``createdfromcode`` says what they hold: 1
accounts, 2 contacts, 4 leads), there is a ``listmember`` entity too,
AddMscrmListMember()'s records (listmemberid, listid, entityid,
entitytype), and a list's ``membercount`` is kept up to date when the list
has that attribute.

Values and comparisons
----------------------

Writes are checked against the attributes, with the organization's wording
(choice: the messages of the Dynamics 365 platform for the same mistakes):
an unknown attribute ("'contact' entity doesn't contain attribute with
Name = 'x'"), a missing required attribute on create, a value of the wrong
type ("Cannot convert the literal 'abc' to the expected type
'Edm.Int32'"), a GUID that is not one, a picklist value outside its
options, text longer than MaxLength, a lookup to a record that does not
exist (when the schema names its Target).  Empty text is stored as null, as
Dynamics does.  Booleans are true/false/1/0; dates anything the runtime
reads as a date; a picklist also takes the label of an option.

Conditions compare as the organization's SQL Server collation
(Latin1_General_CI_AI) does: text ignoring case and accents, GUIDs ignoring
case, numbers, dates and booleans by value (the condition's text converted
to the attribute's type, or an error saying it cannot be).  A null matches
only ``null``: every other operator, ``ne`` and ``not-like`` included, is
false for it (SQL's three-valued logic).  Sorting puts nulls first
ascending and last descending (SQL Server); records otherwise keep the
order they were created in.  ``eq ''`` matches nothing (text is never
empty).

FetchXML
--------

Parsed with lxml (external entities are never loaded) and run here:
``<fetch>`` with ``top``, ``count`` and ``page`` (a page of ``count``
rows; at most 5,000 rows without them, Dynamics' page size), ``distinct``;
one ``<entity name>``; ``<attribute name [alias]>``, ``<all-attributes/>``;
``<order attribute [descending]>``; ``<filter type="and|or">`` nested to
any depth; ``<condition attribute operator value [entityname]>`` with
``<value>`` children for ``in``, ``not-in``, ``between``,
``not-between``; ``<link-entity name from to [alias] [link-type]>``
(inner, outer, and the row filters exists, in, any, not-any), nested, with
their own attributes, filters and orders.  A linked attribute is named
``alias.attribute`` in the rows (an unnamed link is ``<entity>1``,
``<entity>2``... in document order, as Dynamics names them).  Operators:
eq, ne (neq), lt, le, gt, ge, like, not-like, begins-with,
not-begin-with, ends-with, not-end-with, null, not-null, in, not-in,
between, not-between, on, on-or-before, on-or-after (dates by day).
Anything else (aggregates, other operators, column comparisons with
``valueof``) is an error saying the simulator does not support it.  Rows
hold the attributes asked for, in the order asked, null where a record has
no value (choice: Dynamics leaves such attributes out of a record, which
makes Field() fail on them).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import re
import sqlite3
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from ..capabilities import GUID_ERROR as _GUID_ERROR
from ..capabilities import DynamicsCRM, DynamicsError, DynamicsQuery, DynamicsUpsert, normalize_guid
from ..errors import ScriptError
from ..values import Row, parse_json, parse_number, to_text
from ..values.booleans import parse_boolean
from ..values.case import collation_key, fold
from ..values.dates import read_date, read_iso_datetime
from ..workspace import Workspace
from .families import FolderFamily, Transaction

FOLDER = "DynamicsCRM"
PAGE_SIZE = 5000  # rows a FetchXML query returns without paging attributes, as Dynamics does

_SCHEMA = """
CREATE TABLE IF NOT EXISTS _ampc_dynamics_entity (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    definition TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS _ampc_dynamics_record (
    id INTEGER PRIMARY KEY,
    entity TEXT NOT NULL COLLATE NOCASE,
    record_id TEXT NOT NULL,
    attributes TEXT NOT NULL,
    UNIQUE (entity, record_id)
);
"""

# Schema type -> Dynamics' AttributeTypeCode, as DescribeMscrmEntityAttributes() reports it.
_TYPES = {
    "string": "String",
    "text": "String",
    "memo": "Memo",
    "int": "Integer",
    "integer": "Integer",
    "decimal": "Decimal",
    "money": "Money",
    "boolean": "Boolean",
    "bool": "Boolean",
    "datetime": "DateTime",
    "date": "DateTime",
    "lookup": "Lookup",
    "picklist": "Picklist",
    "uniqueidentifier": "Uniqueidentifier",
    "guid": "Uniqueidentifier",
    "state": "State",
    "status": "Status",
}
_INTEGERS = {"Integer", "Picklist", "State", "Status"}
_DECIMALS = {"Decimal", "Money"}
_GUIDS = {"Lookup", "Uniqueidentifier"}
_OPTIONED = {"Picklist", "State", "Status", "Boolean"}
# The Web API's name of each type, for conversion errors.
_EDM = {
    "Integer": "Edm.Int32",
    "Picklist": "Edm.Int32",
    "State": "Edm.Int32",
    "Status": "Edm.Int32",
    "Decimal": "Edm.Decimal",
    "Money": "Edm.Decimal",
    "Boolean": "Edm.Boolean",
    "DateTime": "Edm.DateTimeOffset",
    "Lookup": "Edm.Guid",
    "Uniqueidentifier": "Edm.Guid",
}
# The .NET type FetchXML conditions convert their values to, for their errors.
_DOTNET = {
    "Integer": "System.Int32",
    "Picklist": "System.Int32",
    "State": "System.Int32",
    "Status": "System.Int32",
    "Decimal": "System.Decimal",
    "Money": "System.Decimal",
    "Boolean": "System.Boolean",
    "DateTime": "System.DateTime",
    "Lookup": "System.Guid",
    "Uniqueidentifier": "System.Guid",
}
_ENTITY_DISPLAY_NAMES = {
    "account": "Account",
    "contact": "Contact",
    "lead": "Lead",
    "list": "Marketing List",
    "listmember": "List Member",
    "opportunity": "Opportunity",
    "campaign": "Campaign",
    "incident": "Case",
    "systemuser": "User",
}
# A marketing list's createdfromcode: the entity its members are.
LIST_MEMBER_TYPES = {1: "account", 2: "contact", 4: "lead"}
_INT32 = (-(2**31), 2**31 - 1)
_SEED_IDS = uuid.UUID("5f0c3a52-8d1e-4b7a-9c61-2f4e8b0d7a13")  # namespace of the seeded records' GUIDs


def _no_such_record(entity: str, record_id: str) -> DynamicsError:
    return DynamicsError(f"{entity} With Id = {record_id} Does Not Exist")


# ---- definitions ------------------------------------------------------------------------


@dataclass
class Attribute:
    name: str  # logical name, lower case
    type: str  # AttributeTypeCode: "String", "Integer", ...
    display_name: str = ""
    required: bool = False
    options: list[tuple[int, str]] = field(default_factory=list)  # (value, label)
    max_length: int | None = None
    target: str | None = None  # a lookup's entity
    default_status: dict[int, int] = field(default_factory=dict)  # a state's value -> its default status
    status_state: dict[int, int] = field(default_factory=dict)  # a status's value -> its state

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "display_name": self.display_name,
            "required": self.required,
            "options": self.options,
            "max_length": self.max_length,
            "target": self.target,
            "default_status": list(self.default_status.items()),
            "status_state": list(self.status_state.items()),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attribute:
        return cls(
            data["name"],
            data["type"],
            data["display_name"],
            data["required"],
            [(int(value), label) for value, label in data["options"]],
            data["max_length"],
            data["target"],
            {int(k): int(v) for k, v in data["default_status"]},
            {int(k): int(v) for k, v in data["status_state"]},
        )


@dataclass
class Entity:
    name: str
    display_name: str
    primary_id: str
    attributes: dict[str, Attribute]  # lower-cased name -> attribute, in order

    def attribute(self, name: str) -> Attribute:
        found = self.attributes.get(name.strip().lower())
        if found is None:
            raise DynamicsError(f"'{self.name}' entity doesn't contain attribute with Name = '{name}'.")
        return found

    def to_json(self) -> str:
        return json.dumps(
            {
                "name": self.name,
                "display_name": self.display_name,
                "primary_id": self.primary_id,
                "attributes": [attribute.to_json() for attribute in self.attributes.values()],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Entity:
        data = json.loads(text)
        attributes = [Attribute.from_json(item) for item in data["attributes"]]
        return cls(data["name"], data["display_name"], data["primary_id"], {a.name: a for a in attributes})


def _system_attributes(entity: str, display_name: str) -> list[Attribute]:
    """What Dynamics gives every (user-owned) entity: primary ID, created/modified on, state and status."""
    return [
        Attribute(f"{entity}id", "Uniqueidentifier", display_name),
        Attribute("createdon", "DateTime", "Created On"),
        Attribute("modifiedon", "DateTime", "Modified On"),
        Attribute("statecode", "State", "Status", options=[(0, "Active"), (1, "Inactive")], default_status={0: 1, 1: 2}),
        Attribute("statuscode", "Status", "Status Reason", options=[(1, "Active"), (2, "Inactive")], status_state={1: 0, 2: 1}),
    ]


def _list_attributes() -> list[Attribute]:
    """What a marketing list has besides the system attributes: its name, member type and member count."""
    return [
        Attribute("listname", "String", "Name"),
        Attribute("createdfromcode", "Picklist", "Member Type", options=[(1, "Account"), (2, "Contact"), (4, "Lead")]),
        Attribute("membercount", "Integer", "Members"),
    ]


def _list_member_entity() -> Entity:
    attributes = [
        Attribute("listmemberid", "Uniqueidentifier", "List Member"),
        Attribute("listid", "Lookup", "List", required=True, target="list"),
        Attribute("entityid", "Lookup", "Member", required=True),
        Attribute("entitytype", "String", "Member Type"),
        Attribute("createdon", "DateTime", "Created On"),
    ]
    return Entity("listmember", "List Member", "listmemberid", {a.name: a for a in attributes})


def _keyed(data: dict[str, Any]) -> dict[str, Any]:
    """A schema object's keys in one spelling: DisplayName, display_name and displayname are one key."""
    return {str(key).replace("_", "").replace("-", "").lower(): value for key, value in data.items()}


def _options(raw: Any, where: str) -> list[tuple[int, str, dict[str, Any]]]:
    """A schema's options: {"1": "Label"} or [{"Value": 1, "Label": "...", ...}]."""
    if raw is None:
        return []
    items: list[tuple[Any, Any, dict[str, Any]]] = []
    if isinstance(raw, dict):
        items = [(value, label, {}) for value, label in raw.items()]
    elif isinstance(raw, list):
        for item in raw:
            if not isinstance(item, dict):
                raise ScriptError(f"{where}: each option must be an object with Value and Label")
            keyed = _keyed(item)
            items.append((keyed.get("value"), keyed.get("label", ""), keyed))
    else:
        raise ScriptError(f"{where}: Options must be an object {{\"1\": \"Label\"}} or a list of options")
    options = []
    for value, label, extra in items:
        number = parse_number(value)
        if not isinstance(number, int):
            raise ScriptError(f"{where}: option value {value!r} is not a whole number")
        options.append((number, to_text(label), extra))
    return options


def _attribute_from_schema(entity: str, data: Any, where: str) -> Attribute:
    if not isinstance(data, dict):
        raise ScriptError(f"{where}: each attribute must be a JSON object with Name and Type")
    keyed = _keyed(data)
    name = to_text(keyed.get("name") or keyed.get("logicalname")).strip().lower()
    if not name:
        raise ScriptError(f"{where}: an attribute has no Name")
    kind = to_text(keyed.get("type") or keyed.get("attributetype") or "string").strip().lower()
    if kind not in _TYPES:
        raise ScriptError(
            f"{where}: attribute {name!r} has the unknown type {kind!r}",
            hint="types: " + ", ".join(sorted({k for k in _TYPES if k not in ("text", "bool", "date", "guid", "integer")})),
        )
    type_code = _TYPES[kind]
    options = _options(keyed.get("options"), f"{where}: attribute {name!r}")
    attribute = Attribute(
        name,
        type_code,
        to_text(keyed.get("displayname") or name),
        bool(parse_boolean(keyed.get("required")) or False),
        [(value, label) for value, label, _ in options],
        int(keyed["maxlength"]) if keyed.get("maxlength") not in (None, "") else None,
        to_text(keyed.get("target")).strip().lower() or None,
    )
    if type_code == "State":
        for value, _, extra in options:
            default = parse_number(extra.get("defaultstatus"))
            if isinstance(default, int):
                attribute.default_status[value] = default
    if type_code == "Status":
        for value, _, extra in options:
            state = parse_number(extra.get("state"))
            if isinstance(state, int):
                attribute.status_state[value] = state
    if type_code == "Boolean" and not attribute.options:
        attribute.options = [(0, "No"), (1, "Yes")]
    return attribute


def _entity_from_schema(entity: str, data: Any, where: str) -> tuple[str, str | None, list[Attribute]]:
    """(display name, primary ID attribute or None, declared attributes) of a schema file."""
    if isinstance(data, list):
        data = {"attributes": data}
    if not isinstance(data, dict):
        raise ScriptError(f"{where}: a schema is a JSON object with Attributes (or a list of attributes)")
    keyed = _keyed(data)
    attributes_data = keyed.get("attributes", [])
    if not isinstance(attributes_data, list):
        raise ScriptError(f"{where}: Attributes must be a list of attributes")
    attributes = [_attribute_from_schema(entity, item, where) for item in attributes_data]
    seen: set[str] = set()
    for attribute in attributes:
        if attribute.name in seen:
            raise ScriptError(f"{where}: attribute {attribute.name!r} is declared twice")
        seen.add(attribute.name)
    display = to_text(keyed.get("displayname")) or _ENTITY_DISPLAY_NAMES.get(entity, entity.title())
    primary = to_text(keyed.get("primaryidattribute") or keyed.get("primaryid")).strip().lower() or None
    return display, primary, attributes


def _complete(name: str, display: str, primary: str | None, declared: list[Attribute], *, inferred: bool = False) -> Entity:
    """The entity with its system attributes added where its files do not declare them.

    Columns of a seed without a schema (`inferred`) that are system
    attributes keep the system attribute's type (createdon is a date).
    """
    primary = primary or f"{name}id"
    system = {a.name: a for a in _system_attributes(name, display)}
    if name == "list":
        system.update((a.name, a) for a in _list_attributes())
    if primary != f"{name}id":
        system.pop(f"{name}id")
        system[primary] = Attribute(primary, "Uniqueidentifier", display)
    if inferred:
        declared = [system.get(attribute.name, attribute) for attribute in declared]
    ordered: dict[str, Attribute] = {}
    if primary not in {a.name for a in declared}:
        ordered[primary] = system[primary]
    for attribute in declared:
        ordered[attribute.name] = attribute
    for attribute in system.values():
        ordered.setdefault(attribute.name, attribute)
    ordered[primary].type = "Uniqueidentifier"
    return Entity(name, display, primary, ordered)


# ---- values -------------------------------------------------------------------------------


def _date_text(value: _dt.datetime) -> str:
    return value.replace(tzinfo=None).isoformat()


class _Values:
    """Conversions between what scripts and seeds give, what is stored (JSON), and what rows hold."""

    @staticmethod
    def stored(entity: Entity, attribute: Attribute, value: Any) -> Any:
        """The value to store for a write; DynamicsError when it does not fit the attribute."""
        if value is None or (isinstance(value, str) and value == ""):
            return None
        kind = attribute.type

        def wrong() -> DynamicsError:
            return DynamicsError(
                f"Cannot convert the literal '{to_text(value)}' to the expected type '{_EDM[kind]}' "
                f"for the attribute '{attribute.name}' of {entity.name}."
            )

        if kind in ("String", "Memo"):
            text = to_text(value)
            if attribute.max_length is not None and len(text) > attribute.max_length:
                raise DynamicsError(
                    f"A validation error occurred. The length of the '{attribute.name}' attribute of the "
                    f"'{entity.name}' entity exceeded the maximum allowed length of '{attribute.max_length}'."
                )
            return text
        if kind in _INTEGERS:
            number = value if isinstance(value, int) and not isinstance(value, bool) else parse_number(value)
            if not isinstance(number, int) and kind == "Picklist":
                wanted = collation_key(to_text(value).strip())
                number = next((v for v, label in attribute.options if collation_key(label) == wanted), None)
            if isinstance(number, bool) or not isinstance(number, int) or not _INT32[0] <= number <= _INT32[1]:
                raise wrong()
            if kind == "Picklist" and attribute.options and number not in {v for v, _ in attribute.options}:
                raise DynamicsError(
                    f"A validation error occurred.  The value {number} of '{attribute.name}' on record of type "
                    f"'{entity.name}' is outside the valid range."
                )
            return number
        if kind in _DECIMALS:
            number = value if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else parse_number(value)
            if number is None or isinstance(number, bool):
                raise wrong()
            return str(number)
        if kind == "Boolean":
            if isinstance(value, bool):
                return value
            parsed = parse_boolean(to_text(value).strip())
            if parsed is None:
                raise wrong()
            return parsed
        if kind == "DateTime":
            if isinstance(value, _dt.datetime):
                return _date_text(value)
            parsed = read_date(value)
            if parsed is None:
                raise wrong()
            return _date_text(parsed)
        if kind in _GUIDS:
            guid = normalize_guid(value)
            if guid is None:
                raise DynamicsError(f"{_GUID_ERROR} (the attribute '{attribute.name}' of {entity.name}: '{to_text(value)}')")
            return guid
        raise wrong()  # pragma: no cover (every type is handled above)

    @staticmethod
    def typed(attribute: Attribute | None, stored: Any) -> Any:
        """What a row holds for a stored value."""
        if stored is None or attribute is None:
            return stored
        kind = attribute.type
        if kind in _DECIMALS:
            return Decimal(stored) if isinstance(stored, str) else stored
        if kind == "DateTime":
            return read_iso_datetime(stored) if isinstance(stored, str) else stored  # the text `stored` wrote
        return stored

    @staticmethod
    def literal(entity: Entity, attribute: Attribute, value: Any) -> Any:
        """A condition's value as the attribute's type (rows' form); DynamicsError when it cannot be."""
        kind = attribute.type
        if kind in ("String", "Memo"):
            return to_text(value)
        text = to_text(value).strip()
        converted: Any = None
        if kind in _INTEGERS:
            converted = parse_number(text)
            if not isinstance(converted, int) and kind in ("Picklist", "State", "Status"):
                wanted = collation_key(text)
                converted = next((v for v, label in attribute.options if collation_key(label) == wanted), None)
            converted = converted if isinstance(converted, int) else None
        elif kind in _DECIMALS:
            converted = parse_number(text)
        elif kind == "Boolean":
            converted = parse_boolean(text)
        elif kind == "DateTime":
            converted = value if isinstance(value, _dt.datetime) else read_date(text)
        elif kind in _GUIDS:
            converted = normalize_guid(text)
        if converted is None:
            detail = f" Exception raised: {_GUID_ERROR}" if kind in _GUIDS else ""
            raise DynamicsError(
                f"An exception System.FormatException was thrown while trying to convert input value "
                f"'{to_text(value)}' to attribute '{entity.name}.{attribute.name}'. Expected type of attribute "
                f"value: {_DOTNET.get(kind, 'System.String')}.{detail}"
            )
        return converted


def _sort_key(value: Any) -> Any:
    """A value's place in an order (not null: nulls are placed by the caller)."""
    if isinstance(value, str):
        return collation_key(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _accentless(text: str) -> str:
    """Text as a case- and accent-insensitive collation sees it, character by character."""
    decomposed = unicodedata.normalize("NFKD", fold(text))
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def _like(pattern: str) -> re.Pattern[str]:
    """A SQL LIKE pattern (%, _, [abc], [^a-z]) as a regular expression over `_accentless` text."""
    parts: list[str] = []
    index = 0
    pattern = _accentless(pattern)
    while index < len(pattern):
        character = pattern[index]
        if character == "%":
            parts.append(".*")
        elif character == "_":
            parts.append(".")
        elif character == "[" and "]" in pattern[index + 1 :]:
            end = pattern.index("]", index + 1)
            body = pattern[index + 1 : end]
            negated = body.startswith("^")
            body = body[1:] if negated else body
            parts.append("[" + ("^" if negated else "") + re.escape(body).replace("\\-", "-") + "]")
            index = end
        else:
            parts.append(re.escape(character))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


# ---- queries --------------------------------------------------------------------------------


@dataclass
class _Condition:
    attribute: str
    operator: str
    values: list[Any]
    alias: str | None  # the entity (or link alias) whose attribute it is; None: the one it is in


@dataclass
class _Filter:
    kind: str  # "and" / "or"
    items: list[_Condition | _Filter] = field(default_factory=list)


@dataclass
class _Link:
    entity: str
    source: str  # `from`: the linked entity's attribute
    target: str  # `to`: the parent's attribute
    alias: str
    kind: str  # inner, outer, exists, in, any, not-any
    columns: list[tuple[str, str]] = field(default_factory=list)  # (attribute, column name)
    all_attributes: bool = False
    filters: list[_Filter] = field(default_factory=list)
    orders: list[tuple[str, bool]] = field(default_factory=list)
    links: list[_Link] = field(default_factory=list)


@dataclass
class _Plan:
    """A query as the simulator runs it: FetchXML's shape, which RetrieveMscrmRecords() fits too."""

    entity: str
    columns: list[tuple[str, str]] = field(default_factory=list)  # (attribute, column name)
    all_attributes: bool = False
    filters: list[_Filter] = field(default_factory=list)
    orders: list[tuple[str | None, str, bool]] = field(default_factory=list)  # (alias, attribute, descending)
    links: list[_Link] = field(default_factory=list)
    top: int | None = None
    count: int | None = None
    page: int = 1
    distinct: bool = False


_OPERATORS = {
    "eq", "ne", "neq", "lt", "le", "gt", "ge", "like", "not-like", "begins-with", "not-begin-with",
    "ends-with", "not-end-with", "null", "not-null", "in", "not-in", "between", "not-between", "on",
    "on-or-before", "on-or-after",
}
_NO_VALUE = {"null", "not-null"}
_LISTS = {"in", "not-in", "between", "not-between"}
_LINK_TYPES = {"inner", "outer", "exists", "in", "any", "not-any"}


def _flag(text: str | None) -> bool:
    return bool(parse_boolean((text or "").strip()))  # FetchXML writes true/false (or 1/0)


def _invalid(message: str) -> DynamicsError:
    return DynamicsError(
        f"Invalid FetchXML: {message}",
        hint="FetchXML reference: https://learn.microsoft.com/power-apps/developer/data-platform/fetchxml/reference/",
    )


def _whole(element: Any, name: str, minimum: int) -> int | None:
    raw = element.get(name)
    if raw is None:
        return None
    number = parse_number(raw.strip())
    if not isinstance(number, int) or number < minimum:
        raise _invalid(f"the {name} attribute of <fetch> must be a whole number of at least {minimum}, not '{raw}'")
    return number


def parse_fetch_xml(text: str) -> _Plan:
    """A FetchXML query as a plan; DynamicsError naming what is wrong with it."""
    from lxml import etree  # on first use: lxml is one of the heavy libraries

    if not text.strip():
        raise _invalid("the query is empty")
    if "<!doctype" in text.lower():
        raise _invalid("a DOCTYPE (DTD, entity declarations) has no place in a query")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(text.strip().encode("utf-8"), parser)
    except etree.XMLSyntaxError as error:
        raise _invalid(f"it is not well-formed XML ({error})") from None
    if not isinstance(root.tag, str) or root.tag != "fetch":
        raise _invalid(f"the root element must be <fetch>, not <{root.tag}>")
    if _flag(root.get("aggregate")):
        raise DynamicsError("FetchXML aggregate queries are not supported by the simulator")
    children = [child for child in root if isinstance(child.tag, str)]
    entities = [child for child in children if child.tag == "entity"]
    for child in children:
        if child.tag not in ("entity", "order"):
            raise DynamicsError(f"The element 'fetch' has invalid child element '{child.tag}'.")
    if len(entities) != 1 or not (entities[0].get("name") or "").strip():
        raise _invalid("<fetch> needs exactly one <entity name='...'> element")
    plan = _Plan((entities[0].get("name") or "").strip().lower())
    plan.top = _whole(root, "top", 0)
    plan.count = _whole(root, "count", 1)
    plan.page = _whole(root, "page", 1) or 1
    plan.distinct = _flag(root.get("distinct"))
    if plan.top is not None and (plan.count is not None or root.get("page") is not None):
        raise DynamicsError("The top attribute can't be specified with paging attribute page or count.")
    counter = [0]
    _read_children(entities[0], plan, None, counter)
    for child in children:
        if child.tag == "order":  # an order outside <entity> (allowed by the schema) sorts the entity
            _read_order(child, plan, None)
    return plan


def _read_order(element: Any, target: _Plan | _Link, alias: str | None) -> None:
    name = (element.get("attribute") or "").strip().lower()
    if not name:
        raise _invalid("<order> needs an attribute (ordering by an aggregate alias is not supported)")
    descending = _flag(element.get("descending"))
    if isinstance(target, _Plan):
        target.orders.append((alias, name, descending))
    else:
        target.orders.append((name, descending))


def _read_children(element: Any, target: _Plan | _Link, owner_alias: str | None, counter: list[int]) -> None:
    where = "entity" if isinstance(target, _Plan) else "link-entity"
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments
        if child.tag == "attribute":
            name = (child.get("name") or "").strip().lower()
            if not name:
                raise _invalid("<attribute> needs a name")
            if child.get("aggregate") or child.get("groupby"):
                raise DynamicsError("FetchXML aggregate queries are not supported by the simulator")
            column = (child.get("alias") or "").strip() or name
            if isinstance(target, _Link) and not child.get("alias"):
                column = f"{target.alias}.{name}"
            target.columns.append((name, column))
        elif child.tag == "all-attributes":
            target.all_attributes = True
        elif child.tag == "order":
            _read_order(child, target, owner_alias)
        elif child.tag == "filter":
            target.filters.append(_read_filter(child, owner_alias))
        elif child.tag == "link-entity":
            target.links.append(_read_link(child, counter))
        else:
            raise DynamicsError(f"The element '{where}' has invalid child element '{child.tag}'.")


def _read_link(element: Any, counter: list[int]) -> _Link:
    name = (element.get("name") or "").strip().lower()
    source = (element.get("from") or "").strip().lower()
    target = (element.get("to") or "").strip().lower()
    if not name:
        raise _invalid("<link-entity> needs a name")
    if not source or not target:
        raise _invalid(f"<link-entity name='{name}'> needs both from and to attributes")
    kind = (element.get("link-type") or "inner").strip().lower()
    if kind not in _LINK_TYPES:
        raise DynamicsError(f"The link-type '{kind}' of <link-entity name='{name}'> is not supported by the simulator")
    counter[0] += 1
    alias = (element.get("alias") or "").strip() or f"{name}{counter[0]}"
    link = _Link(name, source, target, alias, kind)
    _read_children(element, link, alias, counter)
    return link


def _read_filter(element: Any, owner_alias: str | None) -> _Filter:
    kind = (element.get("type") or "and").strip().lower()
    if kind not in ("and", "or"):
        raise _invalid(f"a filter's type is 'and' or 'or', not '{kind}'")
    found = _Filter(kind)
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "condition":
            found.items.append(_read_condition(child, owner_alias))
        elif child.tag == "filter":
            found.items.append(_read_filter(child, owner_alias))
        else:
            raise DynamicsError(f"The element 'filter' has invalid child element '{child.tag}'.")
    return found


def _read_condition(element: Any, owner_alias: str | None) -> _Condition:
    attribute = (element.get("attribute") or "").strip().lower()
    operator = (element.get("operator") or "").strip().lower()
    if not attribute:
        raise _invalid("<condition> needs an attribute")
    if not operator:
        raise _invalid(f"the condition on '{attribute}' needs an operator")
    if operator not in _OPERATORS:
        raise DynamicsError(
            f"The condition operator '{operator}' is not supported by the simulator",
            hint="supported: " + ", ".join(sorted(_OPERATORS)),
        )
    if element.get("valueof") is not None:
        raise DynamicsError("Conditions comparing two columns (valueof) are not supported by the simulator")
    values = [value.text or "" for value in element if isinstance(value.tag, str) and value.tag == "value"]
    if element.get("value") is not None:
        values = [element.get("value"), *values]
    if operator in _NO_VALUE:
        values = []
    elif operator in ("between", "not-between"):
        if len(values) != 2:
            raise _invalid(f"the {operator} condition on '{attribute}' needs two <value> elements")
    elif operator in _LISTS:
        if not values:
            raise _invalid(f"the {operator} condition on '{attribute}' needs <value> elements")
    elif len(values) != 1:
        raise _invalid(f"the {operator} condition on '{attribute}' needs one value")
    alias = (element.get("entityname") or "").strip() or owner_alias
    return _Condition(attribute, operator, values, alias)


def plan_for(query: DynamicsQuery) -> _Plan:
    """RetrieveMscrmRecords()'s query as a plan."""
    plan = _Plan(query.entity.strip().lower())
    plan.columns = [(name.strip().lower(), name.strip().lower()) for name in query.attributes]
    conditions: list[_Condition | _Filter] = []
    for condition in query.conditions:
        if condition.operator in _LISTS:
            values = list(condition.values)
        elif condition.operator in _NO_VALUE:
            values = []
        else:
            values = [condition.value]
        conditions.append(_Condition(condition.attribute.strip().lower(), condition.operator, values, None))
    plan.filters = [_Filter("and", conditions)]
    plan.orders = [(None, name.strip().lower(), descending) for name, descending in query.order_by]
    plan.top = query.limit
    return plan


# ---- the family -------------------------------------------------------------------------------


class DynamicsOrg(FolderFamily):
    """A Dynamics CRM organization in the simulator's database (module docstring)."""

    PROVIDES: ClassVar[type] = DynamicsCRM
    SCHEMA = _SCHEMA
    FOLDER = FOLDER

    def __init__(self, db: sqlite3.Connection, transaction: Transaction) -> None:
        super().__init__(db, transaction)
        self.origin = f"the workspace's {FOLDER}/ folder"

    # ---- the family protocol ----------------------------------------------------------

    def seed(self, workspace: Workspace) -> None:
        self.origin = f"the workspace's {FOLDER}/ folder ({workspace.root / FOLDER})"
        files: dict[str, dict[str, str]] = {}  # entity -> {"schema"|"data": file name}
        for name in self.seed_files(workspace):
            base = name.rsplit("/", 1)[-1]
            lowered = base.lower()
            if lowered.endswith(".schema.json"):
                entity, role = lowered[: -len(".schema.json")], "schema"
            elif lowered.endswith(".json"):
                entity, role = lowered[: -len(".json")], "data"
            else:
                entity, role = lowered[: -len(".csv")], "data"
            if not entity:
                continue
            if role in files.setdefault(entity, {}):
                raise ScriptError(
                    f"{FOLDER}/: both {files[entity][role]} and {name} define the {role} of the entity "
                    f"'{entity}'; keep one"
                )
            files[entity][role] = name
        if not files:
            return
        entities: dict[str, Entity] = {}
        data: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        for entity, roles in sorted(files.items()):
            records = self._read_records(workspace, roles["data"]) if "data" in roles else []
            if "data" in roles:
                data[entity] = (roles["data"], records)
            if "schema" in roles:
                display, primary, declared = _entity_from_schema(entity, workspace.read_json(roles["schema"]), roles["schema"])
            elif entity == "listmember":
                continue  # the built-in definition, below
            else:
                display, primary, declared = _ENTITY_DISPLAY_NAMES.get(entity, entity.title()), None, _inferred(records)
            entities[entity] = _complete(entity, display, primary, declared, inferred="schema" not in roles)
        if "list" in entities and "listmember" not in entities:
            entities["listmember"] = _list_member_entity()
        if "listmember" in files and "listmember" not in entities:
            entities["listmember"] = _list_member_entity()
        with self.transaction() as db:
            for entity in entities.values():
                db.execute(
                    "INSERT OR REPLACE INTO _ampc_dynamics_entity (name, definition) VALUES (?, ?)",
                    (entity.name, entity.to_json()),
                )
            for name, (file_name, records) in data.items():
                self._seed_records(db, entities[name], file_name, records)

    def _read_records(self, workspace: Workspace, name: str) -> list[dict[str, Any]]:
        if name.lower().endswith(".csv"):
            reader = csv.reader(io.StringIO(workspace.read_text(name, newline=""), newline=""))
            rows = list(reader)
            if not rows:
                return []
            header = [column.strip() for column in rows[0]]
            if any(not column for column in header):
                raise ScriptError(f"{name}: the header row has an empty column name")
            records = []
            for number, values in enumerate(rows[1:], start=2):
                if not any(value.strip() for value in values):
                    continue
                if len(values) > len(header):
                    raise ScriptError(f"{name}: line {number} has more values than the header has columns")
                records.append({column: (values[i] if i < len(values) else "") for i, column in enumerate(header)})
            return records
        try:
            document = parse_json(workspace.read_text(name), parse_float=Decimal)
        except json.JSONDecodeError as error:
            raise ScriptError(f"{name}: not valid JSON ({error})") from None
        if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
            raise ScriptError(f"{name}: records are a JSON array of objects, one per record")
        return document

    def _seed_records(self, db: sqlite3.Connection, entity: Entity, file_name: str, records: list[dict[str, Any]]) -> None:
        for number, record in enumerate(records, start=1):
            where = f"{file_name}: record {number}"
            try:
                values = self._converted(entity, list(record.items()))
            except DynamicsError as error:
                raise ScriptError(f"{where}: {error.message}", hint=f"the attributes are declared in {FOLDER}/{entity.name}.schema.json, or are the seed's columns") from None
            record_id = values.pop(entity.primary_id, None) or str(uuid.uuid5(_SEED_IDS, f"{entity.name}:{number}"))
            values = {entity.primary_id: record_id, **values}
            self._defaults(entity, values)
            if self._find(entity, record_id) is not None:
                raise ScriptError(f"{where}: {entity.primary_id} {record_id} is the ID of an earlier record too")
            self._insert(db, entity, record_id, values)

    # ---- storage ----------------------------------------------------------------------

    def _entity(self, name: str) -> Entity:
        found = self.db.execute(
            "SELECT definition FROM _ampc_dynamics_entity WHERE name = ?", (name.strip(),)
        ).fetchone()
        if found is None:
            known = [row[0] for row in self.db.execute("SELECT name FROM _ampc_dynamics_entity ORDER BY name")]
            raise DynamicsError(
                f"The entity with a name = '{name}' was not found in the MetadataCache.",
                hint=(
                    f"the simulator's entities are {', '.join(known)}, from {self.origin}"
                    if known
                    else f"add DynamicsCRM/{name.strip().lower() or '<entity>'}.csv (or .json, .schema.json) to the workspace"
                ),
            )
        return Entity.from_json(found[0])

    def _records(self, entity: Entity) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT attributes FROM _ampc_dynamics_record WHERE entity = ? ORDER BY id", (entity.name,)
        )
        return [json.loads(attributes) for (attributes,) in rows]

    def _find(self, entity: Entity, record_id: str) -> dict[str, Any] | None:
        found = self.db.execute(
            "SELECT attributes FROM _ampc_dynamics_record WHERE entity = ? AND record_id = ?",
            (entity.name, record_id),
        ).fetchone()
        return json.loads(found[0]) if found else None

    def _insert(self, db: sqlite3.Connection, entity: Entity, record_id: str, values: dict[str, Any]) -> None:
        db.execute(
            "INSERT INTO _ampc_dynamics_record (entity, record_id, attributes) VALUES (?, ?, ?)",
            (entity.name, record_id, json.dumps(values)),
        )

    def _save(self, db: sqlite3.Connection, entity: Entity, record_id: str, values: dict[str, Any]) -> None:
        db.execute(
            "UPDATE _ampc_dynamics_record SET attributes = ? WHERE entity = ? AND record_id = ?",
            (json.dumps(values), entity.name, record_id),
        )

    def _converted(self, entity: Entity, pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
        """Pairs of a write as stored values (later pairs of the same attribute win)."""
        values: dict[str, Any] = {}
        for name, value in pairs:
            attribute = entity.attribute(to_text(name))
            values[attribute.name] = _Values.stored(entity, attribute, value)
        return values

    def _check_lookups(self, entity: Entity, values: dict[str, Any]) -> None:
        for name, value in values.items():
            attribute = entity.attributes[name]
            if attribute.type == "Lookup" and attribute.target and value is not None:
                target = self._entity(attribute.target)
                if self._find(target, value) is None:
                    raise _no_such_record(target.name, value)

    @staticmethod
    def _defaults(entity: Entity, values: dict[str, Any]) -> None:
        """State and status of a record that does not say them: Active, and the Active state's default status."""
        state = entity.attributes.get("statecode")
        if state is not None and state.type == "State" and values.get("statecode") is None:
            values["statecode"] = 0
        status = entity.attributes.get("statuscode")
        if status is not None and status.type == "Status" and values.get("statuscode") is None and state is not None:
            values["statuscode"] = _default_status(state, status, values.get("statecode") or 0)

    @staticmethod
    def _now() -> str:
        from ..rendering import current_context  # the render's clock (Marketing Cloud system time)

        return _date_text(current_context().now().replace(microsecond=0))

    def _missing_required(self, entity: Entity, values: dict[str, Any], creating: bool) -> None:
        for attribute in entity.attributes.values():
            if not attribute.required or attribute.name == entity.primary_id:
                continue
            if (creating and values.get(attribute.name) is None) or (attribute.name in values and values[attribute.name] is None):
                raise DynamicsError(
                    f"A validation error occurred. The attribute '{attribute.name}' ({attribute.display_name}) "
                    f"of the '{entity.name}' entity is required and has no value."
                )

    # ---- DynamicsCRM ----------------------------------------------------------------------

    def describe_entities(self) -> list[Row]:
        rows = self.db.execute("SELECT definition FROM _ampc_dynamics_entity ORDER BY name")
        entities = [Entity.from_json(definition) for (definition,) in rows]
        return [Row([("Name", entity.name), ("DisplayName", entity.display_name)]) for entity in entities]

    def describe_attributes(self, entity: str) -> list[Row]:
        found = self._entity(entity)
        primary = found.primary_id
        system_filled = {primary, "createdon", "modifiedon", "statecode", "statuscode"}
        return [
            Row(
                [
                    ("Name", attribute.name),
                    ("DisplayName", attribute.display_name),
                    ("Type", attribute.type),
                    ("Required", attribute.required and attribute.name not in system_filled),
                    ("Options", ",".join(f"{value}:{label}" for value, label in attribute.options) if attribute.type in _OPTIONED else ""),
                ]
            )
            for attribute in found.attributes.values()
        ]

    def create(self, entity: str, values: Sequence[tuple[str, Any]]) -> str:
        with self.transaction() as db:
            found = self._entity(entity)
            return self._create(db, found, self._converted(found, values))

    def _create(self, db: sqlite3.Connection, entity: Entity, values: dict[str, Any]) -> str:
        self._missing_required(entity, values, creating=True)
        self._check_lookups(entity, values)
        record_id = values.pop(entity.primary_id, None)
        if record_id is not None and self._find(entity, record_id) is not None:
            raise DynamicsError("Cannot insert duplicate key.")
        record_id = record_id or str(uuid.uuid4())
        now = self._now()
        stamped: dict[str, Any] = {entity.primary_id: record_id, **values}
        for stamp in ("createdon", "modifiedon"):
            if stamp in entity.attributes and stamped.get(stamp) is None:
                stamped[stamp] = now
        self._defaults(entity, stamped)
        self._check_state(entity, stamped, record_id)
        self._insert(db, entity, record_id, stamped)
        return record_id

    def retrieve(self, query: DynamicsQuery) -> list[Row]:
        return self._run(plan_for(query))

    def retrieve_fetch_xml(self, fetch_xml: str) -> list[Row]:
        plan = parse_fetch_xml(fetch_xml)
        if plan.count is None and plan.top is None:
            plan.count = PAGE_SIZE
        return self._run(plan)

    def update(self, entity: str, ids: Sequence[str], values: Sequence[tuple[str, Any]]) -> int:
        with self.transaction() as db:
            found = self._entity(entity)
            changes = self._converted(found, values)
            self._missing_required(found, changes, creating=False)
            self._check_lookups(found, changes)
            guids = []
            for text in ids:
                guid = normalize_guid(text)
                if guid is None:
                    raise DynamicsError(f"{_GUID_ERROR} ('{to_text(text).strip()}' is not a GUID)")
                guids.append(guid)
            updated = 0
            for guid in guids:
                if self._update(db, found, guid, changes):
                    updated += 1
            return updated

    def _update(self, db: sqlite3.Connection, entity: Entity, record_id: str, changes: dict[str, Any]) -> bool:
        record = self._find(entity, record_id)
        if record is None:
            return False
        changes = {name: value for name, value in changes.items() if name != entity.primary_id}
        record.update(changes)
        if "modifiedon" in entity.attributes and "modifiedon" not in changes:
            record["modifiedon"] = self._now()
        if "statecode" in changes and "statuscode" not in changes and "statuscode" in entity.attributes:
            record["statuscode"] = _default_status(entity.attributes["statecode"], entity.attributes["statuscode"], record["statecode"])
        self._check_state(entity, record, record_id)
        self._save(db, entity, record_id, record)
        return True

    def upsert(self, request: DynamicsUpsert) -> str:
        with self.transaction() as db:
            entity = self._entity(request.entity)
            match = self._converted(entity, request.match)
            changes = self._converted(entity, request.values)
            plan = _Plan(entity.name, columns=[(entity.primary_id, entity.primary_id)], top=1)
            conditions: list[_Condition | _Filter] = [
                _Condition(name, "null", [], None)
                if value is None
                else _Condition(name, "eq", [_Values.typed(entity.attributes[name], value)], None)
                for name, value in match.items()
            ]
            plan.filters = [_Filter("and", conditions)]
            plan.orders = [(None, name.strip().lower(), descending) for name, descending in request.order_by]
            for _, name, _ in plan.orders:
                entity.attribute(name)
            found = self._run(plan, stored_literals=True)
            if found:
                record_id = found[0][entity.primary_id]
                self._missing_required(entity, changes, creating=False)
                self._check_lookups(entity, changes)
                self._update(db, entity, record_id, changes)
                return record_id
            return self._create(db, entity, {**match, **changes})

    def set_state(self, entity: str, record_id: str, state: str, status: int) -> None:
        with self.transaction() as db:
            found = self._entity(entity)
            guid = normalize_guid(record_id)
            if guid is None:
                raise DynamicsError(f"{_GUID_ERROR} ('{to_text(record_id).strip()}' is not a GUID)")
            record = self._find(found, guid)
            if record is None:
                raise _no_such_record(found.name, guid)
            state_attribute = found.attributes.get("statecode")
            status_attribute = found.attributes.get("statuscode")
            if state_attribute is None or state_attribute.type != "State" or status_attribute is None:
                raise DynamicsError(f"The entity '{found.name}' has no statecode and statuscode attributes to set")
            state_value = _state_value(state_attribute, state)
            if state_value is None:
                labels = ", ".join(label for _, label in state_attribute.options)
                raise DynamicsError(
                    f"'{state}' is not a valid state of {found.name}",
                    hint=f"the states of {found.name}: {labels}" if labels else None,
                )
            status_value = _default_status(state_attribute, status_attribute, state_value) if status == -1 else status
            record["statecode"], record["statuscode"] = state_value, status_value
            self._check_state(found, record, guid)
            if "modifiedon" in found.attributes:
                record["modifiedon"] = self._now()
            self._save(db, found, guid, record)

    @staticmethod
    def _check_state(entity: Entity, record: dict[str, Any], record_id: str) -> None:
        """A status must belong to the record's state (when the status options say which state they belong to)."""
        state = entity.attributes.get("statecode")
        status = entity.attributes.get("statuscode")
        if state is None or status is None or state.type != "State" or status.type != "Status":
            return
        state_value, status_value = record.get("statecode"), record.get("statuscode")
        if state_value is None or status_value is None:
            return
        belongs = status.status_state.get(status_value)
        known = {value for value, _ in status.options}
        if (known and status_value not in known) or (belongs is not None and belongs != state_value):
            label = next((label for value, label in state.options if value == state_value), str(state_value))
            raise DynamicsError(
                f"{status_value} is not a valid status code for state code "
                f"{entity.name.title().replace(' ', '')}State.{label.replace(' ', '')} on {entity.name} with Id {record_id}."
            )

    def add_list_member(self, list_id: str, member_id: str) -> None:
        with self.transaction() as db:
            lists = self._entity("list")
            list_guid, member_guid = normalize_guid(list_id), normalize_guid(member_id)
            for text, guid in ((list_id, list_guid), (member_id, member_guid)):
                if guid is None:
                    raise DynamicsError(f"{_GUID_ERROR} ('{to_text(text).strip()}' is not a GUID)")
            assert list_guid is not None and member_guid is not None
            marketing_list = self._find(lists, list_guid)
            if marketing_list is None:
                raise _no_such_record("list", list_guid)
            kind = marketing_list.get("createdfromcode")
            wanted = [LIST_MEMBER_TYPES[kind]] if kind in LIST_MEMBER_TYPES else list(LIST_MEMBER_TYPES.values())
            member_type = None
            for name in wanted:
                try:
                    entity = self._entity(name)
                except DynamicsError:
                    continue
                if self._find(entity, member_guid) is not None:
                    member_type = name
                    break
            if member_type is None:
                raise DynamicsError(
                    f"{' or '.join(wanted)} With Id = {member_guid} Does Not Exist",
                    hint=f"list {list_guid} holds {'s, '.join(wanted)}s" + (f" (createdfromcode {kind})" if kind in LIST_MEMBER_TYPES else ""),
                )
            members = self._entity("listmember")
            for record in self._records(members):
                if record.get("listid") == list_guid and record.get("entityid") == member_guid:
                    return  # a member already: Dynamics adds no second membership
            self._create(
                db, members, {"listid": list_guid, "entityid": member_guid, "entitytype": member_type}
            )
            if "membercount" in lists.attributes:
                marketing_list["membercount"] = (marketing_list.get("membercount") or 0) + 1
                self._save(db, lists, list_guid, marketing_list)

    # ---- running a plan -------------------------------------------------------------------

    def _run(self, plan: _Plan, *, stored_literals: bool = False) -> list[Row]:
        entity = self._entity(plan.entity)
        entities: dict[str | None, Entity] = {None: entity}
        links = _flatten(plan.links)
        for link in links:
            if link.alias in entities:
                raise _invalid(f"the alias '{link.alias}' is used twice")
            entities[link.alias] = self._entity(link.entity)
        columns = self._columns(plan, entities)
        owners = {link.alias: link for link in links}
        for filter_ in plan.filters:
            self._check_filter(filter_, entities, None)
        for link in links:
            entities[link.alias].attribute(link.source)
            for filter_ in link.filters:
                self._check_filter(filter_, entities, link.alias)
        for link in links:
            parent_alias = next((a for a, l in owners.items() if any(link is child for child in l.links)), None)
            entities[parent_alias].attribute(link.target)
        for alias, name, _ in plan.orders:
            entities[alias].attribute(name)
        for link in links:
            for name, _ in link.orders:
                entities[link.alias].attribute(name)
        literal = (lambda e, a, v: v) if stored_literals else None
        rows: list[dict[str | None, dict[str, Any] | None]] = [{None: record} for record in self._records(entity)]
        rows = self._join(rows, None, plan.links, entities, literal)
        rows = [row for row in rows if all(self._matches(f, row, entities, None, literal) for f in plan.filters)]
        orders = [(alias, name, descending) for alias, name, descending in plan.orders]
        for link in links:
            orders.extend((link.alias, name, descending) for name, descending in link.orders)
        for alias, name, descending in reversed(orders):
            attribute = entities[alias].attributes[name]
            present = [row for row in rows if _value_of(row, alias, name, attribute) is not None]
            absent = [row for row in rows if _value_of(row, alias, name, attribute) is None]
            present.sort(key=lambda row: _sort_key(_value_of(row, alias, name, attribute)), reverse=descending)
            rows = present + absent if descending else absent + present
        result = [
            Row([(column, _Values.typed(entities[alias].attributes.get(name), (row.get(alias) or {}).get(name))) for alias, name, column in columns])
            for row in rows
        ]
        if plan.distinct:
            seen: set[str] = set()
            unique = []
            for row in result:
                key = json.dumps([to_text(value) for value in row.values()])
                if key not in seen:
                    seen.add(key)
                    unique.append(row)
            result = unique
        if plan.top is not None:
            return result[: plan.top]
        if plan.count is not None:
            start = (plan.page - 1) * plan.count
            return result[start : start + plan.count]
        return result

    def _columns(self, plan: _Plan, entities: dict[str | None, Entity]) -> list[tuple[str | None, str, str]]:
        """(alias, attribute, column name) of every column, main entity first, then links in document order."""
        columns: list[tuple[str | None, str, str]] = []
        entity = entities[None]
        if plan.all_attributes:
            columns.extend((None, name, name) for name in entity.attributes)
        for name, column in plan.columns:
            attribute = entity.attribute(name)
            columns.append((None, attribute.name, column))
        for link in _flatten(plan.links):
            if link.kind not in ("inner", "outer"):
                if link.columns or link.all_attributes:
                    raise _invalid(f"a link-entity of link-type '{link.kind}' cannot return attributes")
                continue
            linked = entities[link.alias]
            if link.all_attributes:
                columns.extend((link.alias, name, f"{link.alias}.{name}") for name in linked.attributes)
            for name, column in link.columns:
                columns.append((link.alias, linked.attribute(name).name, column))
        return columns

    def _check_filter(self, filter_: _Filter, entities: dict[str | None, Entity], owner: str | None) -> None:
        for item in filter_.items:
            if isinstance(item, _Filter):
                self._check_filter(item, entities, owner)
                continue
            alias = item.alias if item.alias is not None else owner
            if alias not in entities:
                raise _invalid(f"a condition names the entity '{item.alias}', which is not a link-entity alias of the query")
            entity = entities[alias]
            attribute = entity.attribute(item.attribute)
            if item.operator in ("on", "on-or-before", "on-or-after") and attribute.type != "DateTime":
                raise DynamicsError(f"The condition operator '{item.operator}' needs a date attribute; '{attribute.name}' is {attribute.type}")

    def _join(
        self,
        rows: list[dict[str | None, Any]],
        parent: str | None,
        links: list[_Link],
        entities: dict[str | None, Entity],
        literal: Callable | None,
    ) -> list[dict[str | None, Any]]:
        for link in links:
            entity = entities[link.alias]
            source = entity.attributes[link.source]
            candidates = [
                record
                for record in self._records(entity)
                if all(self._matches(f, {link.alias: record}, entities, link.alias, literal) for f in link.filters)
            ]
            target = entities[parent].attributes[link.target]
            joined = []
            for row in rows:
                key = _value_of(row, parent, link.target, target)
                matches = [] if key is None else [
                    record for record in candidates if _equal(_value_of({link.alias: record}, link.alias, link.source, source), key)
                ]
                expanded = self._join([{**row, link.alias: record} for record in matches], link.alias, link.links, entities, literal)
                if link.kind == "inner":
                    joined.extend(expanded)
                elif link.kind == "outer":
                    joined.extend(expanded or [{**row, link.alias: None}])
                elif link.kind == "not-any":
                    if not expanded:
                        joined.append(row)
                elif expanded:  # exists, in, any: the row once, if anything links
                    joined.append(row)
            rows = joined
        return rows

    def _matches(
        self,
        filter_: _Filter,
        row: dict[str | None, Any],
        entities: dict[str | None, Entity],
        owner: str | None,
        literal: Callable | None,
    ) -> bool:
        results = (
            self._matches(item, row, entities, owner, literal)
            if isinstance(item, _Filter)
            else self._condition(item, row, entities, owner, literal)
            for item in filter_.items
        )
        return any(results) if filter_.kind == "or" else all(results)

    def _condition(
        self,
        condition: _Condition,
        row: dict[str | None, Any],
        entities: dict[str | None, Entity],
        owner: str | None,
        literal: Callable | None,
    ) -> bool:
        alias = condition.alias if condition.alias is not None else owner
        entity = entities[alias]
        attribute = entity.attributes[condition.attribute]
        value = _value_of(row, alias, condition.attribute, attribute)
        operator = condition.operator
        if operator == "null":
            return value is None
        if operator == "not-null":
            return value is not None
        convert = literal or _Values.literal
        if operator in ("like", "not-like", "begins-with", "not-begin-with", "ends-with", "not-end-with"):
            pattern = to_text(condition.values[0])
            if operator in ("begins-with", "not-begin-with"):
                pattern = _escape_like(pattern) + "%"
            elif operator in ("ends-with", "not-end-with"):
                pattern = "%" + _escape_like(pattern)
            if value is None:
                return False
            matched = _like(pattern).fullmatch(_accentless(to_text(value))) is not None
            return matched if operator in ("like", "begins-with", "ends-with") else not matched
        if any(to_text(item) == "" for item in condition.values) and attribute.type in ("String", "Memo"):
            literals: list[Any] = [None if to_text(item) == "" else convert(entity, attribute, item) for item in condition.values]
        else:
            literals = [convert(entity, attribute, item) for item in condition.values]
        if value is None:
            return False
        if operator in ("in", "not-in"):
            found = any(item is not None and _equal(value, item) for item in literals)
            return found if operator == "in" else not found
        if operator in ("between", "not-between"):
            low, high = literals
            inside = low is not None and high is not None and _order(low, value) <= 0 <= _order(high, value)
            return inside if operator == "between" else not inside
        wanted = literals[0]
        if wanted is None:  # '': Dynamics keeps no empty text, so nothing equals it and everything differs
            return operator in ("ne", "neq")
        if operator in ("on", "on-or-before", "on-or-after"):
            day, wanted_day = value.date(), wanted.date()
            return {"on": day == wanted_day, "on-or-before": day <= wanted_day, "on-or-after": day >= wanted_day}[operator]
        if operator == "eq":
            return _equal(value, wanted)
        if operator in ("ne", "neq"):
            return not _equal(value, wanted)
        order = _order(value, wanted)
        return {"lt": order < 0, "le": order <= 0, "gt": order > 0, "ge": order >= 0}[operator]


def _flatten(links: list[_Link]) -> list[_Link]:
    found = []
    for link in links:
        found.append(link)
        found.extend(_flatten(link.links))
    return found


def _value_of(row: dict[str | None, Any], alias: str | None, name: str, attribute: Attribute) -> Any:
    record = row.get(alias)
    return None if record is None else _Values.typed(attribute, record.get(name))


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return collation_key(left) == collation_key(right)
    return _sort_key(left) == _sort_key(right)


def _order(left: Any, right: Any) -> int:
    a, b = _sort_key(left), _sort_key(right)
    try:
        return (a > b) - (a < b)
    except TypeError:  # values of two kinds (a seed's text against a number): compare as text
        a, b = collation_key(to_text(left)), collation_key(to_text(right))
        return (a > b) - (a < b)


def _escape_like(text: str) -> str:
    return re.sub(r"([%_\[])", r"[\1]", text)


def _default_status(state: Attribute, status: Attribute, state_value: int) -> int:
    """The status a record gets in a state when none is given: the state's DefaultStatus, else its first status."""
    if state_value in state.default_status:
        return state.default_status[state_value]
    for value, belongs in status.status_state.items():
        if belongs == state_value:
            return value
    return {0: 1, 1: 2}.get(state_value, state_value + 1)


def _state_value(attribute: Attribute, state: str) -> int | None:
    """A state given by its label (Active, Inactive; any case) or its code."""
    text = to_text(state).strip()
    wanted = collation_key(text)
    for value, label in attribute.options:
        if collation_key(label) == wanted:
            return value
    number = parse_number(text)
    if isinstance(number, int) and (not attribute.options or number in {v for v, _ in attribute.options}):
        return number
    return None


def _inferred(records: list[dict[str, Any]]) -> list[Attribute]:
    """The attributes of a seed without a schema: its columns, typed by their JSON values."""
    kinds: dict[str, str] = {}
    for record in records:
        for name, value in record.items():
            lowered = to_text(name).strip().lower()
            if not lowered:
                continue
            kind = (
                "Boolean" if isinstance(value, bool)
                else "Integer" if isinstance(value, int)
                else "Decimal" if isinstance(value, (float, Decimal))
                else "String" if value is not None
                else None
            )
            previous = kinds.get(lowered)
            if previous is None:
                kinds[lowered] = kind  # type: ignore[assignment]
            elif kind is not None and previous != kind:
                kinds[lowered] = "Decimal" if {previous, kind} == {"Integer", "Decimal"} else "String"
    return [Attribute(name, kind or "String", name) for name, kind in kinds.items()]
