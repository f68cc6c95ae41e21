"""A fake Dataverse (Dynamics 365) organization on 127.0.0.1, for testing the Web API connector.

A real HTTP server (the standard library's, in a thread) with:

* ``POST /<tenant>/oauth2/v2.0/token``: the Microsoft identity platform's
  client-credentials grant, a form (grant_type, client_id, client_secret,
  scope = ``<url>/.default``); wrong credentials get HTTP 401
  ``invalid_client``, a wrong scope HTTP 400 ``invalid_scope``;
* ``/api/data/v9.2/...``: the Web API, over an in-memory store with its own
  metadata (contact, account, lead, list; written here, not taken from the
  code under test): ``EntityDefinitions`` and their ``Attributes`` (with
  the Picklist/State/Status/Boolean casts and their option sets) and
  ``ManyToOneRelationships``; entity sets with ``$select``, ``$filter``
  (parsed: comparisons, ``and``/``or``/``not``, ``startswith``,
  ``endswith``, ``contains``, ``null``), ``$orderby``, ``$top``,
  ``@odata.nextLink`` paging, and ``fetchXml`` (attributes, eq/ne/null/
  not-null/like conditions, one level of link-entity, top/count; null
  attributes left out, as Dataverse does); ``GET``/``PATCH`` of one record
  (``If-Match: *`` and ``If-None-Match: *``), ``POST`` create answering
  204 with ``OData-EntityId``; the ``AddMemberList`` action bound to a list.

Every request is validated: the bearer token must be one the token endpoint
issued, Accept, OData-Version and OData-MaxVersion must be there, a body
must be JSON sent as ``application/json``, only the query options the route
takes may be given, and literals in ``$filter`` must have the attribute's
type (a string in single quotes with quotes doubled for text, a bare
number, GUID or date otherwise).  What breaks a rule is answered with
Dataverse's error shape ``{"error": {"code", "message"}}`` and, when the
rule is about the protocol rather than the data, recorded in `failures`,
which the tests assert empty.

Knobs: `next_error` (answer the next Web API call with this status, code
and message), `revoke_tokens()` (tokens issued so far answer 401),
`page_size` (rows per page before ``@odata.nextLink``), `expires_in`.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from lxml import etree

API = "/api/data/v9.2/"
GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


@dataclass
class Meta:
    name: str
    entity_set: str
    primary_id: str
    display: str
    attributes: list[tuple[str, str, str, str]]  # (logical name, AttributeType, display name, required level)
    relationships: list[tuple[str, str, str]] = field(default_factory=list)  # (attribute, target, navigation)
    options: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    hidden: dict[str, str] = field(default_factory=dict)  # attribute -> AttributeOf

    def type_of(self, name: str) -> str | None:
        return next((kind for logical, kind, _, _ in self.attributes if logical == name), None)


STATE = [(0, "Active"), (1, "Inactive")]
STATUS = [(1, "Active"), (2, "Inactive")]
STATUS_STATE = {1: 0, 2: 1}
DEFAULT_STATUS = {0: 1, 1: 2}

METADATA = {
    "contact": Meta(
        "contact", "contacts", "contactid", "Contact",
        [
            ("contactid", "Uniqueidentifier", "Contact", "SystemRequired"),
            ("firstname", "String", "First Name", "None"),
            ("lastname", "String", "Last Name", "ApplicationRequired"),
            ("emailaddress1", "String", "Email", "None"),
            ("numberofchildren", "Integer", "No. of Children", "None"),
            ("creditlimit", "Money", "Credit Limit", "None"),
            ("donotemail", "Boolean", "Do not allow Emails", "None"),
            ("gendercode", "Picklist", "Gender", "None"),
            ("birthdate", "DateTime", "Birthday", "None"),
            ("parentcustomerid", "Customer", "Company Name", "None"),
            ("parentcustomeridname", "String", "", "None"),
            ("statecode", "State", "Status", "SystemRequired"),
            ("statuscode", "Status", "Status Reason", "None"),
            ("createdon", "DateTime", "Created On", "None"),
        ],
        [("parentcustomerid", "account", "parentcustomerid_account"), ("parentcustomerid", "contact", "parentcustomerid_contact")],
        {"gendercode": [(1, "Male"), (2, "Female")], "statecode": STATE, "statuscode": STATUS,
         "donotemail": [(0, "Allow"), (1, "Do Not Allow")]},
        {"parentcustomeridname": "parentcustomerid"},
    ),
    "account": Meta(
        "account", "accounts", "accountid", "Account",
        [
            ("accountid", "Uniqueidentifier", "Account", "SystemRequired"),
            ("name", "String", "Account Name", "ApplicationRequired"),
            ("accountnumber", "String", "Account Number", "None"),
            ("address1_city", "String", "City", "None"),
            ("primarycontactid", "Lookup", "Primary Contact", "None"),
            ("statecode", "State", "Status", "SystemRequired"),
            ("statuscode", "Status", "Status Reason", "None"),
            ("createdon", "DateTime", "Created On", "None"),
        ],
        [("primarycontactid", "contact", "primarycontactid")],
        {"statecode": STATE, "statuscode": STATUS},
    ),
    "lead": Meta(
        "lead", "leads", "leadid", "Lead",
        [
            ("leadid", "Uniqueidentifier", "Lead", "SystemRequired"),
            ("subject", "String", "Topic", "ApplicationRequired"),
            ("leadsourcecode", "Picklist", "Lead Source", "None"),
            ("statecode", "State", "Status", "SystemRequired"),
            ("statuscode", "Status", "Status Reason", "None"),
        ],
        [],
        {"leadsourcecode": [(1, "Advertisement"), (8, "Web")], "statecode": STATE, "statuscode": STATUS},
    ),
    "list": Meta(
        "list", "lists", "listid", "Marketing List",
        [
            ("listid", "Uniqueidentifier", "List", "SystemRequired"),
            ("listname", "String", "Name", "SystemRequired"),
            ("createdfromcode", "Picklist", "Member Type", "SystemRequired"),
            ("statecode", "State", "Status", "SystemRequired"),
            ("statuscode", "Status", "Status Reason", "None"),
        ],
        [],
        {"createdfromcode": [(1, "Account"), (2, "Contact"), (4, "Lead")], "statecode": STATE, "statuscode": STATUS},
    ),
}
BY_SET = {meta.entity_set: meta for meta in METADATA.values()}
MEMBER_TYPES = {1: "account", 2: "contact", 4: "lead"}
LOOKUPS = {"Lookup", "Customer", "Owner"}


class ODataError(Exception):
    def __init__(self, status: int, code: str, message: str, protocol: bool = False) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.protocol = status, code, message, protocol


def _label(text: str) -> dict[str, Any]:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}], "UserLocalizedLabel": {"Label": text, "LanguageCode": 1033}}


# ---- $filter ----------------------------------------------------------------------------------

_TOKEN = re.compile(
    rf"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<guid>{GUID})(?![\w-])|(?P<date>\d{{4}}-\d\d-\d\dT[\d:.]+Z)"
    r"|(?P<number>-?\d+(?:\.\d+)?)(?![\w-])|(?P<name>[A-Za-z_][\w]*)|(?P<punct>[(),]))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise ODataError(400, "0x80060888", f"Syntax error at position {position} in '{text}'.", protocol=True)
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class FilterParser:
    """OData $filter as Dataverse reads it, with the operand types checked against the metadata."""

    def __init__(self, meta: Meta, text: str) -> None:
        self.meta, self.text, self.tokens, self.index = meta, text, _tokens(text), 0

    def parse(self):
        test = self.or_()
        if self.index != len(self.tokens):
            raise self.syntax()
        return test

    def syntax(self) -> ODataError:
        return ODataError(400, "0x80060888", f"Syntax error in the $filter '{self.text}'.", protocol=True)

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise self.syntax()
        self.index += 1
        return token

    def word(self, *words: str) -> bool:
        token = self.peek()
        if token and token[0] == "name" and token[1] in words:
            self.index += 1
            return True
        return False

    def or_(self):
        tests = [self.and_()]
        while self.word("or"):
            tests.append(self.and_())
        return tests[0] if len(tests) == 1 else (lambda record: any(test(record) for test in tests))

    def and_(self):
        tests = [self.unary()]
        while self.word("and"):
            tests.append(self.unary())
        return tests[0] if len(tests) == 1 else (lambda record: all(test(record) for test in tests))

    def unary(self):
        if self.word("not"):
            inner = self.unary()
            return lambda record: not inner(record)
        return self.primary()

    def prop(self) -> tuple[str, str]:
        kind, name = self.take()
        if kind != "name":
            raise self.syntax()
        lookup = re.fullmatch(r"_(\w+)_value", name)
        logical = lookup.group(1) if lookup else name
        attribute_type = self.meta.type_of(logical)
        if attribute_type is None or (attribute_type in LOOKUPS) != bool(lookup):
            raise ODataError(400, "0x80060888", f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{self.meta.name}'.")
        return logical, attribute_type

    def primary(self):
        token = self.peek()
        if token == ("punct", "("):
            self.take()
            inner = self.or_()
            if self.take() != ("punct", ")"):
                raise self.syntax()
            return inner
        if token and token[0] == "name" and token[1] in ("true", "false") and (
            self.index + 1 >= len(self.tokens) or self.tokens[self.index + 1][1] in ("and", "or", ")")
        ):
            self.take()
            value = token[1] == "true"
            return lambda record: value
        if token and token[0] == "name" and token[1] in ("startswith", "endswith", "contains"):
            function = self.take()[1]
            if self.take() != ("punct", "("):
                raise self.syntax()
            name, kind = self.prop()
            if self.take() != ("punct", ","):
                raise self.syntax()
            literal_kind, literal = self.take()
            if literal_kind != "string" or kind not in ("String", "Memo"):
                raise ODataError(400, "0x80060888", f"The function '{function}' takes a text property and a string literal.", protocol=True)
            if self.take() != ("punct", ")"):
                raise self.syntax()
            wanted = literal[1:-1].replace("''", "'").lower()
            test = {"startswith": str.startswith, "endswith": str.endswith, "contains": str.__contains__}[function]
            return lambda record: record.get(name) is not None and test(str(record[name]).lower(), wanted)
        name, kind = self.prop()
        operator = self.take()
        if operator[0] != "name" or operator[1] not in ("eq", "ne", "lt", "le", "gt", "ge"):
            raise self.syntax()
        value = self.literal(kind, operator[1])
        return lambda record: _compare(record.get(name), operator[1], value)

    def literal(self, kind: str, operator: str) -> Any:
        token_kind, text = self.take()
        if token_kind == "name" and text == "null":
            return None
        expected = {
            "String": "string", "Memo": "string", "Integer": "number", "Picklist": "number", "State": "number",
            "Status": "number", "Money": "number", "Decimal": "number", "Boolean": "name", "DateTime": "date",
            "Uniqueidentifier": "guid", "Lookup": "guid", "Customer": "guid", "Owner": "guid",
        }[kind]
        if token_kind != expected or (kind == "Boolean" and text not in ("true", "false")):
            found = {"string": "Edm.String", "number": "Edm.Int32", "guid": "Edm.Guid", "date": "Edm.DateTimeOffset", "name": "Edm.Boolean"}.get(token_kind, token_kind)
            raise ODataError(
                400, "0x80060888",
                f"A binary operator with incompatible types was detected. Found operand types for attribute type "
                f"'{kind}' and '{found}' for operator kind '{operator}'.",
                protocol=True,
            )
        if token_kind == "string":
            return text[1:-1].replace("''", "'")
        if token_kind == "number":
            return float(text) if "." in text else int(text)
        if token_kind == "guid":
            return text.lower()
        if token_kind == "name":
            return text == "true"
        return text


def _compare(value: Any, operator: str, wanted: Any) -> bool:
    if wanted is None:
        return (value is None) if operator == "eq" else (value is not None)
    if value is None:
        return False
    if isinstance(value, str) and isinstance(wanted, str):
        value, wanted = value.lower(), wanted.lower()
    return {
        "eq": value == wanted, "ne": value != wanted, "lt": value < wanted,
        "le": value <= wanted, "gt": value > wanted, "ge": value >= wanted,
    }[operator]


# ---- the organization -------------------------------------------------------------------------


class FakeDataverse:
    def __init__(
        self, *, client_id: str = "fake-dynamics-client", client_secret: str = "fake-dynamics-secret", tenant: str = "fake-tenant"
    ) -> None:
        self.client_id, self.client_secret, self.tenant = client_id, client_secret, tenant
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._lock = threading.Lock()
        self.reset()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/{self.tenant}/oauth2/v2.0/token"

    def start(self) -> FakeDataverse:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {name: [] for name in METADATA}
        self.list_members: list[tuple[str, str]] = []  # (list ID, member ID)
        self.token_requests: list[dict[str, str]] = []
        self.valid_tokens: set[str] = set()
        self.requests: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.next_error: tuple[int, str, str] | None = None
        self.page_size = 5000
        self.expires_in = 3599

    def revoke_tokens(self) -> None:
        self.valid_tokens.clear()

    def seed(self, entity: str, **values: Any) -> str:
        meta = METADATA[entity]
        record_id = str(values.pop(meta.primary_id, None) or uuid.uuid4()).lower()
        record = {meta.primary_id: record_id, **values}
        if "statecode" in dict((a[0], a) for a in meta.attributes):
            record.setdefault("statecode", 0)
            record.setdefault("statuscode", 1)
        self.records[entity].append(record)
        return record_id

    def find(self, entity: str, record_id: str) -> dict[str, Any] | None:
        meta = METADATA[entity]
        return next((r for r in self.records[entity] if r[meta.primary_id] == record_id.lower()), None)

    def api_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].startswith(API)]

    # ---- token endpoint --------------------------------------------------------------------

    def token(self, content_type: str, body: str) -> tuple[int, dict[str, Any]]:
        form = dict(parse_qsl(body, keep_blank_values=True))
        self.token_requests.append(form)
        if not content_type.startswith("application/x-www-form-urlencoded"):
            self.failures.append(f"token request sent as {content_type!r}, not a form")
            return 400, {"error": "invalid_request", "error_description": "AADSTS900144: The request body must contain the 'grant_type' parameter."}
        if form.get("grant_type") != "client_credentials":
            self.failures.append(f"grant_type {form.get('grant_type')!r}")
            return 400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003: The app requested an unsupported grant type."}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}
        if form.get("scope") != f"{self.url}/.default":
            self.failures.append(f"scope {form.get('scope')!r}")
            return 400, {"error": "invalid_scope", "error_description": f"AADSTS70011: The provided value for scope {form.get('scope')} is not valid."}
        token = f"dv-token-{len(self.token_requests)}"
        self.valid_tokens.add(token)
        return 200, {"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token}

    # ---- the Web API -----------------------------------------------------------------------------

    def api(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        split = urlsplit(raw_path)
        path = unquote(split.path[len(API):])
        query = parse_qsl(split.query, keep_blank_values=True)
        record = {"method": method, "path": split.path, "query": query, "headers": headers, "body": None}
        self.requests.append(record)
        authorization = headers.get("authorization", "")
        if not authorization.startswith("Bearer ") or authorization[7:] not in self.valid_tokens:
            return 401, {}, {"error": {"code": "0x80072182", "message": "The user is not authenticated: the access token is missing, expired or not valid."}}
        for name, value in (("accept", "application/json"), ("odata-version", "4.0"), ("odata-maxversion", "4.0")):
            if value not in headers.get(name, ""):
                self.failures.append(f"{method} {path}: header {name} is {headers.get(name)!r}, wanted {value}")
        if body:
            if not headers.get("content-type", "").startswith("application/json"):
                self.failures.append(f"{method} {path}: a body sent as {headers.get('content-type')!r}")
            try:
                record["body"] = json.loads(body)
            except ValueError:
                self.failures.append(f"{method} {path}: a body that is not JSON")
                return 400, {}, {"error": {"code": "0x80060891", "message": "The request body is not valid JSON."}}
        if self.next_error is not None:
            status, code, message = self.next_error
            self.next_error = None
            return status, {}, {"error": {"code": code, "message": message}}
        try:
            with self._lock:
                return self.route(method, path, query, headers, record["body"])
        except ODataError as error:
            if error.protocol:
                self.failures.append(f"{method} {path}: {error.message}")
            return error.status, {}, {"error": {"code": error.code, "message": error.message}}

    def _options(self, method: str, path: str, query: list[tuple[str, str]], allowed: set[str]) -> dict[str, str]:
        options = dict(query)
        unknown = set(options) - allowed
        if unknown or len(options) != len(query):
            raise ODataError(400, "0x80060888", f"{method} {path}: query options {sorted(unknown)} not expected here", protocol=True)
        return options

    def route(self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: Any):
        definition = re.fullmatch(r"EntityDefinitions\(LogicalName='(\w+)'\)(.*)", path)
        if path == "EntityDefinitions" and method == "GET":
            options = self._options(method, path, query, {"$select"})
            if options.get("$select") != "LogicalName,DisplayName":
                raise ODataError(400, "0x80060888", f"$select {options.get('$select')!r}", protocol=True)
            return 200, {}, {"value": [{"LogicalName": m.name, "DisplayName": _label(m.display), "MetadataId": str(uuid.uuid4())} for m in METADATA.values()]}
        if definition and method == "GET":
            return self.metadata(definition.group(1), definition.group(2), method, path, query)
        member = re.fullmatch(rf"lists\(({GUID})\)/Microsoft\.Dynamics\.CRM\.AddMemberList", path)
        if member and method == "POST":
            self._options(method, path, query, set())
            return self.add_member(member.group(1).lower(), body)
        single = re.fullmatch(rf"(\w+)\(({GUID})\)", path)
        if single and single.group(1) in BY_SET:
            meta = BY_SET[single.group(1)]
            record_id = single.group(2).lower()
            if method == "GET":
                options = self._options(method, path, query, {"$select"})
                found = self.find(meta.name, record_id)
                if found is None:
                    raise self.missing(meta, record_id)
                return 200, {}, self.shaped(meta, found, options.get("$select"))
            if method == "PATCH":
                self._options(method, path, query, set())
                return self.patch(meta, record_id, headers, body)
        if path in BY_SET:
            meta = BY_SET[path]
            if method == "GET":
                options = self._options(method, path, query, {"$select", "$filter", "$orderby", "$top", "$skiptoken", "fetchXml"})
                if "fetchXml" in options:
                    if len(options) != 1:
                        raise ODataError(400, "0x80060888", "fetchXml cannot be combined with other query options", protocol=True)
                    return 200, {}, self.fetch(meta, options["fetchXml"])
                return 200, {}, self.query(meta, path, options)
            if method == "POST":
                self._options(method, path, query, set())
                return self.create(meta, body)
        raise ODataError(404, "0x80060888", f"Resource not found for the segment '{path}'.", protocol=True)

    # ---- metadata ------------------------------------------------------------------------------------

    def metadata(self, name: str, rest: str, method: str, path: str, query: list[tuple[str, str]]):
        meta = METADATA.get(name)
        if meta is None:
            raise ODataError(404, "0x80040217", f"Could not find entity with name '{name}'.")
        if rest == "":
            options = self._options(method, path, query, {"$select"})
            if set(options.get("$select", "").split(",")) != {"LogicalName", "EntitySetName", "PrimaryIdAttribute"}:
                raise ODataError(400, "0x80060888", f"$select {options.get('$select')!r}", protocol=True)
            return 200, {}, {"LogicalName": meta.name, "EntitySetName": meta.entity_set, "PrimaryIdAttribute": meta.primary_id}
        if rest == "/Attributes":
            options = self._options(method, path, query, {"$select"})
            wanted = {"LogicalName", "AttributeType", "DisplayName", "RequiredLevel", "AttributeOf"}
            if set(options.get("$select", "").split(",")) != wanted:
                raise ODataError(400, "0x80060888", f"$select {options.get('$select')!r}", protocol=True)
            return 200, {}, {"value": [
                {"LogicalName": logical, "AttributeType": kind, "DisplayName": _label(display) if display else {"LocalizedLabels": [], "UserLocalizedLabel": None},
                 "RequiredLevel": {"Value": required, "CanBeChanged": True}, "AttributeOf": meta.hidden.get(logical)}
                for logical, kind, display, required in meta.attributes
            ]}
        cast = re.fullmatch(r"/Attributes/Microsoft\.Dynamics\.CRM\.(Picklist|State|Status|Boolean)AttributeMetadata", rest)
        if cast:
            kind = cast.group(1)
            options = self._options(method, path, query, {"$select", "$expand"})
            expected = "OptionSet($select=TrueOption,FalseOption)" if kind == "Boolean" else "OptionSet($select=Options)"
            if options.get("$select") != "LogicalName" or options.get("$expand") != expected:
                raise ODataError(400, "0x80060888", f"{kind}: $select/$expand {options}", protocol=True)
            found = []
            for logical, attribute_type, _, _ in meta.attributes:
                if attribute_type != kind:
                    continue
                listed = meta.options.get(logical, [])
                if kind == "Boolean":
                    labels = dict(listed) or {0: "No", 1: "Yes"}
                    option_set = {"TrueOption": {"Value": 1, "Label": _label(labels[1])}, "FalseOption": {"Value": 0, "Label": _label(labels[0])}}
                else:
                    option_set = {"Options": [self.option(kind, value, label) for value, label in listed]}
                found.append({"LogicalName": logical, "OptionSet": option_set})
            return 200, {}, {"value": found}
        state = re.fullmatch(r"/Attributes\(LogicalName='statecode'\)/Microsoft\.Dynamics\.CRM\.StateAttributeMetadata", rest)
        if state:
            options = self._options(method, path, query, {"$select", "$expand"})
            if options.get("$expand") != "OptionSet($select=Options)":
                raise ODataError(400, "0x80060888", f"$expand {options.get('$expand')!r}", protocol=True)
            return 200, {}, {"LogicalName": "statecode", "OptionSet": {"Options": [self.option("State", v, l) for v, l in meta.options["statecode"]]}}
        if rest == "/ManyToOneRelationships":
            options = self._options(method, path, query, {"$select"})
            wanted = {"ReferencingAttribute", "ReferencedEntity", "ReferencingEntityNavigationPropertyName"}
            if set(options.get("$select", "").split(",")) != wanted:
                raise ODataError(400, "0x80060888", f"$select {options.get('$select')!r}", protocol=True)
            return 200, {}, {"value": [
                {"ReferencingAttribute": a, "ReferencedEntity": t, "ReferencingEntityNavigationPropertyName": n} for a, t, n in meta.relationships
            ]}
        raise ODataError(404, "0x80060888", f"Resource not found for the segment '{path}'.", protocol=True)

    @staticmethod
    def option(kind: str, value: int, label: str) -> dict[str, Any]:
        option = {"Value": value, "Label": _label(label)}
        if kind == "State":
            option.update(InvariantName=label, DefaultStatus=DEFAULT_STATUS.get(value))
        if kind == "Status":
            option.update(State=STATUS_STATE.get(value))
        return option

    # ---- records -----------------------------------------------------------------------------------------

    def missing(self, meta: Meta, record_id: str) -> ODataError:
        return ODataError(404, "0x80040217", f"{meta.name} With Id = {record_id} Does Not Exist")

    def shaped(self, meta: Meta, record: dict[str, Any], select: str | None) -> dict[str, Any]:
        names = select.split(",") if select else [a[0] for a in meta.attributes]
        shaped: dict[str, Any] = {"@odata.etag": 'W/"1"'}
        for name in [*names, meta.primary_id]:
            lookup = re.fullmatch(r"_(\w+)_value", name)
            logical = lookup.group(1) if lookup else name
            kind = meta.type_of(logical)
            if kind is None or (kind in LOOKUPS) != bool(lookup):
                raise ODataError(400, "0x80060888", f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{meta.name}'.", protocol=True)
            shaped[name] = record.get(logical)
        return shaped

    def query(self, meta: Meta, path: str, options: dict[str, str]) -> dict[str, Any]:
        select = options.get("$select")
        if not select:
            raise ODataError(400, "0x80060888", "the connector must always say $select", protocol=True)
        rows = list(self.records[meta.name])
        if "$filter" in options:
            test = FilterParser(meta, options["$filter"]).parse()
            rows = [row for row in rows if test(row)]
        for term in reversed(options.get("$orderby", "").split(",") if options.get("$orderby") else []):
            name, _, direction = term.strip().partition(" ")
            if direction not in ("asc", "desc") or meta.type_of(re.sub(r"^_(\w+)_value$", r"\1", name)) is None:
                raise ODataError(400, "0x80060888", f"$orderby term {term!r}", protocol=True)
            logical = re.sub(r"^_(\w+)_value$", r"\1", name)
            present = [r for r in rows if r.get(logical) is not None]
            absent = [r for r in rows if r.get(logical) is None]
            present.sort(key=lambda r: str(r[logical]).lower() if isinstance(r[logical], str) else r[logical], reverse=direction == "desc")
            rows = present + absent if direction == "desc" else absent + present
        if "$top" in options:
            rows = rows[: int(options["$top"])]
        start = int(options.get("$skiptoken", "0"))
        page = rows[start : start + self.page_size]
        answer: dict[str, Any] = {"@odata.context": f"{self.url}{API}$metadata#{path}({select})", "value": [self.shaped(meta, r, select) for r in page]}
        if start + self.page_size < len(rows):
            following = [(k, v) for k, v in options.items() if k != "$skiptoken"] + [("$skiptoken", str(start + self.page_size))]
            from urllib.parse import urlencode

            answer["@odata.nextLink"] = f"{self.url}{API}{path}?" + urlencode(following)
        return answer

    def fetch(self, meta: Meta, text: str) -> dict[str, Any]:
        try:
            root = etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as error:
            raise ODataError(400, "0x80041103", f"Invalid XML. {error}")
        entity = root.find("entity")
        if root.tag != "fetch" or entity is None or entity.get("name") != meta.name:
            raise ODataError(400, "0x80041103", "The entity name specified in FetchXml does not match the entity name in the EntitySetName.", protocol=True)
        rows = [{None: record} for record in self.records[meta.name]]
        selected: list[tuple[str | None, str, str]] = []  # (alias, attribute, property name)
        for attribute in entity.findall("attribute"):
            name = attribute.get("name")
            if meta.type_of(name) is None:
                raise ODataError(400, "0x80041103", f"'{meta.name}' entity doesn't contain attribute with Name = '{name}' and NameMapping = 'Logical'.")
            prop = f"_{name}_value" if meta.type_of(name) in LOOKUPS else name
            selected.append((None, name, attribute.get("alias") or prop))
        if entity.find("all-attributes") is not None:
            selected += [(None, a[0], f"_{a[0]}_value" if a[1] in LOOKUPS else a[0]) for a in meta.attributes]
        for condition in entity.iterfind("filter/condition"):
            rows = [row for row in rows if _fetch_condition(meta, row[None], condition)]
        for link in entity.findall("link-entity"):
            linked = METADATA[link.get("name")]
            alias = link.get("alias") or f"{linked.name}1"
            joined = []
            for row in rows:
                key = row[None].get(link.get("to"))
                matches = [r for r in self.records[linked.name] if key is not None and r.get(link.get("from")) == key]
                joined += [{**row, alias: m} for m in matches] or ([{**row, alias: None}] if link.get("link-type") == "outer" else [])
            rows = joined
            for attribute in link.findall("attribute"):
                selected.append((alias, attribute.get("name"), f"{alias}.{attribute.get('name')}"))
        limit = int(root.get("top") or root.get("count") or 5000)
        values = []
        for row in rows[:limit]:
            item: dict[str, Any] = {"@odata.etag": 'W/"1"', meta.primary_id: row[None][meta.primary_id]}
            for alias, name, prop in selected:
                source = row.get(alias)
                if source is not None and source.get(name) is not None:  # Dataverse leaves nulls out
                    item[prop] = source[name]
            values.append(item)
        return {"@odata.context": f"{self.url}{API}$metadata#{meta.entity_set}", "value": values}

    def written(self, meta: Meta, body: Any, record_id: str) -> dict[str, Any]:
        """A write's body as attribute values, each checked as Dataverse checks it."""
        if not isinstance(body, dict):
            raise ODataError(400, "0x80060891", "The request body must be a JSON object.", protocol=True)
        values: dict[str, Any] = {}
        for key, value in body.items():
            if key.endswith("@odata.bind"):
                navigation = key[: -len("@odata.bind")]
                relationship = next((r for r in meta.relationships if r[2] == navigation), None)
                match = re.fullmatch(rf"/(\w+)\(({GUID})\)", str(value))
                if relationship is None or match is None or BY_SET.get(match.group(1)) is None or BY_SET[match.group(1)].name != relationship[1]:
                    raise ODataError(400, "0x80060891", f"Invalid binding {key}: {value!r}", protocol=True)
                if self.find(relationship[1], match.group(2)) is None:
                    raise self.missing(METADATA[relationship[1]], match.group(2).lower())
                values[relationship[0]] = match.group(2).lower()
                continue
            kind = meta.type_of(key)
            if kind is None or kind in LOOKUPS:
                raise ODataError(400, "0x80060891", f"Invalid property '{key}' was found in entity 'Microsoft.Dynamics.CRM.{meta.name}'.", protocol=True)
            good = value is None or {
                "String": isinstance(value, str), "Memo": isinstance(value, str),
                "Integer": isinstance(value, int) and not isinstance(value, bool),
                "Picklist": isinstance(value, int) and not isinstance(value, bool),
                "State": isinstance(value, int) and not isinstance(value, bool),
                "Status": isinstance(value, int) and not isinstance(value, bool),
                "Money": isinstance(value, (int, float)) and not isinstance(value, bool),
                "Boolean": isinstance(value, bool),
                "DateTime": isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value) is not None,
                "Uniqueidentifier": isinstance(value, str) and re.fullmatch(GUID, value) is not None,
            }[kind]
            if not good:
                raise ODataError(400, "0x80060891", f"Cannot convert the literal '{value}' to the expected type of '{key}' ({kind}).", protocol=True)
            if kind == "Picklist" and value is not None and value not in dict(meta.options.get(key, [])):
                raise ODataError(400, "0x80040203", f"A validation error occurred.  The value {value} of '{key}' on record of type '{meta.name}' is outside the valid range.")
            values[key] = value
        if "statuscode" in values and values.get("statecode") is not None and STATUS_STATE.get(values["statuscode"]) != values["statecode"]:
            state = dict(STATE).get(values["statecode"], values["statecode"])
            raise ODataError(400, "0x8004431a", f"{values['statuscode']} is not a valid status code for state code {meta.name.title()}State.{state} on {meta.name} with Id {record_id}.")
        return values

    def create(self, meta: Meta, body: Any):
        record_id = str(body.get(meta.primary_id) or uuid.uuid4()).lower() if isinstance(body, dict) else ""
        values = self.written(meta, body, record_id)
        values[meta.primary_id] = record_id
        if self.find(meta.name, record_id) is not None:
            raise ODataError(412, "0x80040237", "A record with matching key values already exists.")
        self.seed(meta.name, **values)
        return 204, {"OData-EntityId": f"{self.url}{API}{meta.entity_set}({record_id})"}, None

    def patch(self, meta: Meta, record_id: str, headers: dict[str, str], body: Any):
        found = self.find(meta.name, record_id)
        if headers.get("if-match") == "*" and found is None:
            raise self.missing(meta, record_id)
        if headers.get("if-none-match") == "*" and found is not None:
            raise ODataError(412, "0x80040237", "A record with matching key values already exists.")
        values = self.written(meta, body, record_id)
        if found is None:
            self.seed(meta.name, **{meta.primary_id: record_id, **values})
            return 204, {"OData-EntityId": f"{self.url}{API}{meta.entity_set}({record_id})"}, None
        merged = {**found, **values}
        if "statuscode" in values and STATUS_STATE.get(merged["statuscode"]) != merged.get("statecode"):
            self.written(meta, {"statecode": merged.get("statecode"), "statuscode": merged["statuscode"]}, record_id)
        found.update(values)
        return 204, {"OData-EntityId": f"{self.url}{API}{meta.entity_set}({record_id})"}, None

    def add_member(self, list_id: str, body: Any):
        if not isinstance(body, dict) or set(body) != {"EntityId"} or not re.fullmatch(GUID, str(body["EntityId"])):
            raise ODataError(400, "0x80060891", f"AddMemberList takes {{'EntityId': <guid>}}, got {body!r}", protocol=True)
        marketing_list = self.find("list", list_id)
        if marketing_list is None:
            raise self.missing(METADATA["list"], list_id)
        member_type = MEMBER_TYPES[marketing_list["createdfromcode"]]
        member_id = body["EntityId"].lower()
        if self.find(member_type, member_id) is None:
            raise self.missing(METADATA[member_type], member_id)
        if (list_id, member_id) not in self.list_members:
            self.list_members.append((list_id, member_id))
        return 200, {}, {"@odata.context": f"{self.url}{API}$metadata#Microsoft.Dynamics.CRM.AddMemberListResponse", "Id": str(uuid.uuid4())}


