"""A connection to a real Microsoft Dynamics 365 / Dataverse organization over its Web API.

    connector = DataverseConnector(DataverseConfig.from_env())
    ampc.render(source, context=Context(connections=[connector]))

It provides `ampscript.capabilities.DynamicsCRM`, so the Microsoft Dynamics
CRM functions (`ampscript.functions.dynamics`) reach the organization while
everything else still runs against the context's backend (the embedded
simulator by default).  It is a provider: ``name`` for messages and
``capability(kind)``, which is the connector itself for DynamicsCRM and
None for anything else.

Settings
--------

From the environment (`DataverseConfig.from_env`) or given directly
(`DataverseConfig(...)`), never from the script:

``AMPC_DYNAMICS_URL``            the organization, ``https://contoso.crm.dynamics.com``
``AMPC_DYNAMICS_TOKEN_URL``      the OAuth 2.0 token endpoint; or
``AMPC_DYNAMICS_TENANT_ID``      the Microsoft Entra tenant, for
                                 ``https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token``
``AMPC_DYNAMICS_CLIENT_ID``      the application (client) ID of an app registration
                                 that is an application user of the organization
``AMPC_DYNAMICS_CLIENT_SECRET``  its client secret
``AMPC_DYNAMICS_SCOPE``          optional; default ``<url>/.default``
``AMPC_DYNAMICS_API_VERSION``    optional; default ``9.2``
``AMPC_DYNAMICS_TIMEOUT``        optional; seconds per HTTP request, default 30

The wire
--------

* Sign-in: the client-credentials grant of the Microsoft identity platform,
  ``POST <token url>`` with the form fields grant_type=client_credentials,
  client_id, client_secret and scope; the token is kept until shortly
  before it expires, and fetched again when the Web API answers 401.
* Dates: the Web API's are UTC; rows hold them in Marketing Cloud system
  time (UTC-6), as the SOAP backend does, and a script's dates are taken
  to be system time when written or compared.
* Every call goes to ``<url>/api/data/v<version>/`` with
  ``Authorization: Bearer``, ``Accept: application/json``,
  ``OData-MaxVersion: 4.0`` and ``OData-Version: 4.0``.
* Metadata (`EntityDefinitions`) gives each entity's entity set name,
  primary ID and attribute types, read once per entity and kept: the
  types decide how a value is written in ``$filter`` (text in single
  quotes, each quote doubled; numbers, GUIDs, booleans and dates bare, and
  only after they were checked to be one) and in a JSON body; lookups are
  read as ``_<name>_value`` and written as ``<navigation
  property>@odata.bind`` to ``/<entity set>(<id>)``.
* RetrieveMscrmRecords(): ``GET <set>?$select=...&$filter=...`` (a like
  pattern that ``contains``, ``startswith`` or ``endswith`` cannot say is
  sent as FetchXML instead), following ``@odata.nextLink``.
  RetrieveMscrmRecordsFetchXml(): ``GET <set>?fetchXml=<the query>`` (the
  first page, at most 5,000 rows, as the simulator returns).
* Create: ``POST <set>``, the new ID read from the ``OData-EntityId``
  header.  Update and SetState: ``PATCH <set>(<id>)`` with
  ``If-Match: *`` (so a missing record is a 404, never a new record);
  SetState writes statecode and statuscode, the state named by its label
  and -1 resolved to the state's DefaultStatus (StateAttributeMetadata).
  Upsert: matched by the record's ID alone, ``PATCH <set>(<id>)`` without
  If-Match (Dataverse's upsert); otherwise the first match by ``$filter``
  and ``$orderby`` is updated with ``If-Match: *``, or a record created.
* AddMscrmListMember(): the ``Microsoft.Dynamics.CRM.AddMemberList``
  action bound to the list, ``POST lists(<id>)/Microsoft.Dynamics.CRM.AddMemberList``
  with ``{"EntityId": <id>}``.
* Describe: ``EntityDefinitions`` (Name, DisplayName) and an entity's
  ``Attributes``, with the options of its Picklist, State, Status and
  Boolean attributes.

Errors: the Web API's ``{"error": {"code", "message"}}`` (or the HTTP
status) becomes a `DynamicsError` carrying the server's message, which the
function reports after its own name; so do a refused sign-in, a timeout and
a server that cannot be reached.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from ..capabilities import GUID_ERROR as _GUID_ERROR
from ..capabilities import (
    DynamicsCondition, DynamicsCRM, DynamicsError, DynamicsQuery, DynamicsUpsert, normalize_guid,
)
from ..values import Row, parse_number, to_text
from ..values.booleans import parse_boolean
from ..values.case import collation_key
from ..values.dates import SYSTEM_TIME_ZONE, read_date, read_iso_datetime

T = TypeVar("T")

_ENV_PREFIX = "AMPC_DYNAMICS_"
_DEFAULT_TIMEOUT = 30.0
_EARLY_SECONDS = 60.0  # fetch a new token this long before the old one expires
_ENTITY_ID = re.compile(r"\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$")
_QUOTE_SAFE = "$,()':/"  # left as they are in a query string's values; everything else is percent-encoded

_TEXT_TYPES = {"String", "Memo", "EntityName"}
_WHOLE_TYPES = {"Integer", "BigInt", "Picklist", "State", "Status"}
_NUMBER_TYPES = {"Decimal", "Double", "Money"}
_GUID_TYPES = {"Uniqueidentifier", "Lookup", "Customer", "Owner"}
_LOOKUP_TYPES = {"Lookup", "Customer", "Owner"}
_OPTION_CASTS = ("PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata")


class DataverseConfigError(ValueError):
    """The Dynamics settings are missing or wrong."""


@dataclass(frozen=True)
class DataverseConfig:
    """Where the organization is and how to sign in (module docstring)."""

    url: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None = None
    api_version: str = "9.2"
    timeout: float = _DEFAULT_TIMEOUT

    @property
    def organization_url(self) -> str:
        return self.url.rstrip("/")

    @property
    def api_url(self) -> str:
        return f"{self.organization_url}/api/data/v{self.api_version}"

    @property
    def token_scope(self) -> str:
        return self.scope or f"{self.organization_url}/.default"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DataverseConfig:
        """From the AMPC_DYNAMICS_* environment variables (module docstring)."""
        environ = os.environ if environ is None else environ
        settings = {
            key[len(_ENV_PREFIX) :].lower(): value.strip()
            for key, value in environ.items()
            if key.startswith(_ENV_PREFIX) and value.strip()
        }
        missing = [_ENV_PREFIX + name.upper() for name in ("url", "client_id", "client_secret") if name not in settings]
        token_url = settings.get("token_url") or (
            f"https://login.microsoftonline.com/{settings['tenant_id']}/oauth2/v2.0/token"
            if settings.get("tenant_id")
            else ""
        )
        if not token_url:
            missing.append(f"{_ENV_PREFIX}TOKEN_URL (or {_ENV_PREFIX}TENANT_ID)")
        if missing:
            raise DataverseConfigError("Dynamics CRM settings missing from the environment: " + ", ".join(missing))
        try:
            timeout = float(settings.get("timeout", _DEFAULT_TIMEOUT))
        except ValueError:
            raise DataverseConfigError(f"{_ENV_PREFIX}TIMEOUT must be a number of seconds") from None
        return cls(
            url=settings["url"],
            token_url=token_url,
            client_id=settings["client_id"],
            client_secret=settings["client_secret"],
            scope=settings.get("scope"),
            api_version=settings.get("api_version", "9.2"),
            timeout=timeout,
        )


@dataclass
class _Attribute:
    name: str
    type: str
    display_name: str = ""
    required: bool = False
    hidden: bool = False  # an attribute of another (AttributeOf: the name of a lookup's record, ...)


@dataclass
class _Entity:
    name: str
    entity_set: str
    primary_id: str
    attributes: dict[str, _Attribute]
    navigation: dict[str, list[tuple[str, str]]] | None = None  # lookup -> [(target entity, navigation property)]

    def attribute(self, name: str) -> _Attribute:
        found = self.attributes.get(name.strip().lower())
        if found is None:
            raise DynamicsError(f"'{self.name}' entity doesn't contain attribute with Name = '{name.strip()}'.")
        return found


def _label(label: Any) -> str:
    """A metadata Label's text: the user's localized label, else the first localized one."""
    if not isinstance(label, dict):
        return ""
    user = label.get("UserLocalizedLabel")
    if isinstance(user, dict) and user.get("Label"):
        return to_text(user["Label"])
    for localized in label.get("LocalizedLabels") or []:
        if isinstance(localized, dict) and localized.get("Label"):
            return to_text(localized["Label"])
    return ""


def _odata_string(text: str) -> str:
    """An OData string literal: in single quotes, each single quote doubled."""
    return "'" + text.replace("'", "''") + "'"


def _key_literal(name: str) -> str:
    """An entity's logical name in EntityDefinitions(LogicalName='...')."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise DynamicsError(f"The entity with a name = '{name}' was not found in the MetadataCache.")
    return _odata_string(name.lower())


