"""The embedded Marketing Cloud simulator: the default backend.

State lives in SQLite (in memory unless a file is given), seeded from the
workspace's ``objects/<ObjectType>.json`` files.  Every call runs in one
transaction, so a call that fails changes nothing.

What it answers is what Marketing Cloud answers for the same call: status
codes (``OK``, ``Error``), the status messages the reference documents, and
a fresh GUID as request ID.

Concurrency: several processes on one state file
------------------------------------------------

A ``--state`` file (``Context(state=...)``) may be used by several
processes at once (two ``ampc run``, ``ampc serve`` and a test run), and by
several contexts in one process; each simulator has its own connection.
SQLite lets one connection write at a time, so (all choices; Marketing
Cloud has no such file):

* The file is in WAL mode: readers never wait for a writer, nor block it,
  and see the last committed state; a render's writes become visible to
  others only when the render ends.  The ``-wal`` and ``-shm`` files beside
  it belong to it while a process has it open.
* A write transaction begins with ``BEGIN IMMEDIATE``, so it waits for the
  write lock at its start (SQLite's busy timeout), never in the middle of a
  transaction that already read something, where SQLite could only fail.
* A render takes the write lock at its first write (a data extension
  function, an Invoke call that may write, a query activity) and holds it
  until it ends: its writes commit together when it ends, or are rolled
  back together by RaiseError() (`render_scope`).  A render that only reads
  takes no lock.  Reads before a render's first write see the last
  committed state of the moment, not a snapshot; from the first write on,
  nothing else changes under the render.  Outside a render every call that
  may write is its own transaction.
* A process that wants the lock waits while another holds it, up to the
  ``stateLockSeconds`` limit (default 10 s, `ampscript.limits`), then stops
  with a `LimitExceeded` error naming the state file and saying how to raise
  the limit, never SQLite's "database is locked".
* A process killed mid-render leaves the file whole: its transaction was
  never committed, and the next process to open the file discards it.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import re
import sqlite3
import uuid
from decimal import Decimal
from typing import Any, TypeVar

from .. import operators
from ..api_objects import ApiObject
from ..api_schema import schema
from ..data_extensions import DataExtensionSpec, DataExtensionStore, is_busy
from ..errors import RaisedError, ScriptError
from ..limits import LimitExceeded, Limits
from . import queries, seeding
from .families import family_types
from ..values import Row, Rowset, field_at_path, to_text
from ..values.case import fold
from ..workspace import Workspace
from ..capabilities import ApiObjects, DataExtensions
from .base import CallResult, RetrieveResult

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS _ampc_api_object (
    id INTEGER PRIMARY KEY,
    object_type TEXT NOT NULL COLLATE NOCASE,
    properties TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS _ampc_api_object_type ON _ampc_api_object (object_type);
CREATE TABLE IF NOT EXISTS _ampc_unsub_event (
    id INTEGER PRIMARY KEY,
    subscriber_key TEXT,
    email_address TEXT,
    job_id TEXT,
    list_id TEXT,
    batch_id TEXT,
    reason TEXT,
    logged_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS _ampc_outbox (
    id INTEGER PRIMARY KEY,
    definition_key TEXT,
    subscriber_key TEXT,
    email_address TEXT,
    attributes TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS _ampc_meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS _ampc_activity (
    id INTEGER PRIMARY KEY,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_key TEXT,
    status TEXT NOT NULL DEFAULT 'Complete',
    message TEXT,
    happened_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
"""

# Keys that identify an object, in the order Marketing Cloud looks at them.
_IDENTIFYING = ("ObjectID", "CustomerKey", "ID", "Name")
_IDENTIFYING_BY_TYPE = {"subscriber": ("SubscriberKey", "EmailAddress", "ID", "CustomerKey")}

# Status messages of successful calls, as Marketing Cloud words them.
_CREATED = {"subscriber": "Created Subscriber."}
_UPDATED = {"subscriber": "Updated Subscriber."}



def _json_default(value: Any) -> Any:
    """Dates and decimals are stored as the text the SOAP API would carry."""
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__}")


def _dumps(properties: dict[str, Any]) -> str:
    return json.dumps(properties, default=_json_default)


