"""API objects take their types from the WSDL-derived schema (ampscript/data/api_schema.json)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from ampscript import ScriptError
from ampscript.api_objects import ApiObject
from ampscript.api_schema import schema

WSDL = Path(__file__).parents[2] / "shared" / "reference" / "etframework.wsdl"


def test_values_are_converted_to_the_wsdl_types():
    subscriber_list = ApiObject("List")
    subscriber_list.set("ID", "42")
    assert subscriber_list.get("id") == 42 and type(subscriber_list.get("ID")) is int
    request = ApiObject("RetrieveRequest")
    request.set("QueryAllAccounts", "TRUE")
    assert request.get("QueryAllAccounts") is True
    subscriber = ApiObject("Subscriber")
    subscriber.set("UnsubscribedDate", "2026-01-05 14:30")
    assert subscriber.get("UnsubscribedDate") == dt.datetime(2026, 1, 5, 14, 30)


def test_array_property_set_with_a_scalar_holds_one_item():
    part = ApiObject("SimpleFilterPart")
    part.set("Value", 7)
    assert part.get("Value") == ["7"]


def test_invalid_values_name_the_property_and_type():
    with pytest.raises(ScriptError, match=r"'CreatedDate' of Subscriber: expected a date"):
        ApiObject("Subscriber").set("CreatedDate", "not a date")


def test_script_only_payload_types_of_the_invoke_execute_reference_exist():
    assert schema().type("LogUnsubEvent") is not None
    refresh = ApiObject("Refresh")
    refresh.set("Object", ApiObject("Group"))
    assert refresh.get("Object").object_type == "Group"


def test_double_properties_become_decimals():
    # Any WSDL property typed xsd:double will do; the schema has several.
    type_name, property_name = next(
        (name, prop.name)
        for name in schema().type_names()
        for prop in schema().type(name).own.values()
        if prop.type == "double" and not prop.array
    )
    obj = ApiObject(type_name)
    obj.set(property_name, "1.5")
    assert obj.get(property_name) == Decimal("1.5")


@pytest.mark.skipif(not WSDL.is_file(), reason="../shared/reference/etframework.wsdl is not beside this checkout")
def test_shipped_schema_is_the_derivation_of_the_wsdl():
    import importlib.util

    script = Path(__file__).parents[1] / "scripts" / "derive_api_schema.py"
    spec = importlib.util.spec_from_file_location("derive_api_schema", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shipped = json.loads((Path(__file__).parents[1] / "runtime/ampscript/data/api_schema.json").read_text())
    assert module.derive(WSDL) == shipped
