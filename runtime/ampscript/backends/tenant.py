"""A real Marketing Cloud tenant behind data extensions, content and API objects: ``--backend tenant``.

    backend = TenantBackend(SoapConfig.from_env())
    ampc.render(source, context=Context(backend=backend))

It provides three capabilities (`ampscript.capabilities`):

* **API objects**: the SOAP API (`ampscript.backends.soap.SoapBackend`);
* **data extensions**, through the same SOAP API's ``DataExtensionObject``:
  a data extension named in a script is looked up by Name (``DataExtension``
  retrieve) for its customer key, and its fields (``DataExtensionField``)
  give its types and primary key.  Lookups retrieve
  ``DataExtensionObject[<key>]`` with the pairs as a filter (``equals``,
  ANDed; a null value ``isNull``), then sort and cut to the limit here (the
  SOAP retrieve has no order); the ...CS lookups keep the rows whose text
  matches case for case.  Inserts are Creates; updates, upserts and deletes
  find the matching rows and write each by its primary key, so a data
  extension without one cannot be changed that way (a clear error says
  so).  DataExtensionRowCount asks the REST route
  ``GET /data/v1/customobjectdata/key/<key>/rowset`` for its ``count``.
  ClaimRow retrieves and then updates: two renders at once could claim the
  same row, which Marketing Cloud's own ClaimRow prevents (not atomic here);
* **content**, through the Content Builder asset API: ``GET
  /asset/v1/content/assets/<id>`` by ID, and ``GET
  /asset/v1/content/assets?$filter=customerKey eq '<key>'`` (or ``name eq``,
  the last part of a content path) by key and name, the value quoted as
  OData quotes it.  A block's AMPscript is its ``content`` (or its HTML
  view's); an image's ``src`` is its ``fileProperties.publishedURL``.

Settings are `SoapConfig`'s (environment variables ``AMPC_MC_*`` or a JSON
file outside the workspace): ``subdomain`` gives the SOAP, REST and
authentication URLs, or ``soap_url``, ``rest_url`` and ``auth_url`` each.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import quote

from ..api_objects import ApiObject
from ..capabilities import ApiObjects, ClaimRequest, Content, DataExtensions, RowsRequest
from ..content import ContentBlock, ContentImage, normalize_name
from ..data_extensions import FIELD_TYPES, DataExtensionSpec, FieldSpec, parse_order_by
from ..errors import ScriptError
from ..values import Row, parse_boolean, parse_number, to_text
from ..values.case import fold
from ..values.dates import read_date
from .base import retrieve_all
from .soap import RestError, SoapBackend, SoapConfig

T = TypeVar("T")


class TenantBackend:
    """API objects, data extensions and content of one Marketing Cloud tenant (module docstring)."""

    def __init__(self, config: SoapConfig, *, soap: SoapBackend | None = None) -> None:
        self.soap = soap or SoapBackend(config)
        self.data_extensions = TenantDataExtensions(self.soap)
        self.content = TenantContent(self.soap)
        where = config.auth_url.split("//", 1)[-1].split(".", 1)[0] or config.auth_url
        self.name = f"the Marketing Cloud tenant ({where})"

    def capability(self, kind: type[T]) -> T | None:
        if kind is ApiObjects:
            return self.soap  # type: ignore[return-value]
        if kind is DataExtensions:
            return self.data_extensions  # type: ignore[return-value]
        if kind is Content:
            return self.content  # type: ignore[return-value]
        return None

    def render_scope(self) -> None:
        return None  # each call is its own request: Marketing Cloud keeps what a stopped render wrote

    def close(self) -> None:
        self.soap.close()


# ---- data extensions -------------------------------------------------------------------------


def _equals(name: str, value: Any) -> ApiObject:
    part = ApiObject("SimpleFilterPart")
    part.set("Property", name)
    if value is None:
        part.set("SimpleOperator", "isNull")
    else:
        part.set("SimpleOperator", "equals")
        part.set("Value", [_wire(value)])
    return part


def _all_of(parts: list[ApiObject]) -> ApiObject | None:
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        both = ApiObject("ComplexFilterPart")
        both.set("LeftOperand", combined)
        both.set("LogicalOperator", "AND")
        both.set("RightOperand", part)
        combined = both
    return combined


def _wire(value: Any) -> str:
    """A value as the SOAP API takes it: text; dates ISO 8601; booleans True/False."""
    if isinstance(value, _dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, bool):
        return "True" if value else "False"
    return to_text(value)


def _field_value(f: FieldSpec, value: Any) -> Any:
    """A value as the field holds it, for a filter: a Boolean field's ``true``/``1`` is True."""
    if f.type.lower() == "boolean" and value is not None:
        parsed = parse_boolean(value)
        return parsed if parsed is not None else value
    return value


