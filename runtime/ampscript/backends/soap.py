"""A backend that sends API calls to a real Marketing Cloud tenant over its SOAP API.

    backend = SoapBackend(SoapConfig.from_env())   # or SoapConfig.from_file("mc.json")
    ampc.render(source, context=Context(backend=backend))

It answers like the simulator (`ampscript.backends.simulator`): the same
`CallResult` / `RetrieveResult`, the tenant's status codes, messages, error
codes, request IDs and new IDs, and retrieved objects as a `Rowset` of
`Row`s of the asked-for properties.  What cannot reach the tenant (network
errors, timeouts, HTTP 5xx, SOAP faults) answers with status ``Error`` and
a message, as Marketing Cloud's own errors do; only credentials the tenant
refuses raise a `ScriptError`, since then no call can succeed.

InvokeExecute's payloads:

* an ``ExecuteRequest`` goes out as it is (Name + Parameters);
* a ``LogUnsubEvent`` object becomes the ExecuteRequest of that name, its
  properties the Parameters (the documented LogUnsubEvent execute call,
  https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/unsubscribing_and_logging_an_unsubevent_with_a_logunsubevent_execute_call.htm);
* a ``Refresh`` wrapping a ``Group`` becomes the documented group refresh,
  an ExecuteRequest named ``RefreshGroup`` with the group's ``ID``
  ("Refresh a Group",
  https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/refreshing_a_group.html).
  The reference shows no Perform action for groups, so this is the call
  chosen; a group given by CustomerKey or Name is first retrieved for its ID.

Settings come from the environment or a JSON file (`SoapConfig`), never
from the script.
"""

from __future__ import annotations

import json
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from ..api_objects import ApiObject
from ..capabilities import ApiObjects
from ..values import Row, Rowset, field_at_path, to_text
from . import soap_envelopes as soap
from .auth import AccessToken, AuthServiceUnavailable, TokenSource
from .base import CallResult, RetrieveResult, new_request_id

T = TypeVar("T")

_ENV_PREFIX = "AMPC_MC_"
_DEFAULT_TIMEOUT = 30.0


class SoapConfigError(ValueError):
    """The Marketing Cloud settings are missing or wrong."""


@dataclass(frozen=True)
class SoapConfig:
    """Where the tenant is and how to sign in.

    ``auth_url`` is the installed package's Authentication Base URI (or its
    ``/v2/token`` endpoint); ``soap_url`` its SOAP Base URI (or the
    ``Service.asmx`` endpoint), taken from the token's soap_instance_url
    when not given.  ``account_id`` (the business unit's MID) is optional,
    as in the token request.
    """

    auth_url: str
    client_id: str
    client_secret: str = field(repr=False)
    account_id: str | None = None
    soap_url: str | None = None
    rest_url: str | None = None  # the REST Base URI; default: the token's rest_instance_url
    timeout: float = _DEFAULT_TIMEOUT  # seconds, for every HTTP request

    @property
    def token_url(self) -> str:
        url = self.auth_url.rstrip("/")
        return url if url.endswith("/v2/token") else f"{url}/v2/token"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SoapConfig:
        """From AMPC_MC_SUBDOMAIN (or AMPC_MC_AUTH_URL and AMPC_MC_SOAP_URL), AMPC_MC_CLIENT_ID,
        AMPC_MC_CLIENT_SECRET, AMPC_MC_ACCOUNT_ID and AMPC_MC_TIMEOUT."""
        environ = os.environ if environ is None else environ
        settings = {
            key[len(_ENV_PREFIX) :].lower(): value
            for key, value in environ.items()
            if key.startswith(_ENV_PREFIX) and value.strip()
        }
        return cls._from_settings(settings, lambda key: _ENV_PREFIX + key.upper(), "the environment")

    @classmethod
    def from_file(cls, path: str | Path) -> SoapConfig:
        """From a JSON object with the same keys, lowercase and unprefixed: {"subdomain": ..., "client_id": ...}."""
        try:
            settings = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise SoapConfigError(f"cannot read Marketing Cloud settings from {path}: {error}") from None
        if not isinstance(settings, dict):
            raise SoapConfigError(f"{path} must hold a JSON object of Marketing Cloud settings")
        settings = {
            str(key).lower(): str(value) for key, value in settings.items() if value not in (None, "")
        }
        return cls._from_settings(settings, lambda key: key, str(path))

    @classmethod
    def _from_settings(
        cls, settings: Mapping[str, str], spell: Callable[[str], str], where: str
    ) -> SoapConfig:
        subdomain = settings.get("subdomain", "").strip()
        auth_url = settings.get("auth_url") or (
            f"https://{subdomain}.auth.marketingcloudapis.com/" if subdomain else ""
        )
        soap_url = settings.get("soap_url") or (
            f"https://{subdomain}.soap.marketingcloudapis.com/Service.asmx" if subdomain else None
        )
        rest_url = settings.get("rest_url") or (
            f"https://{subdomain}.rest.marketingcloudapis.com/" if subdomain else None
        )
        missing = [f"{spell('subdomain')} (or {spell('auth_url')})"] if not auth_url else []
        missing += [spell(key) for key in ("client_id", "client_secret") if not settings.get(key)]
        if missing:
            raise SoapConfigError(f"Marketing Cloud settings missing from {where}: {', '.join(missing)}")
        try:
            timeout = float(settings.get("timeout", _DEFAULT_TIMEOUT))
        except ValueError:
            timeout = 0.0
        if not timeout > 0:
            raise SoapConfigError(
                f"{spell('timeout')} must be a number of seconds above 0, not {settings.get('timeout')!r}"
            )
        return cls(
            auth_url=auth_url,
            client_id=settings["client_id"],
            client_secret=settings["client_secret"],
            account_id=settings.get("account_id") or None,
            soap_url=soap_url,
            rest_url=rest_url,
            timeout=timeout,
        )