class DataverseConnector:
    """The Dataverse Web API as a provider of the Dynamics CRM capability (module docstring)."""

    def __init__(
        self,
        config: DataverseConfig | None = None,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or DataverseConfig.from_env()
        self.name = f"the Dynamics CRM organization at {self.config.organization_url}"
        self._http = http or httpx.Client(timeout=self.config.timeout)
        self._owns_http = http is None
        self._clock = clock
        self._token: tuple[str, float] | None = None  # (access token, expires at on the clock)
        self._entities: dict[str, _Entity] = {}

    # ---- the provider ---------------------------------------------------------------

    def capability(self, kind: type[T]) -> T | None:
        return self if kind is DynamicsCRM else None  # type: ignore[return-value]

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> DataverseConnector:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- sign-in ----------------------------------------------------------------------

    def _access_token(self) -> str:
        if self._token is None or self._clock() >= self._token[1]:
            self._token = self._fetch_token()
        return self._token[0]

    def _fetch_token(self) -> tuple[str, float]:
        config = self.config
        requested_at = self._clock()
        form = {
            "grant_type": "client_credentials",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "scope": config.token_scope,
        }
        try:
            response = self._http.post(config.token_url, data=form, headers={"Accept": "application/json"})
        except httpx.TimeoutException:
            raise DynamicsError(f"the Microsoft identity platform did not answer in time ({config.token_url})") from None
        except httpx.HTTPError as error:
            raise DynamicsError(f"could not reach the Microsoft identity platform at {config.token_url}: {error}") from None
        answer = _json_or_none(response)
        if response.status_code != 200:
            detail = f"HTTP {response.status_code}"
            if isinstance(answer, dict) and (answer.get("error") or answer.get("error_description")):
                detail = ": ".join(str(answer[key]) for key in ("error", "error_description") if answer.get(key))
            raise DynamicsError(
                f"the Microsoft identity platform refused the Dynamics CRM credentials (client ID, client secret, "
                f"tenant): {detail}"
            )
        if not isinstance(answer, dict) or not answer.get("access_token"):
            raise DynamicsError(f"the Microsoft identity platform gave no access token ({config.token_url})")
        try:
            lifetime = float(answer.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        return str(answer["access_token"]), requested_at + lifetime - min(_EARLY_SECONDS, lifetime / 10)

    # ---- HTTP ---------------------------------------------------------------------------

    def _url(self, path: str, query: Sequence[tuple[str, str]] = ()) -> str:
        url = path if path.startswith(("http://", "https://")) else f"{self.config.api_url}/{path}"
        if query:
            url += "?" + "&".join(f"{key}={quote(value, safe=_QUOTE_SAFE)}" for key, value in query)
        return url

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        missing_ok: bool = False,
    ) -> httpx.Response | None:
        """One Web API call; None for a 404 when `missing_ok`; DynamicsError for any other failure."""
        url = self._url(path, query)
        content = None if body is None else json.dumps(body, default=_json_default).encode("utf-8")
        for attempt in (1, 2):
            sent = {
                "Authorization": f"Bearer {self._access_token()}",
                "Accept": "application/json",
                "OData-MaxVersion": "4.0",
                "OData-Version": "4.0",
                **(headers or {}),
            }
            if content is not None:
                sent["Content-Type"] = "application/json; charset=utf-8"
            try:
                response = self._http.request(method, url, content=content, headers=sent)
            except httpx.TimeoutException:
                raise DynamicsError(f"Dynamics CRM did not answer in time ({method} {url})") from None
            except httpx.HTTPError as error:
                raise DynamicsError(f"could not reach Dynamics CRM at {self.config.organization_url}: {error}") from None
            if response.status_code == 401 and attempt == 1:
                self._token = None  # expired or revoked: sign in again, once
                continue
            break
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise DynamicsError(_server_error(response))
        return response

    def _get_json(self, path: str, query: Sequence[tuple[str, str]] = (), *, missing_ok: bool = False) -> Any:
        response = self._request("GET", path, query=query, missing_ok=missing_ok)
        if response is None:
            return None
        try:
            return json.loads(response.text, parse_float=Decimal)
        except ValueError:
            raise DynamicsError(f"Dynamics CRM answered {path} with something that is not JSON") from None

    # ---- metadata -------------------------------------------------------------------------

    def _entity(self, name: str) -> _Entity:
        logical = name.strip().lower()
        if logical in self._entities:
            return self._entities[logical]
        key = f"EntityDefinitions(LogicalName={_key_literal(logical)})"
        definition = self._get_json(key, [("$select", "LogicalName,EntitySetName,PrimaryIdAttribute")], missing_ok=True)
        if definition is None:
            raise DynamicsError(f"The entity with a name = '{name.strip()}' was not found in the MetadataCache.")
        attributes = self._get_json(
            f"{key}/Attributes", [("$select", "LogicalName,AttributeType,DisplayName,RequiredLevel,AttributeOf")]
        )
        found = {}
        for item in attributes.get("value", []):
            attribute = _Attribute(
                to_text(item.get("LogicalName")).lower(),
                to_text(item.get("AttributeType")),
                _label(item.get("DisplayName")),
                (item.get("RequiredLevel") or {}).get("Value") in ("SystemRequired", "ApplicationRequired"),
                bool(item.get("AttributeOf")),
            )
            found[attribute.name] = attribute
        entity = _Entity(
            logical,
            to_text(definition.get("EntitySetName")),
            to_text(definition.get("PrimaryIdAttribute")).lower(),
            found,
        )
        self._entities[logical] = entity
        return entity

    def _navigation(self, entity: _Entity) -> dict[str, list[tuple[str, str]]]:
        """Each lookup's targets and the navigation property that binds to each (ManyToOneRelationships)."""
        if entity.navigation is None:
            relationships = self._get_json(
                f"EntityDefinitions(LogicalName={_key_literal(entity.name)})/ManyToOneRelationships",
                [("$select", "ReferencingAttribute,ReferencedEntity,ReferencingEntityNavigationPropertyName")],
            )
            navigation: dict[str, list[tuple[str, str]]] = {}
            for item in relationships.get("value", []):
                navigation.setdefault(to_text(item.get("ReferencingAttribute")).lower(), []).append(
                    (to_text(item.get("ReferencedEntity")).lower(), to_text(item.get("ReferencingEntityNavigationPropertyName")))
                )
            entity.navigation = navigation
        return entity.navigation

    # ---- values ---------------------------------------------------------------------------

    @staticmethod
    def _wrong(entity: _Entity, attribute: _Attribute, value: Any, edm: str) -> DynamicsError:
        return DynamicsError(
            f"Cannot convert the literal '{to_text(value)}' to the expected type '{edm}' "
            f"for the attribute '{attribute.name}' of {entity.name}."
        )

    def _filter_literal(self, entity: _Entity, attribute: _Attribute, value: Any) -> str:
        """A value in $filter, as the attribute's type writes it; never the script's text unchecked."""
        kind = attribute.type
        if kind in _WHOLE_TYPES:
            number = value if isinstance(value, int) and not isinstance(value, bool) else parse_number(value)
            if isinstance(number, bool) or not isinstance(number, int):
                raise self._wrong(entity, attribute, value, "Edm.Int32")
            return str(number)
        if kind in _NUMBER_TYPES:
            number = parse_number(value)
            if number is None:
                raise self._wrong(entity, attribute, value, "Edm.Decimal")
            return str(number)
        if kind == "Boolean":
            flag = value if isinstance(value, bool) else parse_boolean(to_text(value).strip())
            if flag is None:
                raise self._wrong(entity, attribute, value, "Edm.Boolean")
            return "true" if flag else "false"
        if kind == "DateTime":
            moment = value if isinstance(value, _dt.datetime) else read_date(value)
            if moment is None:
                raise self._wrong(entity, attribute, value, "Edm.DateTimeOffset")
            return _wire_date(moment)
        if kind in _GUID_TYPES:
            guid = normalize_guid(value)
            if guid is None:
                raise DynamicsError(f"{_GUID_ERROR} ('{to_text(value)}' for the attribute '{attribute.name}' of {entity.name})")
            return guid
        return _odata_string(to_text(value))

    def _body(self, entity: _Entity, pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
        """A JSON body for a write: each value as its attribute's type, lookups bound to their records."""
        body: dict[str, Any] = {}
        for name, value in pairs:
            attribute = entity.attribute(to_text(name))
            kind = attribute.type
            if value is None or (isinstance(value, str) and value == ""):
                if kind in _LOOKUP_TYPES:
                    raise DynamicsError(
                        f"Clearing the lookup '{attribute.name}' is not supported by the Dynamics CRM connector"
                    )
                body[attribute.name] = None
                continue
            if kind in _LOOKUP_TYPES:
                guid = normalize_guid(value)
                if guid is None:
                    raise DynamicsError(f"{_GUID_ERROR} ('{to_text(value)}' for the attribute '{attribute.name}' of {entity.name})")
                prop, path = self._bind(entity, attribute, guid)
                body[f"{prop}@odata.bind"] = path
                continue
            if kind in _WHOLE_TYPES:
                body[attribute.name] = int(self._filter_literal(entity, attribute, value))
            elif kind in _NUMBER_TYPES:
                body[attribute.name] = Decimal(self._filter_literal(entity, attribute, value))
            elif kind == "Boolean":
                body[attribute.name] = self._filter_literal(entity, attribute, value) == "true"
            elif kind == "DateTime":
                body[attribute.name] = self._filter_literal(entity, attribute, value)
            elif kind == "Uniqueidentifier":
                body[attribute.name] = self._filter_literal(entity, attribute, value)
            else:
                body[attribute.name] = to_text(value)
        return body

    def _bind(self, entity: _Entity, attribute: _Attribute, guid: str) -> tuple[str, str]:
        """(navigation property, "/<set>(<id>)") for a lookup to the record `guid`."""
        targets = self._navigation(entity).get(attribute.name, [])
        if not targets:
            raise DynamicsError(f"The lookup '{attribute.name}' of {entity.name} has no relationship to bind a record with")
        for target, prop in targets:
            target_entity = self._entity(target)
            if len(targets) == 1:
                return prop, f"/{target_entity.entity_set}({guid})"
            found = self._get_json(
                f"{target_entity.entity_set}({guid})", [("$select", target_entity.primary_id)], missing_ok=True
            )
            if found is not None:
                return prop, f"/{target_entity.entity_set}({guid})"
        raise DynamicsError(f"{' or '.join(t for t, _ in targets)} With Id = {guid} Does Not Exist")

    @staticmethod
    def _property(attribute: _Attribute) -> str:
        """The Web API property of an attribute when reading: lookups are _<name>_value."""
        return f"_{attribute.name}_value" if attribute.type in _LOOKUP_TYPES else attribute.name

    @staticmethod
    def _row_value(attribute: _Attribute | None, value: Any) -> Any:
        if value is None or attribute is None:
            return value
        if attribute.type in _NUMBER_TYPES and isinstance(value, (int, float)):
            return Decimal(str(value))
        if attribute.type == "DateTime" and isinstance(value, str):
            return _read_wire_date(value)
        return value

    # ---- queries ----------------------------------------------------------------------------

    def _condition(self, entity: _Entity, condition: DynamicsCondition) -> str | None:
        """A condition as $filter text; None when only FetchXML can say it."""
        attribute = entity.attribute(condition.attribute)
        prop = self._property(attribute)
        operator = condition.operator
        if operator == "null":
            return f"{prop} eq null"
        if operator == "not-null":
            return f"{prop} ne null"
        if operator in ("eq", "ne", "lt", "le", "gt", "ge"):
            if to_text(condition.value) == "" and attribute.type in _TEXT_TYPES:
                return "false" if operator == "eq" else f"{prop} ne null"  # Dataverse keeps no empty text
            return f"{prop} {operator} {self._filter_literal(entity, attribute, condition.value)}"
        if operator == "in":
            return "(" + " or ".join(f"{prop} eq {self._filter_literal(entity, attribute, v)}" for v in condition.values) + ")"
        text = to_text(condition.value)
        if operator in ("begins-with", "ends-with"):
            function = "startswith" if operator == "begins-with" else "endswith"
            return f"{function}({prop},{_odata_string(text)})"
        if operator in ("like", "not-like"):
            core = text.strip("%")
            if any(character in core for character in "%_["):
                return None
            leading, trailing = text.startswith("%"), text.endswith("%") and len(text) > 1
            if leading and trailing:
                expression = f"contains({prop},{_odata_string(core)})"
            elif trailing:
                expression = f"startswith({prop},{_odata_string(core)})"
            elif leading:
                expression = f"endswith({prop},{_odata_string(core)})"
            else:
                expression = f"{prop} eq {_odata_string(core)}"
            return expression if operator == "like" else f"not {expression}"
        raise DynamicsError(f"The condition operator '{operator}' is not supported by the Dynamics CRM connector")

    def retrieve(self, query: DynamicsQuery) -> list[Row]:
        entity = self._entity(query.entity)
        attributes = [entity.attribute(name) for name in query.attributes]
        parts = [self._condition(entity, condition) for condition in query.conditions]
        if any(part is None for part in parts):
            return self.retrieve_fetch_xml(_fetch_xml_for(entity, attributes, query))
        select = [("$select", ",".join(dict.fromkeys(self._property(a) for a in attributes)))]
        if parts:
            select.append(("$filter", " and ".join(f"({part})" if len(parts) > 1 else part for part in parts)))  # type: ignore[misc]
        if query.order_by:
            select.append(
                ("$orderby", ",".join(f"{self._property(entity.attribute(n))} {'desc' if d else 'asc'}" for n, d in query.order_by))
            )
        if query.limit is not None:
            select.append(("$top", str(query.limit)))
        rows: list[Row] = []
        page = self._get_json(entity.entity_set, select)
        while True:
            for item in page.get("value", []):
                rows.append(Row([(a.name, self._row_value(a, item.get(self._property(a)))) for a in attributes]))
            following = page.get("@odata.nextLink")
            if not following or (query.limit is not None and len(rows) >= query.limit):
                break
            page = self._get_json(following)
        return rows[: query.limit] if query.limit is not None else rows

    def retrieve_fetch_xml(self, fetch_xml: str) -> list[Row]:
        shape = _fetch_shape(fetch_xml)
        entity = self._entity(shape.entity)
        page = self._get_json(entity.entity_set, [("fetchXml", fetch_xml.strip())])
        items = page.get("value", [])
        columns: list[tuple[str, list[str], _Attribute | None]] = []  # (column, properties to look for, attribute)
        for alias, name, column, everything in shape.columns:
            owner = entity if alias is None else self._entity(shape.aliases[alias])
            if everything:
                for attribute in owner.attributes.values():
                    if not attribute.hidden:
                        columns.append(_column_for(alias, attribute.name, None, attribute, self._property(attribute)))
                continue
            attribute = owner.attribute(name)
            columns.append(_column_for(alias, attribute.name, column, attribute, self._property(attribute)))
        rows = []
        for item in items:
            rows.append(Row([(column, self._row_value(attribute, _pick(item, names))) for column, names, attribute in columns]))
        return rows

    # ---- writes -------------------------------------------------------------------------------

    def create(self, entity: str, values: Sequence[tuple[str, Any]]) -> str:
        found = self._entity(entity)
        return self._create(found, self._body(found, values))

    def _create(self, entity: _Entity, body: dict[str, Any]) -> str:
        response = self._request("POST", entity.entity_set, body=body)
        assert response is not None
        location = response.headers.get("OData-EntityId") or response.headers.get("Location") or ""
        match = _ENTITY_ID.search(location)
        if match is None:
            raise DynamicsError(f"Dynamics CRM created a {entity.name} record but gave no OData-EntityId with its ID")
        return match.group(1).lower()

    def update(self, entity: str, ids: Sequence[str], values: Sequence[tuple[str, Any]]) -> int:
        found = self._entity(entity)
        body = self._body(found, values)
        guids = []
        for text in ids:
            guid = normalize_guid(text)
            if guid is None:
                raise DynamicsError(f"{_GUID_ERROR} ('{to_text(text).strip()}' is not a GUID)")
            guids.append(guid)
        updated = 0
        for guid in guids:
            if self._request("PATCH", f"{found.entity_set}({guid})", body=body, headers={"If-Match": "*"}, missing_ok=True):
                updated += 1
        return updated

    def upsert(self, request: DynamicsUpsert) -> str:
        entity = self._entity(request.entity)
        values = self._body(entity, request.values)
        match = list(request.match)
        if len(match) == 1 and entity.attribute(match[0][0]).name == entity.primary_id:
            guid = normalize_guid(match[0][1])
            if guid is None:
                raise DynamicsError(f"{_GUID_ERROR} ('{to_text(match[0][1])}' is not a GUID)")
            self._request("PATCH", f"{entity.entity_set}({guid})", body=values)
            return guid
        conditions = tuple(
            DynamicsCondition(name, "null") if value in (None, "") else DynamicsCondition(name, "eq", value)
            for name, value in match
        )
        query = DynamicsQuery(entity.name, [entity.primary_id], conditions, tuple(request.order_by), limit=1)
        found = self.retrieve(query)
        if found:
            guid = to_text(found[0][entity.primary_id])
            done = self._request("PATCH", f"{entity.entity_set}({guid})", body=values, headers={"If-Match": "*"}, missing_ok=True)
            if done is not None:
                return guid
        return self._create(entity, {**self._body(entity, match), **values})

    def set_state(self, entity: str, record_id: str, state: str, status: int) -> None:
        found = self._entity(entity)
        guid = normalize_guid(record_id)
        if guid is None:
            raise DynamicsError(f"{_GUID_ERROR} ('{to_text(record_id).strip()}' is not a GUID)")
        metadata = self._get_json(
            f"EntityDefinitions(LogicalName={_key_literal(found.name)})/Attributes(LogicalName='statecode')"
            "/Microsoft.Dynamics.CRM.StateAttributeMetadata",
            [("$select", "LogicalName"), ("$expand", "OptionSet($select=Options)")],
            missing_ok=True,
        )
        if metadata is None:
            raise DynamicsError(f"The entity '{found.name}' has no statecode and statuscode attributes to set")
        options = ((metadata.get("OptionSet") or {}).get("Options")) or []
        wanted = collation_key(state.strip())
        chosen = None
        for option in options:
            names = {collation_key(to_text(option.get("InvariantName"))), collation_key(_label(option.get("Label")))}
            if wanted in names or to_text(option.get("Value")) == state.strip():
                chosen = option
                break
        if chosen is None:
            labels = ", ".join(_label(option.get("Label")) or to_text(option.get("InvariantName")) for option in options)
            raise DynamicsError(f"'{state}' is not a valid state of {found.name}", hint=f"the states of {found.name}: {labels}")
        state_value = int(chosen.get("Value"))
        status_value = status
        if status == -1:
            default = chosen.get("DefaultStatus")
            if default is None:
                raise DynamicsError(f"the state {state} of {found.name} has no default status; give one")
            status_value = int(default)
        done = self._request(
            "PATCH",
            f"{found.entity_set}({guid})",
            body={"statecode": state_value, "statuscode": status_value},
            headers={"If-Match": "*"},
            missing_ok=True,
        )
        if done is None:
            raise DynamicsError(f"{found.name} With Id = {guid} Does Not Exist")

    def add_list_member(self, list_id: str, member_id: str) -> None:
        list_guid, member_guid = normalize_guid(list_id), normalize_guid(member_id)
        for text, guid in ((list_id, list_guid), (member_id, member_guid)):
            if guid is None:
                raise DynamicsError(f"{_GUID_ERROR} ('{to_text(text).strip()}' is not a GUID)")
        lists = self._entity("list")
        # A missing list or member is the server's 404, whose message names the record.
        self._request(
            "POST", f"{lists.entity_set}({list_guid})/Microsoft.Dynamics.CRM.AddMemberList", body={"EntityId": member_guid}
        )

    # ---- describe -------------------------------------------------------------------------------

    def describe_entities(self) -> list[Row]:
        answer = self._get_json("EntityDefinitions", [("$select", "LogicalName,DisplayName")])
        items = sorted(answer.get("value", []), key=lambda item: to_text(item.get("LogicalName")))
        return [
            Row([("Name", to_text(item.get("LogicalName"))), ("DisplayName", _label(item.get("DisplayName")))])
            for item in items
        ]

    def describe_attributes(self, entity: str) -> list[Row]:
        found = self._entity(entity)
        key = f"EntityDefinitions(LogicalName={_key_literal(found.name)})/Attributes"
        options: dict[str, str] = {}
        for cast in _OPTION_CASTS:
            answer = self._get_json(
                f"{key}/Microsoft.Dynamics.CRM.{cast}", [("$select", "LogicalName"), ("$expand", "OptionSet($select=Options)")]
            )
            for item in answer.get("value", []):
                listed = ((item.get("OptionSet") or {}).get("Options")) or []
                options[to_text(item.get("LogicalName")).lower()] = ",".join(
                    f"{option.get('Value')}:{_label(option.get('Label'))}" for option in listed
                )
        answer = self._get_json(
            f"{key}/Microsoft.Dynamics.CRM.BooleanAttributeMetadata",
            [("$select", "LogicalName"), ("$expand", "OptionSet($select=TrueOption,FalseOption)")],
        )
        for item in answer.get("value", []):
            option_set = item.get("OptionSet") or {}
            false, true = option_set.get("FalseOption") or {}, option_set.get("TrueOption") or {}
            options[to_text(item.get("LogicalName")).lower()] = (
                f"{false.get('Value', 0)}:{_label(false.get('Label'))},{true.get('Value', 1)}:{_label(true.get('Label'))}"
            )
        return [
            Row(
                [
                    ("Name", attribute.name),
                    ("DisplayName", attribute.display_name),
                    ("Type", attribute.type),
                    ("Required", attribute.required),
                    ("Options", options.get(attribute.name, "")),
                ]
            )
            for attribute in found.attributes.values()
            if not attribute.hidden
        ]


# ---- helpers ---------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _server_error(response: httpx.Response) -> str:
    """The Web API's error message (``{"error": {"code", "message"}}``), with the HTTP status."""
    answer = _json_or_none(response)
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict) and error.get("message"):
        code = f", error {error['code']}" if error.get("code") else ""
        return f"{error['message']} (HTTP {response.status_code}{code})"
    reason = response.reason_phrase or ""
    return f"Dynamics CRM answered HTTP {response.status_code}{' ' + reason if reason else ''}"


def _wire_date(moment: _dt.datetime) -> str:
    """A date as the Web API takes it: ISO 8601 in UTC; a script's date (naive) is Marketing Cloud system time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SYSTEM_TIME_ZONE)
    return moment.astimezone(_dt.timezone.utc).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def _read_wire_date(text: str) -> Any:
    """A date the Web API gives (UTC) in Marketing Cloud system time, as the SOAP backend gives dates."""
    moment = read_iso_datetime(text)
    return text if moment is None else moment


def _pick(item: Mapping[str, Any], names: Sequence[str]) -> Any:
    for name in names:
        if name in item:
            return item[name]
    return None


def _column_for(alias: str | None, name: str, column: str | None, attribute: _Attribute, prop: str) -> tuple[str, list[str], _Attribute]:
    """A FetchXML column: its name in the rows and the properties the Web API may give it under."""
    if alias is None:
        return column or name, [column or prop, prop, name] if column else [prop, name], attribute
    shown = column or f"{alias}.{name}"
    candidates = [shown] if column else []
    for spelled in (prop, name):
        candidates += [f"{alias}.{spelled}", f"{alias}_x002e_{spelled}"]
    return shown, candidates, attribute


@dataclass
class _FetchShape:
    entity: str
    columns: list[tuple[str | None, str, str | None, bool]]  # (link alias, attribute, alias given, all-attributes)
    aliases: dict[str, str]  # link alias -> entity


def _fetch_shape(fetch_xml: str) -> _FetchShape:
    """What a FetchXML query asks for: its entity and its columns, link-entities named as Dynamics names them."""
    from lxml import etree  # on first use: lxml is one of the heavy libraries

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(fetch_xml.strip().encode("utf-8"), parser)
    except etree.XMLSyntaxError as error:
        raise DynamicsError(f"Invalid FetchXML: it is not well-formed XML ({error})") from None
    entity = root.find("entity") if root.tag == "fetch" else None
    if entity is None or not (entity.get("name") or "").strip():
        raise DynamicsError("Invalid FetchXML: <fetch> needs exactly one <entity name='...'> element")
    shape = _FetchShape((entity.get("name") or "").strip().lower(), [], {})
    counter = [0]

    def walk(element: Any, alias: str | None) -> None:
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "attribute":
                given = (child.get("alias") or "").strip() or None
                shape.columns.append((alias, (child.get("name") or "").strip().lower(), given, False))
            elif child.tag == "all-attributes":
                shape.columns.append((alias, "", None, True))
            elif child.tag == "link-entity":
                counter[0] += 1
                name = (child.get("name") or "").strip().lower()
                link_alias = (child.get("alias") or "").strip() or f"{name}{counter[0]}"
                shape.aliases[link_alias] = name
                walk(child, link_alias)

    walk(entity, None)
    return shape


def _fetch_xml_for(entity: _Entity, attributes: Sequence[_Attribute], query: DynamicsQuery) -> str:
    """A query the $filter cannot say (a like pattern with inner wildcards), as FetchXML."""
    from xml.sax.saxutils import quoteattr

    parts = [f"<fetch{f' top={quoteattr(str(query.limit))}' if query.limit is not None else ''}>", f"<entity name={quoteattr(entity.name)}>"]
    parts += [f"<attribute name={quoteattr(a.name)}/>" for a in attributes]
    parts += [f"<order attribute={quoteattr(entity.attribute(n).name)} descending={quoteattr('true' if d else 'false')}/>" for n, d in query.order_by]
    parts.append("<filter type='and'>")
    for condition in query.conditions:
        name = quoteattr(entity.attribute(condition.attribute).name)
        operator = quoteattr(condition.operator)
        if condition.operator in ("null", "not-null"):
            parts.append(f"<condition attribute={name} operator={operator}/>")
        elif condition.operator == "in":
            values = "".join(f"<value>{_xml_text(to_text(v))}</value>" for v in condition.values)
            parts.append(f"<condition attribute={name} operator={operator}>{values}</condition>")
        else:
            parts.append(f"<condition attribute={name} operator={operator} value={quoteattr(to_text(condition.value))}/>")
    parts.append("</filter></entity></fetch>")
    return "".join(parts)


def _xml_text(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)

