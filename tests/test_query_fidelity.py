"""Query activities follow SQL Server's rules, not SQLite's (`ampscript.backends.tsql`).

Golden cases that run whole activities are in tests/corpus/queries/; here
are the cases the corpus cannot show (an activity's error message is in the
activity log, not in the page) and the module's parts one by one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import ampc
import pytest
from ampscript import Context, ScriptError
from ampscript.backends import queries, tsql

START = (
    '%%[ set @q = CreateObject("QueryDefinition") SetObjectProperty(@q, "CustomerKey", "q")'
    ' set @s = InvokePerform(@q, "start", @m) ]%%%%=v(@s)=%%'
)

SCORES = [
    # SubscriberKey, Name, Points (Text), Tier, MemberNo (Text), Joined, Balance, Active, Visits, Code (Text)
    ("SK-1", "Ana", "150", "Gold", "1001", "2020-12-31", "10.50", "true", "3", "7"),
    ("SK-2", "ben", "90", "gold", "1002", "2021-01-01", "5.00", "false", "12", "12"),
    ("SK-3", "Cleo", "1200", "Silver", "1003", "2023-06-15 08:30:00", "0.25", "true", "0", "x9"),
    ("SK-4", "dora", "20", "Bronze ", "1004", "2024-02-29", "99.99", "false", "7", "3"),
]


def _workspace(root: Path, query: str = "SELECT 1 AS SubscriberKey") -> Path:
    folder = root / "DataExtensions"
    folder.mkdir(parents=True, exist_ok=True)
    (root / "objects").mkdir(exist_ok=True)
    (root / "objects" / "QueryDefinition.json").write_text(
        json.dumps([{"CustomerKey": "q", "QueryText": query, "TargetUpdateType": "Overwrite",
                     "DataExtensionTarget": {"CustomerKey": "Dst"}}])
    )
    header = "SubscriberKey,Name,Points,Tier,MemberNo,Joined,Balance,Active,Visits,Code"
    (folder / "Scores.csv").write_text("\n".join([header, *(",".join(row) for row in SCORES)]) + "\n")
    (folder / "Scores.schema.json").write_text(json.dumps({"fields": [
        {"name": "SubscriberKey", "primaryKey": True}, {"name": "Name"}, {"name": "Points"}, {"name": "Tier"},
        {"name": "MemberNo"}, {"name": "Joined", "type": "Date"}, {"name": "Balance", "type": "Decimal", "scale": 2},
        {"name": "Active", "type": "Boolean"}, {"name": "Visits", "type": "Number"}, {"name": "Code"},
    ]}))
    (folder / "Orders.csv").write_text("OrderId,MemberNo,Amount\n1,1001,20.00\n2,1001,5.50\n3,1003,100.00\n4,1999,1.00\n")
    (folder / "Orders.schema.json").write_text(json.dumps({"fields": [
        {"name": "OrderId", "type": "Number", "primaryKey": True}, {"name": "MemberNo", "type": "Number"},
        {"name": "Amount", "type": "Decimal", "scale": 2},
    ]}))
    (folder / "Dst.csv").write_text("SubscriberKey,Label\nkept,before\n")
    (folder / "Dst.schema.json").write_text(json.dumps({"fields": [
        {"name": "SubscriberKey", "primaryKey": True, "length": 100}, {"name": "Label", "length": 400},
    ]}))
    (folder / "Typed.csv").write_text("SubscriberKey,Amount,Price,Happened,Flag\nkept,1,1.00,2020-01-01,true\n")
    (folder / "Typed.schema.json").write_text(json.dumps({"fields": [
        {"name": "SubscriberKey", "primaryKey": True}, {"name": "Amount", "type": "Number"},
        {"name": "Price", "type": "Decimal", "scale": 2}, {"name": "Happened", "type": "Date"},
        {"name": "Flag", "type": "Boolean"},
    ]}))
    return root


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One simulator for the expression checks (each query overwrites Dst)."""
    return Context(workspace=_workspace(tmp_path_factory.mktemp("fidelity"))).backend.data_extensions