class _CallFailed(Exception):
    """A call that did not get an answer from the tenant; it becomes an Error status."""

    def __init__(self, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code


@dataclass
class _Retrieval:
    """What a paged retrieve asked for, so that its ContinueRequest pages read the same way."""

    object_type: str
    properties: list[str]


class SoapBackend:
    def __init__(self, config: SoapConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        # One timeout for connecting, sending and reading: nothing waits longer.
        self._http = httpx.Client(timeout=httpx.Timeout(config.timeout))
        self._tokens = TokenSource(
            self._http, config.token_url, config.client_id, config.client_secret, config.account_id, clock
        )
        self._retrievals: dict[str, _Retrieval] = {}  # request ID of a MoreDataAvailable page -> its request

    name = "the Marketing Cloud SOAP backend"

    def capability(self, kind: type[T]) -> T | None:
        """API objects only, so far."""
        return self if kind is ApiObjects else None  # type: ignore[return-value]

    def render_scope(self) -> None:
        return None  # every call is its own request; nothing spans a render

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SoapBackend:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- Create / Update / Delete --------------------------------------------

    def create(self, target: ApiObject, options: ApiObject | None = None) -> CallResult:
        return self._change("Create", target, options)

    def update(self, target: ApiObject, options: ApiObject | None = None) -> CallResult:
        return self._change("Update", target, options)

    def delete(self, target: ApiObject, options: ApiObject | None = None) -> CallResult:
        return self._change("Delete", target, options)

    def _change(self, method: str, target: ApiObject, options: ApiObject | None) -> CallResult:
        try:
            answer = self._send(method, soap.change_request(method, target, options), f"{method}Response")
        except _CallFailed as failure:
            return CallResult("Error", failure.message, error_code=failure.error_code)
        return _call_result(answer, soap.children(answer, "Results"))

    # ---- Retrieve --------------------------------------------------------------

    def retrieve(self, request: ApiObject) -> RetrieveResult:
        continuation = to_text(request.get("ContinueRequest"))
        earlier = self._retrievals.get(continuation) if continuation else None
        wanted = [to_text(name) for name in request.get("Properties") or []]
        object_type = to_text(request.get("ObjectType"))
        if earlier is not None:
            # A ContinueRequest page is of the first page's type and properties;
            # the WSDL requires ObjectType, which the script need not repeat.
            wanted = wanted or earlier.properties
            if not object_type:
                request = _with(request, "ObjectType", earlier.object_type)
                object_type = earlier.object_type
        try:
            answer = self._send("Retrieve", soap.retrieve_request(request), "RetrieveResponseMsg")
        except _CallFailed as failure:
            return RetrieveResult("Error", Rowset(), message=failure.message)
        status, message = _split_status(soap.child_text(answer, "OverallStatus"))
        request_id = soap.child_text(answer, "RequestID") or new_request_id()
        rows = Rowset()
        for element in soap.children(answer, "Results"):
            found = soap.read_object(element, object_type or "APIObject")
            if object_type.lower().startswith("dataextensionobject["):
                found = _row_fields(found)
            rows.append(Row((name, field_at_path(found, name)) for name in wanted) if wanted else found)
        if status == "MoreDataAvailable":
            self._retrievals[request_id] = _Retrieval(object_type, wanted)
        return RetrieveResult(status, rows, request_id=request_id, message=message)

    # ---- Perform ---------------------------------------------------------------

    def perform(self, target: ApiObject, action: str) -> CallResult:
        try:
            answer = self._send("Perform", soap.perform_request(target, action), "PerformResponseMsg")
        except _CallFailed as failure:
            return CallResult("Error", failure.message, error_code=failure.error_code)
        results = [
            result
            for wrapper in soap.children(answer, "Results")
            for result in soap.children(wrapper, "Result")
        ]
        return _call_result(answer, results, soap.child_text(answer, "OverallStatusMessage"))

    # ---- Execute ---------------------------------------------------------------

    def execute(self, request: ApiObject) -> CallResult:
        kind = request.object_type.lower()
        if kind == "executerequest":
            name = to_text(request.get("Name"))
            parameters = [
                (to_text(item.get("Name")), item.get("Value"))
                for item in request.get("Parameters") or []
                if isinstance(item, ApiObject)
            ]
        elif kind == "logunsubevent":
            name, parameters = "LogUnsubEvent", [
                (key, value) for key, value in request.items() if value is not None
            ]
        elif kind == "refresh":
            group = request.get("Object")
            if not isinstance(group, ApiObject) or group.object_type.lower() != "group":
                return CallResult("Error", "Refresh needs a Group object in its Object property")
            group_id = self._group_id(group)
            if isinstance(group_id, CallResult):
                return group_id
            name, parameters = "RefreshGroup", [("ID", group_id)]
        else:
            return CallResult("Error", f"Execute request '{request.object_type}' is not supported")
        try:
            answer = self._send("Execute", soap.execute_request(name, parameters), "ExecuteResponseMsg")
        except _CallFailed as failure:
            return CallResult("Error", failure.message, error_code=failure.error_code)
        return _call_result(answer, soap.children(answer, "Results"))

    def _group_id(self, group: ApiObject) -> int | CallResult:
        """The group's ID, retrieved by CustomerKey or Name when the script gave neither ID."""
        if group.get("ID") is not None:
            return group.get("ID")
        key = next((k for k in ("CustomerKey", "Name") if group.get(k) not in (None, "")), None)
        if key is None:
            return CallResult("Error", "Group needs one of ID, CustomerKey, Name to identify it")
        lookup = ApiObject("RetrieveRequest")
        lookup.set("ObjectType", "Group")
        lookup.set("Properties", ["ID"])
        condition = ApiObject("SimpleFilterPart")
        condition.set("Property", key)
        condition.set("SimpleOperator", "equals")
        condition.set("Value", [group.get(key)])
        lookup.set("Filter", condition)
        found = self.retrieve(lookup)
        if found.status == "Error":
            return CallResult("Error", found.message, request_id=found.request_id)
        if not found.rows or found.rows[0]["ID"] is None:
            return CallResult("Error", "Group not found", request_id=found.request_id)
        return found.rows[0]["ID"]

    # ---- the wire --------------------------------------------------------------

    def _send(self, action: str, body: ET.Element, answer_element: str) -> ET.Element:
        """POST one SOAP request; the element inside the answer's Body.

        A token the service refuses (HTTP 401, or a Security fault such as an
        expired token) is replaced once and the call sent again.
        """
        for attempt in (1, 2):
            token = self._token()
            url = self._soap_url(token)
            try:
                response = self._http.post(
                    url,
                    content=soap.envelope(token.value, body),
                    headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action},
                )
            except httpx.TimeoutException:
                raise _CallFailed(
                    f"Marketing Cloud did not answer within {self.config.timeout:g} seconds ({url})"
                ) from None
            except httpx.HTTPError as error:
                raise _CallFailed(f"could not reach Marketing Cloud at {url}: {error}") from None
            try:
                answer = _read_answer(response)
            except soap.SoapFault as fault:
                if attempt == 1 and _token_refused(fault):
                    self._tokens.invalidate()
                    continue
                raise _CallFailed(fault.message or f"SOAP fault {fault.code}", fault.error_code) from None
            except _TokenRefused:
                if attempt == 1:
                    self._tokens.invalidate()
                    continue
                raise _CallFailed("Marketing Cloud refused the access token (HTTP 401)") from None
            if soap.local_name(answer.tag) != answer_element:
                raise _CallFailed(
                    f"Marketing Cloud answered {soap.local_name(answer.tag)} to a {action} request"
                )
            return answer
        raise AssertionError("unreachable")

    # ---- REST (the tenant backend's data extension counts and content) ---------

    def rest(self, method: str, path: str, **options: Any) -> Any:
        """Call the tenant's REST API (`path` after the REST Base URI); the JSON answer, or RestError.

        The token is the SOAP calls' own; a 401 fetches a new one once.
        """
        for attempt in (1, 2):
            try:
                token = self._tokens.token()
            except AuthServiceUnavailable as error:
                raise RestError(str(error)) from None
            base = (self.config.rest_url or token.rest_instance_url or "").rstrip("/")
            if not base:
                raise RestError("Marketing Cloud gave no REST endpoint; set AMPC_MC_REST_URL (or rest_url)")
            try:
                response = self._http.request(
                    method, f"{base}/{path.lstrip('/')}", headers={"Authorization": f"Bearer {token.value}"}, **options
                )
            except httpx.TimeoutException:
                raise RestError(f"Marketing Cloud's REST API did not answer {method} {path} in time") from None
            except httpx.HTTPError as error:
                raise RestError(f"could not reach Marketing Cloud's REST API: {error}") from None
            if response.status_code == 401 and attempt == 1:
                self._tokens.invalidate()
                continue
            if response.status_code >= 400:
                raise RestError(_rest_message(response), response.status_code)
            try:
                return response.json()
            except ValueError:
                raise RestError(f"Marketing Cloud's REST API answered {method} {path} with something other than JSON") from None
        raise AssertionError("unreachable")

    def _token(self) -> AccessToken:
        try:
            return self._tokens.token()
        except AuthServiceUnavailable as error:
            raise _CallFailed(str(error)) from None

    def _soap_url(self, token: AccessToken) -> str:
        base = self.config.soap_url or token.soap_instance_url
        if not base:
            raise _CallFailed("Marketing Cloud gave no SOAP endpoint; set AMPC_MC_SOAP_URL (or soap_url)")
        base = base.rstrip("/")
        return base if base.lower().endswith(".asmx") else f"{base}/Service.asmx"


class _TokenRefused(Exception):
    pass


class RestError(Exception):
    """A REST call that failed: Marketing Cloud's message, and the HTTP status when it answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def _rest_message(response: httpx.Response) -> str:
    """Marketing Cloud's REST error: ``message`` (and ``errorcode``), or the HTTP status."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        message = answer.get("message") or answer.get("documentation") or answer.get("error_description")
        if message:
            code = answer.get("errorcode") or answer.get("errorCode")
            return f"{message} (errorcode {code})" if code else str(message)
    return f"HTTP {response.status_code}"


def _read_answer(response: httpx.Response) -> ET.Element:
    if response.status_code == 401:
        raise _TokenRefused()
    try:
        return soap.response_body(response.content)
    except ValueError:
        if response.status_code >= 400:
            raise _CallFailed(
                f"Marketing Cloud answered HTTP {response.status_code} {response.reason_phrase}"
            ) from None
        raise _CallFailed("Marketing Cloud's answer is not a SOAP envelope") from None


def _token_refused(fault: soap.SoapFault) -> bool:
    # Marketing Cloud signals a bad or expired token with a Security fault
    # ("Login failed"); see "SOAP Faults",
    # https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/soap_faults.html
    message = fault.message.lower()
    return fault.code.lower() == "security" or "token expired" in message or "login failed" in message


def _split_status(overall: str | None) -> tuple[str, str]:
    """An OverallStatus ("OK", "MoreDataAvailable", "Error: <message>") as status code and message."""
    status, _, message = (overall or "").partition(":")
    return status.strip() or "Error", message.strip()


def _call_result(
    answer: ET.Element, results: list[ET.Element], overall_message: str | None = None
) -> CallResult:
    """The call's result: its first Results entry (one object is sent per call), else the overall status."""
    status, message = _split_status(soap.child_text(answer, "OverallStatus"))
    message = overall_message or message
    request_id = soap.child_text(answer, "RequestID") or new_request_id()
    error_code = new_id = None
    if results:
        first = results[0]
        status = soap.child_text(first, "StatusCode") or status
        message = soap.child_text(first, "StatusMessage") or message
        error_code = soap.child_text(first, "ErrorCode") or None
        new_id_text = soap.child_text(first, "NewID")
        if new_id_text and new_id_text.strip().lstrip("-").isdigit():
            new_id = int(new_id_text)
    return CallResult(status, message, request_id=request_id, error_code=error_code, new_id=new_id)


def _row_fields(found: Row) -> Row:
    """A retrieved DataExtensionObject with its Properties (Name/Value pairs) as fields of its own: the row."""
    fields = {name: value for name, value in found.items() if name != "Properties"}
    for item in found.get("Properties") or []:
        if isinstance(item, Row) and item.get("Name") is not None:
            fields[to_text(item["Name"])] = item.get("Value")
    return Row(fields)


def _with(request: ApiObject, name: str, value: Any) -> ApiObject:
    """A copy of the request with one more property (the script's object is left as it is)."""
    copy = ApiObject(request.object_type)
    for key, item in request.items():
        copy.set(key, item)
    copy.set(name, value)
    return copy
