"""The embedded simulator's side effects: what a script's API calls leave behind."""

from __future__ import annotations

from pathlib import Path

import ampc
from ampscript import Context

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
