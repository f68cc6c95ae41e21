"""The data extension store: typed SQLite tables seeded from DataExtensions/*.csv."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal

import pytest

import ampc
from ampscript import AMPscriptError, ScriptError, Workspace
from ampscript.data_extensions import DataExtensionSpec, DataExtensionStore, FieldSpec


@pytest.fixture
def store() -> DataExtensionStore:
    store = DataExtensionStore(sqlite3.connect(":memory:", isolation_level=None))
    store.define(
        DataExtensionSpec(
            "Members",
            [
                FieldSpec("SubscriberKey", primary_key=True, nullable=False),
                FieldSpec("Email", "EmailAddress", length=254),
                FieldSpec("Points", "Number"),
                FieldSpec("Balance", "Decimal", scale=2),
                FieldSpec("Joined", "Date"),
                FieldSpec("Active", "Boolean", default="true"),
                FieldSpec("Tier"),
            ],
        )
    )
    for key, tier, points in [("a", "Gold", 30), ("B", "gold", 10), ("c", "Silver", 20)]:
        store.insert("members", {"subscriberkey": key, "Tier": tier, "Points": points, "Balance": "1.5"})
    return store


def test_values_come_back_typed(store):
    store.update("Members", [("SubscriberKey", "a")], {"Joined": "1/5/2026", "Email": "a@example.com"})
    (row,) = store.rows("Members", [("SubscriberKey", "A")])
    assert row["Points"] == 30 and row["Balance"] == Decimal("1.50") and row["Active"] is True
    assert row["Joined"] == dt.datetime(2026, 1, 5) and row["email"] == "a@example.com"


def test_lookups_ignore_case_unless_case_sensitive(store):
    assert [r["SubscriberKey"] for r in store.rows("members", [("tier", "GOLD")])] == ["a", "B"]
    assert [r["SubscriberKey"] for r in store.rows("Members", [("Tier", "gold")], case_sensitive=True)] == ["B"]


def test_non_ascii_case_folding(store):
    store.insert("Members", {"SubscriberKey": "é1", "Tier": "ÉLITE"})
    assert store.count("Members", [("Tier", "élite")]) == 1


def test_order_by_and_limit(store):
    rows = store.rows("Members", order_by="Tier DESC, Points ASC", limit=2)
    assert [r["SubscriberKey"] for r in rows] == ["c", "B"]
    with pytest.raises(ScriptError, match="has no field 'Nope'"):
        store.rows("Members", order_by="Nope")


def test_invalid_values_are_refused_with_the_field_named(store):
    with pytest.raises(ScriptError, match=r"'abc' for field 'Points' of data extension 'Members': expected a whole"):
        store.insert("Members", {"SubscriberKey": "d", "Points": "abc"})
    with pytest.raises(ScriptError, match="expected an email address"):
        store.insert("Members", {"SubscriberKey": "d", "Email": "not-an-email"})
    with pytest.raises(ScriptError, match="at most 50 characters"):
        store.insert("Members", {"SubscriberKey": "d", "Tier": "x" * 51})
    with pytest.raises(ScriptError, match="requires a value"):
        store.insert("Members", {"Tier": "Gold"})


def test_primary_key_violation_changes_nothing(store):
    with pytest.raises(ScriptError, match="violation of the primary key"):
        store.insert("Members", {"SubscriberKey": "a", "Tier": "Bronze"})
    assert store.count("Members") == 3


def test_failed_write_in_a_transaction_rolls_back_everything(store):
    with pytest.raises(ScriptError):
        with store.transaction():
            store.insert("Members", {"SubscriberKey": "new"})
            store.insert("Members", {"SubscriberKey": "a"})
    assert store.count("Members", [("SubscriberKey", "new")]) == 0


def test_update_upsert_delete_return_rows_affected(store):
    assert store.update("Members", [("Tier", "gold")], {"Points": 1}) == 2
    assert store.upsert("Members", [("SubscriberKey", "z")], {"Tier": "New"}) == 1
    assert store.rows("Members", [("SubscriberKey", "z")])[0]["Tier"] == "New"
    assert store.upsert("Members", [("SubscriberKey", "z")], {"Tier": "Newer"}) == 1
    assert store.count("Members") == 4
    assert store.delete("Members", [("Tier", "GOLD")]) == 2
    assert store.count("Members") == 2


def test_lookup_uses_an_index(store):
    plan = " ".join(
        str(row)
        for row in store.db.execute('EXPLAIN QUERY PLAN SELECT * FROM "Members" WHERE ampc_fold("Tier") = ?', ["x"])
    )
    assert "USING INDEX" in plan


def test_unknown_data_extension_and_field(store):
    with pytest.raises(ScriptError, match="data extension 'Nope' does not exist"):
        store.rows("Nope")
    with pytest.raises(ScriptError, match="has no field 'Colour'"):
        store.rows("Members", [("Colour", "red")])


def test_hostile_names_are_quoted_not_pasted():
    store = DataExtensionStore(sqlite3.connect(":memory:", isolation_level=None))
    name = 'x"; DROP TABLE _ampc_data_extension; --'
    store.define(DataExtensionSpec(name, [FieldSpec('a"b')]))
    store.insert(name, {'a"b': "v"})
    assert store.rows(name)[0]['a"b'] == "v"
    assert store.exists(name)


def test_seeding_from_csv_and_schema(tmp_path):
    folder = tmp_path / "DataExtensions"
    folder.mkdir()
    (folder / "Orders.csv").write_text("OrderID,Total,Placed\n1,19.99,2026-01-05\n2,,2026-02-01\n", encoding="utf-8")
    (folder / "Orders.schema.json").write_text(
        json.dumps(
            {
                "customerKey": "orders-key",
                "fields": [
                    {"name": "OrderID", "type": "Number", "primaryKey": True},
                    {"name": "Total", "type": "Decimal", "scale": 2},
                    {"name": "Placed", "type": "Date"},
                ],
            }
        )
    )
    (folder / "Plain.csv").write_text("Name,City\nAna,Lisboa\n", encoding="utf-8")
    store = DataExtensionStore(sqlite3.connect(":memory:", isolation_level=None))
    store.seed_from_folder(Workspace(tmp_path))
    orders = store.rows("orders-key")  # by customer key too
    assert [r["Total"] for r in orders] == [Decimal("19.99"), None]
    assert store.rows("plain")[0] == {"Name": "Ana", "City": "Lisboa"}


def test_a_bad_csv_row_is_reported_with_its_line(tmp_path):
    folder = tmp_path / "DataExtensions"
    folder.mkdir()
    (folder / "N.csv").write_text("K,V\n1,2\n2,x\n", encoding="utf-8")
    (folder / "N.schema.json").write_text(json.dumps({"fields": [{"name": "K"}, {"name": "V", "type": "Number"}]}))
    store = DataExtensionStore(sqlite3.connect(":memory:", isolation_level=None))
    with pytest.raises(ScriptError, match=r"N.csv:3: invalid value 'x'"):
        store.seed_from_folder(Workspace(tmp_path))
    assert not store.exists("N")


def test_a_missing_data_extension_names_the_workspace_it_looked_in(tmp_path):
    """Issue 12: an error about missing data says where the data was looked for, and what is there."""
    (tmp_path / "DataExtensions").mkdir()
    (tmp_path / "DataExtensions" / "Cars.csv").write_text("Make\nSaab\n", encoding="utf-8")
    with pytest.raises(AMPscriptError) as raised:
        ampc.render('%%=Lookup("Bikes", "Make", "Make", "Saab")=%%', workspace=tmp_path)
    assert "data extension 'Bikes' does not exist" in str(raised.value)
    assert raised.value.hint == (
        f"known data extensions: Cars; data extensions come from the workspace's DataExtensions/ folder "
        f"({tmp_path.resolve() / 'DataExtensions'})"
    )
