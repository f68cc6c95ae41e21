"""The embedded simulator's side effects: what a script's API calls leave behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import ampc
from ampscript import Context, RaisedError, ScriptError

SAMPLES = Path(__file__).parents[1] / "samples"


def _run(script: Path) -> Context:
    context = Context(workspace=script.parent)
    ampc.render(script.read_text(), filename=script.name, context=context)
    return context


def test_invoke_perform_seed_runs_the_query_into_its_target():
    context = _run(SAMPLES / "invoke-perform" / "invoke_perform.amp")
    simulator = context.backend
    rows = simulator.data_extensions.rows("LoyaltyGold", order_by="SubscriberKey")
    # Tier = 'Gold' matches 'gold' too: SQL Server's collation ignores case.
    assert [row["SubscriberKey"] for row in rows] == ["SK-1001", "SK-1003"]
    assert simulator.activity() == [("start", "QueryDefinition", "2b5ba1a6-6ee8-4b67-9b47-34f0b1c5d1f2", "Complete", "2 rows written")]


def test_log_unsub_event_seed_records_the_unsubscribe():
    context = _run(SAMPLES / "invoke-execute" / "log_unsub_event.amp")
    simulator = context.backend
    assert simulator.unsub_events() == [
        {
            "subscriber_key": "subscriber_key_to_unsubscribe",
            "email_address": "example@example.com",
            "job_id": None,
            "list_id": None,
            "batch_id": None,
            "reason": None,
        }
    ]
    (subscriber,) = [row for _, row in simulator.objects("Subscriber")]
    assert subscriber["Status"] == "Unsubscribed"


def test_refresh_group_seed_logs_the_refresh():
    context = _run(SAMPLES / "invoke-execute" / "refresh_group.amp")
    assert context.backend.activity() == [("Refresh", "Group", "YOUR_GROUP_CUSTOMER_KEY", "Complete", None)]


def test_a_failing_query_leaves_the_target_untouched_and_logs_the_error(tmp_path):
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "QueryDefinition.json").write_text(
        '[{"CustomerKey": "q", "QueryText": "SELECT Nope FROM [Src]", "TargetUpdateType": "Overwrite",'
        ' "DataExtensionTarget": {"CustomerKey": "Dst"}}]'
    )
    (tmp_path / "DataExtensions").mkdir()
    (tmp_path / "DataExtensions" / "Src.csv").write_text("A\n1\n")
    (tmp_path / "DataExtensions" / "Dst.csv").write_text("A\nkept\n")
    context = Context(workspace=tmp_path)
    output = ampc.render(
        '%%[ set @q = CreateObject("QueryDefinition") SetObjectProperty(@q, "CustomerKey", "q")'
        ' set @s = InvokePerform(@q, "start", @m) ]%%%%=v(@s)=%% %%=v(@m)=%%',
        context=context,
    )
    assert output == "OK QueryDefinition perform called successfully"
    assert [row["A"] for row in context.backend.data_extensions.rows("Dst")] == ["kept"]
    (entry,) = context.backend.activity()
    assert entry[3] == "Error" and "no such column: Nope" in entry[4]


def test_query_update_type_update_upserts_by_primary_key(tmp_path):
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "QueryDefinition.json").write_text(
        '[{"CustomerKey": "q", "QueryText": "SELECT K, V FROM Src", "TargetUpdateType": "Update",'
        ' "DataExtensionTarget": {"Name": "Dst"}}]'
    )
    folder = tmp_path / "DataExtensions"
    folder.mkdir()
    (folder / "Src.csv").write_text("K,V\n1,new\n3,added\n")
    (folder / "Dst.csv").write_text("K,V\n1,old\n2,other\n")
    (folder / "Dst.schema.json").write_text('{"fields": [{"name": "K", "primaryKey": true}, {"name": "V"}]}')
    context = Context(workspace=tmp_path)
    ampc.render(
        '%%[ set @q = CreateObject("QueryDefinition") SetObjectProperty(@q, "CustomerKey", "q")'
        ' set @s = InvokePerform(@q, "start") ]%%',
        context=context,
    )
    rows = context.backend.data_extensions.rows("Dst", order_by="K")
    assert [(row["K"], row["V"]) for row in rows] == [("1", "new"), ("2", "other"), ("3", "added")]


def test_state_file_keeps_changes_across_runs(tmp_path):
    import subprocess
    import sys

    (tmp_path / "DataExtensions").mkdir()
    (tmp_path / "DataExtensions" / "Counter.csv").write_text("Name\n")
    script = tmp_path / "add.amp"
    script.write_text(
        '%%[ set @s = CreateObject("Subscriber") SetObjectProperty(@s, "SubscriberKey", "k1")'
        ' SetObjectProperty(@s, "EmailAddress", "k1@example.com")'
        ' set @c = InvokeCreate(@s, @m, @e) ]%%%%=v(@c)=%%'
    )
    state = tmp_path / "state.db"
    command = [sys.executable, "-m", "ampc", "run", str(script), "--state", str(state)]
    first = subprocess.run(command, capture_output=True, text=True)
    second = subprocess.run(command, capture_output=True, text=True)
    assert (first.stdout, second.stdout) == ("OK", "Error")  # the subscriber exists the second time
    without_state = subprocess.run(command[:-2], capture_output=True, text=True)
    assert without_state.stdout == "OK"


def test_triggered_send_goes_to_the_outbox(tmp_path):
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "TriggeredSendDefinition.json").write_text('[{"CustomerKey": "ts"}]')
    context = Context(workspace=tmp_path)
    output = ampc.render(
        """%%[
        set @ts = CreateObject("TriggeredSend")
        set @def = CreateObject("TriggeredSendDefinition")
        SetObjectProperty(@def, "CustomerKey", "ts")
        SetObjectProperty(@ts, "TriggeredSendDefinition", @def)
        set @sub = CreateObject("Subscriber")
        SetObjectProperty(@sub, "EmailAddress", "a@example.com")
        SetObjectProperty(@sub, "SubscriberKey", "k-1")
        set @attr = CreateObject("Attribute")
        SetObjectProperty(@attr, "Name", "Coupon")
        SetObjectProperty(@attr, "Value", "SAVE10")
        AddObjectArrayItem(@sub, "Attributes", @attr)
        AddObjectArrayItem(@ts, "Subscribers", @sub)
        set @status = InvokeCreate(@ts, @message, @code)
        ]%%%%=v(@status)=%%""",
        context=context,
    )
    assert output == "OK"
    assert context.backend.outbox() == [
        {"definition": "ts", "subscriber_key": "k-1", "email_address": "a@example.com", "attributes": {"Coupon": "SAVE10"}}
    ]


def _retrieve_script(object_type: str, properties: list[str], extra: str = "") -> str:
    adds = "".join(f'AddObjectArrayItem(@rr, "Properties", "{name}")\n' for name in properties)
    return (
        f'%%[ set @rr = CreateObject("RetrieveRequest")\nSetObjectProperty(@rr, "ObjectType", "{object_type}")\n'
        f"{adds}{extra}]%%"
    )


def test_retrieve_pages_of_2500_with_continue_request(tmp_path):
    (tmp_path / "objects").mkdir()
    lists = [{"ID": n, "ListName": f"List {n}"} for n in range(1, 2601)]
    (tmp_path / "objects" / "List.json").write_text(json.dumps(lists))
    source = _retrieve_script("List", ["ID"]) + """%%[
    set @first = InvokeRetrieve(@rr, @status1, @id1)
    set @next = CreateObject("RetrieveRequest")
    SetObjectProperty(@next, "ContinueRequest", @id1)
    set @second = InvokeRetrieve(@next, @status2, @id2)
    set @again = InvokeRetrieve(@next, @status3, @id3)
    ]%%%%=v(@status1)=%% %%=RowCount(@first)=%% %%=v(@status2)=%% %%=RowCount(@second)=%% %%=Field(Row(@second, 100), "ID")=%% %%=v(@status3)=%%"""
    assert ampc.render(source, workspace=tmp_path) == "MoreDataAvailable 2500 OK 100 2600 Error"


def test_retrieve_of_nested_properties_and_derived_views():
    workspace = SAMPLES / "invoke-perform"
    source = _retrieve_script(
        "DataExtensionField",
        ["Name", "FieldType", "IsPrimaryKey", "DataExtension.CustomerKey"],
        """set @f = CreateObject("SimpleFilterPart")
        SetObjectProperty(@f, "Property", "DataExtension.CustomerKey")
        SetObjectProperty(@f, "SimpleOperator", "equals")
        AddObjectArrayItem(@f, "Value", "Members")
        SetObjectProperty(@rr, "Filter", @f)
        set @rows = InvokeRetrieve(@rr, @status)
        for @i = 1 to RowCount(@rows) do
          set @row = Row(@rows, @i)
          Output(Concat(Field(@row, "Name"), ":", Field(@row, "FieldType"), ":", Field(@row, "IsPrimaryKey"), " "))
        next @i
        """,
    )
    assert ampc.render(source, workspace=workspace) == (
        "SubscriberKey:Text:True EmailAddress:EmailAddress:False Tier:Text:False Points:Number:False "
    )


def test_list_membership_of_subscribers_is_retrievable_as_list_subscriber(tmp_path):
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "Subscriber.json").write_text(
        json.dumps([{"SubscriberKey": "k1", "Lists": [{"ID": 10, "Status": "Unsubscribed"}, {"ID": 11}]}])
    )
    source = _retrieve_script("ListSubscriber", ["ListID", "Status"]) + """%%[
    set @rows = InvokeRetrieve(@rr)
    ]%%%%=Field(Row(@rows, 1), "Status")=%% %%=Field(Row(@rows, 2), "ListID")=%% %%=Field(Row(@rows, 2), "Status")=%%"""
    assert ampc.render(source, workspace=tmp_path) == "Unsubscribed 11 Active"


def test_retrieve_of_an_unknown_object_type_is_an_error_status(tmp_path):
    source = _retrieve_script("Nonsense", []) + "%%[ set @rows = InvokeRetrieve(@rr, @status) ]%%%%=v(@status)=%%"
    assert ampc.render(source, workspace=tmp_path) == "Error"


def test_raise_error_rolls_back_data_extension_writes_unless_preserved(tmp_path):
    (tmp_path / "DataExtensions").mkdir()
    (tmp_path / "DataExtensions" / "Log.csv").write_text("Entry\n")
    context = Context(workspace=tmp_path)
    for preserve, expected in (("false", 0), ("true", 1)):
        source = f'%%[ InsertData("Log", "Entry", "{preserve}") RaiseError("stop", false, "", "", {preserve}) ]%%'
        with pytest.raises(RaisedError):
            ampc.render(source, context=context)
        assert context.backend.data_extensions.count("Log", [("Entry", preserve)]) == expected
    # Other runtime errors keep what was written, like a send that fails part-way.
    with pytest.raises(ScriptError):
        ampc.render('%%[ InsertData("Log", "Entry", "kept") set @x = Row(@none, 1) ]%%', context=context)
    assert context.backend.data_extensions.count("Log", [("Entry", "kept")]) == 1


OPERATOR_CASES = [
    # (SimpleOperator, values, IDs of the matching lists)
    ("equals", ["Gold"], [1, 4]),  # text matches ignore case
    ("notEquals", ["Gold"], [2, 3]),
    ("greaterThan", ["20"], [3, 4]),  # numbers compare as numbers, not text
    ("greaterThanOrEqual", ["20"], [2, 3, 4]),
    ("lessThan", ["20"], [1]),
    ("lessThanOrEqual", ["20"], [1, 2]),
    ("between", ["15", "35"], [2, 3]),
    ("IN", ["Silver", "Bronze"], [2, 3]),
    ("like", ["%ol%"], [1, 4]),
    ("isNull", [], [3]),
    ("isNotNull", [], [1, 2, 4]),
]


@pytest.mark.parametrize("operator, values, expected", OPERATOR_CASES, ids=[c[0] for c in OPERATOR_CASES])
def test_every_simple_operator(tmp_path, operator, values, expected):
    (tmp_path / "objects").mkdir()
    lists = [
        {"ID": 1, "ListName": "Gold", "Description": "first", "Sort": 10},
        {"ID": 2, "ListName": "Silver", "Description": "second", "Sort": 20},
        {"ID": 3, "ListName": "Bronze", "Sort": 30},
        {"ID": 4, "ListName": "gold", "Description": "fourth", "Sort": 40},
    ]
    (tmp_path / "objects" / "List.json").write_text(json.dumps(lists))
    property_name = {"isNull": "Description", "isNotNull": "Description", "like": "ListName"}.get(
        operator, "Sort" if operator in ("greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual", "between") else "ListName"
    )
    adds = "".join(f'AddObjectArrayItem(@f, "Value", "{value}")\n' for value in values)
    source = _retrieve_script(
        "List",
        ["ID"],
        f"""set @f = CreateObject("SimpleFilterPart")
        SetObjectProperty(@f, "Property", "{property_name}")
        SetObjectProperty(@f, "SimpleOperator", "{operator}")
        {adds}SetObjectProperty(@rr, "Filter", @f)
        set @rows = InvokeRetrieve(@rr, @status)
        for @i = 1 to RowCount(@rows) do Output(Concat(Field(Row(@rows, @i), "ID"), " ")) next @i
        """,
    ) + "%%=v(@status)=%%"
    assert ampc.render(source, workspace=tmp_path) == "".join(f"{n} " for n in expected) + "OK"


def test_complex_filter_nests_and_or(tmp_path):
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "List.json").write_text(
        json.dumps([{"ID": n, "ListName": name, "Sort": sort} for n, name, sort in
                    [(1, "A", 1), (2, "B", 2), (3, "A", 3), (4, "C", 4)]])
    )
    source = _retrieve_script("List", ["ID"], """
    set @a = CreateObject("SimpleFilterPart") SetObjectProperty(@a, "Property", "ListName") SetObjectProperty(@a, "SimpleOperator", "equals") AddObjectArrayItem(@a, "Value", "A")
    set @b = CreateObject("SimpleFilterPart") SetObjectProperty(@b, "Property", "Sort") SetObjectProperty(@b, "SimpleOperator", "greaterThan") AddObjectArrayItem(@b, "Value", "2")
    set @c = CreateObject("SimpleFilterPart") SetObjectProperty(@c, "Property", "ListName") SetObjectProperty(@c, "SimpleOperator", "equals") AddObjectArrayItem(@c, "Value", "B")
    set @and = CreateObject("ComplexFilterPart") SetObjectProperty(@and, "LeftOperand", @a) SetObjectProperty(@and, "LogicalOperator", "AND") SetObjectProperty(@and, "RightOperand", @b)
    set @or = CreateObject("ComplexFilterPart") SetObjectProperty(@or, "LeftOperand", @and) SetObjectProperty(@or, "LogicalOperator", "OR") SetObjectProperty(@or, "RightOperand", @c)
    SetObjectProperty(@rr, "Filter", @or)
    set @rows = InvokeRetrieve(@rr)
    for @i = 1 to RowCount(@rows) do Output(Concat(Field(Row(@rows, @i), "ID"), " ")) next @i
    """)
    assert ampc.render(source, workspace=tmp_path) == "2 3 "


def test_the_workspace_subscriber_is_a_subscriber_of_the_simulated_account():
    context = Context(workspace=SAMPLES / "welcome-email")
    (subscriber,) = [row for _, row in context.backend.objects("Subscriber")]
    assert (subscriber["SubscriberKey"], subscriber["EmailAddress"], subscriber["Status"]) == (
        "SK-1001", "ana@example.com", "Active"
    )
    assert {"Name": "Tier", "Value": "Gold"} in subscriber["Attributes"]


def test_a_killed_run_leaves_the_state_file_whole(tmp_path):
    """--state: a render's writes land together or not at all, even if the process is killed."""
    import signal
    import sqlite3
    import time

    (tmp_path / "DataExtensions").mkdir()
    (tmp_path / "DataExtensions" / "Log.csv").write_text("N\n")
    script = tmp_path / "many.amp"
    script.write_text('%%[ for @i = 1 to 1000000 do InsertData("Log", "N", @i) next @i ]%%done')
    state = tmp_path / "state.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "ampc", "run", str(script), "--state", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    def seeded() -> bool:  # the seed (with the Log table) is committed before the render starts
        if not state.exists():
            return False
        try:
            with sqlite3.connect(state, timeout=0.1) as probe:
                return probe.execute("SELECT 1 FROM sqlite_master WHERE name = 'Log'").fetchone() is not None
        except sqlite3.OperationalError:  # locked by the writer
            return False

    deadline = time.monotonic() + 60
    while not seeded() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be killed"
    time.sleep(1.0)  # well into the loop
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    with sqlite3.connect(state) as db:
        db.create_collation("AMPSCRIPT_CI", lambda a, b: (a.casefold() > b.casefold()) - (a.casefold() < b.casefold()))
        db.create_function("ampc_fold", 1, lambda v: v.casefold() if isinstance(v, str) else v, deterministic=True)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute('SELECT COUNT(*) FROM "Log"').fetchone() == (0,)  # nothing half-written

    # The file is usable afterwards, and a completed run's writes stay.
    one = tmp_path / "one.amp"
    one.write_text('%%[ InsertData("Log", "N", 1) ]%%%%=DataExtensionRowCount("Log")=%%')
    command = [sys.executable, "-m", "ampc", "run", str(one), "--state", str(state)]
    assert subprocess.run(command, capture_output=True, text=True, timeout=60).stdout == "1"
    assert subprocess.run(command, capture_output=True, text=True, timeout=60).stdout == "2"


