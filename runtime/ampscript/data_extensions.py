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
import functools
import io
import itertools
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .capabilities import ClaimRequest, RowsRequest
from .errors import ScriptError
from .values import Row, parse_boolean, parse_number, to_text
from .values.case import fold
from .values.dates import read_date
from .workspace import Workspace

FIELD_TYPES = ("Text", "Number", "Decimal", "Date", "Boolean", "EmailAddress", "Phone", "Locale")
_TEXT_TYPES = {"text", "emailaddress", "phone", "locale"}
_PLAIN_TEXT_TYPES = {"text", "phone", "locale"}  # checked for their length only
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
    # SQLite calls this once per comparison (building an index on a Date
    # column sorts with it), so ASCII text, the common case, is folded here
    # without the call to `fold`, which maps it the same way (str.upper).
    if left.isascii() and right.isascii():
        a, b = left.upper(), right.upper()
    else:
        a, b = fold(left), fold(right)
    return (a > b) - (a < b)


def _fold(value: Any) -> Any:
    """The case-insensitive key of a text value (``ampc_fold`` in SQL): the value core's `fold`."""
    if type(value) is str and value.isascii():  # once per text field per row written: `fold`'s ASCII case inline
        return value.upper()
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
        # Where the data extensions come from, as a missing one's error says (set by the simulator).
        self.origin: str | None = None
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

    def reload(self) -> None:
        """Read the definitions again: the database was replaced (by a copy of a seeded one)."""
        self._load_specs()

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
    def render(self, keep: Callable[[BaseException], bool], *, discard: bool = False) -> Iterator[None]:
        """A render's writes: one transaction, committed when the render ends, rolled back unless `keep(error)`.

        Nothing is locked until the render's first write (`savepoint`), so a
        render that only reads never waits for, nor blocks, another process;
        from that write on the render holds the write lock until it ends.
        With `discard`, the writes are always rolled back: the next render
        sees the database as this one found it (``ampc batch`` without a
        state file).
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
            self._close_render(commit=keep(error) and not discard)
            raise
        else:
            self._close_render(commit=not discard)

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
        self._check_definable(spec)
        with self.transaction():
            self._create_table(spec)
            self._create_indexes(spec)
        self._remember(spec)

    def _check_definable(self, spec: DataExtensionSpec) -> None:
        if fold(spec.name) in self._specs:
            raise ScriptError(f"data extension '{spec.name}' already exists")
        if spec.name.lower().startswith(("_ampc_", "sqlite_")):
            raise ScriptError(f"'{spec.name}' is a reserved name")

    def _create_table(self, spec: DataExtensionSpec) -> None:
        """The table and its registry entry, without indexes (seeding builds them after the rows)."""
        columns = []
        for f in spec.fields:
            affinity = {"number": "INTEGER", "decimal": "REAL", "boolean": "INTEGER"}.get(f.type.lower(), "TEXT")
            # Date fields hold ISO text (digits, '-', ':', ' '), which the
            # case-insensitive collation orders and matches as the binary one
            # does; without it SQLite compares them itself rather than calling
            # Python per comparison (building the index of a 100,000-row Date
            # field makes about 1.7 million).
            collate = " COLLATE AMPSCRIPT_CI" if _is_text(f) else ""
            columns.append(f"{quote_identifier(f.name)} {affinity}{collate}")
        self.db.execute(f"CREATE TABLE {quote_identifier(spec.name)} ({', '.join(columns) or '_ampc_empty INTEGER'})")
        self.db.execute(
            f"INSERT INTO {_REGISTRY} (name, customer_key, spec) VALUES (?, ?, ?)",
            (spec.name, spec.customer_key, spec.to_json()),
        )

    def _create_indexes(self, spec: DataExtensionSpec) -> None:
        """An index per field, and the primary key's unique index (an IntegrityError if rows already clash)."""
        table = quote_identifier(spec.name)
        for position, f in enumerate(spec.fields):
            index = quote_identifier(f"_ampc_{spec.name}_{position}")
            self.db.execute(f"CREATE INDEX {index} ON {table} ({_indexed(f)})")
        if spec.primary_key:
            # Text keys are unique case-insensitively, so 'a' and 'A' clash, as
            # under SQL Server's case-insensitive collation.
            key = ", ".join(_indexed(f) for f in spec.primary_key)
            self.db.execute(f"CREATE UNIQUE INDEX {quote_identifier(f'_ampc_{spec.name}_key')} ON {table} ({key})")

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
            known = ", ".join(self.names()[:10]) or "none"
            where = f"; data extensions come from {self.origin}" if self.origin else ""
            raise ScriptError(
                f"data extension '{to_text(name)}' does not exist",
                hint=f"known data extensions: {known}{where}",
            )
        return spec

    def exists(self, name: str) -> bool:
        return fold(to_text(name)) in self._specs

    def names(self) -> list[str]:
        return sorted({spec.name for spec in self._specs.values()}, key=str.lower)

    def seed_from_folder(self, workspace: Workspace, folder: str = "DataExtensions") -> bool:
        """Define and fill every DataExtensions/<Name>.csv (with its optional .schema.json).

        The files are found and read through the workspace, so a link among
        them that leads outside the workspace is an error naming it.
        Returns whether what was seeded is the same whenever it is seeded:
        False if a Date value left its date to the clock (``10:30`` is today
        at 10:30), so a copy kept for later (`ampscript.backends.seeding`)
        would go stale.
        """
        reproducible = True
        for csv_name in workspace.files(folder, (".csv",)):
            name = csv_name.rsplit("/", 1)[-1][: -len(".csv")]
            if not self.exists(name):
                reproducible &= self._seed_file(workspace, csv_name, name)
        return reproducible

    def _seed_file(self, workspace: Workspace, csv_name: str, name: str) -> bool:
        """One data extension from its CSV (and schema): all its rows, or none and a located error."""
        csv_path = workspace.root / csv_name  # as messages show it
        reader = csv.reader(io.StringIO(workspace.read_text(csv_name, newline=""), newline=""))
        header = next(reader, [])
        rows = list(reader)
        schema_name = f"{csv_name[: -len('.csv')]}.schema.json"
        if workspace.is_file(schema_name):
            data = workspace.read_json(schema_name)
            spec = DataExtensionSpec.from_json(name, data, str(workspace.root / schema_name))
        else:
            spec = DataExtensionSpec(name, [FieldSpec(column.strip()) for column in header])
        with self.transaction() as db:
            # Table first, rows next, indexes last: building an index once over
            # the loaded rows is several times faster than keeping it up to date
            # row by row, and a failure anywhere rolls the whole file back.
            self._check_definable(spec)
            self._create_table(spec)
            seeded = _CsvRows(self, spec, header, rows, str(csv_path))
            records = seeded.records()
            if spec.fields and records:
                columns = ", ".join(quote_identifier(f.name) for f in spec.fields)
                marks = ", ".join("?" for _ in spec.fields)
                db.executemany(f"INSERT INTO {quote_identifier(spec.name)} ({columns}) VALUES ({marks})", records)
            try:
                self._create_indexes(spec)
            except sqlite3.IntegrityError:  # two rows share a primary key: the unique index cannot be built
                shown = "the same " + ", ".join(f.name for f in spec.primary_key)
                raise ScriptError(
                    f"{csv_path}: violation of the primary key of data extension '{spec.name}': a row with {shown} exists"
                ) from None
        self._remember(spec)
        return seeded.reproducible

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

    def iter_rows(self, name: str, page: int = 1000) -> Iterator[Row]:
        """Every row of a data extension in stored order, read a page at a time (ampc batch --audience-de)."""
        spec = self.spec(name)
        cursor = self.db.execute(f"SELECT * FROM {quote_identifier(spec.name)} ORDER BY rowid")
        while True:
            rows = cursor.fetchmany(page)
            if not rows:
                return
            for values in rows:
                yield self._row(spec, values)

    def select(self, request: RowsRequest) -> list[Row]:
        """The rows a `RowsRequest` asks for (the `DataExtensions` capability's query)."""
        return self.rows(
            request.data_extension,
            request.criteria,
            order_by=request.order_by,
            limit=request.limit,
            case_sensitive=request.case_sensitive,
        )

    def claim(self, request: ClaimRequest) -> Row | None:
        """The row already claimed by these claimant values, or the first unclaimed row, now claimed by them.

        One transaction, so two renders never claim the same row.
        """
        name, claimed_by, claimant = request.data_extension, request.claim_column, list(request.claimant)
        with self.transaction():
            mine = self.rows(name, [*claimant, (claimed_by, True)], limit=1)
            if mine:
                return mine[0]
            unclaimed = self.rows(name, [(claimed_by, False)], limit=1) or self.rows(name, [(claimed_by, None)], limit=1)
            if not unclaimed:
                return None
            row = unclaimed[0]
            key = [(f.name, row[f.name]) for f in self.spec(name).primary_key] or [(f, row[f]) for f in row]
            self.update(name, key, {claimed_by: True, **dict(claimant)})
            return self.rows(name, [*claimant, (claimed_by, True)], limit=1)[0]

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


