"""Data extensions: typed tables in the simulator's SQLite database.

One SQLite table per data extension, named exactly like it, so that a
QueryDefinition's SQL can name data extensions as Marketing Cloud does
(``SELECT ... FROM [Members]``).  The simulator's own tables are prefixed
``_ampc_`` and cannot collide.

A data extension is seeded from ``DataExtensions/<Name>.csv`` (header row =
field names).  ``DataExtensions/<Name>.schema.json`` may declare its fields::

    {
      "customerKey": "members-key",
      "fields": [
        {"name": "SubscriberKey", "type": "Text", "length": 50, "primaryKey": true},
        {"name": "Points", "type": "Number", "nullable": false},
        {"name": "Balance", "type": "Decimal", "precision": 18, "scale": 2},
        {"name": "Joined", "type": "Date"},
        {"name": "Active", "type": "Boolean", "default": "true"}
      ]
    }

Without a schema every field is nullable Text.  Field types are
Marketing Cloud's (Text, Number, Decimal, Date, Boolean, EmailAddress, Phone,
Locale); values are converted and checked on every write, with an error that
names the data extension, field and value.

Names (of data extensions and fields) are case-insensitive.  Text
comparisons are case-insensitive too, as under Marketing Cloud's
case-insensitive SQL Server collation: text columns carry the
``AMPSCRIPT_CI`` collation, so any SQL (a query activity's) compares them
that way.  Every field is indexed, so a lookup on a large data extension is
an index search; text fields are indexed on their case-folded value
(``ampc_fold(field)``), which costs one Python call per row where an index
on the collation would cost one per comparison, and lookups match on it.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .errors import ScriptError
from .values import Row, parse_boolean, parse_number, to_text
from .values.case import fold
from .values.dates import read_date
from .workspace import Workspace

FIELD_TYPES = ("Text", "Number", "Decimal", "Date", "Boolean", "EmailAddress", "Phone", "Locale")
_TEXT_TYPES = {"text", "emailaddress", "phone", "locale"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_REGISTRY = "_ampc_data_extension"
# A Number field holds SQL Server's int (Marketing Cloud's data extension help:
# whole numbers from -2,147,483,648 to 2,147,483,647); a Decimal field at most
# 29 digits ("For a Decimal field ... the maximum value is 29", Fields.Add,
# https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/ssjs_dataExtensionFieldsAdd.html).
NUMBER_MIN, NUMBER_MAX = -(2**31), 2**31 - 1
DECIMAL_DIGITS = 29


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str = "Text"
    length: int | None = None
    nullable: bool = True
    primary_key: bool = False
    scale: int | None = None  # Decimal: digits after the point
    default: str | None = None


@dataclass
class DataExtensionSpec:
    name: str
    fields: list[FieldSpec]
    customer_key: str | None = None
    _by_name: dict[str, FieldSpec] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_name = {fold(f.name): f for f in self.fields}

    def field(self, name: str) -> FieldSpec:
        spec = self._by_name.get(fold(name))
        if spec is None:
            raise ScriptError(f"data extension '{self.name}' has no field '{name}'")
        return spec

    @property
    def primary_key(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.primary_key]

    def to_json(self) -> str:
        return json.dumps(
            {
                "customerKey": self.customer_key,
                "fields": [
                    {
                        "name": f.name,
                        "type": f.type,
                        "length": f.length,
                        "nullable": f.nullable,
                        "primaryKey": f.primary_key,
                        "scale": f.scale,
                        "default": f.default,
                    }
                    for f in self.fields
                ],
            }
        )

    @classmethod
    def from_json(cls, name: str, data: dict, source: str = "") -> DataExtensionSpec:
        fields = []
        for item in data.get("fields", []):
            kind = next((t for t in FIELD_TYPES if t.lower() == str(item.get("type", "Text")).lower()), None)
            if kind is None:
                raise ScriptError(f"{source}: field type {item.get('type')!r} is not one of {', '.join(FIELD_TYPES)}")
            fields.append(
                FieldSpec(
                    name=item["name"],
                    type=kind,
                    length=item.get("length"),
                    nullable=item.get("nullable", not item.get("primaryKey", False)),
                    primary_key=bool(item.get("primaryKey", False)),
                    scale=item.get("scale"),
                    default=item.get("default"),
                )
            )
        return cls(name, fields, data.get("customerKey"))


def _collate_ignoring_case(left: str, right: str) -> int:
    a, b = fold(left), fold(right)
    return (a > b) - (a < b)


def _fold(value: Any) -> Any:
    """The case-insensitive key of a text value (``ampc_fold`` in SQL): the value core's `fold`."""
    return fold(value) if isinstance(value, str) else value


