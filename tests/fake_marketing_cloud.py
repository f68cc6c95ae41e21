"""A fake Marketing Cloud tenant on 127.0.0.1, for testing the SOAP backend.

A real HTTP server (the standard library's, in a thread) with:

* ``POST /v2/token``: the OAuth client-credentials grant; counts requests
  (`token_requests`), refuses wrong credentials with HTTP 401 and an OAuth
  ``invalid_client`` error;
* ``POST /Service.asmx``: the SOAP API.  Every request body is validated
  against the schema in the WSDL (when the WSDL is given); an invalid one
  is answered with a SOAP Client fault and recorded in `failures`, which
  the tests assert empty.  The answers are validated too.  Create,
  Retrieve (SimpleFilterPart / ComplexFilterPart, paging with
  ContinueRequest), Update, Delete, Perform (``start`` of a
  QueryDefinition) and Execute (``LogUnsubEvent``, ``RefreshGroup``) work
  on an in-memory store.

Knobs for failure tests: `hang` (never answer), `next_fault` (answer the
next SOAP call with a fault), `next_http_error` (a bare HTTP error status),
`refuse_tokens` (tokens issued so far become invalid: "http401" answers
HTTP 401, "fault" a Security fault).

Independent of the code under test: it reads property order and types
from the WSDL itself, not from the runtime's api_schema.json.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "http://exacttarget.com/wsdl/partnerAPI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"
FAULT_NS = "urn:fault.partner.exacttarget.com"


def _t(name: str) -> str:
    return f"{{{PARTNER}}}{name}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class Wsdl:
    """The WSDL's schema: a validator, and each complex type's base and element order."""

    def __init__(self, path: Path) -> None:
        definitions = etree.parse(str(path)).getroot()
        original = definitions.find(f".//{{{XS}}}schema")
        # A schema document of its own, keeping the prefixes (tns:, xsd:) its
        # type references use.  The fault schema is imported from the
        # network; nothing we validate uses it, so the import is left out.
        schema_element = etree.Element(
            original.tag, dict(original.attrib), nsmap={**definitions.nsmap, **original.nsmap}
        )
        for child in original:
            if child.tag != f"{{{XS}}}import":
                schema_element.append(copy.deepcopy(child))
        self.validator = etree.XMLSchema(etree.ElementTree(schema_element))
        self.types: dict[str, tuple[str | None, list[str]]] = {}
        for complex_type in schema_element.findall(f"{{{XS}}}complexType"):
            extension = complex_type.find(f"{{{XS}}}complexContent/{{{XS}}}extension")
            base = extension.get("base").split(":")[-1] if extension is not None else None
            sequence_owner = extension if extension is not None else complex_type
            names = [e.get("name") for e in sequence_owner.findall(f"{{{XS}}}sequence/{{{XS}}}element")]
            self.types[complex_type.get("name")] = (base, names)

    def property_order(self, type_name: str) -> list[str]:
        base, names = self.types.get(type_name, (None, []))
        return (self.property_order(base) if base else []) + names

    def problems(self, element: etree._Element) -> list[str]:
        if self.validator.validate(element):
            return []
        return [f"{error.line}: {error.message}" for error in self.validator.error_log]


@dataclass
class Stored:
    object_type: str
    fields: dict[str, list[etree._Element]]  # property -> its elements (several for an array)
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def text(self, path: str) -> str | None:
        """A property's text, or a nested one's by dotted path."""
        head, _, rest = path.partition(".")
        elements = self.fields.get(head)
        if not elements:
            return None
        element = elements[0]
        for part in rest.split(".") if rest else []:
            element = element.find(_t(part))
            if element is None:
                return None
        return element.text or ""


class FakeMarketingCloud:
    def __init__(
        self, wsdl: Wsdl | None, *, client_id: str = "fake-client", client_secret: str = "fake-secret"
    ) -> None:
        self.wsdl = wsdl
        self.client_id, self.client_secret = client_id, client_secret
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True  # a hung handler must not keep the tests alive
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._released = threading.Event()  # set on stop: hung handlers return
        self.reset()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeMarketingCloud:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        self.store: list[Stored] = []
        self.ids = itertools.count(1000)
        self.token_requests: list[dict[str, Any]] = []
        self.valid_tokens: set[str] = set()
        self.soap_requests: list[tuple[str, etree._Element]] = []  # (SOAPAction, body element)
        self.failures: list[str] = []
        self.unsub_events: list[dict[str, str]] = []
        self.refreshed_groups: list[str] = []
        self.performed: list[tuple[str, str]] = []  # (action, ObjectID)
        self.expires_in = 1080
        self.page_size = 2500
        self.hang = False
        self.next_fault: tuple[str, str] | None = None  # (faultcode, faultstring)
        self.refuse_tokens: str | None = None  # "http401" or "fault"
        self.next_http_error: int | None = None  # answer the next SOAP call with this bare HTTP status
        self._pages: dict[str, list[etree._Element]] = {}
        # Data extension rows, by customer key: field name -> text (`add_data_extension`).
        self.rows: dict[str, list[dict[str, str]]] = {}
        self.assets: list[dict[str, Any]] = []  # Content Builder assets, as the asset API answers them
        self.rest_requests: list[tuple[str, str]] = []  # (method, path with query)

    # ---- seeding -----------------------------------------------------------------

    def seed(self, object_type: str, **properties: Any) -> Stored:
        """Store an object: values are text, dicts nested objects, lists arrays."""
        fields = {
            name: [self._element(name, item) for item in (v if isinstance(v, list) else [v])]
            for name, v in properties.items()
        }
        if "ObjectID" not in fields:
            stored = Stored(object_type, fields)
            fields["ObjectID"] = [self._element("ObjectID", stored.object_id)]
        else:
            stored = Stored(object_type, fields, fields["ObjectID"][0].text)
        if "ID" not in fields:
            fields["ID"] = [self._element("ID", str(next(self.ids)))]
        self.store.append(stored)
        return stored

    def add_data_extension(
        self, name: str, key: str, fields: list[tuple[str, str, bool]], rows: list[dict[str, str]] = ()
    ) -> None:
        """A data extension, its fields ((name, FieldType, IsPrimaryKey)) and rows, as the tenant would hold them."""
        self.seed("DataExtension", Name=name, CustomerKey=key)
        for ordinal, (field_name, field_type, primary) in enumerate(fields):
            self.seed(
                "DataExtensionField", Name=field_name, FieldType=field_type, IsPrimaryKey=str(primary).lower(),
                IsRequired=str(primary).lower(), Ordinal=str(ordinal), DataExtension={"CustomerKey": key},
            )
        self.rows[key] = [dict(row) for row in rows]

    def _element(self, name: str, value: Any) -> etree._Element:
        element = etree.Element(_t(name))
        if isinstance(value, dict):
            for key, item in value.items():
                element.append(self._element(key, item))
        else:
            element.text = str(value)
        return element

    # ---- token endpoint -------------------------------------------------------------

    def token(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(request)
        if (
            request.get("grant_type") != "client_credentials"
            or request.get("client_id") != self.client_id
            or request.get("client_secret") != self.client_secret
        ):
            return 401, {
                "error": "invalid_client",
                "error_description": "Client authentication failed. Make sure that the client ID and client secret are valid.",
            }
        token = f"token-{len(self.token_requests)}"
        self.valid_tokens.add(token)
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": "data_extensions_read",
            "soap_instance_url": f"{self.url}/",
            "rest_instance_url": f"{self.url}/rest/",
        }

    # ---- REST endpoint (data extension counts, Content Builder assets) ------------------

    def rest_get(self, path: str, authorization: str) -> tuple[int, Any]:
        from urllib.parse import parse_qs, unquote, urlsplit

        parts = urlsplit(path)
        self.rest_requests.append(("GET", path))
        if authorization.removeprefix("Bearer ") not in self.valid_tokens:
            return 401, {"message": "Not Authorized", "errorcode": 0}
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        rest = unquote(parts.path).removeprefix("/rest/")
        if rest.startswith("data/v1/customobjectdata/key/") and rest.endswith("/rowset"):
            key = rest[len("data/v1/customobjectdata/key/"):-len("/rowset")]
            if key not in self.rows:
                return 404, {"message": f"Data extension {key} not found", "errorcode": 10000}
            if query.get("$pageSize") != "1":
                self.failures.append(f"a row count asked for page size {query.get('$pageSize')}")
            return 200, {"page": 1, "pageSize": 1, "count": len(self.rows[key]), "items": []}
        if rest == "asset/v1/content/assets":
            wanted = _odata_equals(query.get("$filter", ""))
            if wanted is None:
                self.failures.append(f"unreadable asset filter {query.get('$filter')!r}")
                return 400, {"message": "Invalid filter", "errorcode": 10001}
            field, value = wanted
            items = [a for a in self.assets if str(a.get(field, "")).lower() == value.lower()]
            return 200, {"count": len(items), "page": 1, "pageSize": 50, "items": items}
        if rest.startswith("asset/v1/content/assets/"):
            found = [a for a in self.assets if str(a.get("id")) == rest.rsplit("/", 1)[1]]
            if not found:
                return 404, {"message": "Asset not found", "errorcode": 10002}
            return 200, found[0]
        self.failures.append(f"unexpected REST GET {path}")
        return 404, {"message": "Not found", "errorcode": 404}

    # ---- SOAP endpoint ---------------------------------------------------------------

    def soap(self, action: str, payload: bytes) -> tuple[int, bytes | None]:
        """(HTTP status, answer); no answer means a bare HTTP error."""
        try:
            envelope = etree.fromstring(payload)
        except etree.XMLSyntaxError as error:
            self.failures.append(f"{action}: request is not XML: {error}")
            return 500, _fault("soap:Client", "Malformed request")
        token = envelope.findtext(f"{{{SOAP_ENV}}}Header/{{http://exacttarget.com}}fueloauth")
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        if body is None or len(body) != 1:
            self.failures.append(f"{action}: no single element in the SOAP Body")
            return 500, _fault("soap:Client", "Malformed request")
        request = body[0]
        self.soap_requests.append((action, request))
        if self.wsdl is not None:
            problems = self.wsdl.problems(request)
            if problems:
                self.failures.append(f"{action} request does not conform to the WSDL: {problems}")
                return 500, _fault(
                    "soap:Client", "Request does not conform to the WSDL: " + "; ".join(problems)
                )
        if self.refuse_tokens:
            self.valid_tokens.clear()
            refusal, self.refuse_tokens = self.refuse_tokens, None
            if refusal == "http401":
                return 401, None
            return 500, _fault("q0:Security", "Login failed")
        if token not in self.valid_tokens:
            return 500, _fault("q0:Security", "Login failed")
        if self.next_fault is not None:
            (code, message), self.next_fault = self.next_fault, None
            return 500, _fault(code, message, detail_code="2")
        handler = {
            "CreateRequest": self._create,
            "UpdateRequest": self._update,
            "DeleteRequest": self._delete,
            "RetrieveRequestMsg": self._retrieve,
            "PerformRequestMsg": self._perform,
            "ExecuteRequestMsg": self._execute,
        }.get(_local(request.tag))
        if handler is None:
            return 500, _fault("soap:Client", f"Unknown request {_local(request.tag)}")
        answer = handler(request)
        if self.wsdl is not None:
            problems = self.wsdl.problems(answer)
            if problems:
                self.failures.append(
                    f"the fake's own {_local(answer.tag)} does not conform to the WSDL: {problems}"
                )
        return 200, _envelope(answer)

    # -- Create / Update / Delete

    def _find(self, target: etree._Element) -> Stored | None:
        kind = _xsi_type(target)
        for key in ("ObjectID", "CustomerKey", "ID", "Name"):
            wanted = target.findtext(_t(key))
            if wanted:
                return next((s for s in self.store if s.object_type == kind and s.text(key) == wanted), None)
        return None

    def _create(self, request: etree._Element) -> etree._Element:
        answer = _new("CreateResponse")
        for target in request.findall(_t("Objects")):
            kind = _xsi_type(target)
            if kind == "DataExtensionObject":
                self._row_result(answer, "CreateResult", target, self._create_row(target))
                continue
            key = target.findtext(_t("CustomerKey"))
            if key and any(s.object_type == kind and s.text("CustomerKey") == key for s in self.store):
                _result(
                    answer,
                    "CreateResult",
                    "Error",
                    f"A {kind} with CustomerKey '{key}' already exists",
                    error_code="1",
                    new_id="0",
                )
                continue
            fields: dict[str, list[etree._Element]] = {}
            for child in target:
                fields.setdefault(_local(child.tag), []).append(copy.deepcopy(child))
            new_id = str(next(self.ids))
            fields.setdefault("ID", [self._element("ID", new_id)])
            stored = Stored(kind, fields)
            fields.setdefault("ObjectID", [self._element("ObjectID", stored.object_id)])
            self.store.append(stored)
            _result(
                answer, "CreateResult", "OK", f"Created {kind}", new_id=new_id, new_object_id=stored.object_id
            )
        _finish(answer)
        return answer

    def _update(self, request: etree._Element) -> etree._Element:
        answer = _new("UpdateResponse")
        for target in request.findall(_t("Objects")):
            if _xsi_type(target) == "DataExtensionObject":
                self._row_result(answer, "UpdateResult", target, self._change_row(target, delete=False))
                continue
            found = self._find(target)
            if found is None:
                _result(
                    answer,
                    "UpdateResult",
                    "Error",
                    f"{_xsi_type(target)} not found",
                    error_code="3",
                    echo=target,
                )
                continue
            changed: dict[str, list[etree._Element]] = {}
            for child in target:
                changed.setdefault(_local(child.tag), []).append(copy.deepcopy(child))
            found.fields.update(changed)
            _result(answer, "UpdateResult", "OK", f"Updated {found.object_type}", echo=target)
        _finish(answer)
        return answer

    def _delete(self, request: etree._Element) -> etree._Element:
        answer = _new("DeleteResponse")
        for target in request.findall(_t("Objects")):
            if _xsi_type(target) == "DataExtensionObject":
                self._row_result(answer, "DeleteResult", target, self._change_row(target, delete=True))
                continue
            found = self._find(target)
            if found is None:
                _result(
                    answer,
                    "DeleteResult",
                    "Error",
                    f"{_xsi_type(target)} not found",
                    error_code="3",
                    echo=target,
                )
                continue
            self.store.remove(found)
            _result(answer, "DeleteResult", "OK", "Deleted", echo=target)
        _finish(answer)
        return answer

    # -- data extension rows

    @staticmethod
    def _pairs(target: etree._Element, wrapper: str, item: str) -> dict[str, str]:
        return {
            (p.findtext(_t("Name")) or ""): (p.findtext(_t("Value")) or "")
            for p in target.findall(f"{_t(wrapper)}/{_t(item)}")
        }

    def _fields_of(self, key: str) -> dict[str, bool]:
        """Field name -> is it the primary key, of the data extension with this customer key."""
        return {
            s.text("Name"): s.text("IsPrimaryKey") == "true"
            for s in self.store
            if s.object_type == "DataExtensionField" and s.text("DataExtension.CustomerKey") == key
        }

    def _create_row(self, target: etree._Element) -> str | None:
        key = target.findtext(_t("CustomerKey")) or ""
        if key not in self.rows:
            return f"Data extension with CustomerKey '{key}' not found"
        values = self._pairs(target, "Properties", "Property")
        fields = self._fields_of(key)
        unknown = [name for name in values if name not in fields]
        if unknown:
            return f"The field '{unknown[0]}' does not exist"
        for pk in (name for name, primary in fields.items() if primary):
            if any(row.get(pk, "").lower() == values.get(pk, "").lower() for row in self.rows[key]):
                return "Violation of PRIMARY KEY constraint"
        self.rows[key].append(values)
        return None

    def _change_row(self, target: etree._Element, *, delete: bool) -> str | None:
        key = target.findtext(_t("CustomerKey")) or ""
        if key not in self.rows:
            return f"Data extension with CustomerKey '{key}' not found"
        keys = self._pairs(target, "Keys", "Key")
        primary = {name for name, is_primary in self._fields_of(key).items() if is_primary}
        if set(keys) != primary:
            self.failures.append(f"row {('delete' if delete else 'update')} keyed by {sorted(keys)}, not {sorted(primary)}")
            return "The Keys must be the primary key"
        for row in self.rows[key]:
            if all(row.get(name, "").lower() == value.lower() for name, value in keys.items()):
                if delete:
                    self.rows[key].remove(row)
                else:
                    row.update(self._pairs(target, "Properties", "Property"))
                return None
        return "No row matched the keys"

    def _row_result(self, answer: etree._Element, tag: str, target: etree._Element, error: str | None) -> None:
        if error is None:
            _result(answer, tag, "OK", "OK", echo=target if tag != "CreateResult" else None)
        else:
            _result(answer, tag, "Error", error, error_code="2", echo=target if tag != "CreateResult" else None)

    def _row_results(self, key: str, wanted: list[str], condition: etree._Element | None) -> list[etree._Element]:
        results = []
        for row in self.rows.get(key, []):
            if condition is not None and not _matches(_RowView(row), condition, ignore_case=True):
                continue
            element = _new("Results")
            element.set(f"{{{XSI}}}type", "DataExtensionObject")
            properties = etree.SubElement(element, _t("Properties"))
            for name in wanted:
                item = etree.SubElement(properties, _t("Property"))
                etree.SubElement(item, _t("Name")).text = name
                etree.SubElement(item, _t("Value")).text = row.get(name, "")
            results.append(element)
        return results

    # -- Retrieve

    def _retrieve(self, message: etree._Element) -> etree._Element:
        request = message.find(_t("RetrieveRequest"))
        answer = _new("RetrieveResponseMsg")
        continuation = request.findtext(_t("ContinueRequest"))
        if continuation:
            pending = self._pages.pop(continuation, None)
            if pending is None:
                etree.SubElement(answer, _t("OverallStatus")).text = "Error: ContinueRequest has no more data"
                return answer
            return self._page(answer, pending)
        kind = request.findtext(_t("ObjectType"))
        wanted = [p.text for p in request.findall(_t("Properties"))]
        condition = request.find(_t("Filter"))
        if kind and kind.startswith("DataExtensionObject[") and kind.endswith("]"):
            return self._page(answer, self._row_results(kind[len("DataExtensionObject["):-1], wanted, condition))
        matches = [
            s for s in self.store if s.object_type == kind and (condition is None or _matches(s, condition))
        ]
        results = [self._result_object(stored, wanted) for stored in matches]
        return self._page(answer, results)

    def _page(self, answer: etree._Element, results: list[etree._Element]) -> etree._Element:
        page, rest = results[: self.page_size], results[self.page_size :]
        request_id = str(uuid.uuid4())
        etree.SubElement(answer, _t("OverallStatus")).text = "MoreDataAvailable" if rest else "OK"
        etree.SubElement(answer, _t("RequestID")).text = request_id
        answer.extend(page)
        if rest:
            self._pages[request_id] = rest
        return answer

    def _result_object(self, stored: Stored, wanted: list[str]) -> etree._Element:
        element = _new("Results")
        element.set(f"{{{XSI}}}type", stored.object_type)
        tops = {name.split(".")[0] for name in wanted}
        order = self.wsdl.property_order(stored.object_type) if self.wsdl else list(stored.fields)
        for name in order:
            if name in tops:
                for item in stored.fields.get(name, []):
                    element.append(copy.deepcopy(item))
        return element

    # -- Perform

    def _perform(self, message: etree._Element) -> etree._Element:
        action = message.findtext(_t("Action")) or ""
        answer = _new("PerformResponseMsg")
        results = etree.SubElement(answer, _t("Results"))
        ok = True
        for definition in message.findall(f"{_t('Definitions')}/{_t('Definition')}"):
            result = etree.SubElement(results, _t("Result"))
            found = self._find(definition)
            if found is None or found.object_type != "QueryDefinition" or action.lower() != "start":
                ok = False
                status, text = "Error", (
                    f"{_xsi_type(definition)} not found"
                    if found is None
                    else f"Cannot perform {action} on {found.object_type}"
                )
            else:
                self.performed.append((action, found.object_id))
                status, text = "OK", "QueryDefinition perform called successfully"
            etree.SubElement(result, _t("StatusCode")).text = status
            etree.SubElement(result, _t("StatusMessage")).text = text
            result.append(_echo(definition, "Object"))
            task = etree.SubElement(result, _t("Task"))
            etree.SubElement(task, _t("StatusCode")).text = status
            etree.SubElement(task, _t("StatusMessage")).text = text
            etree.SubElement(task, _t("ID")).text = str(uuid.uuid4())
        etree.SubElement(answer, _t("OverallStatus")).text = "OK" if ok else "Error"
        etree.SubElement(answer, _t("OverallStatusMessage")).text = ""
        etree.SubElement(answer, _t("RequestID")).text = str(uuid.uuid4())
        return answer

    # -- Execute

    def _execute(self, message: etree._Element) -> etree._Element:
        answer = _new("ExecuteResponseMsg")
        outcomes = []
        for request in message.findall(_t("Requests")):
            name = request.findtext(_t("Name"))
            parameters = {
                p.findtext(_t("Name")): p.findtext(_t("Value")) for p in request.findall(_t("Parameters"))
            }
            if name == "LogUnsubEvent" and (
                parameters.get("SubscriberKey") or parameters.get("EmailAddress")
            ):
                self.unsub_events.append(parameters)
                outcomes.append(("OK", "Event posted"))
            elif name == "RefreshGroup" and any(
                s.object_type == "Group" and s.text("ID") == parameters.get("ID") for s in self.store
            ):
                self.refreshed_groups.append(parameters["ID"])
                outcomes.append(("OK", "Group refresh started"))
            else:
                outcomes.append(("Error", f"Execute of {name} failed"))
        overall = "OK" if all(status == "OK" for status, _ in outcomes) else "Error"
        etree.SubElement(answer, _t("OverallStatus")).text = overall
        etree.SubElement(answer, _t("RequestID")).text = str(uuid.uuid4())
        for status, text in outcomes:
            result = etree.SubElement(answer, _t("Results"))
            etree.SubElement(result, _t("StatusCode")).text = status
            etree.SubElement(result, _t("StatusMessage")).text = text
        return answer


# ---- answers ------------------------------------------------------------------------


def _xsi_type(element: etree._Element) -> str:
    return (element.get(f"{{{XSI}}}type") or "").split(":")[-1]


def _new(tag: str) -> etree._Element:
    """An answer element declaring the partner namespace as the default, so that
    unprefixed xsi:type values ("QueryDefinition") name partner types."""
    return etree.Element(_t(tag), nsmap={None: PARTNER, "xsi": XSI})


def _echo(target: etree._Element, tag: str) -> etree._Element:
    """The request's object, under another element name (the Object of a result)."""
    echoed = _new(tag)
    echoed.set(f"{{{XSI}}}type", _xsi_type(target))
    echoed.extend(copy.deepcopy(child) for child in target)
    return echoed


