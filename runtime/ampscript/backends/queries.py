"""Query activities: a QueryDefinition's T-SQL, run against the data extensions.

Marketing Cloud runs QueryText on SQL Server; the simulator translates it to
SQLite with sqlglot and writes the result into the target data extension as
the definition's TargetUpdateType says:

* ``Overwrite``: the target's rows are replaced;
* ``Append``: the rows are added;
* ``Update``: rows whose primary key matches are updated, others added.

The whole run is one transaction: a query or a row that fails leaves the
target as it was.

What a query may be
-------------------

A query activity's text is one SELECT (``WITH`` common table expressions
before it, ``UNION``/``EXCEPT``/``INTERSECT`` of SELECTs, subqueries): the
activity, not the SQL, decides where the rows go, with its
DataExtensionTarget and TargetUpdateType
(https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/querydefinition.html).
Anything else is refused before it runs, as an activity error, and the
store is not touched:

* any statement but SELECT: INSERT, UPDATE, DELETE, MERGE, EXEC, DDL
  (CREATE, ALTER, DROP, TRUNCATE), transaction control (BEGIN, COMMIT,
  ROLLBACK, SAVEPOINT), SQLite's own statements (PRAGMA, ATTACH, VACUUM,
  ...), and data changes inside a common table expression;
* ``SELECT ... INTO`` (it creates a table);
* several statements separated by ``;``.

The message is "Query activities run one SELECT statement; <what> is not
allowed" (choice: Marketing Cloud's documentation does not give its
validation's wording).

What a query may read
---------------------

Only data extensions.  The simulator's own tables (``_ampc_*``), SQLite's
catalog (``sqlite_master``/``sqlite_schema``/``sqlite_temp_master``,
``sqlite_sequence``, ...), table-valued functions (``pragma_table_info()``,
``json_each()``, ``dbstat``) and names in other schemas are, to a query, what
a data extension that does not exist is to SQL Server: "Invalid object name
'<name>'." (SQL Server's error 208,
https://learn.microsoft.com/en-us/previous-versions/sql/sql-server-2005/dd353306(v=sql.90)).
``ENT.<name>`` addresses a shared data extension of the parent account; the
simulator has one account, so it is the data extension itself.

Two guards enforce this, so that a gap in one is caught by the other:

1. the sqlglot tree is checked (statement kinds, every table named);
2. the translated SQL runs under an SQLite authorizer
   (`sqlite3.Connection.set_authorizer`) that allows only SELECT, reading
   columns of data extension tables, recursive CTEs and the ordinary
   functions in `_FUNCTIONS`; the authorizer is removed before the rows are
   written.  SQLite functions that reach outside the data (``load_extension``
   is disabled anyway; ``fts3_tokenizer``, the ``sqlite_*`` introspection
   functions, ``readfile``/``writefile`` where a build has them) are not in
   the list: calling one is "'<name>' is not a recognized built-in function
   name." (SQL Server's wording for an unknown function).

SQL Server's rules
------------------

The query follows SQL Server's rules, not SQLite's, where they differ
(`ampscript.backends.tsql` says which and how): implicit conversion by
data type precedence (``WHERE Points > 100`` on a Text field compares
numbers), conversion errors worded as SQL Server words them ("Conversion
failed when converting the nvarchar value 'abc' to data type int."), text
compared case-insensitively (SQL_Latin1_General_CP1_CI_AS) in ``=``, IN,
LIKE (with ``[a-c]`` classes), GROUP BY, DISTINCT, UNION and ORDER BY,
CAST/CONVERT with styles, the date functions (DATEDIFF counts boundaries
crossed) and the string functions.  GETDATE() is the render's clock
(`Context.now`: Marketing Cloud's system time, Central Standard Time).  The
selected columns are converted to the target's field types as an
``INSERT ... SELECT`` converts them.  A conversion that fails, or a
division by zero, fails the activity as a whole: nothing is written.

While the query runs, a string or blob it makes may be at most
``stringCharacters`` bytes long, and the query stops when the render's
``renderSeconds`` are up (see `ampscript.limits`), so a runaway query (a
recursive CTE without end) cannot hold the state file's write lock for
ever (choice).
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from ..data_extensions import DataExtensionSpec, DataExtensionStore
from ..errors import ScriptError
from ..values import Row, to_text
from . import tsql

# Marketing Cloud's system time is Central Standard Time (UTC-6) all year.
_SYSTEM_ZONE = _dt.timezone(_dt.timedelta(hours=-6))

# SQLite's ordinary functions (core, date, math, JSON, aggregate and window
# functions), which a query may call; plus ampc_fold, the store's own, and
# the T-SQL functions and conversions of `tsql` (ampc_convert, ...), which
# compute from their arguments only.  Not
# here, so refused: load_extension, fts3_tokenizer, the FTS and R*Tree
# helpers, sqlite_version() and the other sqlite_* functions, changes(),
# last_insert_rowid(), and anything a build adds (readfile, writefile, edit).
_FUNCTIONS = frozenset(
    """
    abs acos acosh asin asinh atan atan2 atanh avg ceil ceiling char coalesce cos cosh count
    cume_dist current_date current_time current_timestamp date datetime degrees dense_rank exp
    first_value floor format glob group_concat hex ifnull iif instr json json_array
    json_array_length json_extract json_group_array json_group_object json_insert json_object
    json_patch json_quote json_remove json_replace json_set json_type json_valid julianday lag
    last_value lead length like likelihood likely ln log log10 log2 lower ltrim max min mod
    nth_value ntile nullif percent_rank pi pow power printf quote radians random rank replace
    round row_number rtrim sign sin sinh soundex sqrt strftime string_agg substr substring sum
    tan tanh time total trim trunc typeof unhex unicode unixepoch unlikely upper -> ->> ampc_fold
    ampc_convert ampc_try_convert ampc_like ampc_dateadd ampc_datediff ampc_datepart ampc_datename
    ampc_eomonth ampc_datefromparts ampc_upper ampc_lower ampc_charindex ampc_replace ampc_substring
    ampc_left ampc_right ampc_round ampc_nonzero
    """.split()
)

# Statement kinds that are not a SELECT (sqlglot class name -> how the error names it).
# Looked up by name, so a sqlglot version without one of them still works.
_STATEMENTS = {
    "Insert": "INSERT",
    "Update": "UPDATE",
    "Delete": "DELETE",
    "Merge": "MERGE",
    "Create": "CREATE",
    "Drop": "DROP",
    "Alter": "ALTER",
    "AlterTable": "ALTER",
    "TruncateTable": "TRUNCATE",
    "Transaction": "BEGIN TRANSACTION",
    "Commit": "COMMIT",
    "Rollback": "ROLLBACK",
    "Pragma": "PRAGMA",
    "Execute": "EXEC",
    "ExecuteSql": "EXEC",
    "Declare": "DECLARE",
    "Set": "SET",
    "Use": "USE",
    "Grant": "GRANT",
    "Revoke": "REVOKE",
    "Analyze": "ANALYZE",
    "Copy": "COPY",
    "Attach": "ATTACH",
    "Detach": "DETACH",
    "Into": "SELECT ... INTO",
    "Command": "",  # statements sqlglot does not model (VACUUM, SAVEPOINT, ...): named by their keyword
}

_ENTERPRISE = "ENT"  # ENT.<name>: a shared data extension of the parent account


def _not_a_select(what: str) -> ScriptError:
    return ScriptError(
        f"Query activities run one SELECT statement; {what} is not allowed",
        hint="the query activity's target data extension and update type (Overwrite, Append, Update) "
        "decide what is written",
    )


def _invalid_object(name: str) -> ScriptError:
    return ScriptError(f"Invalid object name '{name}'.")


def _unknown_function(name: str) -> ScriptError:
    return ScriptError(f"'{name}' is not a recognized built-in function name.")


def _first_word(query_text: str) -> str:
    """The query's first keyword (comments skipped), for naming a statement sqlglot cannot parse."""
    import sqlglot

    try:
        tokens = sqlglot.tokenize(query_text, read="tsql")
    except Exception:  # sqlglot's TokenError: unterminated string or comment
        return ""
    return tokens[0].text.upper() if tokens else ""