def _rows(store, query: str, target: str = "Dst") -> list[tuple]:
    queries.run(store, query, target, "Overwrite")
    return [tuple(row.values()) for row in store.rows(target, order_by="SubscriberKey")]


def _keys(store, where: str) -> list[str]:
    return [row[0] for row in _rows(store, f"SELECT SubscriberKey, Name AS Label FROM Scores WHERE {where}")]


def _value(store, expression: str) -> str | None:
    """`expression` evaluated once and written to a Text field."""
    ((_, label),) = _rows(store, f"SELECT 'k' AS SubscriberKey, {expression} AS Label")
    return label


def _error(store, query: str) -> str:
    before = store.rows("Dst", order_by="SubscriberKey")
    with pytest.raises(ScriptError) as raised:
        queries.run(store, query, "Dst", "Overwrite")
    assert store.rows("Dst", order_by="SubscriberKey") == before  # the activity failed as a whole
    return raised.value.message


# ---- implicit conversion (Data type precedence) ------------------------------------------


def test_text_compared_with_a_number_compares_numbers(store):
    # SQLite alone: every text is greater than any integer, so all four rows.
    assert _keys(store, "Points > 100") == ["SK-1", "SK-3"]
    assert _keys(store, "100 < Points") == ["SK-1", "SK-3"]
    assert _keys(store, "Points IN (90, 20)") == ["SK-2", "SK-4"]
    assert _keys(store, "Points BETWEEN 50 AND 200") == ["SK-1", "SK-2"]
    assert _keys(store, "Points = 1200.0") == ["SK-3"]
    assert _keys(store, "CASE WHEN Points >= 1000 THEN 1 ELSE 0 END = 1") == ["SK-3"]
    assert _keys(store, "CASE Points WHEN 90 THEN 1 END = 1") == ["SK-2"]


def test_arithmetic_on_text_is_numeric_and_plus_on_two_texts_concatenates(store):
    rows = _rows(store, "SELECT SubscriberKey, Points + 1 AS Label FROM Scores")
    assert [label for _, label in rows] == ["151", "91", "1201", "21"]
    assert _value(store, "'1' + '2'") == "12"
    assert _value(store, "'1' + 2") == "3"
    assert _value(store, "'x' + NULL") is None


def test_a_join_of_a_text_and_a_number_column_compares_numbers(store):
    rows = _rows(store, "SELECT s.SubscriberKey, CAST(COUNT(*) AS varchar) AS Label FROM Scores s"
                        " INNER JOIN Orders o ON o.MemberNo = s.MemberNo GROUP BY s.SubscriberKey")
    assert rows == [("SK-1", "2"), ("SK-3", "1")]
    rows = _rows(store, "SELECT SubscriberKey, Name AS Label FROM Scores WHERE MemberNo IN (SELECT MemberNo FROM Orders)")
    assert [key for key, _ in rows] == ["SK-1", "SK-3"]


def test_text_compared_with_a_date_compares_datetimes(store):
    assert _keys(store, "Joined >= '01/01/2021' AND Joined < '2024-01-01'") == ["SK-2", "SK-3"]
    assert _keys(store, "Joined = 'Dec 31 2020'") == ["SK-1"]
    assert _keys(store, "Joined = '20201231'") == ["SK-1"]


def test_isnull_takes_the_first_arguments_type_and_coalesce_the_highest(store):
    assert _value(store, "ISNULL(NULL, 5) + 1") == "6"
    assert _value(store, "COALESCE(NULL, '5', 2) + 1") == "6"
    assert _error(store, "SELECT SubscriberKey, COALESCE(Name, 0) AS Label FROM Scores") == (
        "Conversion failed when converting the nvarchar value 'Ana' to data type int."
    )


def test_union_columns_take_the_highest_type(store):
    message = _error(store, "SELECT 'a' AS SubscriberKey, 'x' AS Label UNION SELECT 1, 'y'")
    assert message == "Conversion failed when converting the varchar value 'a' to data type int."