def _writing(method):
    """A call that may write runs in one transaction, begun before it looks anything up.

    So the write lock is taken before the call's checks (does the object
    exist?), and no other process can change what it checked before it
    writes.
    """

    @functools.wraps(method)
    def call(self: Simulator, *args: Any, **kwargs: Any) -> Any:
        with self._transaction():
            return method(self, *args, **kwargs)

    return call


class Simulator:
    """The embedded Marketing Cloud: data extensions, API objects and the connected clouds, in one SQLite database."""

    name = "the embedded simulator"

    def capability(self, kind: type[T]) -> T | None:
        """Everything but content, which the context reads from the workspace itself (`Context.capability`)."""
        if kind is DataExtensions:
            return self.data_extensions  # type: ignore[return-value]
        if kind is ApiObjects:
            return self  # type: ignore[return-value]
        for family in self.families:
            if family.PROVIDES is kind:
                return family
        return None

    def __init__(self, database: str = ":memory:", *, limits: Limits | None = None) -> None:
        self.database = database
        self.limits = limits or Limits()
        # isolation_level=None: Python's sqlite3 issues no BEGIN of its own;
        # the store begins its transactions itself (BEGIN IMMEDIATE).
        # timeout: SQLite's busy timeout, how long to wait for another
        # process's write lock.
        self.db = sqlite3.connect(
            database, isolation_level=None, check_same_thread=False, timeout=self.limits.state_lock_seconds
        )
        try:
            if database != ":memory:":
                self.db.execute("PRAGMA journal_mode=WAL")  # readers see the last commit while a writer writes
            self.db.executescript(_SCHEMA)
            self.data_extensions = DataExtensionStore(self.db, locked=self._state_locked)
            self.families = [make(self.db, self._transaction) for make in family_types()]
            for family in self.families:
                family.create_tables()
        except sqlite3.OperationalError as error:
            self.db.close()
            if is_busy(error):
                raise self._state_locked() from None
            raise
        self._pending: dict[str, list[Row]] = {}  # request ID -> rows not returned yet

    def _state_locked(self) -> LimitExceeded:
        """The error when another process held the state file's write lock for longer than the limit."""
        seconds = f"{self.limits.state_lock_seconds:g}"
        where = f"the state file {self.database}" if self.database != ":memory:" else "the simulator's database"
        return LimitExceeded(
            f"{where} is busy: another process is writing to it and did not finish within {seconds} seconds"
            f" (limit stateLockSeconds = {seconds})",
            "state_lock_seconds",
            self.limits,
        )

    @classmethod
    def from_workspace(
        cls, workspace: Workspace, database: str = ":memory:", *, limits: Limits | None = None
    ) -> Simulator:
        """A simulator seeded from the workspace; a state file already seeded is left as it is.

        In memory (no state file), it starts from a copy of the database
        seeded earlier from the same files, in this process or a previous
        one, if there is one (`seeding`): each such simulator is a fresh
        copy of the seed, as if it had been seeded itself.
        """
        simulator = cls(database, limits=limits)
        folder = workspace.root / seeding.DATA_EXTENSIONS
        simulator.data_extensions.origin = f"the workspace's {seeding.DATA_EXTENSIONS}/ folder ({folder})"
        if database == ":memory:":
            if seeding.seed(simulator.db, workspace, lambda: simulator._seed(workspace)):
                simulator.data_extensions.reload()  # the copy replaced the database the store had read
            return simulator
        seeded = simulator.db.execute("SELECT value FROM _ampc_meta WHERE key = 'seeded'").fetchone()
        if seeded is None:
            with simulator._transaction() as db:
                if db.execute("SELECT 1 FROM _ampc_meta WHERE key = 'seeded'").fetchone():
                    return simulator  # another process seeded the file while this one waited for its lock
                simulator._seed(workspace)
        return simulator

    def _seed(self, workspace: Workspace) -> bool:
        """Fill the database from the workspace's files, in one transaction.

        Returns whether the result is the same whenever the files are seeded
        (see `DataExtensionStore.seed_from_folder`), so a copy may be kept.
        """
        with self._transaction() as db:
            for object_type, objects in workspace.seeded_objects().items():
                for properties in objects:
                    self._insert(object_type, properties)
            self._seed_subscriber(workspace.subscriber())
            reproducible = self.data_extensions.seed_from_folder(workspace)
            for family in self.families:
                family.seed(workspace)
            db.execute("INSERT INTO _ampc_meta (key, value) VALUES ('seeded', '1')")
        return reproducible

    def _seed_subscriber(self, attributes: dict[str, Any]) -> None:
        """The workspace's subscriber.json is a subscriber of the account too (unless objects/ has it)."""
        row = Row(attributes)
        key = row.get("SubscriberKey") or row.get("_subscriberkey")
        email = row.get("EmailAddress") or row.get("emailaddr") or row.get("Email Address")
        if not (key or email):
            return
        probe = ApiObject("Subscriber")
        probe.set("SubscriberKey", key)
        probe.set("EmailAddress", email)
        if self.find(probe) is not None:
            return
        plain = {"SubscriberKey", "_subscriberkey", "EmailAddress", "emailaddr", "Email Address"}
        self._insert(
            "Subscriber",
            {
                "ID": self._next_id("Subscriber"),
                "SubscriberKey": to_text(key or email),
                "EmailAddress": to_text(email),
                "Status": "Active",
                "Attributes": [
                    {"Name": name, "Value": to_text(value)} for name, value in attributes.items() if name not in plain
                ],
            },
        )

    # ---- storage -------------------------------------------------------------

    def _transaction(self):
        return self.data_extensions.transaction()

    def render_scope(self):
        """Undo a render's writes if it stops with RaiseError() (unless told to preserve them).

        Marketing Cloud rolls back only data extension writes; the simulator
        keeps everything in one database, so API object changes made by the
        same render are rolled back with them.  The render holds the write
        lock from its first write to its end (see the module docstring).
        """
        return self.data_extensions.render(
            keep=lambda error: not isinstance(error, RaisedError) or error.preserve_data_extension_changes
        )

    def _insert(self, object_type: str, properties: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO _ampc_api_object (object_type, properties) VALUES (?, ?)",
            (object_type, _dumps(properties)),
        )

    def objects(self, object_type: str) -> list[tuple[int, Row]]:
        rows = self.db.execute(
            "SELECT id, properties FROM _ampc_api_object WHERE object_type = ? ORDER BY id", (object_type,)
        )
        return [(row_id, Row(json.loads(properties))) for row_id, properties in rows]

    def find(self, target: ApiObject) -> tuple[int, Row] | None:
        """The stored object the target identifies (by ObjectID, CustomerKey, ID or Name)."""
        for key in _IDENTIFYING_BY_TYPE.get(target.object_type.lower(), _IDENTIFYING):
            wanted = target.get(key)
            if wanted in (None, ""):
                continue
            for row_id, row in self.objects(target.object_type):
                if key in row and operators.eq(row[key], wanted):
                    return row_id, row
            return None
        return None

    def unsub_events(self) -> list[dict[str, Any]]:
        cursor = self.db.execute(
            "SELECT subscriber_key, email_address, job_id, list_id, batch_id, reason FROM _ampc_unsub_event ORDER BY id"
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor]

    def activity(self) -> list[tuple[str, str, str | None, str, str | None]]:
        """What ran: (action, object type, object key, status, message), oldest first."""
        return list(
            self.db.execute("SELECT action, object_type, object_key, status, message FROM _ampc_activity ORDER BY id")
        )

    # ---- Create / Update / Delete ----------------------------------------------

    @_writing
    def create(self, target: ApiObject, options: ApiObject | None = None) -> CallResult:
        kind = target.object_type.lower()
        if kind == "dataextensionobject":
            return self._write_row(target, options, "create")
        if kind == "triggeredsend":
            return self._trigger_send(target)
        missing = [name for name in _REQUIRED_ON_CREATE.get(kind, ()) if target.get(name) in (None, "", [])]
        if missing:
            return CallResult("Error", f"{target.object_type}: required property {missing[0]} is missing")
        if kind == "dataextension":
            return self._create_data_extension(target)
        if self.find(target) is not None:
            if _save_action(options) == "updateadd":
                return self.update(target, options)
            return self._duplicate(target)
        properties = target.to_dict()
        with self._transaction():
            new_id = self._next_id(target.object_type) if "ID" not in properties else properties["ID"]
            properties.setdefault("ID", new_id)
            properties.setdefault("ObjectID", str(uuid.uuid4()))
            self._insert(target.object_type, properties)
        message = _CREATED.get(target.object_type.lower(), f"Created {target.object_type}")
        return CallResult("OK", message, new_id=new_id)

    @_writing
    def update(self, target: ApiObject, options: ApiObject | None = None) -> CallResult:
        if target.object_type.lower() == "dataextensionobject":
            return self._write_row(target, options, "update")
        found = self.find(target)
        if found is None:
            if _save_action(options) == "updateadd":
                return self.create(target)
            return self._not_found(target)
        row_id, stored = found
        merged = _merge(dict(stored), target.to_dict())
        with self._transaction() as db:
            db.execute("UPDATE _ampc_api_object SET properties = ? WHERE id = ?", (_dumps(merged), row_id))
        return CallResult("OK", _UPDATED.get(target.object_type.lower(), f"Updated {target.object_type}"))

    @_writing
    def delete(self, target: ApiObject, options: ApiObject | None = None) -> CallResult:
        if target.object_type.lower() == "dataextensionobject":
            return self._write_row(target, options, "delete")
        if target.object_type.lower() == "dataextension":
            name = to_text(target.get("CustomerKey")) or to_text(target.get("Name"))
            if not self.data_extensions.exists(name):
                return self._not_found(target)
            self.data_extensions.drop(name)
            return CallResult("OK", "Deleted")
        found = self.find(target)
        if found is None:
            return self._not_found(target)
        with self._transaction() as db:
            db.execute("DELETE FROM _ampc_api_object WHERE id = ?", (found[0],))
        return CallResult("OK", "Deleted")

    # A DataExtensionObject is a row: CustomerKey or Name names the data
    # extension, Properties (APIProperty Name/Value) hold the field values and
    # Keys the primary key values that Update and Delete match on.
    def _write_row(self, target: ApiObject, options: ApiObject | None, method: str) -> CallResult:
        name = to_text(target.get("CustomerKey")) or to_text(target.get("Name"))
        store = self.data_extensions
        if not name or not store.exists(name):
            return CallResult("Error", f"Data extension '{name}' does not exist" if name else "CustomerKey or Name is required")
        values = _api_properties(target.get("Properties"))
        keys = list(_api_properties(target.get("Keys")).items())
        if method != "create" and not keys:
            keys = [(f.name, values.pop(f.name, None)) for f in store.spec(name).primary_key if f.name in values]
        try:
            if method == "create":
                if _save_action(options) == "updateadd" and keys:
                    store.upsert(name, keys, values)
                else:
                    store.insert(name, {**dict(keys), **values})
                return CallResult("OK", "Created DataExtensionObject")
            if not keys:
                return CallResult("Error", "Keys are required to identify the row")
            if method == "update":
                changed = store.upsert(name, keys, values) if _save_action(options) == "updateadd" else store.update(name, keys, values)
                if not changed:
                    return CallResult("Error", "No row matched the keys")
                return CallResult("OK", "Updated DataExtensionObject")
            if not store.delete(name, keys):
                return CallResult("Error", "No row matched the keys")
            return CallResult("OK", "Deleted")
        except ScriptError as error:
            return CallResult("Error", error.message)

    def _create_data_extension(self, target: ApiObject) -> CallResult:
        """A DataExtension with its Fields becomes a table of the data extension store."""
        name = to_text(target.get("Name"))
        if self.data_extensions.exists(name) or (
            target.get("CustomerKey") and self.data_extensions.exists(to_text(target.get("CustomerKey")))
        ):
            return CallResult("Error", f"A DataExtension named '{name}' already exists")
        fields = []
        for item in _as_list(target.get("Fields")):
            if not isinstance(item, ApiObject):
                continue
            fields.append(
                {
                    "name": to_text(item.get("Name")),
                    "type": to_text(item.get("FieldType")) or "Text",
                    "length": item.get("MaxLength"),
                    "scale": item.get("Scale"),
                    "primaryKey": bool(item.get("IsPrimaryKey")),
                    "nullable": not (item.get("IsRequired") or item.get("IsPrimaryKey")),
                    "default": to_text(item.get("DefaultValue")) or None,
                }
            )
        try:
            spec = DataExtensionSpec.from_json(name, {"customerKey": to_text(target.get("CustomerKey")) or None, "fields": fields})
            self.data_extensions.define(spec)
        except ScriptError as error:
            return CallResult("Error", error.message)
        return CallResult("OK", "Created DataExtension")

    def _trigger_send(self, send: ApiObject) -> CallResult:
        """Record a triggered send in the outbox (`outbox()`), one entry per subscriber."""
        definition = send.get("TriggeredSendDefinition")
        if not isinstance(definition, ApiObject):
            return CallResult("Error", "TriggeredSendDefinition is required")
        found = self.find(definition)
        if found is None:
            return CallResult("Error", "TriggeredSendDefinition not found")
        subscribers = [s for s in _as_list(send.get("Subscribers")) if isinstance(s, ApiObject)]
        if not subscribers:
            return CallResult("Error", "At least one subscriber is required")
        key = _identity(found[1])
        with self._transaction() as db:
            for subscriber in subscribers:
                attributes = {
                    to_text(a.get("Name")): to_text(a.get("Value"))
                    for a in [*_as_list(send.get("Attributes")), *_as_list(subscriber.get("Attributes"))]
                    if isinstance(a, ApiObject)
                }
                db.execute(
                    "INSERT INTO _ampc_outbox (definition_key, subscriber_key, email_address, attributes)"
                    " VALUES (?, ?, ?, ?)",
                    (
                        key,
                        to_text(subscriber.get("SubscriberKey")) or to_text(subscriber.get("EmailAddress")),
                        to_text(subscriber.get("EmailAddress")) or None,
                        json.dumps(attributes),
                    ),
                )
        return CallResult("OK", "Created TriggeredSend")

    def outbox(self) -> list[dict[str, Any]]:
        """Triggered sends recorded so far, oldest first."""
        cursor = self.db.execute(
            "SELECT definition_key, subscriber_key, email_address, attributes FROM _ampc_outbox ORDER BY id"
        )
        return [
            {"definition": d, "subscriber_key": k, "email_address": e, "attributes": json.loads(a)}
            for d, k, e, a in cursor
        ]

    def _next_id(self, object_type: str) -> int:
        ids = [row["ID"] for _, row in self.objects(object_type) if isinstance(row.get("ID"), int)]
        return max(ids, default=0) + 1

    def _duplicate(self, target: ApiObject) -> CallResult:
        if target.object_type.lower() == "subscriber":
            return CallResult("Error", "The subscriber is already on the list", error_code="12014")
        key = next(k for k in _IDENTIFYING if target.get(k) not in (None, ""))
        return CallResult("Error", f"A {target.object_type} with {key} '{to_text(target.get(key))}' already exists")

    def _not_found(self, target: ApiObject) -> CallResult:
        keys = _IDENTIFYING_BY_TYPE.get(target.object_type.lower(), _IDENTIFYING)
        given = [k for k in keys if target.get(k) not in (None, "")]
        if not given:
            return CallResult("Error", f"{target.object_type} needs one of {', '.join(keys)} to identify it")
        return CallResult(
            "Error", f"{target.object_type} with {given[0]} '{to_text(target.get(given[0]))}' was not found"
        )

    # ---- Retrieve ------------------------------------------------------------

    # Marketing Cloud returns at most 2,500 objects per retrieve; the rest
    # come with status MoreDataAvailable, fetched with ContinueRequest.
    page_size = 2500

    def retrieve(self, request: ApiObject) -> RetrieveResult:
        """InvokeRetrieve: objects of a type, filtered, with the asked-for properties.

        QueryAllAccounts needs no handling: the simulator holds one account.
        """
        continuation = to_text(request.get("ContinueRequest"))
        if continuation:
            pending = self._pending.pop(continuation, None)
            if pending is None:
                return RetrieveResult("Error", Rowset(), message=f"ContinueRequest '{continuation}' has no more data")
            return self._page(pending)
        object_type = to_text(request.get("ObjectType"))
        if not object_type:
            return RetrieveResult("Error", Rowset(), message="ObjectType is required")
        try:
            source = self._retrievable(object_type)
        except ScriptError as error:
            return RetrieveResult("Error", Rowset(), message=error.message)
        wanted = [to_text(name) for name in _as_list(request.get("Properties"))]
        condition = request.get("Filter")
        rows = []
        for stored in source:
            try:
                if condition is not None and not _matches(stored, condition):
                    continue
            except _BadFilter as error:
                return RetrieveResult("Error", Rowset(), message=str(error))
            rows.append(Row((name, _shown(field_at_path(stored, name))) for name in wanted) if wanted else stored)
        return self._page(rows)

    def _page(self, rows: list[Row]) -> RetrieveResult:
        page, rest = rows[: self.page_size], rows[self.page_size :]
        result = RetrieveResult("MoreDataAvailable" if rest else "OK", Rowset(page))
        if rest:
            self._pending[result.request_id] = rest
        return result

    def _retrievable(self, object_type: str) -> list[Row]:
        """The stored objects of a type, including the views the simulator derives."""
        row_source = _DE_ROWS.fullmatch(object_type)
        if row_source is not None:
            return self.data_extensions.rows(row_source.group(1))
        kind = object_type.lower()
        seeded = [row for _, row in self.objects(object_type)]
        if kind == "dataextension":
            return seeded + [
                Row({"Name": spec.name, "CustomerKey": spec.customer_key or spec.name})
                for spec in map(self.data_extensions.spec, self.data_extensions.names())
            ]
        if kind == "dataextensionfield":
            return seeded + [
                Row(
                    {
                        "Name": f.name,
                        "FieldType": f.type,
                        "IsPrimaryKey": f.primary_key,
                        "IsRequired": not f.nullable,
                        "MaxLength": f.length,
                        "Scale": f.scale,
                        "Ordinal": ordinal,
                        "DataExtension": {"CustomerKey": spec.customer_key or spec.name, "Name": spec.name},
                    }
                )
                for spec in map(self.data_extensions.spec, self.data_extensions.names())
                for ordinal, f in enumerate(spec.fields)
            ]
        if kind == "listsubscriber":
            memberships = []
            for _, subscriber in self.objects("Subscriber"):
                for membership in subscriber.get("Lists") or []:
                    if isinstance(membership, dict):
                        membership = Row(membership)
                        memberships.append(
                            Row(
                                {
                                    "ListID": membership.get("ID"),
                                    "SubscriberKey": subscriber.get("SubscriberKey"),
                                    "Status": membership.get("Status") or "Active",
                                }
                            )
                        )
            return seeded + memberships
        if not seeded and schema().type(object_type) is None:
            raise ScriptError(f"'{object_type}' is not a Marketing Cloud API object type")
        return seeded

    # ---- Perform -------------------------------------------------------------

    @_writing
    def perform(self, target: ApiObject, action: str) -> CallResult:
        handler = _PERFORM.get((target.object_type.lower(), action.lower()))
        if handler is None:
            return CallResult(
                "Error",
                f"Perform action '{action}' is not supported for object type '{target.object_type}'",
            )
        return handler(self, target, action)

    def _start_query(self, target: ApiObject, action: str) -> CallResult:
        """Start a query activity.

        As in Marketing Cloud, starting succeeds as soon as the definition is
        found; whether the query itself worked shows in the activity log
        (`activity()`), as Automation Studio shows it.
        """
        found = self.find(target)
        if found is None:
            return CallResult("Error", "QueryDefinition not found")
        _, stored = found
        status, message = "Complete", None
        from ..rendering import current_budget

        budget = current_budget()
        try:
            written = queries.run(
                self.data_extensions,
                to_text(stored.get("QueryText")),
                queries.target_name(stored),
                to_text(stored.get("TargetUpdateType")),
                max_length=self.limits.string_characters,
                deadline=budget.deadline,
            )
            message = f"{written} rows written"
        except queries.TimedOut:
            raise budget.exceeded("render_seconds", "the render took too long: a query activity was still running") from None
        except ScriptError as error:  # refused, or failed: the activity's error; nothing was written
            status, message = "Error", error.message
        with self._transaction():
            self._log(action, "QueryDefinition", _identity(stored), status, message)
        return CallResult("OK", "QueryDefinition perform called successfully")

    def _refresh_group(self, group: ApiObject, action: str = "Refresh") -> CallResult:
        found = self.find(group)
        if found is None:
            return CallResult("Error", "Group not found")
        with self._transaction():
            self._log("Refresh", "Group", _identity(found[1]))
        return CallResult("OK", "Group refresh started")

    # ---- Execute -------------------------------------------------------------

    @_writing
    def execute(self, request: ApiObject) -> CallResult:
        kind = request.object_type
        if kind.lower() == "executerequest":
            kind = to_text(request.get("Name"))
            parameters = {
                to_text(item.get("Name")).lower(): item.get("Value")
                for item in _as_list(request.get("Parameters"))
                if isinstance(item, ApiObject)
            }
        else:
            parameters = {name.lower(): value for name, value in request.items()}
        if kind.lower() == "logunsubevent":
            return self._log_unsub_event(parameters)
        if kind.lower() == "refreshgroup":  # the reference's way: an ExecuteRequest with the group's ID
            group = ApiObject("Group")
            group.set("ID", parameters.get("id"))
            return self._refresh_group(group)
        if kind.lower() == "refresh":
            target = request.get("Object")
            if not isinstance(target, ApiObject) or target.object_type.lower() != "group":
                return CallResult("Error", "Refresh needs a Group object in its Object property")
            return self._refresh_group(target)
        return CallResult("Error", f"Execute request '{kind}' is not supported")

    def _log_unsub_event(self, parameters: dict[str, Any]) -> CallResult:
        key = to_text(parameters.get("subscriberkey"))
        email = to_text(parameters.get("emailaddress"))
        subscriber_id = to_text(parameters.get("subscriberid"))
        if not (key or email or subscriber_id):
            return CallResult("Error", "SubscriberKey, SubscriberID or EmailAddress is required")
        with self._transaction() as db:
            db.execute(
                "INSERT INTO _ampc_unsub_event (subscriber_key, email_address, job_id, list_id, batch_id, reason)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    key or None,
                    email or None,
                    to_text(parameters.get("jobid")) or None,
                    to_text(parameters.get("listid")) or None,
                    to_text(parameters.get("batchid")) or None,
                    to_text(parameters.get("reason")) or None,
                ),
            )
            for row_id, subscriber in self.objects("Subscriber"):
                same_key = key and "SubscriberKey" in subscriber and operators.eq(subscriber["SubscriberKey"], key)
                same_email = (
                    not key and email and "EmailAddress" in subscriber
                    and operators.eq(subscriber["EmailAddress"], email)
                )
                if same_key or same_email:
                    updated = dict(subscriber)
                    updated[subscriber.field_name("Status") or "Status"] = "Unsubscribed"
                    db.execute("UPDATE _ampc_api_object SET properties = ? WHERE id = ?", (_dumps(updated), row_id))
        return CallResult("OK", "Event posted")

    def _log(
        self, action: str, object_type: str, key: str | None, status: str = "Complete", message: str | None = None
    ) -> None:
        self.db.execute(
            "INSERT INTO _ampc_activity (action, object_type, object_key, status, message) VALUES (?, ?, ?, ?, ?)",
            (action, object_type, key, status, message),
        )