def _statement_classes() -> list[tuple[type, str]]:
    from sqlglot import exp

    return [(getattr(exp, name), shown) for name, shown in _STATEMENTS.items() if hasattr(exp, name)]


def check(query_text: str, store: DataExtensionStore) -> Any:
    """The query's sqlglot tree, if it is one SELECT reading only data extensions; else a ScriptError.

    ``ENT.`` prefixes are dropped.
    """
    import sqlglot
    from sqlglot import exp

    try:
        statements = [tree for tree in sqlglot.parse(query_text, read=tsql.dialect()) if tree is not None]
    except sqlglot.errors.ParseError as error:
        first = _first_word(query_text)
        if first and first not in ("SELECT", "WITH", "("):
            raise _not_a_select(first) from None
        raise ScriptError(f"the query is not valid SQL: {error}") from None
    if not statements:
        raise ScriptError("the query is empty", hint="a query activity runs one SELECT statement")
    if len(statements) > 1:
        raise _not_a_select("more than one statement")
    tree = statements[0]
    while isinstance(tree, exp.Subquery) and not tree.args.get("alias"):  # (SELECT ...)
        tree = tree.this
    set_operation = getattr(exp, "SetOperation", exp.Union)
    kinds = _statement_classes()
    for node in tree.find_all(exp.Expression):
        for kind, shown in kinds:
            if isinstance(node, kind):
                raise _not_a_select(shown or (to_text(node.this).split() or ["this statement"])[0].upper())
    if not isinstance(tree, (exp.Select, set_operation)):
        raise _not_a_select(_first_word(query_text) or "this statement")

    common = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    names = {name.lower() for name in store.names()}
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):  # a table-valued function: pragma_table_info(...)
            function = table.this.name if isinstance(table.this, exp.Func) else table.this.sql()
            raise _invalid_object(function or table.sql(dialect="tsql"))
        name = table.name
        shown = ".".join(part for part in (table.catalog, table.db, name) if part)
        if table.catalog or (table.db and table.db.upper() != _ENTERPRISE):
            raise _invalid_object(shown)
        if not table.db and name.lower() in common:
            continue
        if name.lower().startswith(("_ampc_", "sqlite_")) or name.lower() not in names:
            raise _invalid_object(shown)
        table.set("db", None)  # ENT.<name>: the simulator has one account
    return tree