def test_types_that_agree_are_not_wrapped(store):
    """No conversion where the types already agree: the query runs at SQLite's speed."""
    sql = queries.translate("SELECT SubscriberKey FROM Scores WHERE Visits > 5 AND Balance < 10.5", store)
    assert "AMPC" not in sql.upper().replace("AMPC_CI_AS", "")
    sql = queries.translate("SELECT SubscriberKey FROM Scores WHERE Points > 5", store)
    assert sql.count("AMPC_CONVERT") == 1


# ---- errors, worded as SQL Server words them ----------------------------------------------


ERRORS = [
    ("SELECT SubscriberKey, Name AS Label FROM Scores WHERE Code > 5",
     "Conversion failed when converting the nvarchar value 'x9' to data type int."),  # error 245, a field
    ("SELECT 'k' AS SubscriberKey, CAST('abc' AS int) AS Label",
     "Conversion failed when converting the varchar value 'abc' to data type int."),  # a varchar literal
    ("SELECT 'k' AS SubscriberKey, CAST(N'abc' AS int) AS Label",
     "Conversion failed when converting the nvarchar value 'abc' to data type int."),
    ("SELECT 'k' AS SubscriberKey, CAST('1.5' AS int) AS Label",
     "Conversion failed when converting the varchar value '1.5' to data type int."),
    ("SELECT 'k' AS SubscriberKey, CAST('99999999999' AS int) AS Label",
     "The conversion of the varchar value '99999999999' overflowed an int column."),  # 248
    ("SELECT 'k' AS SubscriberKey, CAST('maybe' AS bit) AS Label",
     "Conversion failed when converting the varchar value 'maybe' to data type bit."),
    ("SELECT SubscriberKey, CAST(Name AS decimal(10, 2)) AS Label FROM Scores",
     "Error converting data type nvarchar to numeric."),  # 8114
    ("SELECT SubscriberKey, CAST(Points AS decimal(3, 0)) AS Label FROM Scores",
     "Arithmetic overflow error converting nvarchar to data type numeric."),  # 8115
    ("SELECT SubscriberKey, CAST(Name AS float) AS Label FROM Scores", "Error converting data type nvarchar to float."),
    ("SELECT SubscriberKey, Name AS Label FROM Scores WHERE Joined > Name",
     "Conversion failed when converting date and/or time from character string."),  # 241
    ("SELECT 'k' AS SubscriberKey, CAST('1600-01-01' AS datetime) AS Label",
     "The conversion of a varchar data type to a datetime data type resulted in an out-of-range value."),  # 242
    ("SELECT SubscriberKey, CAST(Visits / (Visits - Visits) AS varchar) AS Label FROM Scores",
     "Divide by zero error encountered."),  # 8134
    ("SELECT SubscriberKey, CAST(SUM(Points) AS varchar) AS Label FROM Scores GROUP BY SubscriberKey",
     "Operand data type nvarchar is invalid for sum operator."),  # 8117
    ("SELECT 'k' AS SubscriberKey, CAST(123 AS nvarchar(2)) AS Label",
     "Arithmetic overflow error converting expression to data type nvarchar."),
    ("SELECT 'k' AS SubscriberKey, CAST(CAST(1.5 AS decimal(3, 1)) AS varchar(2)) AS Label",
     "Arithmetic overflow error converting numeric to data type varchar."),
    ("SELECT 'k' AS SubscriberKey, DATEADD(fortnight, 1, GETDATE()) AS Label",
     "'fortnight' is not a recognized dateadd option."),
    ("SELECT 'k' AS SubscriberKey, CAST(DATEDIFF(millisecond, '1900-01-01', '2020-01-01') AS varchar) AS Label",
     ("The datediff function resulted in an overflow. The number of dateparts separating two date/time instances is "
      "too large. Try to use datediff with a less precise datepart.")),
    ("SELECT 'k' AS SubscriberKey, DATEADD(year, 9000, GETDATE()) AS Label",
     "Adding a value to a 'datetime' column caused an overflow."),
    ("SELECT 'k' AS SubscriberKey, SUBSTRING('abc', 1, -1) AS Label",
     "Invalid length parameter passed to the substring function."),
    ("SELECT 'k' AS SubscriberKey, CONVERT(varchar, GETDATE(), 99) AS Label",
     "99 is not a valid style number when converting from datetime to a character string."),
    ("SELECT 'k' AS SubscriberKey, NOSUCHFUNCTION(1) AS Label", "'NOSUCHFUNCTION' is not a recognized built-in function name."),
    ("SELECT 'k' AS SubscriberKey, 'x' COLLATE Klingon AS Label", "Invalid collation 'Klingon'."),
    ("SELECT TOP 1 WITH TIES SubscriberKey, Name AS Label FROM Scores ORDER BY Visits",
     "TOP ... WITH TIES is not supported by the simulator's query activities"),
]