# ---- the index of identifying keys (ampscript.backends.api_store) ----------------------------


def test_objects_are_found_by_their_keys_through_the_index(tmp_path):
    from ampscript.api_objects import ApiObject
    from ampscript.backends.simulator import Simulator

    simulator = Simulator(str(tmp_path / "state.db"))
    for number in range(1, 4):
        target = ApiObject("List")
        target.set("ListName", f"List {number}")
        target.set("CustomerKey", f"key-{number}")
        assert simulator.create(target).status == "OK"
    probe = ApiObject("List")
    probe.set("CustomerKey", "KEY-2")  # keys match ignoring case, as before the index
    row_id, found = simulator.find(probe)
    assert found["ListName"] == "List 2"
    indexed = simulator.db.execute(
        "SELECT name, value FROM _ampc_api_object_key WHERE object_id = ? ORDER BY name", (row_id,)
    ).fetchall()
    assert ("CustomerKey", "KEY-2") in indexed and ("ID", "2") in indexed
    renamed = ApiObject("List")
    renamed.set("CustomerKey", "key-2")
    renamed.set("ID", 20)
    assert simulator.update(renamed).status == "OK"
    by_id = ApiObject("List")
    by_id.set("ID", "20")  # the index holds the new ID
    assert simulator.find(by_id)[0] == row_id
    assert simulator.delete(renamed).status == "OK"
    assert simulator.find(probe) is None
    assert not simulator.db.execute("SELECT 1 FROM _ampc_api_object_key WHERE object_id = ?", (row_id,)).fetchall()


def test_a_state_file_from_before_the_index_is_indexed_when_opened(tmp_path):
    from ampscript.api_objects import ApiObject
    from ampscript.backends.simulator import Simulator

    state = str(tmp_path / "state.db")
    first = Simulator(state)
    target = ApiObject("List")
    target.set("ListName", "Old")
    target.set("CustomerKey", "old-key")
    first.create(target)
    first.db.execute("DELETE FROM _ampc_api_object_key")
    first.db.execute("DELETE FROM _ampc_meta WHERE key = 'api_key_index'")
    first.db.close()
    probe = ApiObject("List")
    probe.set("CustomerKey", "old-key")
    assert Simulator(state).find(probe)[1]["ListName"] == "Old"
