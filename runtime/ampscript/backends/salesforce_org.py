"""The simulated Salesforce org behind the Sales and Service Cloud functions.

Seeded from the workspace's ``Salesforce/`` folder:

* ``Salesforce/<SObject>.csv`` or ``Salesforce/<SObject>.json`` (a list of
  objects): the object's records, one per row.  An ``Id`` column is
  optional: a 15- or 18-character ID is kept (in its 18-character form), a
  record without one gets a new ID.
* ``Salesforce/<SObject>.schema.json`` (optional) declares its fields::

      {"fields": [
        {"name": "LastName", "type": "string", "length": 80, "required": true},
        {"name": "AnnualRevenue", "type": "currency"},
        {"name": "HasOptedOutOfEmail", "type": "boolean"},
        {"name": "AccountId", "type": "reference"}
      ]}

  Types are Salesforce's: string, textarea, picklist, email, phone, url,
  id, reference, boolean, int, double, currency, percent, date, datetime.
* ``Salesforce/job-sources.json`` (optional): RetrieveSalesforceJobSources()'s
  answers, by job ID: ``{"90492034": [{"SourceID": "701...", "SourceType":
  "Campaign", "IsInclusionSource": "true"}]}``.

Which objects and fields exist: those a schema declares; else, for the
standard objects of `ampscript.backends.salesforce_objects`, their usual
fields plus the seed's columns; else the seed's columns, as text, none
required.  Every object has ``Id``, ``CreatedDate`` and
``LastModifiedDate``.  An object the org does not have, or a field it does
not have, is a fault that stops the render, as on Marketing Cloud, where a
SOAP fault aborts the page (sfmc.guide's CreateSalesforceObject test
script, branches badobj and badfield); the messages are Salesforce's API
errors (``INVALID_TYPE``, ``INVALID_FIELD``, ``REQUIRED_FIELD_MISSING``,
``STRING_TOO_LONG``, ``INVALID_TYPE_ON_FIELD_IN_RECORD``,
``INVALID_EMAIL_ADDRESS``, ``MALFORMED_ID``).

Values are kept as text, the way the SOAP API hands them to Marketing
Cloud: booleans ``true``/``false``, numbers as written (``5000000``),
dates ``2026-01-05``, date-times ``2026-01-05T14:30:00.000Z`` (UTC; a value
without an offset is read as UTC: choice).  Text compares ignoring case, as
SOQL does; IDs match in their 15- and 18-character forms.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from ..capabilities import SalesforceCondition, SalesforceCRM, SalesforceQuery
from ..errors import ScriptError
from ..salesforce_ids import canonical_id, new_id
from ..values import Row, to_text
from ..values.case import fold
from ..values.dates import read_date, read_iso_datetime_utc
from ..workspace import Workspace
from .families import FolderFamily, Transaction
from .salesforce_objects import STANDARD_OBJECTS

FOLDER = "Salesforce"
JOB_SOURCES = "job-sources.json"
OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
FIELD_TYPES = (
    "string", "textarea", "picklist", "email", "phone", "url", "id", "reference",
    "boolean", "int", "double", "currency", "percent", "date", "datetime",
)
_TEXT_TYPES = {"string", "textarea", "picklist", "email", "phone", "url"}
_NUMBER_TYPES = {"int", "double", "currency", "percent"}
_ID_TYPES = {"id", "reference"}
_SYSTEM_FIELDS = (("Id", "id"), ("CreatedDate", "datetime"), ("LastModifiedDate", "datetime"))
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS _ampc_salesforce_object (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    fields TEXT NOT NULL,
    records_made INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS _ampc_salesforce_record (
    id TEXT PRIMARY KEY,
    sobject TEXT NOT NULL COLLATE NOCASE,
    fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS _ampc_salesforce_record_sobject ON _ampc_salesforce_record (sobject);
CREATE TABLE IF NOT EXISTS _ampc_salesforce_job_source (
    position INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS _ampc_salesforce_job_source_job ON _ampc_salesforce_job_source (job_id);
"""