@pytest.mark.parametrize(("query", "message"), ERRORS, ids=[message[:60] for _, message in ERRORS])
def test_a_failed_conversion_is_sql_servers_error_and_writes_nothing(store, query, message):
    assert _error(store, query) == message


def test_the_activity_log_has_the_error_and_the_target_is_untouched(tmp_path):
    context = Context(workspace=_workspace(tmp_path, "SELECT SubscriberKey, Name AS Label FROM Scores WHERE Code > 5"))
    assert ampc.render(START, context=context) == "OK"  # starting succeeds; the activity fails
    (*_, status, message) = context.backend.activity()[-1]
    assert (status, message) == ("Error", "Conversion failed when converting the nvarchar value 'x9' to data type int.")
    assert [row["SubscriberKey"] for row in context.backend.data_extensions.rows("Dst")] == ["kept"]


def test_try_cast_and_try_convert_give_null(store):
    assert _value(store, "TRY_CAST('abc' AS int)") is None
    assert _value(store, "TRY_CONVERT(datetime, 'soon')") is None
    assert _value(store, "TRY_CONVERT(int, ' 42 ')") == "42"


# ---- case-insensitive collation (SQL_Latin1_General_CP1_CI_AS) ----------------------------


def test_comparisons_ignore_case_and_trailing_spaces(store):
    assert _keys(store, "Tier = 'GOLD'") == ["SK-1", "SK-2"]
    assert _keys(store, "Tier <> 'GOLD'") == ["SK-3", "SK-4"]
    assert _keys(store, "Tier IN ('silver', 'BRONZE')") == ["SK-3", "SK-4"]  # 'Bronze ' = 'BRONZE'
    assert _keys(store, "Name < 'B'") == ["SK-1"]  # binary order would put 'Cleo' before 'ben'
    assert _keys(store, "UPPER(Name) = LOWER(Name)") == ["SK-1", "SK-2", "SK-3", "SK-4"]
    assert _keys(store, "Tier = 'Gold' COLLATE Latin1_General_CS_AS") == ["SK-1"]


@pytest.mark.parametrize(
    ("where", "keys"),
    [
        ("Name LIKE 'a%'", ["SK-1"]),
        ("Name LIKE '[a-c]%'", ["SK-1", "SK-2", "SK-3"]),
        ("Name LIKE '[^a-c]%'", ["SK-4"]),
        ("Name LIKE '[AD]%'", ["SK-1", "SK-4"]),
        ("Name LIKE '_e%'", ["SK-2"]),
        ("Name NOT LIKE '%[eo]%'", ["SK-1"]),
        ("SubscriberKey LIKE 'SK!-1' ESCAPE '!'", ["SK-1"]),
        ("Points LIKE '1[0-9]%'", ["SK-1", "SK-3"]),
        ("Visits LIKE '1_'", ["SK-2"]),  # a number is converted to text
        ("Tier LIKE 'bronze'", ["SK-4"]),  # the value's trailing space does not count (KB 316626)
        ("Tier LIKE 'gold '", []),  # the pattern's does
    ],
)
def test_like_has_t_sql_wildcards_and_ignores_case(store, where, keys):
    assert _keys(store, where) == keys