def system_now() -> _dt.datetime:
    """GETDATE(): the render's clock (`Context.now`), or Marketing Cloud's system time outside a render."""
    from ..rendering import current_page

    try:
        return current_page().context.now()
    except ScriptError:  # no render in progress
        return _dt.datetime.now(_SYSTEM_ZONE).replace(tzinfo=None)


def translate(
    query_text: str,
    store: DataExtensionStore,
    *,
    now: _dt.datetime | None = None,
    target: DataExtensionSpec | None = None,
) -> str:
    """T-SQL as Marketing Cloud accepts it -> SQLite (after `check`), following SQL Server's rules (`tsql`).

    `now` is GETDATE() (default `system_now()`); with `target`, the selected
    columns are converted to its fields' types.
    """
    tree = check(query_text, store)
    return tsql.rewrite(tree, store, now or system_now(), target).sql(dialect="sqlite")


def _authorizer(tables: set[str], refused: list[ScriptError], writes: list[ScriptError]) -> Callable[..., int]:
    """An SQLite authorizer allowing a SELECT of data extension tables and ordinary functions only.

    What it refuses goes to `refused` (reads, functions) or `writes` (anything else).
    """
    allowed_actions = {sqlite3.SQLITE_SELECT, getattr(sqlite3, "SQLITE_RECURSIVE", 33)}

    def authorize(action: int, first: str | None, second: str | None, database: str | None, _source: str | None) -> int:
        if action in allowed_actions:
            return sqlite3.SQLITE_OK
        # COUNT(*) reads a table with no column and no schema named
        if action == sqlite3.SQLITE_READ and database in ("main", None) and (first or "").lower() in tables:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and (second or "").lower() in _FUNCTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            refused.append(_unknown_function(second or ""))
        elif action == sqlite3.SQLITE_READ:  # a table that is not a data extension: catalog, virtual table
            refused.append(_invalid_object(first or ""))
        else:  # a write, a pragma, an attach, ... (a table-valued function starts with one, on sqlite_master)
            writes.append(_not_a_select("changing the database"))
        return sqlite3.SQLITE_DENY

    return authorize