# PRAGMA user_version of a store whose text indexes key on the value core's
# fold (one-to-one case mapping); earlier state files keyed on Python's
# casefold() and are re-indexed when opened.
_FOLD_VERSION = 2


def _is_text(f: FieldSpec) -> bool:
    return f.type.lower() in _TEXT_TYPES


def _indexed(f: FieldSpec) -> str:
    """What an index (and a case-insensitive match) uses for a field."""
    return f"ampc_fold({quote_identifier(f.name)})" if _is_text(f) else quote_identifier(f.name)


def parse_order_by(text: str) -> list[tuple[str, bool]]:
    """`"Points DESC, [Last Name]"` as (field, descending) pairs; ASC is the default."""
    terms = []
    for part in text.split(","):
        words = part.split()
        if not words:
            continue
        descending = False
        if len(words) > 1 and words[-1].upper() in ("ASC", "DESC"):
            descending = words.pop().upper() == "DESC"
        terms.append((" ".join(words).strip("[]"), descending))
    return terms


def quote_identifier(name: str) -> str:
    """An SQL identifier for any name (double quotes doubled inside)."""
    if "\x00" in name:
        raise ScriptError("a data extension or field name cannot contain NUL")
    return '"' + name.replace('"', '""') + '"'


def is_busy(error: BaseException) -> bool:
    """Is this SQLite's "database is locked": another connection holds the lock it waited for?"""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_BUSY  # SQLITE_BUSY and its extended codes
    return "database is locked" in str(error)


