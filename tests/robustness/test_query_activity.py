"""A query activity runs one SELECT of data extensions, and nothing else reaches the simulator's store.

Whatever a QueryDefinition's QueryText holds, starting it answers OK (as in
Marketing Cloud) and the outcome is in the activity log; a refused query is
an activity error, never a Python exception, and leaves every table (and a
``--state`` file) as it was.  See `ampscript.backends.queries`.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import ampc
from ampscript import Context, ScriptError
from ampscript.backends import queries
from ampscript.limits import LimitExceeded
from ampscript.values.case import fold

START = (
    '%%[ set @q = CreateObject("QueryDefinition") SetObjectProperty(@q, "CustomerKey", "q")'
    ' set @s = InvokePerform(@q, "start", @m) ]%%%%=v(@s)=%%'
)
NOT_A_SELECT = "Query activities run one SELECT statement; "


def _workspace(root: Path, query: str, update_type: str = "Overwrite") -> Path:
    """Members and Orders to read, Dst (keyed by SubscriberKey, one row 'kept') to write."""
    (root / "objects").mkdir(parents=True, exist_ok=True)
    (root / "objects" / "QueryDefinition.json").write_text(
        json.dumps(
            [
                {
                    "CustomerKey": "q",
                    "Name": "Query",
                    "QueryText": query,
                    "TargetUpdateType": update_type,
                    "DataExtensionTarget": {"CustomerKey": "Dst"},
                }
            ]
        )
    )
    folder = root / "DataExtensions"
    folder.mkdir(exist_ok=True)
    (folder / "Members.csv").write_text(
        "SubscriberKey,Tier,Points,Joined\nSK-1,Gold,1500,2023-01-10\nSK-2,gold,800,2023-07-01\nSK-3,Silver,200,2020-05-05\n"
    )
    (folder / "Members.schema.json").write_text(
        json.dumps(
            {
                "fields": [
                    {"name": "SubscriberKey", "primaryKey": True},
                    {"name": "Tier"},
                    {"name": "Points", "type": "Number"},
                    {"name": "Joined", "type": "Date"},
                ]
            }
        )
    )
    (folder / "Orders.csv").write_text("SubscriberKey,Total\nSK-1,10.5\nSK-1,20\nSK-3,5\n")
    (folder / "Orders.schema.json").write_text(
        json.dumps({"fields": [{"name": "SubscriberKey"}, {"name": "Total", "type": "Decimal", "scale": 2}]})
    )
    (folder / "Dst.csv").write_text("SubscriberKey,Label\nkept,before\n")
    (folder / "Dst.schema.json").write_text(
        json.dumps({"fields": [{"name": "SubscriberKey", "primaryKey": True}, {"name": "Label"}]})
    )
    return root


def _snapshot(context: Context) -> tuple:
    """Everything in the store but the activity log: the schema and every data extension's rows."""
    simulator = context.backend
    schema = list(simulator.db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name"))
    rows = {name: simulator.data_extensions.rows(name) for name in simulator.data_extensions.names()}
    objects = list(simulator.db.execute("SELECT id, object_type, properties FROM _ampc_api_object ORDER BY id"))
    return schema, rows, objects


def _start(context: Context) -> tuple[str, str]:
    """Start the query; the activity's (status, message)."""
    assert ampc.render(START, context=context) == "OK"  # starting succeeds whatever the query holds
    (*_, status, message) = context.backend.activity()[-1]
    return status, message


def _refused(tmp_path: Path, query: str) -> str:
    """Start a query that must be refused: the store is unchanged; returns the activity's message."""
    context = Context(workspace=_workspace(tmp_path, query))
    before = _snapshot(context)
    status, message = _start(context)
    assert status == "Error", message
    assert _snapshot(context) == before
    return message


def _dst(context: Context) -> list[tuple[str, str]]:
    return [(row["SubscriberKey"], row["Label"]) for row in context.backend.data_extensions.rows("Dst", order_by="SubscriberKey")]


# ---- anything but one SELECT is refused ----------------------------------------------


NOT_SELECTS = [
    ("DELETE FROM Members", "DELETE"),
    ("UPDATE Members SET Tier = 'Lead'", "UPDATE"),
    ("INSERT INTO Dst (SubscriberKey, Label) VALUES ('x', 'y')", "INSERT"),
    ("INSERT INTO Dst SELECT SubscriberKey, Tier FROM Members", "INSERT"),
    ("WITH gone AS (SELECT SubscriberKey FROM Members) DELETE FROM Members", "DELETE"),
    ("WITH gone AS (DELETE FROM Members RETURNING *) SELECT SubscriberKey FROM gone", "DELETE"),
    ("MERGE INTO Dst USING Members ON Dst.SubscriberKey = Members.SubscriberKey WHEN MATCHED THEN DELETE;", "MERGE"),
    ("REPLACE INTO Dst VALUES ('x', 'y')", "REPLACE"),
    ("SELECT SubscriberKey INTO Evil FROM Members", "SELECT ... INTO"),
    ("SELECT SubscriberKey FROM Members; DELETE FROM Members", "more than one statement"),
    ("SELECT SubscriberKey FROM Members; SELECT SubscriberKey FROM Members", "more than one statement"),
    ("EXEC sp_executesql N'DELETE FROM Members'", "EXEC"),
    ("DROP TABLE Members", "DROP"),
    ("CREATE TABLE Evil (A int)", "CREATE"),
    ("ALTER TABLE Members ADD Evil int", "ALTER"),
    ("TRUNCATE TABLE Members", "TRUNCATE"),
    ("PRAGMA writable_schema = 1", "PRAGMA"),
    ("BEGIN TRANSACTION", "BEGIN"),
    ("COMMIT", "COMMIT"),
    ("ROLLBACK", "ROLLBACK"),
    ("SAVEPOINT sneaky", "SAVEPOINT"),
    ("VACUUM", "VACUUM"),
    ("DETACH DATABASE main", "DETACH"),
    ("DECLARE @x int", "DECLARE"),
    ("REINDEX", "REINDEX"),
    ("ANALYZE", "ANALYZE"),
]


@pytest.mark.parametrize(("query", "named"), NOT_SELECTS, ids=[query for query, _ in NOT_SELECTS])
def test_anything_but_one_select_is_an_activity_error_and_changes_nothing(tmp_path, query, named):
    message = _refused(tmp_path, query)
    assert message.startswith(NOT_A_SELECT) and named in message, message


def test_attach_is_refused_and_creates_no_file(tmp_path):
    other = tmp_path / "other.db"
    message = _refused(tmp_path, f"ATTACH DATABASE '{other}' AS other")
    assert message == NOT_A_SELECT + "ATTACH is not allowed"
    assert not other.exists()


def test_an_empty_query_is_an_activity_error(tmp_path):
    assert _refused(tmp_path, "  -- nothing\n") == "the query is empty"


# ---- the store's own tables and SQLite's catalog are not there ------------------------


INTERNAL = [
    ("SELECT name AS SubscriberKey FROM sqlite_master", "sqlite_master"),
    ("SELECT name AS SubscriberKey FROM sqlite_schema", "sqlite_schema"),
    ("SELECT name AS SubscriberKey FROM sqlite_temp_master", "sqlite_temp_master"),
    ("SELECT name AS SubscriberKey FROM sqlite_sequence", "sqlite_sequence"),
    ("SELECT properties AS SubscriberKey FROM _ampc_api_object", "_ampc_api_object"),
    ("SELECT name AS SubscriberKey FROM [_ampc_data_extension]", "_ampc_data_extension"),
    ("SELECT m.SubscriberKey FROM Members m JOIN _ampc_meta x ON 1 = 1", "_ampc_meta"),
    ("SELECT SubscriberKey FROM Members WHERE SubscriberKey IN (SELECT name FROM sqlite_master)", "sqlite_master"),
    ("WITH c AS (SELECT name AS SubscriberKey FROM _ampc_activity) SELECT SubscriberKey FROM c", "_ampc_activity"),
    ("SELECT name AS SubscriberKey FROM pragma_table_info('Members')", "pragma_table_info"),
    ("SELECT key AS SubscriberKey FROM json_each('[1]')", "json_each"),
    ("SELECT name AS SubscriberKey FROM dbstat", "dbstat"),
    ("SELECT SubscriberKey FROM main.Members", "main.Members"),
    ("SELECT SubscriberKey FROM temp.Members", "temp.Members"),
    ("SELECT SubscriberKey FROM NoSuchDataExtension", "NoSuchDataExtension"),  # the same error
]


@pytest.mark.parametrize(("query", "name"), INTERNAL, ids=[name for _, name in INTERNAL])
def test_internal_tables_are_invalid_object_names(tmp_path, query, name):
    assert _refused(tmp_path, query) == f"Invalid object name '{name}'."


@pytest.mark.parametrize(
    "call", ["load_extension('/nonexistent')", "fts3_tokenizer('simple')", "sqlite_version()", "readfile('/etc/passwd')",
             "writefile('evil.txt', 'x')", "sqlite_compileoption_get(0)"]
)
def test_functions_outside_the_data_are_refused(tmp_path, call):
    message = _refused(tmp_path, f"SELECT SubscriberKey, {call} AS Label FROM Members")
    assert call.split("(")[0] in message.lower()
    assert not (tmp_path / "evil.txt").exists() and not Path("evil.txt").exists()


def _store(tmp_path: Path):
    return Context(workspace=_workspace(tmp_path, "SELECT 1")).backend


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM sqlite_master", "Invalid object name 'sqlite_master'."),
        ("SELECT * FROM _ampc_api_object", "Invalid object name '_ampc_api_object'."),
        ("SELECT * FROM pragma_table_info('Members')", NOT_A_SELECT + "changing the database is not allowed"),
        ('DELETE FROM "Members"', NOT_A_SELECT + "changing the database is not allowed"),
        ("DROP TABLE \"Members\"", NOT_A_SELECT + "changing the database is not allowed"),
        ("SELECT fts3_tokenizer('simple')", "'fts3_tokenizer' is not a recognized built-in function name."),
    ],
)
def test_the_authorizer_refuses_what_the_tree_check_would_have(tmp_path, sql, message):
    """Defence in depth: SQL that skipped `queries.check` is still refused, by SQLite itself."""
    simulator = _store(tmp_path)
    store = simulator.data_extensions
    before = list(simulator.db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name"))
    with pytest.raises(ScriptError) as raised:
        queries.select(store, sql)
    assert raised.value.message == message
    assert list(simulator.db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name")) == before
    assert store.count("Members") == 3
    # The authorizer is gone afterwards: the store reads its own tables again.
    assert simulator.db.execute("SELECT COUNT(*) FROM _ampc_data_extension").fetchone() == (3,)
    assert queries.select(store, 'SELECT COUNT(*) FROM "Members"') == (["COUNT(*)"], [(3,)])


def test_no_sqlite_function_touches_files(tmp_path):
    db = _store(tmp_path).db
    with pytest.raises(sqlite3.OperationalError, match="not authorized"):  # extension loading stays disabled
        db.execute("SELECT load_extension('/nonexistent')")
    for function in ("readfile('x')", "writefile('x', 'y')", "edit('x')"):
        with pytest.raises(sqlite3.OperationalError, match="no such function"):
            db.execute(f"SELECT {function}")


def test_a_query_cannot_make_huge_strings(tmp_path):
    query = "SELECT SubscriberKey, REPLACE(printf('%.*c', 5000000, 'x'), 'x', 'xxxx') AS Label FROM Members"
    message = _refused(tmp_path, query)
    assert message == "the query failed: string or blob too big"  # past stringCharacters (10,000,000)


def test_a_runaway_query_stops_at_the_render_time_limit(tmp_path):
    query = "WITH r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT CAST(n AS varchar) AS SubscriberKey FROM r"
    context = Context(workspace=_workspace(tmp_path, query), limits={"renderSeconds": 1})
    with pytest.raises(LimitExceeded) as raised:
        ampc.render(START, context=context)
    assert raised.value.limit == "render_seconds"
    assert _dst(context) == [("kept", "before")]


# ---- a refused query leaves a --state file whole --------------------------------------


@pytest.mark.parametrize(
    "query", ["DROP TABLE Members", "COMMIT", "ROLLBACK", "DELETE FROM Members", "PRAGMA journal_mode = DELETE",
              "SELECT name AS SubscriberKey FROM sqlite_master"]
)
def test_after_a_refused_query_the_state_file_is_whole_and_later_renders_work(tmp_path, query):
    workspace = _workspace(tmp_path / "ws", query)
    state = tmp_path / "state.db"
    first = Context(workspace=workspace, state=state)
    status, _ = _start(first)
    assert status == "Error"

    second = Context(workspace=workspace, state=state)  # a new connection on the same file
    source = '%%=Lookup("Members", "Tier", "SubscriberKey", "SK-1")=%% %%=DataExtensionRowCount("Members")=%%'
    assert ampc.render(source, context=second) == "Gold 3"
    assert ampc.render('%%=InsertData("Dst", "SubscriberKey", "new", "Label", "x")=%%', context=second) == "1"
    assert [entry[3] for entry in second.backend.activity()] == ["Error"]

    with sqlite3.connect(state) as db:
        # The store's own collation and index function (the value core's case folding).
        db.create_collation("AMPSCRIPT_CI", lambda a, b: (fold(a) > fold(b)) - (fold(a) < fold(b)))
        db.create_function("ampc_fold", 1, lambda v: fold(v) if isinstance(v, str) else v, deterministic=True)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    script = workspace / "page.amp"
    script.write_text('%%=DataExtensionRowCount("Members")=%% %%=DataExtensionRowCount("Dst")=%%')
    run = subprocess.run(
        [sys.executable, "-m", "ampc", "run", str(script), "--state", str(state)],
        capture_output=True, text=True, timeout=60,
    )
    assert (run.returncode, run.stdout) == (0, "3 2"), run.stderr
    assert "Error" not in run.stderr


# ---- ordinary SELECTs still work ------------------------------------------------------


SELECTS = [
    (
        "SELECT m.SubscriberKey, CAST(SUM(o.Total) AS varchar) AS Label FROM Members m"
        " INNER JOIN Orders o ON o.SubscriberKey = m.SubscriberKey GROUP BY m.SubscriberKey",
        # SUM of a decimal(18, 2) keeps scale 2, as SQL Server's does (SUM (Transact-SQL): return types).
        [("SK-1", "30.50"), ("SK-3", "5.00")],
    ),
    (
        "SELECT m.SubscriberKey, 'no orders' AS Label FROM [Members] AS m"
        " LEFT JOIN [Orders] AS o ON o.SubscriberKey = m.SubscriberKey WHERE o.SubscriberKey IS NULL",
        [("SK-2", "no orders")],
    ),
    (
        "WITH gold AS (SELECT SubscriberKey FROM Members WHERE Tier = 'Gold')"
        " SELECT SubscriberKey, 'gold' AS Label FROM gold",
        [("SK-1", "gold"), ("SK-2", "gold")],  # 'gold' = 'Gold': SQL Server's collation ignores case
    ),
    ("SELECT TOP 1 SubscriberKey, Tier AS Label FROM Members ORDER BY Points DESC", [("SK-1", "Gold")]),
    (
        "SELECT SubscriberKey, CASE WHEN Points >= 1000 THEN 'high' WHEN Points >= 500 THEN 'mid' ELSE 'low' END AS Label"
        " FROM Members",
        [("SK-1", "high"), ("SK-2", "mid"), ("SK-3", "low")],
    ),
    (
        "SELECT SubscriberKey, 'this year' AS Label FROM Members WHERE Joined >= '2023-01-01' AND Joined < GETDATE()",
        [("SK-1", "this year"), ("SK-2", "this year")],
    ),
    (
        "SELECT SubscriberKey, CAST(DATEDIFF(day, Joined, '2023-07-11') AS varchar) AS Label FROM Members"
        " WHERE Joined > DATEADD(day, -4000, GETDATE()) AND Points < 1000 AND Points > 500",
        [("SK-2", "10")],
    ),
    (
        "SELECT SubscriberKey, 'a' AS Label FROM Members WHERE Points > 1000"
        " UNION SELECT SubscriberKey, 'b' FROM Members WHERE Points < 500",
        [("SK-1", "a"), ("SK-3", "b")],
    ),
    (
        "SELECT SubscriberKey, 'buyer' AS Label FROM ENT.Members WHERE SubscriberKey IN (SELECT SubscriberKey FROM Orders)",
        [("SK-1", "buyer"), ("SK-3", "buyer")],
    ),
    ("(SELECT SubscriberKey, Tier AS Label FROM Members WHERE Points = 200);", [("SK-3", "Silver")]),
]


@pytest.mark.parametrize(("query", "rows"), SELECTS, ids=range(len(SELECTS)))
def test_ordinary_selects_still_work(tmp_path, query, rows):
    context = Context(workspace=_workspace(tmp_path, query))
    status, message = _start(context)
    assert (status, message) == ("Complete", f"{len(rows)} rows written")
    assert _dst(context) == rows  # Overwrite: 'kept' is gone


def test_append_and_update_still_work(tmp_path):
    query = "SELECT SubscriberKey, Tier AS Label FROM Members WHERE Points >= 800"
    appended = Context(workspace=_workspace(tmp_path / "append", query, "Append"))
    assert _start(appended) == ("Complete", "2 rows written")
    assert _dst(appended) == [("kept", "before"), ("SK-1", "Gold"), ("SK-2", "gold")]
    query = "SELECT 'kept' AS SubscriberKey, 'after' AS Label UNION SELECT SubscriberKey, Tier FROM Members WHERE Points = 200"
    updated = Context(workspace=_workspace(tmp_path / "update", query, "Update"))
    assert _start(updated) == ("Complete", "2 rows written")
    assert _dst(updated) == [("kept", "after"), ("SK-3", "Silver")]