def _fetch_condition(meta: Meta, record: dict[str, Any], condition: Any) -> bool:
    name, operator, value = condition.get("attribute"), condition.get("operator"), condition.get("value")
    if meta.type_of(name) is None:
        raise ODataError(400, "0x80041103", f"'{meta.name}' entity doesn't contain attribute with Name = '{name}' and NameMapping = 'Logical'.")
    actual = record.get(name)
    if operator == "null":
        return actual is None
    if operator == "not-null":
        return actual is not None
    if actual is None:
        return False
    text, wanted = str(actual).lower(), (value or "").lower()
    if operator == "eq":
        return text == wanted
    if operator == "ne":
        return text != wanted
    if operator == "like":
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in wanted)
        return re.fullmatch(pattern, text) is not None
    raise ODataError(400, "0x80041103", f"the fake does not run the operator {operator!r}")


def _handler_for(fake: FakeDataverse) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, headers: dict[str, str], document: Any) -> None:
            payload = b"" if document is None else json.dumps(document).encode("utf-8")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if document is not None:
                self.send_header("Content-Type", "application/json; odata.metadata=minimal")
            self.send_header("OData-Version", "4.0")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            if self.path == f"/{fake.tenant}/oauth2/v2.0/token" and self.command == "POST":
                status, answer = fake.token(headers.get("content-type", ""), body.decode("utf-8"))
                self._answer(status, {}, answer)
                return
            if self.path.startswith(API):
                status, extra, document = fake.api(self.command, self.path, headers, body)
                self._answer(status, extra, document)
                return
            fake.failures.append(f"{self.command} {self.path}: not a path of the Web API or the token endpoint")
            self._answer(404, {}, {"error": {"code": "0x80060888", "message": "Resource not found."}})

        do_GET = do_POST = do_PATCH = do_DELETE = _handle

    return Handler