def test_group_by_distinct_union_and_order_by_ignore_case(store):
    rows = _rows(store, "SELECT MIN(SubscriberKey) AS SubscriberKey, CAST(COUNT(*) AS varchar) AS Label FROM Scores"
                        " GROUP BY Tier")
    assert rows == [("SK-1", "2"), ("SK-3", "1"), ("SK-4", "1")]
    rows = _rows(store, "SELECT DISTINCT UPPER(LEFT(Tier, 1)) + LOWER(SUBSTRING(Tier, 2, 10)) AS SubscriberKey,"
                        " 'x' AS Label FROM Scores")
    assert [key for key, _ in rows] == ["Bronze ", "Gold", "Silver"]
    rows = _rows(store, "SELECT 'gold' AS SubscriberKey, 'x' AS Label UNION SELECT Tier, 'x' FROM Scores")
    assert len(rows) == 3  # gold = Gold = gold; Silver; Bronze
    assert _value(store, "(SELECT COUNT(DISTINCT Tier) FROM Scores)") == "3"
    rows = _rows(store, "SELECT TOP 2 SubscriberKey, Name AS Label FROM Scores ORDER BY Name")
    assert [label for _, label in rows] == ["Ana", "ben"]


# ---- CAST and CONVERT ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("CAST(' 42 ' AS int)", "42"),
        ("CAST('' AS int)", "0"),
        ("CAST(10.9 AS int)", "10"),  # truncated
        ("CAST(-10.9 AS int)", "-10"),
        ("CAST('12.345' AS decimal(5, 2))", "12.35"),  # rounded
        ("CAST('7' AS float) / 2", "3.5"),
        ("CAST(1234567.0 AS float)", "1.23457e+006"),  # float -> varchar: 6 digits
        ("CAST(CAST(1 AS decimal(10, 3)) AS varchar)", "1.000"),
        ("CAST(7 AS decimal(4, 1)) / 2", "3.500000000000"),  # decimal(4,1) / int: scale max(6, 1 + 10 + 1)
        ("CAST('TRUE' AS bit)", "1"),
        ("CAST(5 AS bit)", "1"),
        ("CAST('abcdef' AS varchar(3))", "abc"),
        ("CAST('ab' AS char(4)) + '|'", "ab  |"),
        ("CAST(123 AS varchar(2))", "*"),
        ("CONVERT(varchar, 12345)", "12345"),
        ("CAST(1 AS varchar(max))", "1"),
        ("CONVERT(varchar(10), CAST('2024-02-29 13:05:09' AS datetime), 101)", "02/29/2024"),
        ("CONVERT(varchar, CAST('2024-02-29 13:05:09' AS datetime), 103)", "29/02/2024"),
        ("CONVERT(varchar, CAST('2024-02-29 13:05:09' AS datetime), 112)", "20240229"),
        ("CONVERT(varchar, CAST('2024-02-29 13:05:09' AS datetime), 120)", "2024-02-29 13:05:09"),
        ("CONVERT(varchar, CAST('2024-02-29 13:05:09.5' AS datetime), 121)", "2024-02-29 13:05:09.500"),
        ("CONVERT(varchar, CAST('2024-02-29 13:05:09' AS datetime), 126)", "2024-02-29T13:05:09"),
        ("CONVERT(varchar, CAST('2024-03-01 13:05:09' AS datetime))", "Mar  1 2024  1:05PM"),  # style 0
        ("CONVERT(varchar, CAST('2024-03-01 13:05:09.123' AS datetime), 109)", "Mar  1 2024  1:05:09:123PM"),
        ("CONVERT(varchar, CAST('2024-03-01' AS datetime), 106)", "01 Mar 2024"),
        ("CONVERT(varchar, CAST('2024-03-01 13:05:09' AS date))", "2024-03-01"),
        ("CONVERT(varchar(10), CONVERT(datetime, '29/02/2024', 103), 120)", "2024-02-29"),
        ("CONVERT(varchar(10), CONVERT(datetime, '02/03/2024', 101), 120)", "2024-02-03"),
        ("CONVERT(varchar(10), CONVERT(datetime, '02/03/2024'), 120)", "2024-02-03"),  # us_english: mdy
        ("CONVERT(varchar(10), CONVERT(date, '20240229', 112), 120)", "2024-02-29"),
        ("CONVERT(varchar(19), CAST('2024-02-29T07:08:09' AS datetime), 120)", "2024-02-29 07:08:09"),
        ("CONVERT(varchar(19), CAST('Feb 29 2024 7:08PM' AS datetime), 120)", "2024-02-29 19:08:00"),
        ("CONVERT(varchar(19), CAST('' AS datetime), 120)", "1900-01-01 00:00:00"),
        ("CONVERT(varchar(19), CAST(1 AS datetime), 120)", "1900-01-02 00:00:00"),
        ("CONVERT(varchar, 5, NULL)", None),
    ],
)
def test_cast_and_convert(store, expression, expected):
    assert _value(store, expression) == expected


