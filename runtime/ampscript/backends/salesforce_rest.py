"""A real Salesforce org behind the Sales and Service Cloud functions, through its REST API.

``Context(connections=[SalesforceRest(SalesforceConfig.from_env())])`` (or
``ampc run --salesforce rest``) sends CreateSalesforceObject(),
RetrieveSalesforceObjects() and UpdateSingleSalesforceObject() to the org:

* create: ``POST /services/data/vXX.X/sobjects/<SObject>/`` with the
  fields as JSON, typed by the object's describe (``GET
  .../sobjects/<SObject>/describe/``, fetched once per object);
* retrieve: a SOQL query, ``GET .../query?q=SELECT ... FROM ... WHERE ...
  LIMIT 1000``, following ``nextRecordsUrl``.  Names are checked to be API
  names, and every value becomes a SOQL literal of its field's type:
  strings quoted with SOQL's escapes, numbers, booleans and dates checked
  and written bare.  No script value is ever pasted into the query as it is;
* update: ``PATCH .../sobjects/<SObject>/<Id>``; ``fieldsToNull`` sets
  JSON nulls.

Authentication is OAuth 2.0 against the login URL: the client credentials
flow (a connected app's consumer key and secret) or the JWT bearer flow (a
consumer key, a user name and the app's private key, RS256).  The token is
kept and fetched again when the org answers ``INVALID_SESSION_ID``.

Configuration: `SalesforceConfig`, or these environment variables (never a
file in the workspace):

=============================  ==============================================
``AMPC_SF_LOGIN_URL``          ``https://login.salesforce.com`` (default),
                               ``https://test.salesforce.com`` or a My Domain
``AMPC_SF_CLIENT_ID``          the connected app's consumer key (required)
``AMPC_SF_CLIENT_SECRET``      its secret: the client credentials flow
``AMPC_SF_USERNAME``           with ``AMPC_SF_PRIVATE_KEY_FILE``: the JWT
``AMPC_SF_PRIVATE_KEY_FILE``   bearer flow (PEM private key of the app)
``AMPC_SF_API_VERSION``        REST API version (default 62.0)
=============================  ==============================================

Errors are Salesforce's (``INVALID_FIELD: No such column ...``), raised as
the functions' faults; a record the org refuses on update is 0, as the
reference says.  RetrieveSalesforceJobSources() reads Marketing Cloud
Connect's send records, which live in the Marketing Cloud account, not the
org: this connection says so rather than answer.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from ..capabilities import SalesforceCondition, SalesforceCRM, SalesforceQuery
from ..errors import ScriptError
from ..salesforce_ids import canonical_id
from ..values import Row, to_text
from .salesforce_org import SalesforceError, _number_text, _read_datetime, salesforce_number

T = TypeVar("T")

_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_FIELD_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
# Record errors: the org refused this record's values, not the call.  UpdateSingleSalesforceObject() answers 0.
_RECORD_ERRORS = {
    "NOT_FOUND", "ENTITY_IS_DELETED", "MALFORMED_ID", "REQUIRED_FIELD_MISSING", "STRING_TOO_LONG",
    "INVALID_TYPE_ON_FIELD_IN_RECORD", "INVALID_EMAIL_ADDRESS", "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "DUPLICATE_VALUE", "INVALID_CROSS_REFERENCE_KEY",
    "FIELD_INTEGRITY_EXCEPTION", "ENTITY_IS_LOCKED", "UNABLE_TO_LOCK_ROW",
}
_SOQL_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_NUMBER_TYPES = {"int", "double", "currency", "percent", "long"}
_BARE_TYPES = _NUMBER_TYPES | {"boolean", "date", "datetime"}


class SalesforceConfigError(ValueError):
    """The connection's settings are missing or contradict each other."""


@dataclass(frozen=True)
class SalesforceConfig:
    client_id: str
    login_url: str = "https://login.salesforce.com"
    client_secret: str | None = None
    username: str | None = None
    private_key: str | None = None  # PEM text
    api_version: str = "62.0"
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.client_id:
            raise SalesforceConfigError("a Salesforce connection needs the connected app's consumer key (client_id)")
        if not self.client_secret and not (self.username and self.private_key):
            raise SalesforceConfigError(
                "a Salesforce connection needs a client secret (client credentials flow) "
                "or a user name and private key (JWT bearer flow)"
            )
        if not re.fullmatch(r"\d+\.\d", self.api_version):
            raise SalesforceConfigError(f"the API version {self.api_version!r} is not of the form 62.0")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SalesforceConfig:
        env = os.environ if environ is None else environ
        key_file = env.get("AMPC_SF_PRIVATE_KEY_FILE")
        private_key = None
        if key_file:
            try:
                private_key = Path(key_file).read_text()
            except OSError as error:
                raise SalesforceConfigError(f"AMPC_SF_PRIVATE_KEY_FILE: cannot read {key_file}: {error.strerror}") from None
        return cls(
            client_id=env.get("AMPC_SF_CLIENT_ID", ""),
            login_url=env.get("AMPC_SF_LOGIN_URL", "https://login.salesforce.com"),
            client_secret=env.get("AMPC_SF_CLIENT_SECRET") or None,
            username=env.get("AMPC_SF_USERNAME") or None,
            private_key=private_key,
            api_version=env.get("AMPC_SF_API_VERSION", "62.0"),
        )


