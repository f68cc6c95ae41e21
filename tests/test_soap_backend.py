"""The SOAP backend against a fake Marketing Cloud tenant (tests/fake_marketing_cloud.py).

Tests that check envelopes against the WSDL's schema need
../shared/reference/etframework.wsdl and skip without it; the transport,
token and configuration tests run either way.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

pytest.importorskip("lxml", reason="the fake Marketing Cloud needs lxml (pip install -e '.[test]')")

import ampc
from ampscript import Context
from ampscript.api_objects import ApiObject
from ampscript.backends.soap import SoapBackend, SoapConfig, SoapConfigError
from ampscript.backends.soap_envelopes import WRAPPED_ARRAYS
from ampscript.errors import ScriptError
from ampscript.values import Row, Rowset

from fake_marketing_cloud import FakeMarketingCloud

ROOT = Path(__file__).resolve().parents[1]
WSDL_PATH = ROOT.parent / "shared" / "reference" / "etframework.wsdl"
SAMPLES = ROOT / "samples"
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
NO_WSDL = f"needs Marketing Cloud's WSDL at {WSDL_PATH} to validate envelopes (not shipped with ampc)"


# ---- fixtures ---------------------------------------------------------------------


@pytest.fixture
def fake(cloud):
    """The fake tenant, emptied; every envelope it saw must have conformed to the WSDL."""
    cloud.reset()
    yield cloud
    assert cloud.failures == []


@pytest.fixture
def validated(fake):
    """The fake tenant, for tests whose point is what goes over the wire: needs the WSDL."""
    if fake.wsdl is None:
        pytest.skip(NO_WSDL)
    return fake


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def config_for(fake: FakeMarketingCloud, **overrides) -> SoapConfig:
    settings = dict(
        auth_url=fake.url,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        account_id="7281698",
        timeout=5.0,
    )
    settings.update(overrides)
    return SoapConfig(**settings)


@pytest.fixture
def backend(fake):
    with SoapBackend(config_for(fake)) as soap_backend:
        yield soap_backend


def api_object(object_type: str, **properties) -> ApiObject:
    made = ApiObject(object_type)
    for name, value in properties.items():
        made.set(name, value)
    return made


def retrieve_request(
    object_type: str, properties: list[str], condition: ApiObject | None = None
) -> ApiObject:
    request = api_object("RetrieveRequest", ObjectType=object_type, Properties=properties)
    if condition is not None:
        request.set("Filter", condition)
    return request


def equals(name: str, value: str) -> ApiObject:
    return api_object("SimpleFilterPart", Property=name, SimpleOperator="equals", Value=[value])


def render_sample(path: Path, backend: SoapBackend) -> str:
    return ampc.render(
        path.read_text(encoding="utf-8"),
        filename=path.name,
        context=Context(workspace=path.parent, backend=backend),
    )


def matches_expected(output: str, expected_file: Path) -> bool:
    expected = expected_file.read_text(encoding="utf-8").strip()
    return re.fullmatch(re.escape(expected).replace(re.escape("<GUID>"), GUID), output.strip()) is not None


def sent(fake: FakeMarketingCloud, action: str) -> list:
    return [body for soap_action, body in fake.soap_requests if soap_action == action]


# ---- configuration -------------------------------------------------------------------


def test_config_from_environment_with_subdomain():
    config = SoapConfig.from_env(
        {
            "AMPC_MC_SUBDOMAIN": "mc563885gzs27c5t9-63k636ttgm",
            "AMPC_MC_CLIENT_ID": "id",
            "AMPC_MC_CLIENT_SECRET": "secret",
            "AMPC_MC_ACCOUNT_ID": "123",
        }
    )
    assert config.token_url == "https://mc563885gzs27c5t9-63k636ttgm.auth.marketingcloudapis.com/v2/token"
    assert config.soap_url == "https://mc563885gzs27c5t9-63k636ttgm.soap.marketingcloudapis.com/Service.asmx"
    assert (config.client_id, config.client_secret, config.account_id, config.timeout) == (
        "id",
        "secret",
        "123",
        30.0,
    )
    assert "secret" not in repr(config)


def test_config_from_environment_with_explicit_urls_and_timeout():
    config = SoapConfig.from_env(
        {
            "AMPC_MC_AUTH_URL": "https://auth.example/",
            "AMPC_MC_SOAP_URL": "https://soap.example/",
            "AMPC_MC_CLIENT_ID": "id",
            "AMPC_MC_CLIENT_SECRET": "secret",
            "AMPC_MC_TIMEOUT": "2.5",
        }
    )
    assert (config.token_url, config.soap_url, config.timeout, config.account_id) == (
        "https://auth.example/v2/token",
        "https://soap.example/",
        2.5,
        None,
    )


def test_missing_settings_are_listed():
    with pytest.raises(SoapConfigError) as error:
        SoapConfig.from_env({"AMPC_MC_CLIENT_ID": "id"})
    assert str(error.value) == (
        "Marketing Cloud settings missing from the environment: "
        "AMPC_MC_SUBDOMAIN (or AMPC_MC_AUTH_URL), AMPC_MC_CLIENT_SECRET"
    )
    with pytest.raises(SoapConfigError, match="AMPC_MC_TIMEOUT must be a number of seconds above 0"):
        SoapConfig.from_env(
            {
                "AMPC_MC_SUBDOMAIN": "x",
                "AMPC_MC_CLIENT_ID": "i",
                "AMPC_MC_CLIENT_SECRET": "s",
                "AMPC_MC_TIMEOUT": "soon",
            }
        )


def test_config_from_file(tmp_path):
    path = tmp_path / "mc.json"
    path.write_text(
        json.dumps(
            {
                "subdomain": "tenant",
                "client_id": "id",
                "client_secret": "secret",
                "account_id": 42,
                "timeout": 10,
            }
        )
    )
    config = SoapConfig.from_file(path)
    assert (config.token_url, config.account_id, config.timeout) == (
        "https://tenant.auth.marketingcloudapis.com/v2/token",
        "42",
        10.0,
    )
    path.write_text(json.dumps({"client_id": "id"}))
    with pytest.raises(
        SoapConfigError, match=r"missing from .*mc\.json: subdomain \(or auth_url\), client_secret"
    ):
        SoapConfig.from_file(path)


# ---- the WSDL's wrapped arrays --------------------------------------------------------


def test_wrapped_arrays_table_matches_the_wsdl():
    if not WSDL_PATH.exists():
        pytest.skip(NO_WSDL)
    xs = "{http://www.w3.org/2001/XMLSchema}"
    schema = next(ET.parse(WSDL_PATH).getroot().iter(f"{xs}schema"))
    found = {}
    for complex_type in schema.findall(f"{xs}complexType"):
        for element in complex_type.iter(f"{xs}element"):
            inner = element.findall(f"{xs}complexType/{xs}sequence/{xs}element")
            if element.get("type") is None and len(inner) == 1 and inner[0].get("maxOccurs") == "unbounded":
                found[(complex_type.get("name").lower(), element.get("name").lower())] = inner[0].get("name")
    assert found == WRAPPED_ARRAYS


def test_the_fake_refuses_and_records_an_envelope_that_breaks_the_wsdl(validated):
    from ampscript.backends import soap_envelopes as soap

    request = soap.change_request("create", api_object("Subscriber", SubscriberKey="x"), None)
    request.append(request[0])  # Options after Objects: out of the WSDL's sequence order
    request.remove(request[0])
    answer = httpx.post(
        f"{validated.url}/Service.asmx",
        content=soap.envelope("any", request),
        headers={"SOAPAction": "Create"},
        timeout=5,
    )
    assert answer.status_code == 500 and b"does not conform to the WSDL" in answer.content
    assert len(validated.failures) == 1
    validated.failures.clear()  # expected here; the fixture asserts none otherwise


# ---- Create / Update / Delete ----------------------------------------------------------


def test_create_returns_status_message_and_new_id(validated, backend):
    subscriber = api_object(
        "Subscriber", SubscriberKey="ana-1", EmailAddress="ana@example.com", Status="Active"
    )
    created = backend.create(subscriber)
    assert (created.status, created.message) == ("OK", "Created Subscriber")
    assert isinstance(created.new_id, int) and created.new_id >= 1000
    assert re.fullmatch(GUID, created.request_id)

    assert backend.create(api_object("Subscriber", CustomerKey="dup")).status == "OK"
    duplicate = backend.create(api_object("Subscriber", CustomerKey="dup"))
    assert (duplicate.status, duplicate.message, duplicate.error_code) == (
        "Error",
        "A Subscriber with CustomerKey 'dup' already exists",
        "1",
    )


def test_update_with_save_options_and_delete(validated, backend):
    validated.seed("Subscriber", SubscriberKey="ana-1", CustomerKey="ana-1", EmailAddress="old@example.com")
    options = api_object("UpdateOptions")
    options.add("SaveOptions", api_object("SaveOption", PropertyName="*", SaveAction="UpdateAdd"))
    updated = backend.update(
        api_object("Subscriber", CustomerKey="ana-1", EmailAddress="new@example.com"), options
    )
    assert (updated.status, updated.message) == ("OK", "Updated Subscriber")
    assert validated.store[0].text("EmailAddress") == "new@example.com"
    # The SaveOptions array goes out wrapped, as the WSDL declares it.
    (request,) = sent(validated, "Update")
    assert request.find(".//{*}SaveOptions/{*}SaveOption/{*}SaveAction").text == "UpdateAdd"

    deleted = backend.delete(api_object("Subscriber", CustomerKey="ana-1"))
    assert (deleted.status, deleted.message) == ("OK", "Deleted")
    missing = backend.delete(api_object("Subscriber", CustomerKey="ana-1"))
    assert (missing.status, missing.message, missing.error_code) == ("Error", "Subscriber not found", "3")


def test_envelope_spells_types_booleans_and_dates_as_the_wsdl_does(validated, backend):
    request = retrieve_request("Subscriber", ["SubscriberKey"], equals("SubscriberKey", "a<&>b"))
    request.set("QueryAllAccounts", True)
    backend.retrieve(request)
    backend.create(api_object("Subscriber", SubscriberKey="k", UnsubscribedDate="2026-01-05 15:04:05"))
    xsi_type = "{http://www.w3.org/2001/XMLSchema-instance}type"
    (retrieve,) = sent(validated, "Retrieve")
    assert retrieve.find(".//{*}Filter").get(xsi_type) == "SimpleFilterPart"
    assert retrieve.find(".//{*}Filter/{*}Value").text == "a<&>b"
    assert retrieve.find(".//{*}QueryAllAccounts").text == "true"
    (create,) = sent(validated, "Create")
    assert create.find("{*}Objects").get(xsi_type) == "Subscriber"
    assert create.find("{*}Objects/{*}UnsubscribedDate").text == "2026-01-05T15:04:05"


# ---- Retrieve ----------------------------------------------------------------------------


def test_retrieve_answers_rows_of_the_asked_for_properties(validated, backend):
    validated.seed(
        "QueryDefinition",
        ObjectID="2b5ba1a6-6ee8-4b67-9b47-34f0b1c5d1f2",
        CustomerKey="LoyaltyMembers",
        Name="Loyalty Members",
        DataExtensionTarget={"CustomerKey": "LoyaltyGold", "Name": "LoyaltyGold"},
    )
    validated.seed("QueryDefinition", CustomerKey="WeeklyDigest", Name="Weekly Digest")
    result = backend.retrieve(
        retrieve_request(
            "QueryDefinition",
            ["Name", "ID", "DataExtensionTarget.CustomerKey", "DataExtensionTarget"],
            equals("CustomerKey", "LoyaltyMembers"),
        )
    )
    assert result.status == "OK" and re.fullmatch(GUID, result.request_id)
    (row,) = result.rows
    assert isinstance(result.rows, Rowset) and isinstance(row, Row)
    assert list(row) == ["Name", "ID", "DataExtensionTarget.CustomerKey", "DataExtensionTarget"]
    assert row["Name"] == "Loyalty Members" and isinstance(row["ID"], int)
    assert row["DataExtensionTarget.CustomerKey"] == "LoyaltyGold"
    assert isinstance(row["DataExtensionTarget"], Row) and row["DataExtensionTarget"]["Name"] == "LoyaltyGold"


def test_retrieve_answers_arrays_of_objects_as_rowsets(validated, backend):
    validated.seed(
        "Subscriber",
        SubscriberKey="ana-1",
        Attributes=[{"Name": "FirstName", "Value": "Ana"}, {"Name": "Tier", "Value": "Gold"}],
    )
    (row,) = backend.retrieve(
        retrieve_request("Subscriber", ["SubscriberKey", "Attributes", "EmailAddress"])
    ).rows
    assert isinstance(row["Attributes"], Rowset)
    assert [(a["Name"], a["Value"]) for a in row["Attributes"]] == [("FirstName", "Ana"), ("Tier", "Gold")]
    assert row["EmailAddress"] is None


def test_retrieve_with_a_complex_filter(validated, backend):
    for key, status in [("a", "Active"), ("b", "Unsubscribed"), ("c", "Active")]:
        validated.seed("Subscriber", SubscriberKey=key, Status=status)
    either = api_object(
        "ComplexFilterPart",
        LeftOperand=equals("SubscriberKey", "a"),
        LogicalOperator="OR",
        RightOperand=equals("Status", "Unsubscribed"),
    )
    result = backend.retrieve(retrieve_request("Subscriber", ["SubscriberKey"], either))
    assert [row["SubscriberKey"] for row in result.rows] == ["a", "b"]
    (request,) = sent(validated, "Retrieve")
    assert (
        request.find(".//{*}Filter/{*}LeftOperand").get("{http://www.w3.org/2001/XMLSchema-instance}type")
        == "SimpleFilterPart"
    )


def test_more_data_available_and_continue_request(validated, backend):
    validated.page_size = 2
    for number in range(5):
        validated.seed("Subscriber", SubscriberKey=f"s{number}")
    keys, statuses = [], []
    result = backend.retrieve(retrieve_request("Subscriber", ["SubscriberKey"]))
    while True:
        statuses.append(result.status)
        keys += [row["SubscriberKey"] for row in result.rows]
        if result.status != "MoreDataAvailable":
            break
        # As scripts do: a new RetrieveRequest with only ContinueRequest set.
        result = backend.retrieve(api_object("RetrieveRequest", ContinueRequest=result.request_id))
    assert statuses == ["MoreDataAvailable", "MoreDataAvailable", "OK"]
    assert keys == ["s0", "s1", "s2", "s3", "s4"]


# ---- Perform / Execute: the seed scripts --------------------------------------------------


def test_invoke_perform_sample_renders_the_documented_statuses(validated, backend):
    query = validated.seed(
        "QueryDefinition",
        ObjectID="2b5ba1a6-6ee8-4b67-9b47-34f0b1c5d1f2",
        CustomerKey="LoyaltyMembers",
        Name="Loyalty Members",
    )
    sample = SAMPLES / "invoke-perform" / "invoke_perform.amp"
    output = render_sample(sample, backend)
    assert matches_expected(output, sample.with_suffix(".expected")), output
    assert validated.performed == [("start", query.object_id)]
    (retrieve,) = sent(validated, "Retrieve")
    assert retrieve.find(".//{*}Filter/{*}Property").text == "CustomerKey"


def test_perform_of_a_missing_definition_is_an_error(validated, backend):
    result = backend.perform(api_object("QueryDefinition", ObjectID="nope"), "start")
    assert (result.status, result.message) == ("Error", "QueryDefinition not found")


def test_log_unsub_event_object_becomes_an_execute_request(validated, backend):
    sample = SAMPLES / "invoke-execute" / "log_unsub_event.amp"
    output = render_sample(sample, backend)
    assert matches_expected(output, sample.with_suffix(".expected")), output
    assert validated.unsub_events == [
        {"SubscriberKey": "subscriber_key_to_unsubscribe", "EmailAddress": "example@example.com"}
    ]
    (execute,) = sent(validated, "Execute")
    assert execute.find("{*}Requests/{*}Name").text == "LogUnsubEvent"


def test_log_unsub_event_execute_request_form(validated, backend):
    script = """%%[
    set @lue = CreateObject("ExecuteRequest")
    SetObjectProperty(@lue, "Name", "LogUnsubEvent")
    set @p = CreateObject("APIProperty")
    SetObjectProperty(@p, "Name", "SubscriberKey")
    SetObjectProperty(@p, "Value", "ana-1")
    AddObjectArrayItem(@lue, "Parameters", @p)
    set @p = CreateObject("APIProperty")
    SetObjectProperty(@p, "Name", "Reason")
    SetObjectProperty(@p, "Value", "One-click unsubscribe")
    AddObjectArrayItem(@lue, "Parameters", @p)
    set @status = InvokeExecute(@lue, @message, @requestId)
    ]%%%%=v(@status)=%% %%=v(@message)=%% %%=v(@requestId)=%%"""
    output = ampc.render(script, context=Context(backend=backend))
    assert re.fullmatch(f"OK Event posted {GUID}", output), output
    assert validated.unsub_events == [{"SubscriberKey": "ana-1", "Reason": "One-click unsubscribe"}]


def test_group_refresh_is_the_refresh_group_execute_call(validated, backend):
    group = validated.seed("Group", CustomerKey="YOUR_GROUP_CUSTOMER_KEY", Name="Gold members")
    sample = SAMPLES / "invoke-execute" / "refresh_group.amp"
    output = render_sample(sample, backend)
    assert matches_expected(output, sample.with_suffix(".expected")), output
    assert validated.refreshed_groups == [group.text("ID")]
    # The group is looked up by its CustomerKey for its ID, then refreshed.
    assert [action for action, _ in validated.soap_requests] == ["Retrieve", "Execute"]


def test_refresh_of_a_missing_group_is_an_error(validated, backend):
    refresh = api_object("Refresh", Object=api_object("Group", CustomerKey="nope"))
    result = backend.execute(refresh)
    assert (result.status, result.message) == ("Error", "Group not found")


def test_unsupported_execute_payload_is_an_error_without_a_call(fake, backend):
    result = backend.execute(api_object("Subscriber", SubscriberKey="x"))
    assert (result.status, result.message) == ("Error", "Execute request 'Subscriber' is not supported")
    assert fake.soap_requests == [] and fake.token_requests == []


# ---- tokens -------------------------------------------------------------------------------


def test_token_is_fetched_once_cached_and_renewed_before_it_expires(fake):
    fake.expires_in = 100  # renewed 10 s early: a tenth of the lifetime, at most 60 s
    clock = Clock()
    with SoapBackend(config_for(fake), clock=clock) as soap_backend:
        request = retrieve_request("Subscriber", ["SubscriberKey"])
        soap_backend.retrieve(request)
        soap_backend.retrieve(request)
        assert len(fake.token_requests) == 1
        clock.now += 89
        soap_backend.retrieve(request)
        assert len(fake.token_requests) == 1
        clock.now += 2
        assert soap_backend.retrieve(request).status == "OK"
        assert len(fake.token_requests) == 2
    assert fake.token_requests[0] == {
        "grant_type": "client_credentials",
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "account_id": "7281698",
    }


@pytest.mark.parametrize("refusal", ["http401", "fault"])
def test_a_refused_token_is_renewed_once(fake, backend, refusal):
    request = retrieve_request("Subscriber", ["SubscriberKey"])
    assert backend.retrieve(request).status == "OK"
    fake.refuse_tokens = refusal
    assert backend.retrieve(request).status == "OK"
    assert len(fake.token_requests) == 2


def test_bad_credentials_stop_the_script(fake):
    with SoapBackend(config_for(fake, client_secret="wrong")) as soap_backend:
        with pytest.raises(ScriptError, match="Marketing Cloud refused the API credentials .*invalid_client"):
            soap_backend.retrieve(retrieve_request("Subscriber", ["SubscriberKey"]))


# ---- failures become Error statuses ----------------------------------------------------------


def test_soap_fault_is_an_error_status(fake, backend):
    fake.next_fault = ("soap:Server", "Unplanned Outage")
    result = backend.perform(api_object("QueryDefinition", ObjectID="x"), "start")
    assert (result.status, result.message, result.error_code) == ("Error", "Unplanned Outage", "2")
    fake.next_fault = ("soap:Server", "Unplanned Outage")
    retrieved = backend.retrieve(retrieve_request("Subscriber", ["SubscriberKey"]))
    assert (retrieved.status, retrieved.message, retrieved.rows) == ("Error", "Unplanned Outage", Rowset())


def test_http_error_without_an_envelope_is_an_error_status(fake, backend):
    fake.next_http_error = 503
    result = backend.create(api_object("Subscriber", SubscriberKey="x"))
    assert (result.status, result.message) == (
        "Error",
        "Marketing Cloud answered HTTP 503 Service Unavailable",
    )


def test_a_server_that_never_answers_is_an_error_within_the_timeout(fake):
    with SoapBackend(config_for(fake, timeout=0.5)) as soap_backend:
        soap_backend.retrieve(retrieve_request("Subscriber", ["SubscriberKey"]))  # fetches the token
        fake.hang = True
        started = time.monotonic()
        result = soap_backend.retrieve(retrieve_request("Subscriber", ["SubscriberKey"]))
        elapsed = time.monotonic() - started
    assert result.status == "Error"
    assert result.message.startswith("Marketing Cloud did not answer within 0.5 seconds")
    assert elapsed < 2


def test_connection_refused_is_an_error_status():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = SoapConfig(
        auth_url=f"http://127.0.0.1:{port}", client_id="id", client_secret="secret", timeout=0.5
    )
    with SoapBackend(config) as soap_backend:
        result = soap_backend.execute(api_object("LogUnsubEvent", SubscriberKey="x"))
    assert result.status == "Error"
    assert result.message.startswith(
        f"could not reach Marketing Cloud's token service at http://127.0.0.1:{port}/v2/token"
    )


def test_soap_endpoint_refusing_connections_is_an_error_status(fake):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with SoapBackend(
        config_for(fake, soap_url=f"http://127.0.0.1:{port}/Service.asmx", timeout=0.5)
    ) as soap_backend:
        result = soap_backend.delete(api_object("Subscriber", CustomerKey="x"))
    assert result.status == "Error"
    assert result.message.startswith(
        f"could not reach Marketing Cloud at http://127.0.0.1:{port}/Service.asmx"
    )


# ---- the command line ----------------------------------------------------------------


def test_ampc_run_with_the_soap_backend_and_a_config_file(validated, tmp_path):
    validated.seed("QueryDefinition", ObjectID="q-1", CustomerKey="LoyaltyMembers", Name="Loyalty Members")
    config = tmp_path / "mc.json"
    config.write_text(
        json.dumps({"auth_url": validated.url, "client_id": validated.client_id,
                    "client_secret": validated.client_secret, "timeout": 5})
    )
    sample = SAMPLES / "invoke-perform" / "invoke_perform.amp"
    result = subprocess.run(
        [sys.executable, "-m", "ampc", "run", str(sample), "--backend", "soap", "--config", str(config)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert matches_expected(result.stdout, sample.with_suffix(".expected")), result.stdout
    assert validated.performed == [("start", "q-1")]


def test_ampc_run_with_the_soap_backend_lists_missing_settings(tmp_path):
    script = tmp_path / "x.amp"
    script.write_text("hello")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AMPC_MC_")}
    result = subprocess.run(
        [sys.executable, "-m", "ampc", "run", str(script), "--backend", "soap"],
        capture_output=True, text=True, env=environment, timeout=60,
    )
    assert result.returncode == 1
    assert "AMPC_MC_SUBDOMAIN" in result.stderr and "AMPC_MC_CLIENT_ID" in result.stderr
    assert "Traceback" not in result.stderr