_PERFORM = {
    ("querydefinition", "start"): Simulator._start_query,
    ("group", "refresh"): Simulator._refresh_group,
}


# Properties a Create must carry, per the SOAP API's object pages (Subscriber:
# "All Subscriber objects require at minimum a value for EmailAddress (and
# SubscriberKey, if that feature is enabled)"; the simulator has it enabled).
_REQUIRED_ON_CREATE = {
    "subscriber": ("EmailAddress", "SubscriberKey"),
    "list": ("ListName",),
    "dataextension": ("Name", "Fields"),
    "querydefinition": ("Name", "QueryText", "DataExtensionTarget", "TargetUpdateType"),
    "email": ("Name", "Subject"),
}

_DE_ROWS = re.compile(r"DataExtensionObject\[(.+)\]", re.IGNORECASE)


def _api_properties(items: Any) -> dict[str, Any]:
    """APIProperty objects (Name/Value) as a dict."""
    return {
        to_text(item.get("Name")): item.get("Value") for item in _as_list(items) if isinstance(item, ApiObject)
    }


def _shown(value: Any) -> Any:
    """Nested objects come back as rows, arrays of them as rowsets, for Field() and Row()."""
    if isinstance(value, dict):
        return Row({name: _shown(item) for name, item in value.items()})
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return Rowset(_shown(item) for item in value)
    return value