def _typed(f: FieldSpec, text: Any) -> Any:
    """A retrieved value (text) as the simulator's store gives it: numbers, booleans, dates; empty is null."""
    if text is None or text == "":
        return None
    kind = f.type.lower()
    try:
        if kind == "number":
            number = parse_number(text)
            return int(number) if number is not None else text
        if kind == "decimal":
            return Decimal(to_text(text))
        if kind == "boolean":
            parsed = parse_boolean(text)
            return parsed if parsed is not None else text
        if kind == "date":
            return read_date(text) or text
    except (InvalidOperation, ValueError):
        return text
    return text


class TenantDataExtensions:
    """`DataExtensions` over a tenant's SOAP API (module docstring)."""

    def __init__(self, soap: SoapBackend) -> None:
        self.soap = soap
        self._specs: dict[str, tuple[str, DataExtensionSpec]] = {}  # folded name -> (customer key, spec)

    def _retrieve_all(self, request: ApiObject, what: str) -> list[Row]:
        return retrieve_all(self.soap, request, f"{what}: Marketing Cloud answered")

    def _definition(self, name: str) -> tuple[str, DataExtensionSpec]:
        key = fold(name.strip())
        if key in self._specs:
            return self._specs[key]
        lookup = ApiObject("RetrieveRequest")
        lookup.set("ObjectType", "DataExtension")
        lookup.set("Properties", ["CustomerKey", "Name"])
        lookup.set("Filter", _equals("Name", name.strip()))
        found = self._retrieve_all(lookup, f"looking up data extension '{name}'")
        if not found:
            raise ScriptError(f"data extension '{name}' does not exist in the Marketing Cloud tenant")
        customer_key = to_text(found[0]["CustomerKey"])
        fields_request = ApiObject("RetrieveRequest")
        fields_request.set("ObjectType", "DataExtensionField")
        fields_request.set("Properties", ["Name", "FieldType", "IsPrimaryKey", "IsRequired", "MaxLength", "Scale", "Ordinal"])
        fields_request.set("Filter", _equals("DataExtension.CustomerKey", customer_key))
        rows = self._retrieve_all(fields_request, f"reading the fields of data extension '{name}'")
        rows.sort(key=lambda row: parse_number(row.get("Ordinal")) or 0)
        fields = []
        for row in rows:
            kind = next((t for t in FIELD_TYPES if t.lower() == to_text(row.get("FieldType")).lower()), "Text")
            primary = parse_boolean(row.get("IsPrimaryKey")) is True
            length = parse_number(row.get("MaxLength"))
            scale = parse_number(row.get("Scale"))
            fields.append(
                FieldSpec(
                    name=to_text(row["Name"]),
                    type=kind,
                    length=int(length) if length else None,
                    nullable=not (primary or parse_boolean(row.get("IsRequired")) is True),
                    primary_key=primary,
                    scale=int(scale) if scale is not None and kind == "Decimal" else None,
                )
            )
        definition = (customer_key, DataExtensionSpec(to_text(found[0]["Name"]), fields, customer_key))
        self._specs[key] = definition
        return definition

    def spec(self, name: str) -> DataExtensionSpec:
        return self._definition(name)[1]

    def select(self, request: RowsRequest) -> list[Row]:
        customer_key, spec = self._definition(request.data_extension)
        criteria = [(spec.field(to_text(name)).name, _field_value(spec.field(to_text(name)), value))
                    for name, value in request.criteria]
        retrieve = ApiObject("RetrieveRequest")
        retrieve.set("ObjectType", f"DataExtensionObject[{customer_key}]")
        retrieve.set("Properties", [f.name for f in spec.fields])
        condition = _all_of([_equals(name, value) for name, value in criteria])
        if condition is not None:
            retrieve.set("Filter", condition)
        found = self._retrieve_all(retrieve, f"reading data extension '{spec.name}'")
        rows = [Row((f.name, _typed(f, row.get(f.name))) for f in spec.fields) for row in found]
        if request.case_sensitive:
            rows = [row for row in rows if all(_same_case(row[name], value) for name, value in criteria)]
        terms = [(spec.field(name).name, descending) for name, descending in parse_order_by(request.order_by or "")]
        for name, descending in reversed(terms):  # stable sorts, last term first
            rows.sort(key=functools.cmp_to_key(lambda a, b, n=name: _compare_values(a[n], b[n])), reverse=descending)
        return rows[: request.limit] if request.limit is not None else rows

    def count(self, name: str, criteria: Sequence[tuple[str, Any]] = ()) -> int:
        if criteria:
            return len(self.select(RowsRequest(name, criteria)))
        customer_key, spec = self._definition(name)
        try:
            answer = self.soap.rest("GET", f"data/v1/customobjectdata/key/{quote(customer_key, safe='')}/rowset",
                                    params={"$page": 1, "$pageSize": 1})
        except RestError as error:
            raise ScriptError(f"counting the rows of data extension '{spec.name}': {error.message}") from None
        count = answer.get("count") if isinstance(answer, dict) else None
        if not isinstance(count, int):
            raise ScriptError(f"counting the rows of data extension '{spec.name}': Marketing Cloud gave no count")
        return count

    def _object(self, customer_key: str, values: dict[str, Any], keys: dict[str, Any] | None = None) -> ApiObject:
        target = ApiObject("DataExtensionObject")
        target.set("CustomerKey", customer_key)
        target.set("Properties", [_api_property(name, value) for name, value in values.items()])
        if keys is not None:
            target.set("Keys", [_api_property(name, value) for name, value in keys.items()])
        return target

    def _checked(self, answer: Any, what: str) -> None:
        if answer.status != "OK":
            raise ScriptError(f"{what}: Marketing Cloud answered {answer.status}: {answer.message}")

    def insert(self, name: str, values: dict[str, Any]) -> int:
        customer_key, spec = self._definition(name)
        named = {spec.field(to_text(field_name)).name: value for field_name, value in values.items()}
        self._checked(self.soap.create(self._object(customer_key, named)), f"inserting into data extension '{spec.name}'")
        return 1

    def _primary_key(self, spec: DataExtensionSpec, row: Row) -> dict[str, Any]:
        if not spec.primary_key:
            raise ScriptError(
                f"data extension '{spec.name}' has no primary key, so the tenant's SOAP API cannot update or delete "
                "its rows one by one",
                hint="give the data extension a primary key in Marketing Cloud",
            )
        return {f.name: row[f.name] for f in spec.primary_key}

    def update(self, name: str, criteria: Sequence[tuple[str, Any]], values: dict[str, Any]) -> int:
        customer_key, spec = self._definition(name)
        named = {spec.field(to_text(field_name)).name: value for field_name, value in values.items()}
        rows = self.select(RowsRequest(name, criteria))
        for row in rows:
            target = self._object(customer_key, named, self._primary_key(spec, row))
            self._checked(self.soap.update(target), f"updating data extension '{spec.name}'")
        return len(rows)

    def upsert(self, name: str, criteria: Sequence[tuple[str, Any]], values: dict[str, Any]) -> int:
        updated = self.update(name, criteria, values)
        if updated:
            return updated
        return self.insert(name, {**dict(criteria), **values})

    def delete(self, name: str, criteria: Sequence[tuple[str, Any]]) -> int:
        customer_key, spec = self._definition(name)
        rows = self.select(RowsRequest(name, criteria))
        for row in rows:
            target = ApiObject("DataExtensionObject")
            target.set("CustomerKey", customer_key)
            target.set("Keys", [_api_property(k, v) for k, v in self._primary_key(spec, row).items()])
            self._checked(self.soap.delete(target), f"deleting from data extension '{spec.name}'")
        return len(rows)

    def claim(self, request: ClaimRequest) -> Row | None:
        name, claimed_by, claimant = request.data_extension, request.claim_column, list(request.claimant)
        mine = self.select(RowsRequest(name, [*claimant, (claimed_by, True)], limit=1))
        if mine:
            return mine[0]
        candidates = self.select(RowsRequest(name, [(claimed_by, False)], limit=1)) or self.select(
            RowsRequest(name, [(claimed_by, None)], limit=1)
        )
        if not candidates:
            return None
        spec = self.spec(name)
        row = candidates[0]
        self.update(name, list(self._primary_key(spec, row).items()), {claimed_by: True, **dict(claimant)})
        return self.select(RowsRequest(name, [*claimant, (claimed_by, True)], limit=1))[0]


