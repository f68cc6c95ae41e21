"""The simulator's stored API objects, and an index of the keys that identify them.

Every object (a Subscriber, a QueryDefinition, ...) is one row of
``_ampc_api_object``: its type and its properties as JSON.  Finding the
object a call names (by ObjectID, CustomerKey, ID or Name; a Subscriber by
SubscriberKey or EmailAddress) is a look-up in ``_ampc_api_object_key``,
which holds each identifying property's folded text, rather than a decode
of every stored object of the type.  Every write goes through this module,
which keeps the index with it.

A state file written before the index existed is indexed when it is opened
(``_ampc_meta`` key ``api_key_index``).
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from decimal import Decimal
from typing import Any

from .. import operators
from ..api_objects import ApiObject
from ..values import Row, to_text
from ..values.case import fold

SCHEMA = """
CREATE TABLE IF NOT EXISTS _ampc_api_object (
    id INTEGER PRIMARY KEY,
    object_type TEXT NOT NULL COLLATE NOCASE,
    properties TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS _ampc_api_object_type ON _ampc_api_object (object_type);
CREATE TABLE IF NOT EXISTS _ampc_api_object_key (
    object_id INTEGER NOT NULL,
    object_type TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS _ampc_api_object_key_lookup ON _ampc_api_object_key (object_type, name, value);
CREATE INDEX IF NOT EXISTS _ampc_api_object_key_object ON _ampc_api_object_key (object_id);
CREATE TABLE IF NOT EXISTS _ampc_meta (key TEXT PRIMARY KEY, value TEXT);
"""

# Keys that identify an object, in the order Marketing Cloud looks at them.
IDENTIFYING = ("ObjectID", "CustomerKey", "ID", "Name")
IDENTIFYING_BY_TYPE = {"subscriber": ("SubscriberKey", "EmailAddress", "ID", "CustomerKey")}
_INDEXED = tuple(dict.fromkeys([*IDENTIFYING, *IDENTIFYING_BY_TYPE["subscriber"]]))
_INDEX_VERSION = "1"


def identifying_keys(object_type: str) -> tuple[str, ...]:
    return IDENTIFYING_BY_TYPE.get(object_type.lower(), IDENTIFYING)


def identity(stored: Row) -> str | None:
    """The text that names a stored object in the activity log: its first identifying property."""
    for key in IDENTIFYING:
        if key in stored:
            return to_text(stored[key])
    return None


def _json_default(value: Any) -> Any:
    """Dates and decimals are stored as the text the SOAP API would carry."""
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__}")


def dumps(properties: dict[str, Any]) -> str:
    return json.dumps(properties, default=_json_default)


def _key_text(value: Any) -> str | None:
    """What the index keeps of an identifying value: its folded text; None for an empty one."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = to_text(value)
    return fold(text) if text != "" else None


class ApiObjectStore:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def create_tables(self) -> None:
        self.db.executescript(SCHEMA)
        indexed = self.db.execute("SELECT value FROM _ampc_meta WHERE key = 'api_key_index'").fetchone()
        if indexed is None or indexed[0] != _INDEX_VERSION:
            self._reindex()

    def _reindex(self) -> None:
        """Index every stored object (a state file from before the index); one transaction of its own."""
        in_transaction = self.db.in_transaction
        if not in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("DELETE FROM _ampc_api_object_key")
            for row_id, object_type, properties in self.db.execute(
                "SELECT id, object_type, properties FROM _ampc_api_object"
            ).fetchall():
                self._index(row_id, object_type, json.loads(properties))
            self.db.execute(
                "INSERT OR REPLACE INTO _ampc_meta (key, value) VALUES ('api_key_index', ?)", (_INDEX_VERSION,)
            )
        except BaseException:
            if not in_transaction:
                self.db.execute("ROLLBACK")
            raise
        if not in_transaction:
            self.db.execute("COMMIT")

    # ---- writing (the caller holds the transaction) ------------------------------------------

    def insert(self, object_type: str, properties: dict[str, Any]) -> int:
        cursor = self.db.execute(
            "INSERT INTO _ampc_api_object (object_type, properties) VALUES (?, ?)", (object_type, dumps(properties))
        )
        row_id = int(cursor.lastrowid or 0)
        self._index(row_id, object_type, properties)
        return row_id

    def replace(self, row_id: int, properties: dict[str, Any]) -> None:
        found = self.db.execute("SELECT object_type FROM _ampc_api_object WHERE id = ?", (row_id,)).fetchone()
        self.db.execute("UPDATE _ampc_api_object SET properties = ? WHERE id = ?", (dumps(properties), row_id))
        self.db.execute("DELETE FROM _ampc_api_object_key WHERE object_id = ?", (row_id,))
        self._index(row_id, found[0], properties)

    def remove(self, row_id: int) -> None:
        self.db.execute("DELETE FROM _ampc_api_object WHERE id = ?", (row_id,))
        self.db.execute("DELETE FROM _ampc_api_object_key WHERE object_id = ?", (row_id,))

    def _index(self, row_id: int, object_type: str, properties: dict[str, Any]) -> None:
        by_name = {name.lower(): value for name, value in properties.items()}
        entries = []
        for name in _INDEXED:
            text = _key_text(by_name.get(name.lower()))
            if text is not None:
                entries.append((row_id, object_type, name, text))
        self.db.executemany("INSERT INTO _ampc_api_object_key VALUES (?, ?, ?, ?)", entries)

    # ---- reading ---------------------------------------------------------------------------------

    def objects(self, object_type: str) -> list[tuple[int, Row]]:
        rows = self.db.execute(
            "SELECT id, properties FROM _ampc_api_object WHERE object_type = ? ORDER BY id", (object_type,)
        )
        return [(row_id, Row(json.loads(properties))) for row_id, properties in rows]

    def get(self, row_id: int) -> Row:
        (properties,) = self.db.execute("SELECT properties FROM _ampc_api_object WHERE id = ?", (row_id,)).fetchone()
        return Row(json.loads(properties))

    def find(self, target: ApiObject) -> tuple[int, Row] | None:
        """The stored object the target identifies: by its first identifying property that it gives.

        The index narrows the candidates to those whose folded text matches;
        AMPscript's equality decides among them, as it decided before there
        was an index.
        """
        for key in identifying_keys(target.object_type):
            wanted = target.get(key)
            if wanted in (None, ""):
                continue
            text = _key_text(wanted)
            if text is None:
                return None
            candidates = self.db.execute(
                "SELECT object_id FROM _ampc_api_object_key WHERE object_type = ? AND name = ? AND value = ? "
                "ORDER BY object_id",
                (target.object_type, key, text),
            ).fetchall()
            for (row_id,) in candidates:
                row = self.get(row_id)
                if key in row and operators.eq(row[key], wanted):
                    return row_id, row
            return None
        return None

    def next_id(self, object_type: str) -> int:
        ids = [row["ID"] for _, row in self.objects(object_type) if isinstance(row.get("ID"), int)]
        return max(ids, default=0) + 1