class _CsvRows:
    """A CSV file's rows as a data extension's records, each value converted and checked once.

    Two ways, with the same results and the same errors:

    * row by row (`_by_rows`), as any insert checks its row (`_record`):
      the reference, used when the file is irregular (a row shorter than the
      header, whose missing fields take their defaults; a header naming no
      field, or one field twice);
    * column by column (`_by_columns`), for the usual regular file: a
      column's distinct values are converted once each (a Date column of
      100,000 rows holds a few thousand dates), the rest is lookups and
      `zip` in C, with no dictionary per row.  It only finds the first row
      with a bad value; that row is then checked row by row, which raises
      the error every earlier version reported (``File.csv:3: invalid
      value ...``).

    `reproducible` is False if a Date value read relative to the clock
    (see `DataExtensionStore.seed_from_folder`).
    """

    def __init__(self, store: DataExtensionStore, spec: DataExtensionSpec, header: list[str],
                 rows: list[list[str]], where: str) -> None:
        self.store = store
        self.spec = spec
        self.header = header
        self.rows = rows
        self.where = where  # the CSV file, as messages name it
        self.reproducible = True

    def records(self) -> list[tuple[Any, ...]]:
        positions = self._positions()
        if positions is not None:
            records = self._by_columns(positions)
            if records is not None:
                return records
        # Row by row: which Date values read relative to the clock is not worked out (rare): keep no copy.
        self.reproducible = not any(f.type.lower() == "date" for f in self.spec.fields)
        return self._by_rows()

    # ---- row by row ---------------------------------------------------------------------

    def _by_rows(self) -> list[tuple[Any, ...]]:
        return [self._record(number, values) for number, values in enumerate(self.rows, start=2)]

    def _record(self, number: int, values: list[str]) -> tuple[Any, ...]:
        """One row's record, or its error located at its line (`number`)."""
        record = {column.strip(): (value if value != "" else None) for column, value in zip(self.header, values)}
        try:
            return self.store._record(self.spec, record)
        except ScriptError as error:
            raise ScriptError(f"{self.where}:{number}: {error.message}") from None

    # ---- column by column ---------------------------------------------------------------

    def _positions(self) -> list[int | None] | None:
        """For each field, the CSV column holding it (None: none, its default applies); None if irregular."""
        width = len(self.header)
        if min(map(len, self.rows), default=width) < width:
            return None
        columns: dict[str, int] = {}
        for position, column in enumerate(self.header):
            f = self.spec._by_name.get(fold(column.strip()))
            if f is None or f.name in columns:
                return None
            columns[f.name] = position
        return [columns.get(f.name) for f in self.spec.fields]

    def _by_columns(self, positions: list[int | None]) -> list[tuple[Any, ...]] | None:
        """The records; None if a bad row raised nothing row by row (never expected: then go row by row)."""
        count = len(self.rows)
        if not count:
            return []
        columns = list(zip(*self.rows))
        converted: list[Iterable[Any]] = []
        first_bad = count  # the first row with a bad value (count: none)
        for f, position in zip(self.spec.fields, positions):
            values, bad = self._constant(f, count) if position is None else self._column(f, columns[position])
            converted.append(values)
            first_bad = min(first_bad, bad)
        if first_bad < count:
            self._record(first_bad + 2, self.rows[first_bad])  # raises that row's error
            return None
        return list(zip(*converted))

    def _required(self, f: FieldSpec) -> bool:
        return not f.nullable or f.primary_key

    def _constant(self, f: FieldSpec, count: int) -> tuple[Iterable[Any], int]:
        """A field no column holds: its default (converted once) or null in every row; 0 if that is bad."""
        value = None
        if f.default is not None:
            try:
                value = self.store.to_storage(self.spec, f, f.default)
            except Exception:  # noqa: BLE001 - whatever it is, the row by row check raises it in its row
                return (), 0
            self._note_date(f, f.default, value)
        if value is None and self._required(f):
            return (), 0
        return itertools.repeat(value, count), count

    def _column(self, f: FieldSpec, column: Sequence[str]) -> tuple[list[Any], int]:
        """A column's stored values and the index of its first bad value (len(column): none)."""
        count = len(column)
        kind = f.type.lower()
        if kind in _PLAIN_TEXT_TYPES and isinstance(f.length, (int, type(None))):
            # What to_storage checks of such text: its length (the empty text is null).
            limit = f.length or (50 if kind == "text" else None)
            values = [value or None for value in column]
            bad = count
            if limit is not None and max(map(len, column)) > limit:
                bad = _first(column, lambda value: len(value) > limit)
        else:
            distinct = set(column).difference([""])
            quick = _QUICK.get(kind)
            stored = quick(f, distinct) if quick is not None else None
            failing: set[str] = set()
            if stored is None:  # not all of the quick shape: one by one
                stored, failing = self._convert_each(f, distinct, quick)
            stored[""] = None  # the empty text is null
            if failing:
                values, bad = [], _first(column, failing.__contains__)
            else:
                values, bad = list(map(stored.__getitem__, column)), count
        if self._required(f) and "" in column:  # the empty text is the only value stored as null
            bad = min(bad, column.index(""))
        return values, bad

    def _convert_each(
        self, f: FieldSpec, distinct: Iterable[str], quick: Callable[[FieldSpec, Iterable[str]], dict | None] | None
    ) -> tuple[dict[str, Any], set[str]]:
        """Each value's stored value, and the values that fail (to be reported in their rows)."""
        stored: dict[str, Any] = {}
        failing: set[str] = set()
        for value in distinct:
            known = quick(f, (value,)) if quick is not None else None
            if known is not None:
                stored.update(known)
                continue
            try:
                stored[value] = self.store.to_storage(self.spec, f, value)
            except Exception:  # noqa: BLE001 - any error: the row by row check meets it in its row, as before
                failing.add(value)
                continue
            self._note_date(f, value, stored[value])
        return stored, failing

    def _note_date(self, f: FieldSpec, text: str, stored: Any) -> None:
        if f.type.lower() == "date" and stored is not None and _reads_clock(text, stored):
            self.reproducible = False