class SalesforceError(ScriptError):
    """A fault or record error of the org, as Salesforce reports it: ``CODE: message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class SalesforceField:
    name: str
    type: str = "string"
    required: bool = False
    length: int | None = None


@dataclass
class SObjectSchema:
    name: str
    fields: list[SalesforceField]

    def __post_init__(self) -> None:
        self._by_name = {fold(f.name): f for f in self.fields}

    def field(self, name: str) -> SalesforceField:
        found = self._by_name.get(fold(name.strip()))
        if found is None:
            raise SalesforceError("INVALID_FIELD", f"No such column '{name.strip()}' on sobject of type {self.name}")
        return found

    def to_json(self) -> str:
        return json.dumps([[f.name, f.type, f.required, f.length] for f in self.fields])

    @classmethod
    def from_json(cls, name: str, text: str) -> SObjectSchema:
        return cls(name, [SalesforceField(n, t, r, length) for n, t, r, length in json.loads(text)])


def _schema(name: str, declared: list[SalesforceField], columns: Sequence[str]) -> SObjectSchema:
    """System fields, then the declared ones, then seed columns nothing declared (as text)."""
    fields = [SalesforceField(field_name, kind) for field_name, kind in _SYSTEM_FIELDS]
    known = {fold(f.name) for f in fields}
    for f in [*declared, *(SalesforceField(column.strip()) for column in columns if column.strip())]:
        if fold(f.name) not in known:
            known.add(fold(f.name))
            fields.append(f)
    return SObjectSchema(name, fields)


def _declared_fields(data: Any, where: str) -> list[SalesforceField]:
    items = data.get("fields") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ScriptError(f'{where}: expected {{"fields": [{{"name": ..., "type": ...}}, ...]}}')
    fields = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not _NAME.match(item["name"]):
            raise ScriptError(f"{where}: every field needs a \"name\" (letters, digits and _), got {item!r}")
        kind = str(item.get("type", "string")).lower()
        if kind not in FIELD_TYPES:
            raise ScriptError(f"{where}: field {item['name']!r} has type {item.get('type')!r}, not one of {', '.join(FIELD_TYPES)}")
        length = item.get("length")
        if length is not None and (not isinstance(length, int) or length < 1):
            raise ScriptError(f"{where}: field {item['name']!r} has length {length!r}; expected a whole number above 0")
        fields.append(SalesforceField(item["name"], kind, bool(item.get("required", False)), length))
    return fields


def _utc_now() -> str:
    return _datetime_text(_dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None))


def _datetime_text(value: _dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _read_datetime(text: str) -> _dt.datetime | None:
    """A date-time in UTC, naive: ISO 8601 with ``Z`` or an offset, or any date the value core reads (as UTC)."""
    return read_iso_datetime_utc(text) or read_date(text)


# Salesforce's number fields hold at most 18 digits (precision 18).
MAX_DIGITS = 18


def salesforce_number(text: str) -> Decimal | None:
    """A number field's value: finite, at most 18 digits before the point, rounded to 18 after; else None."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or (number and number.adjusted() >= MAX_DIGITS):
        return None
    if number.as_tuple().exponent < -MAX_DIGITS:  # type: ignore[operator]
        number = number.quantize(Decimal(1).scaleb(-MAX_DIGITS))
    return number


def _number_text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def stored_value(f: SalesforceField, value: Any) -> str | None:
    """The text the org keeps for a value of the field, or SalesforceError as Salesforce words it."""
    if value is None:
        return None
    text = to_text(value)
    if text == "":
        return None  # Salesforce keeps an empty value as null
    kind = f.type
    if kind in _TEXT_TYPES:
        if f.length is not None and len(text) > f.length:
            raise SalesforceError("STRING_TOO_LONG", f"{f.name}: data value too large: {text} (max length={f.length})")
        if kind == "email" and not _EMAIL.match(text):
            raise SalesforceError("INVALID_EMAIL_ADDRESS", f"{f.name}: invalid email address: {text}")
        return text
    if kind in _ID_TYPES:
        full = canonical_id(text.strip())
        if full is None:
            raise SalesforceError("MALFORMED_ID", f"{f.name}: id value of incorrect type: {text}")
        return full
    if kind == "boolean":
        folded = text.strip().lower()
        if folded in ("true", "1"):
            return "true"
        if folded in ("false", "0"):
            return "false"
    elif kind in _NUMBER_TYPES:
        number = salesforce_number(text)
        if number is not None and (kind != "int" or number == number.to_integral_value()):
            return _number_text(number)
    elif kind == "date":
        parsed = _read_datetime(text)
        if parsed is not None:
            return parsed.strftime("%Y-%m-%d")
    elif kind == "datetime":
        parsed = _read_datetime(text)
        if parsed is not None:
            return _datetime_text(parsed)
    raise SalesforceError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.name}: value not of required type: {text}")