def test_a_value_written_to_a_typed_field_is_converted_as_insert_select_converts(store):
    rows = _rows(store, "SELECT 'k' AS SubscriberKey, '42' AS Amount, '1.239' AS Price, '03/04/2024' AS Happened,"
                        " 'TRUE' AS Flag", "Typed")
    key, amount, price, happened, flag = rows[0]
    assert (key, amount, str(price), happened, flag) == ("k", 42, "1.24", dt.datetime(2024, 3, 4), True)
    rows = _rows(store, "SELECT 'k' AS SubscriberKey, 7.9 AS Amount", "Typed")
    assert rows[0][1] == 7  # decimal -> int truncates
    message = _error_on(store, "SELECT 'k' AS SubscriberKey, 'seven' AS Amount", "Typed")
    assert message == "Conversion failed when converting the varchar value 'seven' to data type int."
    rows = _rows(store, "SELECT SubscriberKey, Joined AS Label FROM Scores WHERE SubscriberKey = 'SK-2'")
    assert rows == [("SK-2", "Jan  1 2021 12:00AM")]  # datetime -> nvarchar: style 0
    rows = _rows(store, "SELECT SubscriberKey, Balance AS Label FROM Scores WHERE SubscriberKey = 'SK-2'")
    assert rows == [("SK-2", "5.00")]  # decimal(18,2) -> nvarchar keeps its scale


def _error_on(store, query: str, target: str) -> str:
    with pytest.raises(ScriptError) as raised:
        queries.run(store, query, target, "Overwrite")
    return raised.value.message