class TimedOut(Exception):
    """The query ran past its deadline (the caller turns it into the render's time limit error)."""


def select(
    store: DataExtensionStore,
    sql: str,
    *,
    max_length: int | None = None,
    deadline: float | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a checked, translated SELECT under the authorizer: its column names and rows.

    `max_length` caps any string or blob the query makes (SQLite's
    SQLITE_LIMIT_LENGTH); `deadline` (time.monotonic()) interrupts it.
    """
    db = store.db
    refused: list[ScriptError] = []
    writes: list[ScriptError] = []
    tsql.register(db)
    tables = {name.lower() for name in store.names()}
    previous_length = db.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) if max_length else None
    timed_out = False

    def progress() -> int:
        nonlocal timed_out
        timed_out = deadline is not None and time.monotonic() > deadline
        return int(timed_out)

    db.set_authorizer(_authorizer(tables, refused, writes))
    if max_length:
        db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max_length)
    if deadline is not None:
        db.set_progress_handler(progress, 10_000)
    try:
        with tsql.collecting() as failures:  # what a T-SQL function or conversion raised
            cursor = db.execute(sql)
            columns = [column[0] for column in cursor.description or ()]
            rows = cursor.fetchall()
    except sqlite3.Error as error:  # unknown column, refused by the authorizer, too big, interrupted
        if refused or writes:  # name the table or function rather than the write it needed
            raise (refused or writes)[0] from None
        if timed_out:
            raise TimedOut from None
        if failures:  # SQL Server's error: a conversion that failed, a division by zero
            raise ScriptError(failures[0].message) from None
        unknown = str(error).partition("no such function: ")[2]
        if unknown:
            raise _unknown_function(unknown) from None
        raise ScriptError(f"the query failed: {error}") from None
    finally:
        db.set_authorizer(None)
        if previous_length is not None:
            db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, previous_length)
        if deadline is not None:
            db.set_progress_handler(None, 0)
    return columns, rows


def run(
    store: DataExtensionStore,
    query_text: str,
    target: str,
    update_type: str,
    *,
    max_length: int | None = None,
    deadline: float | None = None,
) -> int:
    """Run a query into the target data extension; returns the number of rows written.

    Raises ScriptError if the query is refused or fails (nothing is written
    then), `TimedOut` if it runs past `deadline`.
    """
    spec = store.spec(target)
    mode = (update_type or "Overwrite").strip().lower()
    if mode not in ("overwrite", "append", "update"):
        raise ScriptError(f"TargetUpdateType {update_type!r} is not Overwrite, Append or Update")
    sql = translate(query_text, store, target=spec)
    with store.transaction():
        columns, values = select(store, sql, max_length=max_length, deadline=deadline)
        rows = [dict(zip(columns, row)) for row in values]
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
