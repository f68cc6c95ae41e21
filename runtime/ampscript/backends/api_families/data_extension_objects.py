"""DataExtension, DataExtensionObject and DataExtensionField: the data extension store seen through the SOAP API.

* a DataExtension created with its Fields becomes a table of the store;
  deleting it drops the table; retrieving DataExtension lists the store's
  data extensions besides any stored in ``objects/``;
* a DataExtensionObject is a row: CustomerKey or Name names the data
  extension, Properties (APIProperty Name/Value) hold the field values and
  Keys the primary key values that Update and Delete match on; retrieving
  ``DataExtensionObject[Name]`` gives the rows;
* DataExtensionField is a view of every data extension's fields.
"""

from __future__ import annotations

import re
from typing import Any

from ...api_objects import ApiObject
from ...data_extensions import DataExtensionSpec
from ...errors import ScriptError
from ...values import Row, to_text
from ..api_filters import as_list
from ..base import CallResult
from . import ObjectFamily

_DE_ROWS = re.compile(r"DataExtensionObject\[(.+)\]", re.IGNORECASE)


def api_properties(items: Any) -> dict[str, Any]:
    """APIProperty objects (Name/Value) as a dict."""
    return {to_text(item.get("Name")): item.get("Value") for item in as_list(items) if isinstance(item, ApiObject)}


def save_action(options: ApiObject | None) -> str | None:
    """The SaveAction of an options object's SaveOptions (UpdateAdd, AddOnly, ...), lowercased."""
    if options is None:
        return None
    for option in as_list(options.get("SaveOptions")):
        if isinstance(option, ApiObject) and option.get("SaveAction"):
            return to_text(option.get("SaveAction")).lower()
    return None


class DataExtensionFamily(ObjectFamily):
    def create(self, target: ApiObject, options: ApiObject | None) -> CallResult | None:
        kind = target.object_type.lower()
        if kind == "dataextensionobject":
            return self._write_row(target, options, "create")
        if kind == "dataextension" and not self.simulator.missing_on_create(target):
            return self._create_data_extension(target)
        return None

    def update(self, target: ApiObject, options: ApiObject | None) -> CallResult | None:
        if target.object_type.lower() == "dataextensionobject":
            return self._write_row(target, options, "update")
        return None

    def delete(self, target: ApiObject, options: ApiObject | None) -> CallResult | None:
        kind = target.object_type.lower()
        if kind == "dataextensionobject":
            return self._write_row(target, options, "delete")
        if kind == "dataextension":
            name = to_text(target.get("CustomerKey")) or to_text(target.get("Name"))
            store = self.simulator.data_extensions
            if not store.exists(name):
                return self.simulator.not_found(target)
            store.drop(name)
            return CallResult("OK", "Deleted")
        return None

    def _write_row(self, target: ApiObject, options: ApiObject | None, method: str) -> CallResult:
        name = to_text(target.get("CustomerKey")) or to_text(target.get("Name"))
        store = self.simulator.data_extensions
        if not name or not store.exists(name):
            return CallResult("Error", f"Data extension '{name}' does not exist" if name else "CustomerKey or Name is required")
        values = api_properties(target.get("Properties"))
        keys = list(api_properties(target.get("Keys")).items())
        if method != "create" and not keys:
            keys = [(f.name, values.pop(f.name, None)) for f in store.spec(name).primary_key if f.name in values]
        try:
            if method == "create":
                if save_action(options) == "updateadd" and keys:
                    store.upsert(name, keys, values)
                else:
                    store.insert(name, {**dict(keys), **values})
                return CallResult("OK", "Created DataExtensionObject")
            if not keys:
                return CallResult("Error", "Keys are required to identify the row")
            if method == "update":
                upsert = save_action(options) == "updateadd"
                changed = store.upsert(name, keys, values) if upsert else store.update(name, keys, values)
                if not changed:
                    return CallResult("Error", "No row matched the keys")
                return CallResult("OK", "Updated DataExtensionObject")
            if not store.delete(name, keys):
                return CallResult("Error", "No row matched the keys")
            return CallResult("OK", "Deleted")
        except ScriptError as error:
            return CallResult("Error", error.message)

    def _create_data_extension(self, target: ApiObject) -> CallResult:
        """A DataExtension with its Fields becomes a table of the data extension store."""
        store = self.simulator.data_extensions
        name = to_text(target.get("Name"))
        if store.exists(name) or (target.get("CustomerKey") and store.exists(to_text(target.get("CustomerKey")))):
            return CallResult("Error", f"A DataExtension named '{name}' already exists")
        fields = []
        for item in as_list(target.get("Fields")):
            if not isinstance(item, ApiObject):
                continue
            fields.append(
                {
                    "name": to_text(item.get("Name")),
                    "type": to_text(item.get("FieldType")) or "Text",
                    "length": item.get("MaxLength"),
                    "scale": item.get("Scale"),
                    "primaryKey": bool(item.get("IsPrimaryKey")),
                    "nullable": not (item.get("IsRequired") or item.get("IsPrimaryKey")),
                    "default": to_text(item.get("DefaultValue")) or None,
                }
            )
        try:
            spec = DataExtensionSpec.from_json(
                name, {"customerKey": to_text(target.get("CustomerKey")) or None, "fields": fields}
            )
            store.define(spec)
        except ScriptError as error:
            return CallResult("Error", error.message)
        return CallResult("OK", "Created DataExtension")

    def retrievable(self, object_type: str) -> list[Row] | None:
        store = self.simulator.data_extensions
        row_source = _DE_ROWS.fullmatch(object_type)
        if row_source is not None:
            return store.rows(row_source.group(1))
        kind = object_type.lower()
        if kind == "dataextension":
            return self.simulator.stored_rows(object_type) + [
                Row({"Name": spec.name, "CustomerKey": spec.customer_key or spec.name})
                for spec in map(store.spec, store.names())
            ]
        if kind == "dataextensionfield":
            return self.simulator.stored_rows(object_type) + [
                Row(
                    {
                        "Name": f.name,
                        "FieldType": f.type,
                        "IsPrimaryKey": f.primary_key,
                        "IsRequired": not f.nullable,
                        "MaxLength": f.length,
                        "Scale": f.scale,
                        "Ordinal": ordinal,
                        "DataExtension": {"CustomerKey": spec.customer_key or spec.name, "Name": spec.name},
                    }
                )
                for spec in map(store.spec, store.names())
                for ordinal, f in enumerate(spec.fields)
            ]
        return None