def _result(
    answer: etree._Element,
    result_type: str,
    status: str,
    message: str,
    *,
    error_code: str | None = None,
    new_id: str | None = None,
    new_object_id: str | None = None,
    echo: etree._Element | None = None,
) -> None:
    """One Results entry, in the element order of the WSDL's Result and its extension."""
    result = etree.SubElement(answer, _t("Results"))
    etree.SubElement(result, _t("StatusCode")).text = status
    etree.SubElement(result, _t("StatusMessage")).text = message
    if error_code is not None:
        etree.SubElement(result, _t("ErrorCode")).text = error_code
    if result_type == "CreateResult":
        etree.SubElement(result, _t("NewID")).text = new_id or "0"
        if new_object_id:
            etree.SubElement(result, _t("NewObjectID")).text = new_object_id
    elif echo is not None:
        result.append(_echo(echo, "Object"))


def _finish(answer: etree._Element) -> None:
    results = answer.findall(_t("Results"))
    overall = "OK" if all(r.findtext(_t("StatusCode")) == "OK" for r in results) else "Error"
    etree.SubElement(answer, _t("RequestID")).text = str(uuid.uuid4())
    etree.SubElement(answer, _t("OverallStatus")).text = overall


def _envelope(body_content: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, "xsi": XSI, None: PARTNER})
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body").append(body_content)
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def _fault(code: str, message: str, detail_code: str | None = None) -> bytes:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    fault = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(
        fault,
        "faultcode",
        nsmap={"q0": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"},
    ).text = code
    etree.SubElement(fault, "faultstring").text = message
    if detail_code is not None:
        apifault = etree.SubElement(etree.SubElement(fault, "detail"), f"{{{FAULT_NS}}}apifault")
        etree.SubElement(apifault, f"{{{FAULT_NS}}}Code").text = detail_code
        etree.SubElement(apifault, f"{{{FAULT_NS}}}Message").text = message
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


# ---- filters ------------------------------------------------------------------------


class _RowView:
    """A data extension row where a filter expects a Stored object (`text(name)`); names ignore case, as SQL's."""

    def __init__(self, row: dict[str, str]) -> None:
        self._row = {name.lower(): value for name, value in row.items()}

    def text(self, name: str) -> str | None:
        value = self._row.get(name.lower())
        return value if value != "" else None


def _matches(stored: Stored, condition: etree._Element, ignore_case: bool = False) -> bool:
    """Does the stored object pass the filter?  Data extension rows compare text ignoring case, as SQL Server does."""
    if _xsi_type(condition) == "ComplexFilterPart":
        left = _matches(stored, condition.find(_t("LeftOperand")), ignore_case)
        right = _matches(stored, condition.find(_t("RightOperand")), ignore_case)
        return (left or right) if condition.findtext(_t("LogicalOperator")) == "OR" else (left and right)
    actual = stored.text(condition.findtext(_t("Property")) or "")
    operator = condition.findtext(_t("SimpleOperator"))
    values = [v.text or "" for v in condition.findall(_t("Value"))]
    if operator == "isNull":
        return not actual
    if operator == "isNotNull":
        return bool(actual)
    if actual is None:
        return False
    if ignore_case:
        actual, values = actual.lower(), [value.lower() for value in values]
    if operator == "equals":
        return actual == values[0]
    if operator == "notEquals":
        return actual != values[0]
    if operator == "IN":
        return actual in values
    if operator in ("greaterThan", "lessThan"):
        left, right = (
            (float(actual), float(values[0])) if _numeric(actual, values[0]) else (actual, values[0])
        )
        return left > right if operator == "greaterThan" else left < right
    if operator == "like":
        return values[0].strip("%").lower() in actual.lower()
    raise ValueError(f"the fake does not know SimpleOperator {operator}")


def _odata_equals(text: str) -> tuple[str, str] | None:
    """`customerKey eq 'a''b'` as ("customerKey", "a'b"); None for anything else (the value must be quoted)."""
    import re

    match = re.fullmatch(r"(customerKey|name) eq '((?:[^']|'')*)'", text)
    return (match.group(1), match.group(2).replace("''", "'")) if match else None


def _numeric(*texts: str) -> bool:
    try:
        [float(t) for t in texts]
    except ValueError:
        return False
    return True


# ---- HTTP -----------------------------------------------------------------------------


def _handler_for(cloud: FakeMarketingCloud) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            payload = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/v2/token":
                try:
                    request = json.loads(payload)
                except ValueError:
                    request = {}
                status, answer = cloud.token(request)
                self._answer(status, json.dumps(answer).encode(), "application/json")
            elif self.path == "/Service.asmx":
                if cloud.hang:
                    cloud._released.wait(timeout=10)
                    return
                if cloud.next_http_error:
                    status, cloud.next_http_error = cloud.next_http_error, None
                    self._answer(status, b"Service Unavailable", "text/plain")
                    return
                status, document = cloud.soap(self.headers.get("SOAPAction", "").strip('"'), payload)
                self._answer(status, document or b"", "text/xml; charset=utf-8")
            else:
                self._answer(404, b"", "text/plain")

        def do_GET(self) -> None:
            status, answer = cloud.rest_get(self.path, self.headers.get("Authorization", ""))
            self._answer(status, json.dumps(answer).encode(), "application/json")

        def _answer(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
