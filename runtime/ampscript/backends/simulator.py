"""The embedded Marketing Cloud simulator: the default backend.

State lives in SQLite (in memory unless a file is given), seeded from the
workspace's ``objects/<ObjectType>.json`` files.  Stored objects and the
index of their keys are `ampscript.backends.api_store`'s; the object types
with a meaning of their own (data extensions and their rows, triggered
sends, subscribers' events, query activities) are families of
`ampscript.backends.api_families`; the connected clouds (a Salesforce org,
Dynamics CRM, MobileConnect) are `ampscript.backends.families`.  Every call runs in one
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

import functools
import sqlite3
import uuid
from typing import Any, TypeVar

from ..api_objects import ApiObject
from ..api_schema import schema
from ..capabilities import ApiObjects, Content, DataExtensions
from ..data_extensions import DataExtensionStore, is_busy
from ..errors import RaisedError, ScriptError
from ..limits import LimitExceeded, Limits
from ..values import Row, Rowset, field_at_path, to_text
from ..workspace import Workspace
from . import seeding
from .api_families import ObjectFamily, automation, families, sends, subscribers
from .api_families.data_extension_objects import save_action
from .api_filters import BadFilter, as_list, matches
from .api_store import ApiObjectStore, identifying_keys
from .base import CallResult, RetrieveResult
from .families import family_types

T = TypeVar("T")

_SCHEMA = "".join((sends.SCHEMA, subscribers.SCHEMA, automation.SCHEMA))

# Status messages of successful calls, as Marketing Cloud words them.
_CREATED = {"subscriber": "Created Subscriber."}
_UPDATED = {"subscriber": "Updated Subscriber."}

# "All Subscriber objects require at minimum a value for EmailAddress (and
# SubscriberKey, if that feature is enabled)"; the simulator has it enabled).
_REQUIRED_ON_CREATE = {
    "subscriber": ("EmailAddress", "SubscriberKey"),
    "list": ("ListName",),
    "dataextension": ("Name", "Fields"),
    "querydefinition": ("Name", "QueryText", "DataExtensionTarget", "TargetUpdateType"),
    "email": ("Name", "Subject"),
}


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
        """Data extensions, API objects, the connected clouds, and the content of the workspace it was seeded from.

        (A context without a backend reads content from its workspace
        itself, `Context.capability`, so that content needs no simulator.)
        """
        if kind is DataExtensions:
            return self.data_extensions  # type: ignore[return-value]
        if kind is ApiObjects:
            return self  # type: ignore[return-value]
        if kind is Content:
            if self.workspace is None:
                return None
            from ..content import store_for

            return store_for(self.workspace)  # type: ignore[return-value]
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
            self.stored = ApiObjectStore(self.db)
            self.stored.create_tables()
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
        self.object_families: list[ObjectFamily] = families(self)
        self._performs = {key: run for family in self.object_families for key, run in family.performs().items()}
        self._executes = {key: run for family in self.object_families for key, run in family.executes().items()}
        self._pending: dict[str, list[Row]] = {}  # request ID -> rows not returned yet
        self.workspace: Workspace | None = None  # what from_workspace seeded it from: its content too

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
        simulator.workspace = workspace
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
                    self.stored.insert(object_type, properties)
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
        if self.stored.find(probe) is not None:
            return
        plain = {"SubscriberKey", "_subscriberkey", "EmailAddress", "emailaddr", "Email Address"}
        self.stored.insert(
            "Subscriber",
            {
                "ID": self.stored.next_id("Subscriber"),
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

    def stored_rows(self, object_type: str) -> list[Row]:
        """The stored objects of a type, oldest first, without their row IDs."""
        return [row for _, row in self.stored.objects(object_type)]

    def objects(self, object_type: str) -> list[tuple[int, Row]]:
        """The stored objects of a type: (row ID, properties), oldest first."""
        return self.stored.objects(object_type)

    def find(self, target: ApiObject) -> tuple[int, Row] | None:
        """The stored object the target identifies (by ObjectID, CustomerKey, ID or Name)."""
        return self.stored.find(target)

    def outbox(self) -> list[dict[str, Any]]:
        """Triggered sends recorded so far, oldest first."""
        return self._family(sends.SendFamily).outbox()

    def unsub_events(self) -> list[dict[str, Any]]:
        return self._family(subscribers.SubscriberFamily).unsub_events()

    def activity(self) -> list[tuple[str, str, str | None, str, str | None]]:
        """What ran: (action, object type, object key, status, message), oldest first."""
        return self._family(automation.AutomationFamily).activity()

    def _family(self, kind: type[T]) -> T:
        return next(family for family in self.object_families if isinstance(family, kind))  # type: ignore[return-value]

    def missing_on_create(self, target: ApiObject) -> str | None:
        """The first property a Create of this type must carry that the target lacks."""
        required = _REQUIRED_ON_CREATE.get(target.object_type.lower(), ())
        return next((name for name in required if target.get(name) in (None, "", [])), None)

    def not_found(self, target: ApiObject) -> CallResult:
        keys = identifying_keys(target.object_type)
        given = [k for k in keys if target.get(k) not in (None, "")]
        if not given:
            return CallResult("Error", f"{target.object_type} needs one of {', '.join(keys)} to identify it")
        return CallResult(
            "Error", f"{target.object_type} with {given[0]} '{to_text(target.get(given[0]))}' was not found"
        )

    def _duplicate(self, target: ApiObject) -> CallResult:
        if target.object_type.lower() == "subscriber":
            return CallResult("Error", "The subscriber is already on the list", error_code="12014")
        key = next(k for k in identifying_keys(target.object_type) if target.get(k) not in (None, ""))
        return CallResult("Error", f"A {target.object_type} with {key} '{to_text(target.get(key))}' already exists")

    # ---- Create / Update / Delete ----------------------------------------------

    @_writing
    def create(self, target: ApiObject, options: ApiObject | None = None) -> CallResult:
        for family in self.object_families:
            answer = family.create(target, options)
            if answer is not None:
                return answer
        missing = self.missing_on_create(target)
        if missing is not None:
            return CallResult("Error", f"{target.object_type}: required property {missing} is missing")
        if self.stored.find(target) is not None:
            if save_action(options) == "updateadd":
                return self.update(target, options)
            return self._duplicate(target)
        properties = target.to_dict()
        new_id = self.stored.next_id(target.object_type) if "ID" not in properties else properties["ID"]
        properties.setdefault("ID", new_id)
        properties.setdefault("ObjectID", str(uuid.uuid4()))
        self.stored.insert(target.object_type, properties)
        message = _CREATED.get(target.object_type.lower(), f"Created {target.object_type}")
        return CallResult("OK", message, new_id=new_id)

    @_writing
    def update(self, target: ApiObject, options: ApiObject | None = None) -> CallResult:
        for family in self.object_families:
            answer = family.update(target, options)
            if answer is not None:
                return answer
        found = self.stored.find(target)
        if found is None:
            if save_action(options) == "updateadd":
                return self.create(target)
            return self.not_found(target)
        row_id, stored = found
        self.stored.replace(row_id, _merge(dict(stored), target.to_dict()))
        return CallResult("OK", _UPDATED.get(target.object_type.lower(), f"Updated {target.object_type}"))

    @_writing
    def delete(self, target: ApiObject, options: ApiObject | None = None) -> CallResult:
        for family in self.object_families:
            answer = family.delete(target, options)
            if answer is not None:
                return answer
        found = self.stored.find(target)
        if found is None:
            return self.not_found(target)
        self.stored.remove(found[0])
        return CallResult("OK", "Deleted")

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
        wanted = [to_text(name) for name in as_list(request.get("Properties"))]
        condition = request.get("Filter")
        rows = []
        for stored in source:
            try:
                if condition is not None and not matches(stored, condition):
                    continue
            except BadFilter as error:
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
        """What a Retrieve of the type sees: a family's answer for its types, else the stored objects."""
        for family in self.object_families:
            derived = family.retrievable(object_type)
            if derived is not None:
                return derived
        seeded = self.stored_rows(object_type)
        if not seeded and schema().type(object_type) is None:
            raise ScriptError(f"'{object_type}' is not a Marketing Cloud API object type")
        return seeded

    # ---- Perform and Execute ---------------------------------------------------

    @_writing
    def perform(self, target: ApiObject, action: str) -> CallResult:
        run = self._performs.get((target.object_type.lower(), action.lower()))
        if run is None:
            return CallResult(
                "Error",
                f"Perform action '{action}' is not supported for object type '{target.object_type}'",
            )
        return run(target, action)

    @_writing
    def execute(self, request: ApiObject) -> CallResult:
        kind = request.object_type
        if kind.lower() == "executerequest":
            kind = to_text(request.get("Name"))
            parameters = {
                to_text(item.get("Name")).lower(): item.get("Value")
                for item in as_list(request.get("Parameters"))
                if isinstance(item, ApiObject)
            }
        else:
            parameters = {name.lower(): value for name, value in request.items()}
        run = self._executes.get(kind.lower())
        if run is None:
            return CallResult("Error", f"Execute request '{kind}' is not supported")
        return run(request, parameters)


def _shown(value: Any) -> Any:
    """Nested objects come back as rows, arrays of them as rowsets, for Field() and Row()."""
    if isinstance(value, dict):
        return Row({name: _shown(item) for name, item in value.items()})
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return Rowset(_shown(item) for item in value)
    return value


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
