"""Query activities: a QueryDefinition's T-SQL, run against the data extensions.

Marketing Cloud runs QueryText on SQL Server; the simulator translates it to
SQLite with sqlglot and writes the result into the target data extension as
the definition's TargetUpdateType says:

* ``Overwrite``: the target's rows are replaced;
* ``Append``: the rows are added;
* ``Update``: rows whose primary key matches are updated, others added.

The whole run is one transaction: a query or a row that fails leaves the
target as it was.
"""

from __future__ import annotations

from typing import Any

from ..data_extensions import DataExtensionStore
from ..errors import ScriptError
from ..values import Row, to_text

# Marketing Cloud's system time is Central Standard Time (UTC-6) all year.
_SYSTEM_NOW = ("now", "-6 hours")


def translate(query_text: str) -> str:
    """T-SQL as Marketing Cloud accepts it -> SQLite."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(query_text, read="tsql")
    except sqlglot.errors.ParseError as error:
        raise ScriptError(f"the query is not valid SQL: {error}") from None

    def adapt(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.args.get("db") is not None:
            # ENT.Name addresses a shared data extension of the parent account;
            # the simulator has one account, so it is the same table.
            if node.db.upper() == "ENT":
                node.set("db", None)
        if isinstance(node, exp.CurrentTimestamp):  # GETDATE(): system time, not UTC
            return exp.Anonymous(this="DATETIME", expressions=[exp.Literal.string(part) for part in _SYSTEM_NOW])
        return node

    return tree.transform(adapt).sql(dialect="sqlite")


def run(store: DataExtensionStore, query_text: str, target: str, update_type: str) -> int:
    """Run a query into the target data extension; returns the number of rows written."""
    sql = translate(query_text)
    spec = store.spec(target)
    mode = (update_type or "Overwrite").strip().lower()
    if mode not in ("overwrite", "append", "update"):
        raise ScriptError(f"TargetUpdateType {update_type!r} is not Overwrite, Append or Update")
    with store.transaction() as db:
        try:
            cursor = db.execute(sql)
        except Exception as error:  # sqlite3 errors: unknown table or column, ...
            raise ScriptError(f"the query failed: {error}") from None
        columns = [column[0] for column in cursor.description or ()]
        rows = [dict(zip(columns, values)) for values in cursor.fetchall()]
        for column in columns:
            spec.field(column)  # every selected column must be a field of the target
        if mode == "overwrite":
            store.delete(spec.name, [])
        key = [f.name for f in spec.primary_key]
        for record in rows:
            if mode == "update" and key:
                criteria = [(name, _lookup(record, name)) for name in key]
                store.upsert(spec.name, criteria, {k: v for k, v in record.items() if k.lower() not in map(str.lower, key)})
            else:
                store.insert(spec.name, record)
    return len(rows)


def _lookup(record: dict[str, Any], name: str) -> Any:
    return Row(record).get(name)


def target_name(definition: Row) -> str:
    """The target data extension of a stored QueryDefinition (DataExtensionTarget's key or name)."""
    target = definition.get("DataExtensionTarget")
    if isinstance(target, dict):
        target = Row(target)
        for key in ("CustomerKey", "Name"):
            if target.get(key):
                return to_text(target[key])
    raise ScriptError("the QueryDefinition has no DataExtensionTarget")