def _first(values: Sequence[Any], test: Callable[[Any], bool]) -> int:
    return next(index for index, value in enumerate(values) if test(value))


def _reads_clock(text: str, stored: str) -> bool:
    """Whether a Date value's text left its date to the clock.

    ``10:30`` is today at 10:30 and ``August 5`` is this year's: seeded
    tomorrow, or next year, they are other dates.  Any text that does not
    show the 4-digit year it was read as counts (a 2-digit year too, to be
    safe).  `stored` is the stored text, ``YYYY-MM-DD HH:MM:SS``.
    """
    return re.search(rf"(?<!\d){re.escape(stored[:4])}(?!\d)", text) is None


# ---- quick conversions ------------------------------------------------------------------
#
# For the commonest shapes of CSV values, what `DataExtensionStore.to_storage`
# stores, found for a column's distinct values at once with C-level map()
# and no parsing per value (a column of 100,000 distinct numbers takes a
# tenth of the time).  Each function gives, for values all of its shape, a
# dictionary of exactly what to_storage gives for each; for any other set of
# values None, and they go to to_storage one by one (so every error is its
# error).


_SMALL_WHOLE = re.compile(r"-?[0-9]{1,9}\Z")  # |n| < 10**9: inside a Number field's range


def _quick_number(f: FieldSpec, values: Iterable[str]) -> dict[str, int] | None:
    # parse_number reads such text as int(text), whole and in range.
    values = list(values)
    return dict(zip(values, map(int, values))) if all(map(_SMALL_WHOLE.match, values)) else None