def _matches(f: SalesforceField, stored: str | None, condition: SalesforceCondition) -> bool:
    """Does a record's value satisfy `field operator value`, with SOQL's meaning of the operator for the type?"""
    operator = condition.operator
    wanted_text = condition.value
    if stored is None or wanted_text == "":
        # SOQL: `= null` matches nulls, `!= 'x'` matches nulls too; the order operators never match a null.
        if operator == "=":
            return stored is None and wanted_text == ""
        if operator == "!=":
            return (stored is None) != (wanted_text == "")
        return False
    try:
        wanted = stored_value(f, wanted_text)
    except SalesforceError:
        raise SalesforceError(
            "INVALID_QUERY_FILTER_OPERATOR", f"value of filter criterion for field '{f.name}' must be of type {f.type}"
        ) from None
    left: Any
    right: Any
    if f.type in _NUMBER_TYPES:
        left, right = Decimal(stored), Decimal(wanted)  # type: ignore[arg-type]
    elif f.type in _ID_TYPES or f.type in ("boolean", "date", "datetime"):
        left, right = stored, wanted  # canonical forms compare as they are
    else:
        left, right = fold(stored), fold(wanted)  # type: ignore[arg-type]
    if operator == "=":
        return left == right
    if operator == "!=":
        return left != right
    if operator == "<":
        return left < right
    if operator == "<=":
        return left <= right
    if operator == ">":
        return left > right
    return left >= right