@dataclass(frozen=True)
class _Session:
    token: str
    instance_url: str


class SalesforceRest:
    """`SalesforceCRM` over the org's REST API (module docstring); a provider for `Context(connections=...)`."""

    def __init__(
        self, config: SalesforceConfig, *, http: httpx.Client | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config
        self._http = http or httpx.Client(timeout=config.timeout)
        self._clock = clock
        self._session: _Session | None = None
        self._describes: dict[str, dict[str, dict[str, Any]]] = {}  # folded object -> folded field -> describe
        self.name = f"the Salesforce REST connection ({config.login_url})"

    def capability(self, kind: type[T]) -> T | None:
        return self if kind is SalesforceCRM else None  # type: ignore[return-value]

    def render_scope(self) -> None:
        return None

    def close(self) -> None:
        self._http.close()

    # ---- the capability ------------------------------------------------------------------

    def create(self, sobject: str, values: Sequence[tuple[str, Any]]) -> str:
        fields = self._describe(sobject)
        body = {name: _json_value(fields.get(name.lower()), value) for name, value in values}
        answer = self._call("POST", f"sobjects/{_api_name(sobject)}/", json=body)
        return canonical_id(str(answer["id"])) or str(answer["id"])

    def retrieve(self, query: SalesforceQuery) -> list[Row]:
        fields = self._describe(query.sobject)
        selected = [_field_path(name) for name in query.fields]
        where = [self._condition(fields, condition) for condition in query.conditions]
        soql = f"SELECT {', '.join(selected)} FROM {_api_name(query.sobject)}"
        if where:
            soql += " WHERE " + " AND ".join(where)
        soql += f" LIMIT {int(query.limit)}"
        answer = self._call("GET", "query", params={"q": soql})
        rows: list[Row] = []
        while True:
            for record in answer.get("records", []):
                rows.append(Row((name, _text(_path_value(record, name))) for name in selected))
            following = answer.get("nextRecordsUrl")
            if answer.get("done", True) or not following or len(rows) >= query.limit:
                return rows[: query.limit]
            answer = self._call("GET", following, absolute_path=True)

    def update(self, sobject: str, record_id: str, values: Sequence[tuple[str, Any]]) -> bool:
        fields = self._describe(sobject)
        body: dict[str, Any] = {}
        for name, value in values:
            if name.strip().lower() == "fieldstonull":
                for each in to_text(value).split(","):
                    if each.strip():
                        body[_api_name(each.strip())] = None
            else:
                body[_api_name(name.strip())] = _json_value(fields.get(name.strip().lower()), value)
        full_id = canonical_id(record_id.strip())
        if full_id is None:
            return False  # MALFORMED_ID: a record error
        try:
            self._call("PATCH", f"sobjects/{_api_name(sobject)}/{full_id}", json=body)
        except SalesforceError as error:
            if error.code in _RECORD_ERRORS:
                return False
            raise
        return True

    def job_sources(self, job_id: str) -> list[Row]:
        raise ScriptError(
            "RetrieveSalesforceJobSources() reads the send records of Marketing Cloud Connect, which the Marketing "
            "Cloud account keeps, not the Salesforce org; the Salesforce REST connection cannot answer it",
            hint="run against the embedded simulator, whose Salesforce/job-sources.json answers it",
        )

    # ---- SOQL ----------------------------------------------------------------------------

    def _condition(self, fields: dict[str, dict[str, Any]], condition: SalesforceCondition) -> str:
        name = _field_path(condition.field)
        return f"{name} {condition.operator} {_soql_literal(fields.get(name.lower()), condition.value)}"

    def _describe(self, sobject: str) -> dict[str, dict[str, Any]]:
        key = _api_name(sobject).lower()
        if key not in self._describes:
            answer = self._call("GET", f"sobjects/{_api_name(sobject)}/describe/")
            self._describes[key] = {str(f["name"]).lower(): f for f in answer.get("fields", []) if "name" in f}
        return self._describes[key]

    # ---- HTTP ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, absolute_path: bool = False, **options: Any) -> Any:
        for attempt in (1, 2):
            session = self._login()
            if absolute_path:
                url = session.instance_url + path
            else:
                url = f"{session.instance_url}/services/data/v{self.config.api_version}/{path}"
            try:
                response = self._http.request(
                    method, url, headers={"Authorization": f"Bearer {session.token}"}, **options
                )
            except httpx.HTTPError as error:
                raise ScriptError(f"could not reach the Salesforce org at {session.instance_url}: {error}") from None
            if response.status_code == 401 and attempt == 1:
                self._session = None  # INVALID_SESSION_ID: log in again, once
                continue
            if response.status_code == 204:
                return {}
            if response.status_code >= 400:
                raise _rest_error(response)
            try:
                return response.json()
            except ValueError:
                raise ScriptError(f"the Salesforce org answered {method} {path} with something other than JSON") from None
        raise AssertionError("unreachable")

    def _login(self) -> _Session:
        if self._session is not None:
            return self._session
        config = self.config
        token_url = config.login_url.rstrip("/") + "/services/oauth2/token"
        if config.client_secret:
            form = {"grant_type": "client_credentials", "client_id": config.client_id, "client_secret": config.client_secret}
        else:
            form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": self._assertion()}
        try:
            response = self._http.post(token_url, data=form)
        except httpx.HTTPError as error:
            raise ScriptError(f"could not reach Salesforce's login service at {token_url}: {error}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code != 200 or "access_token" not in answer or "instance_url" not in answer:
            reason = ": ".join(str(answer[k]) for k in ("error", "error_description") if answer.get(k)) or (
                f"HTTP {response.status_code}"
            )
            raise ScriptError(f"Salesforce refused the connected app's credentials: {reason}")
        self._session = _Session(str(answer["access_token"]), str(answer["instance_url"]).rstrip("/"))
        return self._session

    def _assertion(self) -> str:
        """The JWT bearer flow's assertion: iss the consumer key, sub the user, aud the login URL; RS256."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        config = self.config
        try:
            key = serialization.load_pem_private_key(str(config.private_key).encode(), password=None)
        except (ValueError, TypeError) as error:
            raise ScriptError(f"the Salesforce private key cannot be read: {error}") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ScriptError("the Salesforce JWT bearer flow needs an RSA private key")
        header = {"alg": "RS256"}
        claims = {"iss": config.client_id, "sub": config.username, "aud": config.login_url.rstrip("/"),
                  "exp": int(self._clock()) + 180}
        signing_input = f"{_base64url(json.dumps(header).encode())}.{_base64url(json.dumps(claims).encode())}"
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_base64url(signature)}"


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _api_name(name: str) -> str:
    """An object or field API name, checked: it goes into URLs and SOQL."""
    text = name.strip()
    if not _API_NAME.match(text):
        raise SalesforceError("INVALID_FIELD" if text else "INVALID_TYPE", f"{text!r} is not an API name")
    return quote(text, safe="")


def _field_path(name: str) -> str:
    text = name.strip()
    if not _FIELD_PATH.match(text):
        raise SalesforceError("INVALID_FIELD", f"{text!r} is not a field's API name")
    return text


def _soql_literal(field: dict[str, Any] | None, value: str) -> str:
    """A SOQL literal of the field's type; SalesforceError when the value is not of it."""
    if value == "":
        return "null"
    kind = str((field or {}).get("type", "string")).lower()
    name = (field or {}).get("name", "?")
    if kind in _BARE_TYPES:
        try:
            return _bare(kind, value)
        except (InvalidOperation, ValueError):
            raise SalesforceError(
                "INVALID_QUERY_FILTER_OPERATOR", f"value of filter criterion for field '{name}' must be of type {kind}"
            ) from None
    return "'" + "".join(_SOQL_ESCAPES.get(character, character) for character in value) + "'"


def _bare(kind: str, value: str) -> str:
    if kind in _NUMBER_TYPES:
        number = salesforce_number(value)
        if number is None:
            raise ValueError(value)
        return _number_text(number)
    if kind == "boolean":
        folded = value.strip().lower()
        if folded not in ("true", "false"):
            raise ValueError(value)
        return folded
    parsed = _read_datetime(value)
    if parsed is None:
        raise ValueError(value)
    return parsed.strftime("%Y-%m-%d") if kind == "date" else parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_value(field: dict[str, Any] | None, value: Any) -> Any:
    """A script value as JSON of the field's type (numbers and booleans bare; text otherwise)."""
    if value is None:
        return None
    text = to_text(value)
    kind = str((field or {}).get("type", "string")).lower()
    if text == "":
        return None
    if kind == "boolean" and text.strip().lower() in ("true", "false", "1", "0"):
        return text.strip().lower() in ("true", "1")
    if kind in _NUMBER_TYPES:
        number = salesforce_number(text)
        if number is None:
            return text  # the org says what is wrong with it
        return int(number) if number == number.to_integral_value() else float(number)
    return text


def _path_value(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    return value


def _text(value: Any) -> str | None:
    """A JSON value as the org simulator keeps it: text, booleans true/false, null None."""
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(Decimal(repr(value)))
    if isinstance(value, int):
        return str(value)
    text = str(value)
    full = canonical_id(text) if len(text) == 18 else None
    return full or text


def _rest_error(response: httpx.Response) -> SalesforceError:
    """Salesforce's error list (``[{"errorCode": ..., "message": ...}]``) as one SalesforceError."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, list) and answer and isinstance(answer[0], dict):
        first = answer[0]
        return SalesforceError(str(first.get("errorCode", f"HTTP_{response.status_code}")), str(first.get("message", "")))
    return SalesforceError(f"HTTP_{response.status_code}", response.text[:200])