@functools.lru_cache(maxsize=32)
def _short_decimal(scale: int | None) -> re.Pattern[str] | None:
    """Text with a point and at most `scale` decimals, at most 13 digits before the point.

    With at most 14 decimals that is at most 27 digits: within the 29-digit
    limit and Decimal.quantize's 28 digits.  Whole numbers are left to
    to_storage (it reads "-0" as 0, float() as -0.0).
    """
    decimals = 14 if scale is None else scale
    if not 1 <= decimals <= 14:
        return None
    return re.compile(rf"-?[0-9]{{1,13}}\.[0-9]{{1,{decimals}}}\Z")


def _quick_decimal(f: FieldSpec, values: Iterable[str]) -> dict[str, float] | None:
    if not isinstance(f.scale, (int, type(None))):  # a schema's odd scale: to_storage decides what it means
        return None
    shape = _short_decimal(f.scale)
    values = list(values)
    if shape is None or not all(map(shape.match, values)):
        return None
    # Quantizing to at least as many decimals keeps the value, and float() of
    # the text and of the Decimal are the same correctly rounded double.
    return dict(zip(values, map(float, values)))


def _quick_email(f: FieldSpec, values: Iterable[str]) -> dict[str, str] | None:
    values = list(values)
    limit = f.length or None  # as to_storage reads an EmailAddress field's length
    if not isinstance(limit, (int, type(None))):
        return None
    if limit is not None and max(map(len, values), default=0) > limit:
        return None
    return {value: value for value in values} if all(map(_EMAIL.match, values)) else None


_QUICK: dict[str, Callable[[FieldSpec, Iterable[str]], dict | None]] = {
    "number": _quick_number,
    "decimal": _quick_decimal,
    "emailaddress": _quick_email,
}