class SalesforceOrg(FolderFamily):
    """The org simulator (see the module docstring); implements `SalesforceCRM`."""

    PROVIDES: ClassVar[type] = SalesforceCRM
    SCHEMA = _SCHEMA
    FOLDER = FOLDER

    def __init__(self, db: sqlite3.Connection, transaction: Transaction) -> None:
        super().__init__(db, transaction)
        self._schemas: dict[str, SObjectSchema] = {}

    # ---- seeding -------------------------------------------------------------------------

    def seed(self, workspace: Workspace) -> None:
        names = workspace.files(FOLDER, (".csv", ".json"))
        declared: dict[str, tuple[str, list[SalesforceField]]] = {}
        seeds: dict[str, tuple[str, list[str], list[dict[str, Any]]]] = {}
        for file_name in names:
            base = file_name.rsplit("/", 1)[-1]
            where = str(workspace.root / file_name)
            if base.lower() == JOB_SOURCES:
                self._seed_job_sources(workspace.read_json(file_name), where)
            elif base.lower().endswith(".schema.json"):
                sobject = base[: -len(".schema.json")]
                declared[fold(sobject)] = (sobject, _declared_fields(workspace.read_json(file_name), where))
            else:
                sobject, _, suffix = base.rpartition(".")
                if not _NAME.match(sobject):
                    raise ScriptError(f"{where}: {sobject!r} is not an object's API name (letters, digits and _)")
                columns, rows = _read_seed(workspace, file_name, suffix.lower(), where)
                seeds[fold(sobject)] = (sobject, columns, rows)
        for key in sorted({*declared, *seeds}):
            name = (declared.get(key) or seeds[key])[0]
            standard = STANDARD_OBJECTS.get(key)
            fields = declared[key][1] if key in declared else _standard_fields(key)
            if standard is not None and key not in declared:
                name = standard[0]
            columns = seeds[key][1] if key in seeds else []
            schema = _schema(name, fields, columns if key not in declared else [])
            self.db.execute(
                "INSERT OR REPLACE INTO _ampc_salesforce_object (name, fields) VALUES (?, ?)", (name, schema.to_json())
            )
            where = str(workspace.root / FOLDER / name)
            for number, row in enumerate(seeds.get(key, (None, [], []))[2], start=1):
                try:
                    self._insert(schema, row, seeded=True)
                except ScriptError as error:
                    raise ScriptError(f"{where} (record {number}): {error.message}") from None

    def _seed_job_sources(self, data: Any, where: str) -> None:
        if not isinstance(data, dict) or not all(isinstance(rows, list) for rows in data.values()):
            raise ScriptError(f'{where}: expected {{"<job ID>": [{{"SourceID": ..., "SourceType": ...}}, ...]}}')
        for job_id, rows in data.items():
            for row in rows:
                if not isinstance(row, dict):
                    raise ScriptError(f"{where}: job {job_id}: every source is an object, got {row!r}")
                self.db.execute(
                    "INSERT INTO _ampc_salesforce_job_source (job_id, source) VALUES (?, ?)",
                    (str(job_id).strip(), json.dumps({name: to_text(value) for name, value in row.items()})),
                )

    # ---- the capability ------------------------------------------------------------------

    def schema(self, sobject: str) -> SObjectSchema:
        name = sobject.strip()
        cached = self._schemas.get(fold(name))
        if cached is not None:
            return cached
        found = self.db.execute("SELECT name, fields FROM _ampc_salesforce_object WHERE name = ?", (name,)).fetchone()
        if found is None:
            standard = STANDARD_OBJECTS.get(fold(name))
            if standard is None:
                raise SalesforceError("INVALID_TYPE", f"sObject type '{name}' is not supported.")
            schema = _schema(standard[0], _standard_fields(fold(name)), [])
        else:
            schema = SObjectSchema.from_json(found[0], found[1])
        self._schemas[fold(name)] = schema
        return schema

    def create(self, sobject: str, values: Sequence[tuple[str, Any]]) -> str:
        schema = self.schema(sobject)
        with self.transaction():
            return self._insert(schema, dict(values), seeded=False)

    def _insert(self, schema: SObjectSchema, values: dict[str, Any], *, seeded: bool) -> str:
        record: dict[str, str | None] = {}
        given_id = None
        for name, value in values.items():
            f = schema.field(name)
            if f.name == "Id":
                if not seeded:
                    raise SalesforceError("INVALID_FIELD", "The Id field should not be specified in the sobject data.")
                given_id = stored_value(f, value)
                continue
            if f.name in ("CreatedDate", "LastModifiedDate") and not seeded:
                raise SalesforceError("INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: {f.name}.")
            record[f.name] = stored_value(f, value)
        missing = [f.name for f in schema.fields if f.required and record.get(f.name) is None]
        if missing:
            raise SalesforceError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]")
        now = _utc_now()
        record.setdefault("CreatedDate", now)
        record.setdefault("LastModifiedDate", record["CreatedDate"])
        made = self.db.execute(
            "SELECT records_made FROM _ampc_salesforce_object WHERE name = ?", (schema.name,)
        ).fetchone()
        if made is None:
            self.db.execute(
                "INSERT INTO _ampc_salesforce_object (name, fields) VALUES (?, ?)", (schema.name, schema.to_json())
            )
            made = (0,)
        record_id = given_id
        number = made[0]
        while record_id is None:
            number += 1
            candidate = new_id(schema.name, number)
            if not self.db.execute("SELECT 1 FROM _ampc_salesforce_record WHERE id = ?", (candidate,)).fetchone():
                record_id = candidate
        self.db.execute("UPDATE _ampc_salesforce_object SET records_made = ? WHERE name = ?", (number, schema.name))
        try:
            self.db.execute(
                "INSERT INTO _ampc_salesforce_record (id, sobject, fields) VALUES (?, ?, ?)",
                (record_id, schema.name, json.dumps(record)),
            )
        except sqlite3.IntegrityError:
            raise SalesforceError("DUPLICATE_VALUE", f"duplicate value found: Id duplicates value on record with id: {record_id}") from None
        return record_id

    def retrieve(self, query: SalesforceQuery) -> list[Row]:
        schema = self.schema(query.sobject)
        readers = [self._reader(schema, name) for name in query.fields]
        for condition in query.conditions:
            if condition.operator not in OPERATORS:
                raise SalesforceError(
                    "MALFORMED_QUERY", f"unexpected operator {condition.operator!r}; use one of {' '.join(OPERATORS)}"
                )
        conditions = [(schema.field(c.field), c) for c in query.conditions]
        rows: list[Row] = []
        for record_id, text in self.db.execute(
            "SELECT id, fields FROM _ampc_salesforce_record WHERE sobject = ? ORDER BY rowid", (schema.name,)
        ):
            record = json.loads(text)
            record["Id"] = record_id
            if all(_matches(f, record.get(f.name), c) for f, c in conditions):
                rows.append(Row((name, read(record)) for name, read in readers))
                if len(rows) >= query.limit:
                    break
        return rows

    def _reader(self, schema: SObjectSchema, name: str) -> tuple[str, Callable[[dict[str, Any]], str | None]]:
        """A retrieved column's name and how to read it from a record: a field, or a parent's (``Account.Name``).

        ``Account.Name`` follows the reference field ``AccountId``, and
        ``Parent__r.Name`` the custom ``Parent__c``, to the record it names
        (choice: one level; the column is named as the script wrote it).
        """
        path = name.strip()
        if "." not in path:
            f = schema.field(path)
            return f.name, lambda record: record.get(f.name)
        relation, _, inner = path.partition(".")
        reference_name = relation[:-3] + "__c" if relation.lower().endswith("__r") else relation + "Id"
        try:
            reference = schema.field(reference_name)
        except SalesforceError:
            reference = None
        if reference is None or reference.type not in _ID_TYPES or "." in inner:
            raise SalesforceError(
                "INVALID_FIELD", f"Didn't understand relationship '{relation}' in field path '{path}' on entity '{schema.name}'"
            )

        def read(record: dict[str, Any]) -> str | None:
            parent_id = record.get(reference.name)
            if parent_id is None:
                return None
            found = self.db.execute(
                "SELECT sobject, fields FROM _ampc_salesforce_record WHERE id = ?", (parent_id,)
            ).fetchone()
            if found is None:
                return None
            parent = self.schema(found[0])
            parent_record = json.loads(found[1])
            parent_record["Id"] = parent_id
            return parent_record.get(parent.field(inner).name)

        return path, read

    def update(self, sobject: str, record_id: str, values: Sequence[tuple[str, Any]]) -> bool:
        """True when the record was updated; False for a record error (no such record, a value it refuses)."""
        schema = self.schema(sobject)
        changes: dict[str, Any] = {}
        to_null: list[SalesforceField] = []
        for name, value in values:
            if fold(name.strip()) == "FIELDSTONULL":
                to_null += [schema.field(each) for each in to_text(value).split(",") if each.strip()]
            else:
                changes[schema.field(name).name] = value  # an unknown field is a fault, not a record error
        full_id = canonical_id(record_id.strip())
        if full_id is None:
            return False
        with self.transaction() as db:
            found = db.execute(
                "SELECT fields FROM _ampc_salesforce_record WHERE id = ? AND sobject = ?", (full_id, schema.name)
            ).fetchone()
            if found is None:
                return False
            record = json.loads(found[0])
            try:
                for name, value in changes.items():
                    f = schema.field(name)
                    if f.name in ("Id", "CreatedDate", "LastModifiedDate"):
                        return False
                    record[f.name] = stored_value(f, value)
            except SalesforceError:
                return False
            for f in to_null:
                record[f.name] = None
            if any(f.required and record.get(f.name) is None for f in schema.fields):
                return False
            record["LastModifiedDate"] = _utc_now()
            db.execute("UPDATE _ampc_salesforce_record SET fields = ? WHERE id = ?", (json.dumps(record), full_id))
        return True

    def job_sources(self, job_id: str) -> list[Row]:
        return [
            Row(json.loads(source).items())
            for (source,) in self.db.execute(
                "SELECT source FROM _ampc_salesforce_job_source WHERE job_id = ? ORDER BY position", (job_id.strip(),)
            )
        ]

    def records(self, sobject: str) -> list[Row]:
        """Every record of an object, every field (for tests and tools)."""
        schema = self.schema(sobject)
        return self.retrieve(SalesforceQuery(schema.name, [f.name for f in schema.fields], limit=10**9))


def _standard_fields(key: str) -> list[SalesforceField]:
    """The usual fields of a standard object (by folded name); none for any other object."""
    standard = STANDARD_OBJECTS.get(key)
    return [SalesforceField(*spec) for spec in standard[1]] if standard else []


def _read_seed(workspace: Workspace, file_name: str, suffix: str, where: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and records of a seed file (CSV with a header row, or a JSON list of objects)."""
    if suffix == "csv":
        reader = csv.reader(io.StringIO(workspace.read_text(file_name, newline=""), newline=""))
        header = [column.strip() for column in next(reader, [])]
        rows = []
        for line, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue
            if len(values) > len(header):
                raise ScriptError(f"{where}, line {line}: {len(values)} values for {len(header)} columns")
            rows.append(dict(zip(header, values)))
        return header, rows
    data = workspace.read_json(file_name)
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ScriptError(f"{where}: expected a JSON list of records (field name -> value)")
    columns: list[str] = []
    for item in data:
        columns += [name for name in item if name not in columns]
    return columns, data