# ---- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("DATEDIFF(year, '2020-12-31', '2021-01-01')", "1"),  # one year boundary crossed
        ("DATEDIFF(year, '2020-01-01', '2020-12-31')", "0"),
        ("DATEDIFF(month, '2020-01-31', '2020-02-01')", "1"),
        ("DATEDIFF(quarter, '2020-03-31', '2020-04-01')", "1"),
        ("DATEDIFF(day, '2020-01-01 23:59', '2020-01-02 00:01')", "1"),
        ("DATEDIFF(hour, '2020-01-01 10:59', '2020-01-01 11:00')", "1"),
        ("DATEDIFF(minute, '2020-01-01 10:59:59', '2020-01-01 11:00:00')", "1"),
        ("DATEDIFF(week, '2024-03-09', '2024-03-10')", "1"),  # Saturday -> Sunday
        ("DATEDIFF(week, '2024-03-10', '2024-03-16')", "0"),  # Sunday -> Saturday
        ("DATEDIFF(day, '2024-03-10', '2024-03-01')", "-9"),
        ("CONVERT(varchar(10), DATEADD(month, 1, '2020-01-31'), 120)", "2020-02-29"),  # end of month kept
        ("CONVERT(varchar(10), DATEADD(yy, 1, '2024-02-29'), 120)", "2025-02-28"),
        ("CONVERT(varchar(19), DATEADD(minute, 90, '2024-01-01'), 120)", "2024-01-01 01:30:00"),
        ("CONVERT(varchar(10), DATEADD(day, -1, CAST('2024-03-01' AS date)), 120)", "2024-02-29"),
        ("CONVERT(varchar(10), CAST('2024-03-01' AS datetime) + 1, 120)", "2024-03-02"),
        ("DATEPART(weekday, '2024-03-10')", "1"),  # Sunday (us_english)
        ("DATEPART(dw, '2024-03-16')", "7"),
        ("DATEPART(week, '2024-01-06')", "1"),
        ("DATEPART(week, '2024-01-07')", "2"),
        ("DATEPART(iso_week, '2024-01-01')", "1"),
        ("DATEPART(quarter, '2024-08-01')", "3"),
        ("DATEPART(dayofyear, '2024-12-31')", "366"),
        ("DATEPART(hh, '2024-01-01 13:45')", "13"),
        ("DATENAME(month, '2024-03-01') + ' ' + DATENAME(weekday, '2024-03-01')", "March Friday"),
        ("CAST(YEAR('2024-03-01') AS varchar) + '-' + CAST(MONTH('2024-03-01') AS varchar) + '-' + CAST(DAY('2024-03-01') AS varchar)",
         "2024-3-1"),
        ("CONVERT(varchar(10), EOMONTH('2024-02-10'), 120)", "2024-02-29"),
        ("CONVERT(varchar(10), DATEFROMPARTS(2024, 2, 29), 120)", "2024-02-29"),
    ],
)
def test_date_functions(store, expression, expected):
    assert _value(store, f"CAST({expression} AS varchar(40))") == expected


def test_getdate_is_the_render_clock_in_central_standard_time(tmp_path):
    query = "SELECT 'now' AS SubscriberKey, CONVERT(varchar(30), GETDATE(), 121) + '|' + CONVERT(varchar(30), GETUTCDATE(), 120) AS Label"
    context = Context(workspace=_workspace(tmp_path, query), now=dt.datetime(2024, 3, 10, 9, 15, 30, 123456))
    assert ampc.render(START, context=context) == "OK"
    assert context.backend.data_extensions.rows("Dst")[0]["Label"] == "2024-03-10 09:15:30.123|2024-03-10 15:15:30"


def test_outside_a_render_getdate_is_utc_minus_six_hours():
    utc = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert abs(queries.system_now() - (utc - dt.timedelta(hours=6))) < dt.timedelta(seconds=5)


# ---- string functions, TOP -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("CAST(LEN('abc  ') AS varchar)", "3"),  # trailing spaces not counted
        ("CAST(LEN('  abc') AS varchar)", "5"),
        ("LEFT('abcdef', 2) + RIGHT('abcdef', 2)", "abef"),
        ("SUBSTRING('abcdef', 2, 3)", "bcd"),
        ("SUBSTRING('abcdef', 0, 3)", "ab"),  # positions 0, 1, 2
        ("CAST(CHARINDEX('C', 'abcabc') AS varchar)", "3"),
        ("CAST(CHARINDEX('c', 'abcabc', 4) AS varchar)", "6"),
        ("REPLACE('Aa-aA', 'a', 'x')", "xx-xx"),  # under a case-insensitive collation
        ("UPPER('straße é')", "STRAßE É"),
        ("LTRIM('  a ') + '|' + RTRIM(' a  ') + '|'", "a | a|"),
        ("CONCAT('a', NULL, 1, '-', 2.50)", "a1-2.50"),
        ("CAST(ROUND(1234.5678, 2) AS varchar)", "1234.5700"),
        ("CAST(ROUND(1234, -2) AS varchar)", "1200"),
        ("CAST(ROUND(2.5, 0) AS varchar)", "3.0"),
        ("IIF(1 > 2, 'yes', 'no')", "no"),
        ("CAST(10 / 4 AS varchar)", "2"),  # int / int
        ("CAST(-7 % 3 AS varchar)", "-1"),
    ],
)
def test_string_and_number_functions(store, expression, expected):
    assert _value(store, expression) == expected