def _api_property(name: str, value: Any) -> ApiObject:
    item = ApiObject("APIProperty")
    item.set("Name", name)
    item.set("Value", None if value is None else _wire(value))
    return item


def _same_case(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, str) and wanted is not None:
        return actual == to_text(wanted)
    return True


def _compare_values(left: Any, right: Any) -> int:
    from .. import operators

    if left is None or right is None:
        return (left is not None) - (right is not None)
    return -1 if operators.lt(left, right) else 1 if operators.gt(left, right) else 0


# ---- content -----------------------------------------------------------------------------------

_ASSETS = "asset/v1/content/assets"


def _odata_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class TenantContent:
    """`Content` from the tenant's Content Builder (module docstring)."""

    def __init__(self, soap: SoapBackend) -> None:
        self.soap = soap
        self.origin = "the Marketing Cloud tenant's Content Builder"
        self._sources: dict[str, str] = {}  # asset ID -> AMPscript of the block

    def _assets(self, filter_text: str) -> list[dict[str, Any]]:
        try:
            answer = self.soap.rest("GET", _ASSETS, params={"$filter": filter_text, "$pageSize": 50})
        except RestError as error:
            raise ScriptError(f"reading Content Builder: {error.message}") from None
        items = answer.get("items") if isinstance(answer, dict) else None
        return [item for item in items or [] if isinstance(item, dict)]

    def _asset(self, id_: str) -> dict[str, Any] | None:
        if not id_.strip().isdigit():
            return None
        try:
            answer = self.soap.rest("GET", f"{_ASSETS}/{int(id_)}")
        except RestError as error:
            if error.status == 404:
                return None
            raise ScriptError(f"reading Content Builder: {error.message}") from None
        return answer if isinstance(answer, dict) else None

    def _block(self, asset: dict[str, Any] | None) -> ContentBlock | None:
        if asset is None:
            return None
        source = asset.get("content")
        if not isinstance(source, str):
            view = (asset.get("views") or {}).get("html") or {}
            source = view.get("content") if isinstance(view, dict) else None
        if not isinstance(source, str):
            source = ""
        id_ = to_text(asset.get("id"))
        self._sources[id_] = source
        name = to_text(asset.get("name"))
        return ContentBlock(name=name, key=to_text(asset.get("customerKey")), id=id_,
                            display_name=f"Content Builder asset {id_} ({name})")

    def _only(self, found: list[dict[str, Any]], what: str) -> dict[str, Any] | None:
        if len(found) > 1:
            raise ScriptError(f"{len(found)} Content Builder assets have the {what}; give it one of their IDs")
        return found[0] if found else None

    def block_by_key(self, key: str) -> ContentBlock | None:
        return self._block(self._only(self._assets(f"customerKey eq {_odata_text(key.strip())}"), f"key '{key}'"))

    def block_by_name(self, name: str) -> ContentBlock | None:
        leaf = normalize_name(name).rsplit("/", 1)[-1]
        written = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].strip()
        found = [a for a in self._assets(f"name eq {_odata_text(written)}") if fold(to_text(a.get("name"))) == leaf]
        return self._block(self._only(found, f"name '{name}'"))

    def block_by_id(self, id_: str) -> ContentBlock | None:
        return self._block(self._asset(id_))

    def _image(self, asset: dict[str, Any] | None) -> ContentImage | None:
        if asset is None:
            return None
        url = (asset.get("fileProperties") or {}).get("publishedURL")
        if not url:
            return None
        name = to_text(asset.get("name"))
        return ContentImage(key=to_text(asset.get("customerKey")), id=to_text(asset.get("id")), title=name, alt=name, src=url)

    def image_by_key(self, key: str) -> ContentImage | None:
        return self._image(self._only(self._assets(f"customerKey eq {_odata_text(key.strip())}"), f"key '{key}'"))

    def image_by_id(self, id_: str) -> ContentImage | None:
        return self._image(self._asset(id_))

    def source(self, block: ContentBlock) -> str:
        return self._sources.get(block.id, "")

    def file_path(self, block: ContentBlock) -> str | None:
        return None  # the block lives in the tenant, not in a file