def _save_action(options: ApiObject | None) -> str | None:
    """The SaveAction of an options object's SaveOptions (UpdateAdd, AddOnly, ...), lowercased."""
    if options is None:
        return None
    for option in _as_list(options.get("SaveOptions")):
        if isinstance(option, ApiObject) and option.get("SaveAction"):
            return to_text(option.get("SaveAction")).lower()
    return None


def _merge(stored: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply an update: properties replace theirs; Attributes merge by Name."""
    by_lower = {name.lower(): name for name in stored}
    for name, value in changes.items():
        key = by_lower.get(name.lower(), name)
        if name.lower() == "attributes" and isinstance(stored.get(key), list):
            merged = {to_text(a.get("Name")).lower(): a for a in stored[key] if isinstance(a, dict)}
            for attribute in value:
                merged[to_text(attribute.get("Name")).lower()] = attribute
            value = list(merged.values())
        stored[key] = value
    return stored


def _identity(stored: Row) -> str | None:
    for key in _IDENTIFYING:
        if key in stored:
            return to_text(stored[key])
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _matches(stored: Row, condition: ApiObject) -> bool:
    """Does a stored object pass a SimpleFilterPart / ComplexFilterPart?"""
    if condition.object_type.lower() == "complexfilterpart":
        left = _matches(stored, condition.get("LeftOperand"))
        right = _matches(stored, condition.get("RightOperand"))
        if to_text(condition.get("LogicalOperator")).upper() == "OR":
            return left or right
        return left and right
    name = to_text(condition.get("Property"))
    operator = to_text(condition.get("SimpleOperator")).lower()
    values = _as_list(condition.get("Value")) or _as_list(condition.get("DateValue"))
    actual = field_at_path(stored, name)
    return _compare(operator, actual, values)


_OPERATORS = {
    "equals", "notequals", "greaterthan", "greaterthanorequal", "lessthan", "lessthanorequal",
    "isnull", "isnotnull", "between", "in", "like",
}


def _like(pattern: str) -> re.Pattern[str]:
    """A LIKE pattern over folded text (the value core's case folding, as every comparison)."""
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in fold(pattern)]
    return re.compile("".join(parts), re.DOTALL)


def _compare(operator: str, actual: Any, values: list[Any]) -> bool:
    first = values[0] if values else None
    if operator not in _OPERATORS:
        raise _BadFilter(f"Unknown SimpleOperator '{operator}'")
    if operator == "isnull":
        return actual is None or actual == ""
    if operator == "isnotnull":
        return not (actual is None or actual == "")
    if actual is None:
        return False
    if operator == "equals":
        return operators.eq(actual, first)
    if operator == "notequals":
        return operators.ne(actual, first)
    if operator == "greaterthan":
        return operators.gt(actual, first)
    if operator == "greaterthanorequal":
        return operators.ge(actual, first)
    if operator == "lessthan":
        return operators.lt(actual, first)
    if operator == "lessthanorequal":
        return operators.le(actual, first)
    if operator == "between":
        return len(values) >= 2 and operators.ge(actual, values[0]) and operators.le(actual, values[1])
    if operator == "in":
        return any(operators.eq(actual, value) for value in values)
    if operator == "like":
        return bool(_like(to_text(first)).fullmatch(fold(to_text(actual))))
    raise AssertionError(operator)


class _BadFilter(ValueError):
    pass