def test_top_n_and_top_percent(store):
    rows = _rows(store, "SELECT TOP 2 SubscriberKey, Points AS Label FROM Scores ORDER BY CAST(Points AS int) DESC")
    assert [key for key, _ in rows] == ["SK-1", "SK-3"]
    rows = _rows(store, "SELECT TOP 30 PERCENT SubscriberKey, Name AS Label FROM Scores ORDER BY Visits")
    assert [key for key, _ in rows] == ["SK-1", "SK-3"]  # 30% of 4 rows is 1.2: rounded up to 2
    rows = _rows(store, "SELECT TOP (100) PERCENT SubscriberKey, Name AS Label FROM Scores")
    assert len(rows) == 4


def test_avg_of_integers_is_an_integer(store):
    assert _value(store, "(SELECT CAST(AVG(Visits) AS varchar) FROM Scores)") == "5"  # 22 / 4, truncated
    assert _value(store, "(SELECT CAST(AVG(Balance) AS varchar) FROM Scores)") == "28.935000"


# ---- the pieces ------------------------------------------------------------------------


def test_every_registered_function_is_allowed_deliberately():
    assert set(tsql.SQL_FUNCTIONS) <= queries._FUNCTIONS
    assert {name for name in queries._FUNCTIONS if name.startswith("ampc_")} == set(tsql.SQL_FUNCTIONS) | {"ampc_fold"}


def test_the_authorizer_still_refuses_what_is_not_a_data_extension(tmp_path):
    store = Context(workspace=_workspace(tmp_path)).backend.data_extensions
    with pytest.raises(ScriptError) as raised:
        queries.run(store, "SELECT name AS SubscriberKey FROM sqlite_master WHERE name > 1", "Dst", "Overwrite")
    assert raised.value.message == "Invalid object name 'sqlite_master'."


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2024-02-29", "mdy", dt.datetime(2024, 2, 29)),
        ("02/03/24", "mdy", dt.datetime(2024, 2, 3)),
        ("02/03/49", "dmy", dt.datetime(2049, 3, 2)),
        ("02/03/50", "dmy", dt.datetime(1950, 3, 2)),  # two digit year cutoff: 2049
        ("29 February 2024 10:00 PM", "mdy", dt.datetime(2024, 2, 29, 22)),
        ("12:00 AM", "mdy", dt.datetime(1900, 1, 1)),
        ("Mar  1 2024  1:05:09:123PM", "mdy", dt.datetime(2024, 3, 1, 13, 5, 9, 123000)),
        ("2024-02-30", "mdy", None),
        ("tomorrow", "mdy", None),
    ],
)
def test_parse_datetime(text, order, expected):
    assert tsql.parse_datetime(text, order) == expected


def test_like_patterns():
    assert tsql.like("ab]c", "ab]c") == 1  # ] alone is itself
    assert tsql.like("a%c", "a[%]c") == 1
    assert tsql.like("abc", "a[%]c") == 0
    assert tsql.like("a_c", "a!_c", "!") == 1
    assert tsql.like("ÉCOLE", "é%") == 1
    assert tsql.like(None, "%") is None
    assert re.fullmatch(r"\(\?!\)", tsql._like_pattern("[z-a]", None).pattern)


def test_a_query_runs_while_another_statement_of_the_connection_is_open(store):
    """Registering the functions again fails while a statement is active; the earlier registration serves."""
    _keys(store, "Points > 100")
    cursor = store.db.execute('SELECT OrderId FROM "Orders"')
    cursor.fetchone()  # the statement stays active
    try:
        assert _keys(store, "Points > 100") == ["SK-1", "SK-3"]
        assert _error(store, "SELECT SubscriberKey, Name AS Label FROM Scores WHERE Code > 5").startswith(
            "Conversion failed when converting the nvarchar value 'x9'"
        )
    finally:
        cursor.close()