class DataExtensionStore:
    """The data extensions of one SQLite connection, and its transactions.

    Transactions (see `transaction` and `render`): a write transaction
    starts with ``BEGIN IMMEDIATE``, so it takes the database's write lock
    first and waits for it (the connection's busy timeout) while another
    connection holds it; a transaction that read first and then had to
    upgrade could not wait, and would fail at once.  If the lock is not
    free in time, `locked()` says so (the simulator makes it a clear error
    naming the state file and the limit).
    """

    def __init__(self, db: sqlite3.Connection, *, locked: Callable[[], Exception] | None = None) -> None:
        self.db = db
        self._locked = locked or (lambda: ScriptError("the database is locked by another connection"))
        db.create_collation("AMPSCRIPT_CI", _collate_ignoring_case)
        db.create_function("ampc_fold", 1, _fold, deterministic=True)
        if db.execute("PRAGMA user_version").fetchone()[0] < _FOLD_VERSION:
            db.execute("REINDEX")  # indexes an earlier version built with another fold
            db.execute(f"PRAGMA user_version = {_FOLD_VERSION}")
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {_REGISTRY} "
            "(name TEXT PRIMARY KEY COLLATE NOCASE, customer_key TEXT COLLATE NOCASE, spec TEXT NOT NULL)"
        )
        self._specs: dict[str, DataExtensionSpec] = {}
        self._depth = 0  # savepoints open
        self._data_version: int | None = None  # PRAGMA data_version when the definitions were read
        self._render_open = False  # inside `render()`
        self._render_transaction = False  # the render's write transaction is open
        self._load_specs()

    def _load_specs(self) -> None:
        """Read the definitions from the database (again, after a rollback undid some)."""
        self._specs = {}
        self._data_version = self.db.execute("PRAGMA data_version").fetchone()[0]
        for name, spec in self.db.execute(f"SELECT name, spec FROM {_REGISTRY}"):
            self._remember(DataExtensionSpec.from_json(name, json.loads(spec)))

    def refresh(self) -> None:
        """Read the definitions again if another connection has committed changes since."""
        if self.db.execute("PRAGMA data_version").fetchone()[0] != self._data_version:
            self._load_specs()

    def _remember(self, spec: DataExtensionSpec) -> None:
        self._specs[fold(spec.name)] = spec
        if spec.customer_key:
            self._specs.setdefault(fold(spec.customer_key), spec)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: a write that fails half-way changes nothing.

        Outside a transaction this begins one (taking the write lock, see the
        class); inside another it is a savepoint, so an inner failure undoes
        only the inner work.
        """
        with self.savepoint() as db:
            yield db

    @contextmanager
    def savepoint(self, keep: Callable[[BaseException], bool] = lambda error: False) -> Iterator[sqlite3.Connection]:
        """A savepoint: released on success; on an error rolled back unless `keep(error)`.

        If no transaction is open, one begins here; it commits when the
        savepoint ends, unless a `render()` is open, which then holds it (and
        the write lock) until the render ends.
        """
        began = not self.db.in_transaction
        if began:
            self._begin()
            if self._render_open:
                self._render_transaction = True
        self._depth += 1
        name = f"_ampc_{self._depth}"
        try:
            self.db.execute(f"SAVEPOINT {name}")
            try:
                yield self.db
            except BaseException as error:
                if not keep(error):
                    self.db.execute(f"ROLLBACK TO {name}")
                    self._load_specs()
                self.db.execute(f"RELEASE {name}")
                raise
            else:
                self.db.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1
            if began and not self._render_transaction:
                self._end(commit=True)  # what the savepoint kept

    @contextmanager
    def render(self, keep: Callable[[BaseException], bool]) -> Iterator[None]:
        """A render's writes: one transaction, committed when the render ends, rolled back unless `keep(error)`.

        Nothing is locked until the render's first write (`savepoint`), so a
        render that only reads never waits for, nor blocks, another process;
        from that write on the render holds the write lock until it ends.
        """
        if self._render_open:  # already inside one (included content renders in its includer's)
            yield
            return
        if self.db.in_transaction:  # inside a transaction someone else opened: a savepoint of it
            with self.savepoint(keep):
                yield
            return
        self.refresh()  # another process may have defined or dropped data extensions since
        self._render_open = True
        try:
            yield
        except BaseException as error:
            self._close_render(commit=keep(error))
            raise
        else:
            self._close_render(commit=True)

    def _close_render(self, commit: bool) -> None:
        self._render_open = False
        if self._render_transaction:
            self._render_transaction = False
            self._end(commit)

    def _begin(self) -> None:
        """Begin a write transaction: wait for the write lock (the busy timeout), then read fresh definitions."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if is_busy(error):
                raise self._locked() from None
            raise
        self.refresh()

    def _end(self, commit: bool) -> None:
        if not self.db.in_transaction:
            return
        if commit:
            try:
                self.db.execute("COMMIT")
                return
            except sqlite3.OperationalError as error:  # only without WAL: readers kept the file busy
                self.db.execute("ROLLBACK")
                self._load_specs()
                if is_busy(error):
                    raise self._locked() from None
                raise
        self.db.execute("ROLLBACK")
        self._load_specs()

    # ---- definitions ---------------------------------------------------------------

    def define(self, spec: DataExtensionSpec) -> None:
        """Create the data extension's table (and an index per field)."""
        if fold(spec.name) in self._specs:
            raise ScriptError(f"data extension '{spec.name}' already exists")
        if spec.name.lower().startswith(("_ampc_", "sqlite_")):
            raise ScriptError(f"'{spec.name}' is a reserved name")
        table = quote_identifier(spec.name)
        columns = []
        for f in spec.fields:
            affinity = {"number": "INTEGER", "decimal": "REAL", "boolean": "INTEGER"}.get(f.type.lower(), "TEXT")
            collate = " COLLATE AMPSCRIPT_CI" if affinity == "TEXT" else ""
            columns.append(f"{quote_identifier(f.name)} {affinity}{collate}")
        with self.transaction() as db:
            db.execute(f"CREATE TABLE {table} ({', '.join(columns) or '_ampc_empty INTEGER'})")
            for position, f in enumerate(spec.fields):
                index = quote_identifier(f"_ampc_{spec.name}_{position}")
                db.execute(f"CREATE INDEX {index} ON {table} ({_indexed(f)})")
            if spec.primary_key:
                # Text keys are unique case-insensitively, so 'a' and 'A' clash, as
                # under SQL Server's case-insensitive collation.
                key = ", ".join(_indexed(f) for f in spec.primary_key)
                db.execute(f"CREATE UNIQUE INDEX {quote_identifier(f'_ampc_{spec.name}_key')} ON {table} ({key})")
            db.execute(
                f"INSERT INTO {_REGISTRY} (name, customer_key, spec) VALUES (?, ?, ?)",
                (spec.name, spec.customer_key, spec.to_json()),
            )
        self._remember(spec)

    def drop(self, name: str) -> None:
        """Delete a data extension, its rows and its definition."""
        spec = self.spec(name)
        with self.transaction() as db:
            db.execute(f"DROP TABLE {quote_identifier(spec.name)}")
            db.execute(f"DELETE FROM {_REGISTRY} WHERE name = ?", (spec.name,))
        self._load_specs()

    def spec(self, name: str) -> DataExtensionSpec:
        spec = self._specs.get(fold(to_text(name)))
        if spec is None:
            raise ScriptError(f"data extension '{to_text(name)}' does not exist")
        return spec

    def exists(self, name: str) -> bool:
        return fold(to_text(name)) in self._specs

    def names(self) -> list[str]:
        return sorted({spec.name for spec in self._specs.values()}, key=str.lower)

    def seed_from_folder(self, workspace: Workspace, folder: str = "DataExtensions") -> None:
        """Define and fill every DataExtensions/<Name>.csv (with its optional .schema.json).

        The files are found and read through the workspace, so a link among
        them that leads outside the workspace is an error naming it.
        """
        for csv_name in workspace.files(folder, (".csv",)):
            csv_path = workspace.root / csv_name  # as messages show it
            name = csv_name.rsplit("/", 1)[-1][: -len(".csv")]
            if self.exists(name):
                continue
            reader = csv.reader(io.StringIO(workspace.read_text(csv_name, newline=""), newline=""))
            header = next(reader, [])
            rows = list(reader)
            schema_name = f"{csv_name[: -len('.csv')]}.schema.json"
            if workspace.is_file(schema_name):
                data = workspace.read_json(schema_name)
                spec = DataExtensionSpec.from_json(name, data, str(workspace.root / schema_name))
            else:
                spec = DataExtensionSpec(name, [FieldSpec(column.strip()) for column in header])
            with self.transaction():
                self.define(spec)
                records = []
                for number, values in enumerate(rows, start=2):
                    record = {column.strip(): (value if value != "" else None) for column, value in zip(header, values)}
                    try:
                        self._record(spec, record)  # check each row, to report its line
                    except ScriptError as error:
                        raise ScriptError(f"{csv_path}:{number}: {error.message}") from None
                    records.append(record)
                try:
                    self.insert_many(name, records)
                except ScriptError as error:
                    raise ScriptError(f"{csv_path}: {error.message}") from None

    # ---- values ----------------------------------------------------------------------

    def to_storage(self, spec: DataExtensionSpec, f: FieldSpec, value: Any) -> Any:
        """A value as stored in field `f`, or a ScriptError that says why it does not fit."""
        if value is None or (value == "" and f.type.lower() not in _TEXT_TYPES):
            return None
        kind = f.type.lower()

        def invalid(expected: str) -> ScriptError:
            return ScriptError(
                f"invalid value {to_text(value)!r} for field '{f.name}' of data extension '{spec.name}': "
                f"expected {expected}"
            )

        if kind in _TEXT_TYPES:
            text = to_text(value)
            limit = f.length or (50 if kind == "text" else None)
            if limit is not None and len(text) > limit:
                raise invalid(f"at most {limit} characters")
            if kind == "emailaddress" and text and not _EMAIL.match(text):
                raise invalid("an email address")
            return text
        if kind == "number":
            number = parse_number(value)
            if number is None or (isinstance(number, Decimal) and number != number.to_integral_value()):
                raise invalid("a whole number")
            if not NUMBER_MIN <= number <= NUMBER_MAX:
                raise invalid(f"a whole number from {NUMBER_MIN:,} to {NUMBER_MAX:,}")
            return int(number)
        if kind == "decimal":
            number = parse_number(value)
            if number is None:
                raise invalid("a number")
            number = Decimal(number)
            if number and number.adjusted() + 1 + (f.scale or 0) > DECIMAL_DIGITS:
                raise invalid(f"a number of at most {DECIMAL_DIGITS} digits")
            if f.scale is not None:
                number = number.quantize(Decimal(1).scaleb(-f.scale))
            return float(number)
        if kind == "boolean":
            flag = parse_boolean(value)
            if flag is None:
                raise invalid("true or false")
            return int(flag)
        if kind == "date":
            moment = read_date(value)  # the one date parser: what AMPscript reads as a date
            if moment is None:
                raise invalid("a date")
            return moment.isoformat(sep=" ")
        raise AssertionError(kind)

    @staticmethod
    def from_storage(f: FieldSpec, stored: Any) -> Any:
        if stored is None:
            return None
        kind = f.type.lower()
        if kind == "number":
            return int(stored)
        if kind == "decimal":
            number = Decimal(repr(float(stored)))
            return number.quantize(Decimal(1).scaleb(-f.scale)) if f.scale is not None else number
        if kind == "boolean":
            return bool(stored)
        if kind == "date":
            return _dt.datetime.fromisoformat(stored)
        return stored

    # ---- reading -----------------------------------------------------------------------

    def _where(
        self, spec: DataExtensionSpec, criteria: Sequence[tuple[str, Any]], case_sensitive: bool
    ) -> tuple[str, list[Any]]:
        clauses, parameters = [], []
        for name, value in criteria:
            f = spec.field(to_text(name))
            column = quote_identifier(f.name)
            try:
                stored = self.to_storage(spec, f, value)
            except ScriptError:
                return "0", []  # a value the field cannot hold matches no row
            if stored is None:
                clauses.append(f"{column} IS NULL")
            elif _is_text(f) and case_sensitive:
                clauses.append(f"{column} = ? COLLATE BINARY")
                parameters.append(stored)
            else:
                clauses.append(f"{_indexed(f)} = ?")
                parameters.append(_fold(stored))
        return (" AND ".join(clauses) or "1"), parameters

    def _order(self, spec: DataExtensionSpec, order_by: str | None) -> str:
        """`"Field ASC, Other DESC"` as an ORDER BY clause (fields checked against the spec)."""
        terms = [
            f"{_indexed(spec.field(name))} {'DESC' if descending else 'ASC'}"
            for name, descending in parse_order_by(order_by or "")
        ]
        return ", ".join([*terms, "rowid"])

    def rows(
        self,
        name: str,
        criteria: Sequence[tuple[str, Any]] = (),
        *,
        order_by: str | None = None,
        limit: int | None = None,
        case_sensitive: bool = False,
    ) -> list[Row]:
        spec = self.spec(name)
        where, parameters = self._where(spec, criteria, case_sensitive)
        sql = f"SELECT * FROM {quote_identifier(spec.name)} WHERE {where} ORDER BY {self._order(spec, order_by)}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._row(spec, values) for values in self.db.execute(sql, parameters)]

    def _row(self, spec: DataExtensionSpec, values: Iterable[Any]) -> Row:
        return Row((f.name, self.from_storage(f, value)) for f, value in zip(spec.fields, values))

    def count(self, name: str, criteria: Sequence[tuple[str, Any]] = ()) -> int:
        spec = self.spec(name)
        where, parameters = self._where(spec, criteria, False)
        return self.db.execute(f"SELECT COUNT(*) FROM {quote_identifier(spec.name)} WHERE {where}", parameters).fetchone()[0]

    # ---- writing -----------------------------------------------------------------------

    def _prepared(self, spec: DataExtensionSpec, values: dict[str, Any]) -> dict[str, Any]:
        return {spec.field(name).name: self.to_storage(spec, spec.field(name), value) for name, value in values.items()}

    def _record(self, spec: DataExtensionSpec, values: dict[str, Any]) -> tuple[Any, ...]:
        """A new row's stored values in field order, defaults filled in and required fields checked."""
        given = self._prepared(spec, values)
        record = []
        for f in spec.fields:
            value = given.get(f.name)
            if f.name not in given and f.default is not None:
                value = self.to_storage(spec, f, f.default)
            if value is None and (not f.nullable or f.primary_key):
                raise ScriptError(f"field '{f.name}' of data extension '{spec.name}' requires a value")
            record.append(value)
        return tuple(record)

    def _write(
        self, spec: DataExtensionSpec, sql: str, parameters: list[Sequence[Any]], key_values: dict[str, Any] | None = None
    ) -> int:
        """Run an INSERT or UPDATE, turning a primary key clash into Marketing Cloud's error."""
        with self.transaction() as db:
            try:
                return db.executemany(sql, parameters).rowcount
            except sqlite3.IntegrityError:
                if key_values:
                    shown = ", ".join(f"{name} = {to_text(value)!r}" for name, value in key_values.items())
                else:
                    shown = "the same " + ", ".join(f.name for f in spec.primary_key)
                raise ScriptError(
                    f"violation of the primary key of data extension '{spec.name}': a row with {shown} exists"
                ) from None

    def insert(self, name: str, values: dict[str, Any]) -> int:
        return self.insert_many(name, [values])

    def insert_many(self, name: str, rows: Iterable[dict[str, Any]]) -> int:
        """Insert rows in one transaction (all or none); returns how many."""
        spec = self.spec(name)
        records = [self._record(spec, values) for values in rows]
        if not spec.fields or not records:
            return 0
        columns = ", ".join(quote_identifier(f.name) for f in spec.fields)
        marks = ", ".join("?" for _ in spec.fields)
        key_values = None
        if len(records) == 1:  # one row: name its key in the error
            key_values = {f.name: value for f, value in zip(spec.fields, records[0]) if f.primary_key}
        sql = f"INSERT INTO {quote_identifier(spec.name)} ({columns}) VALUES ({marks})"
        self._write(spec, sql, records, key_values)
        return len(records)

    def update(self, name: str, criteria: Sequence[tuple[str, Any]], values: dict[str, Any]) -> int:
        spec = self.spec(name)
        changes = self._prepared(spec, values)
        for f in spec.fields:
            if f.name in changes and changes[f.name] is None and (not f.nullable or f.primary_key):
                raise ScriptError(f"field '{f.name}' of data extension '{spec.name}' requires a value")
        where, parameters = self._where(spec, criteria, False)
        if not changes:
            return self.count(spec.name, criteria)
        assignments = ", ".join(f"{quote_identifier(column)} = ?" for column in changes)
        sql = f"UPDATE {quote_identifier(spec.name)} SET {assignments} WHERE {where}"
        return self._write(spec, sql, [[*changes.values(), *parameters]])

    def upsert(self, name: str, criteria: Sequence[tuple[str, Any]], values: dict[str, Any]) -> int:
        with self.transaction():
            updated = self.update(name, criteria, values)
            if updated:
                return updated
            return self.insert(name, {**{to_text(k): v for k, v in criteria}, **values})

    def delete(self, name: str, criteria: Sequence[tuple[str, Any]]) -> int:
        spec = self.spec(name)
        where, parameters = self._where(spec, criteria, False)
        with self.transaction() as db:
            cursor = db.execute(f"DELETE FROM {quote_identifier(spec.name)} WHERE {where}", parameters)
        return cursor.rowcount
