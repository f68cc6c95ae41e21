"""The Sales and Service Cloud functions: the org simulator, the REST connection, and how a context finds them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ampc
from ampc import cli
from ampscript import AMPscriptError, Context
from ampscript.backends.salesforce_org import SalesforceOrg, stored_value, SalesforceField, SalesforceError
from ampscript.backends.salesforce_rest import SalesforceConfig, SalesforceConfigError, SalesforceRest, _soql_literal
from ampscript.backends.simulator import Simulator
from ampscript.capabilities import SalesforceCRM, SalesforceCondition, SalesforceQuery
from ampscript.salesforce_ids import canonical_id, key_prefix, long_id, new_id

from fake_salesforce import FakeSalesforce


def _workspace(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _org(tmp_path: Path, files: dict[str, str], state: Path | None = None) -> SalesforceOrg:
    context = Context(workspace=_workspace(tmp_path, files), subscriber={}, state=state)
    return context.capability(SalesforceCRM, "test")


LEADS = {"Salesforce/Lead.csv": "FirstName,LastName,Company,Region__c\nAna,Silva,Acme,West\nBo,Chen,Globex,East\n"}


# ---- IDs --------------------------------------------------------------------------------------


def test_new_ids_are_valid_18_character_ids_with_the_objects_key_prefix():
    first, second = new_id("Lead", 1), new_id("Lead", 2)
    assert len(first) == 18 and first[:3] == "00Q" and long_id(first[:15]) == first
    assert first != second and canonical_id(second) == second
    assert key_prefix("Invoice__c").startswith("a0") and key_prefix("invoice__c") == key_prefix("Invoice__c")


def test_canonical_id_accepts_both_forms_and_rejects_a_wrong_suffix_or_length():
    assert canonical_id("0036000000QKv5T") == "0036000000QKv5TAAT"
    assert canonical_id("0036000000QKv5Taat") == "0036000000QKv5TAAT"  # the suffix ignores case
    assert canonical_id("0036000000QKv5TAAA") is None
    assert canonical_id("0036000000QKv5") is None and canonical_id("0036000000QKv5T!!!") is None


# ---- the org simulator ------------------------------------------------------------------------


def test_seeded_records_get_ids_and_the_standard_fields(tmp_path):
    org = _org(tmp_path, LEADS)
    records = org.records("lead")  # object names ignore case
    assert [r["LastName"] for r in records] == ["Silva", "Chen"]
    assert all(canonical_id(r["Id"]) == r["Id"] for r in records)
    assert records[0]["CreatedDate"].endswith("Z")
    assert org.schema("Lead").field("email").type == "email"  # a standard field, though no seed column has it


def test_an_object_without_a_seed_or_schema_is_not_there_unless_it_is_standard(tmp_path):
    org = _org(tmp_path, LEADS)
    with pytest.raises(SalesforceError, match="INVALID_TYPE: sObject type 'Invoice__c' is not supported."):
        org.create("Invoice__c", [("Name", "x")])
    record_id = org.create("Campaign", [("Name", "Spring")])
    assert record_id.startswith("701")


def test_a_schema_declares_fields_types_and_required_ones(tmp_path):
    schema = {"fields": [{"name": "Name", "type": "string", "required": True}, {"name": "Amount__c", "type": "double"}]}
    org = _org(tmp_path, {"Salesforce/Invoice__c.schema.json": json.dumps(schema)})
    record_id = org.create("Invoice__c", [("Name", "INV-1"), ("Amount__c", "12.50")])
    assert record_id.startswith("a0")
    rows = org.retrieve(SalesforceQuery("Invoice__c", ["Name", "Amount__c"], [SalesforceCondition("Amount__c", ">", "12")]))
    assert [dict(r) for r in rows] == [{"Name": "INV-1", "Amount__c": "12.5"}]
    with pytest.raises(SalesforceError, match=r"REQUIRED_FIELD_MISSING: Required fields are missing: \[Name\]"):
        org.create("Invoice__c", [("Amount__c", "1")])


@pytest.mark.parametrize(
    "schema, message",
    [
        ({"fields": [{"name": "X", "type": "blob"}]}, "has type 'blob', not one of"),
        ({"fields": [{"name": "1x"}]}, 'every field needs a "name"'),
        ({"columns": []}, 'expected {"fields"'),
    ],
)
def test_a_bad_schema_is_an_error_naming_its_file(tmp_path, schema, message):
    context = Context(workspace=_workspace(tmp_path, {"Salesforce/Thing__c.schema.json": json.dumps(schema)}), subscriber={})
    with pytest.raises(AMPscriptError, match="Thing__c.schema.json") as raised:
        context.capability(SalesforceCRM, "test")
    assert message in str(raised.value)


def test_a_seed_value_the_field_refuses_names_the_file_and_record(tmp_path):
    files = {"Salesforce/Lead.csv": "LastName,Company,NumberOfEmployees\nSilva,Acme,many\n"}
    with pytest.raises(AMPscriptError, match=r"Lead \(record 1\): INVALID_TYPE_ON_FIELD_IN_RECORD"):
        _org(tmp_path, files)


@pytest.mark.parametrize(
    "kind, value, stored",
    [
        ("boolean", "TRUE", "true"), ("boolean", "0", "false"), ("int", "42", "42"), ("double", "1.50", "1.5"),
        ("date", "2026-01-05", "2026-01-05"), ("date", "January 5, 2026", "2026-01-05"),
        ("datetime", "2026-01-05T14:30:00+01:00", "2026-01-05T13:30:00.000Z"), ("string", "", None),
        ("reference", "0036000000QKv5T", "0036000000QKv5TAAT"),
    ],
)
def test_values_are_kept_as_the_soap_api_gives_them_back(kind, value, stored):
    assert stored_value(SalesforceField("F", kind), value) == stored


@pytest.mark.parametrize("kind, value", [("int", "1.5"), ("boolean", "yes"), ("date", "soon"), ("reference", "abc")])
def test_values_of_the_wrong_type_are_refused(kind, value):
    with pytest.raises(SalesforceError):
        stored_value(SalesforceField("F", kind), value)


def test_update_and_its_record_errors(tmp_path):
    org = _org(tmp_path, LEADS)
    record_id = org.records("Lead")[0]["Id"]
    assert org.update("Lead", record_id[:15], [("Region__c", "North")]) is True
    assert org.records("Lead")[0]["Region__c"] == "North"
    assert org.update("Lead", new_id("Lead", 999), [("Region__c", "x")]) is False
    assert org.update("Contact", record_id, [("LastName", "x")]) is False  # the ID is a Lead's
    with pytest.raises(SalesforceError, match="INVALID_FIELD"):
        org.update("Lead", record_id, [("Nope__c", "x")])


def test_the_org_keeps_its_records_in_a_state_file(tmp_path):
    state = tmp_path / "state.db"
    workspace = _workspace(tmp_path / "ws", LEADS)
    script = '%%=CreateSalesforceObject("Lead", 2, "LastName", "Cruz", "Company", "Acme")=%%'
    made = ampc.render(script, context=Context(workspace=workspace, subscriber={}, state=state))
    count = '%%=RowCount(RetrieveSalesforceObjects("Lead", "Id", "Id", "=", "' + made + '"))=%%'
    assert ampc.render(count, context=Context(workspace=workspace, subscriber={}, state=state)) == "1"
    assert ampc.render(count, context=Context(workspace=workspace, subscriber={})) == "0"  # a fresh seed


def test_a_render_stopped_by_raise_error_takes_its_salesforce_writes_back(tmp_path):
    state = tmp_path / "state.db"
    workspace = _workspace(tmp_path / "ws", LEADS)
    script = '%%[ CreateSalesforceObject("Lead", 2, "LastName", "Cruz", "Company", "Acme") RaiseError("stop") ]%%'
    with pytest.raises(AMPscriptError):
        ampc.render(script, context=Context(workspace=workspace, subscriber={}, state=state))
    count = '%%=RowCount(RetrieveSalesforceObjects("Lead", "Id", "LastName", "=", "Cruz"))=%%'
    assert ampc.render(count, context=Context(workspace=workspace, subscriber={}, state=state)) == "0"


def test_the_seed_copy_is_made_again_when_a_salesforce_file_changes(tmp_path):
    workspace = _workspace(tmp_path, LEADS)
    script = '%%=RowCount(RetrieveSalesforceObjects("Lead", "Id", "LastName", "!=", ""))=%%'
    assert ampc.render(script, context=Context(workspace=workspace, subscriber={})) == "2"
    (workspace / "Salesforce/Lead.csv").write_text("LastName,Company\nSilva,Acme\n")
    assert ampc.render(script, context=Context(workspace=workspace, subscriber={})) == "1"


def test_at_most_1000_records_are_retrieved(tmp_path):
    rows = "".join(f"L{i},Acme\n" for i in range(1005))
    workspace = _workspace(tmp_path, {"Salesforce/Lead.csv": "LastName,Company\n" + rows})
    script = '%%=RowCount(RetrieveSalesforceObjects("Lead", "Id", "Company", "=", "acme"))=%%'
    assert ampc.render(script, context=Context(workspace=workspace, subscriber={})) == "1000"


# ---- where the capability comes from -----------------------------------------------------------


class _ApiOnlyBackend:
    name = "the test's API-only backend"

    def capability(self, kind):
        return None

    def render_scope(self):
        return None


def test_a_backend_without_the_capability_says_which_and_how_to_get_it():
    context = Context(workspace=".", subscriber={}, backend=_ApiOnlyBackend())
    with pytest.raises(AMPscriptError) as raised:
        ampc.render('%%=RowCount(RetrieveSalesforceObjects("Lead", "Id", "Id", "=", "x"))=%%', context=context)
    message = str(raised.value)
    assert "RetrieveSalesforceObjects() needs Sales and Service Cloud (Marketing Cloud Connect)" in message
    assert "which the test's API-only backend does not provide" in message
    assert "Context(connections=[...])" in message


def test_data_extension_functions_name_the_capability_a_backend_lacks():
    context = Context(workspace=".", subscriber={}, backend=_ApiOnlyBackend())
    with pytest.raises(AMPscriptError, match=r"Lookup\(\) needs data extensions, which the test's API-only backend"):
        ampc.render('%%=Lookup("Members", "Name", "Key", "1")=%%', context=context)


def test_a_connection_is_asked_before_the_backend(tmp_path):
    class Org:
        name = "a stub org"

        def capability(self, kind):
            return self if kind is SalesforceCRM else None

        def job_sources(self, job_id):
            from ampscript.values import Row

            return [Row([("SourceID", f"from the stub for {job_id}")])]

    context = Context(workspace=_workspace(tmp_path, LEADS), subscriber={}, connections=[Org()])
    script = '%%=Field(Row(RetrieveSalesforceJobSources(7), 1), "SourceID")=%%'
    assert ampc.render(script, context=context) == "from the stub for 7"
    assert isinstance(Context(workspace=tmp_path, subscriber={}).capability(SalesforceCRM, "x"), SalesforceOrg)


def test_the_simulator_provides_the_org_and_names_itself():
    simulator = Simulator()
    assert isinstance(simulator.capability(SalesforceCRM), SalesforceOrg)
    assert simulator.name == "the embedded simulator"


# ---- the REST connection ---------------------------------------------------------------------------


@pytest.fixture
def fake():
    server = FakeSalesforce().start()
    server.add("Lead", FirstName="Ana", LastName="O'Brien \\ Sons", Company="Acme", AnnualRevenue=2000000.0,
               HasOptedOutOfEmail=False, Region__c="West", NumberOfEmployees=12)
    server.add("Lead", FirstName="Bo", LastName="Chen", Company="Globex", AnnualRevenue=500000.0,
               HasOptedOutOfEmail=True, Region__c="west", NumberOfEmployees=None)
    account = server.add("Account", Name="Acme")
    server.add("Contact", LastName="Adams", AccountId=account, Account={"Name": "Acme"})
    yield server
    assert server.failures == []
    server.stop()


def _rest(fake: FakeSalesforce, **overrides) -> SalesforceRest:
    settings = {"client_id": fake.client_id, "client_secret": fake.client_secret, "login_url": fake.url}
    settings.update(overrides)
    return SalesforceRest(SalesforceConfig(**settings))


def test_rest_retrieve_quotes_text_and_writes_numbers_and_booleans_bare(fake):
    rest = _rest(fake)
    rows = rest.retrieve(SalesforceQuery("Lead", ["FirstName", "AnnualRevenue", "HasOptedOutOfEmail"], [
        SalesforceCondition("LastName", "=", "O'Brien \\ Sons"),
        SalesforceCondition("AnnualRevenue", ">", "1000000"),
        SalesforceCondition("HasOptedOutOfEmail", "=", "false"),
    ]))
    assert [dict(r) for r in rows] == [{"FirstName": "Ana", "AnnualRevenue": "2000000", "HasOptedOutOfEmail": "false"}]
    soql = [path for method, path, _ in fake.requests if "/query?" in path][0]
    assert "O%5C%27Brien" in soql  # \' : the quote escaped inside the literal


def test_rest_a_value_that_is_not_of_the_fields_type_never_reaches_the_query(fake):
    rest = _rest(fake)
    with pytest.raises(SalesforceError, match="must be of type currency"):
        rest.retrieve(SalesforceQuery("Lead", ["Id"], [SalesforceCondition("AnnualRevenue", ">", "1 OR Id != null")]))
    with pytest.raises(SalesforceError, match="is not a field's API name"):
        rest.retrieve(SalesforceQuery("Lead", ["Id FROM Lead --"], []))
    assert not [path for _, path, _ in fake.requests if "/query?" in path]


def test_soql_literals_escape_everything_soql_escapes():
    assert _soql_literal({"type": "string"}, "a'b\\c\nd\"") == "'a\\'b\\\\c\\nd\\\"'"
    assert _soql_literal({"type": "date"}, "January 5, 2026") == "2026-01-05"
    assert _soql_literal({"type": "string"}, "") == "null"


def test_rest_create_sends_typed_json_and_returns_the_18_character_id(fake):
    rest = _rest(fake)
    record_id = rest.create("Lead", [("LastName", "Cruz"), ("Company", "Acme"), ("NumberOfEmployees", "250"),
                                     ("HasOptedOutOfEmail", "1"), ("AnnualRevenue", "12.5")])
    assert len(record_id) == 18 and record_id.startswith("00Q")
    body = json.loads([b for method, path, b in fake.requests if method == "POST" and "sobjects" in path][0])
    assert body == {"LastName": "Cruz", "Company": "Acme", "NumberOfEmployees": 250, "HasOptedOutOfEmail": True,
                    "AnnualRevenue": 12.5}
    with pytest.raises(SalesforceError, match=r"REQUIRED_FIELD_MISSING"):
        rest.create("Lead", [("LastName", "Cruz")])


def test_rest_update_answers_1_or_0_as_the_reference_says_and_faults_on_unknown_fields(fake):
    rest = _rest(fake)
    lead = fake.records["Lead"][0]["Id"]
    assert rest.update("Lead", lead[:15], [("Region__c", "North"), ("fieldsToNull", "NumberOfEmployees")]) is True
    assert fake.records["Lead"][0]["Region__c"] == "North" and fake.records["Lead"][0]["NumberOfEmployees"] is None
    assert rest.update("Lead", new_id("Lead", 99), [("Region__c", "x")]) is False  # NOT_FOUND
    assert rest.update("Lead", "bad", [("Region__c", "x")]) is False  # MALFORMED_ID, not sent
    with pytest.raises(SalesforceError, match="INVALID_FIELD"):
        rest.update("Lead", lead, [("Nope__c", "x")])


def test_rest_follows_next_records_url_and_parent_fields(fake):
    fake.page_size = 1
    rest = _rest(fake)
    rows = rest.retrieve(SalesforceQuery("Lead", ["FirstName"], [SalesforceCondition("Company", "!=", "")]))
    assert [r["FirstName"] for r in rows] == ["Ana", "Bo"]
    contact = rest.retrieve(SalesforceQuery("Contact", ["LastName", "Account.Name"], []))
    assert contact[0]["Account.Name"] == "Acme"


def test_rest_logs_in_again_when_the_session_expires(fake):
    rest = _rest(fake)
    rest.retrieve(SalesforceQuery("Lead", ["Id"], []))
    fake.expire_token()
    rest.retrieve(SalesforceQuery("Account", ["Id"], []))
    assert fake.token_requests == 2


def test_rest_jwt_bearer_flow(fake):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake.public_key = key.public_key()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    rest = _rest(fake, client_secret=None, username=fake.username, private_key=pem.decode())
    assert len(rest.retrieve(SalesforceQuery("Lead", ["Id"], []))) == 2
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(AMPscriptError, match="Salesforce refused the connected app's credentials: invalid_client"):
        _rest(fake, client_secret=None, username=fake.username, private_key=wrong.decode()).retrieve(
            SalesforceQuery("Lead", ["Id"], [])
        )


def test_rest_wrong_credentials_are_a_clear_error(fake):
    with pytest.raises(AMPscriptError, match="refused the connected app's credentials: invalid_client"):
        _rest(fake, client_secret="wrong").create("Lead", [("LastName", "x")])


def test_rest_job_sources_says_why_it_cannot_answer(fake):
    with pytest.raises(AMPscriptError, match="Marketing Cloud account keeps, not the Salesforce org"):
        _rest(fake).job_sources("1")


def test_a_script_reaches_the_org_through_a_connection(fake, tmp_path):
    script = (
        '%%[ set @id = CreateSalesforceObject("Lead", 2, "LastName", "Cruz", "Company", "Acme") ]%%'
        '%%=Field(Row(RetrieveSalesforceObjects("Lead", "LastName", "Id", "=", @id), 1), "LastName")=%% '
        '%%=UpdateSingleSalesforceObject("Lead", @id, "Region__c", "East")=%%'
    )
    context = Context(workspace=tmp_path, subscriber={}, connections=[_rest(fake)])
    assert ampc.render(script, context=context) == "Cruz 1"


def test_config_from_the_environment(tmp_path):
    config = SalesforceConfig.from_env({"AMPC_SF_CLIENT_ID": "key", "AMPC_SF_CLIENT_SECRET": "secret"})
    assert config.login_url == "https://login.salesforce.com" and config.api_version == "62.0"
    key_file = tmp_path / "key.pem"
    key_file.write_text("PEM")
    jwt = SalesforceConfig.from_env({"AMPC_SF_CLIENT_ID": "key", "AMPC_SF_USERNAME": "u@example.com",
                                     "AMPC_SF_PRIVATE_KEY_FILE": str(key_file), "AMPC_SF_LOGIN_URL": "https://test.salesforce.com"})
    assert jwt.private_key == "PEM" and jwt.login_url == "https://test.salesforce.com"
    with pytest.raises(SalesforceConfigError, match="consumer key"):
        SalesforceConfig.from_env({})
    with pytest.raises(SalesforceConfigError, match="client secret"):
        SalesforceConfig.from_env({"AMPC_SF_CLIENT_ID": "key"})


def test_ampc_run_with_salesforce_rest(fake, tmp_path, monkeypatch, capsys):
    script = tmp_path / "lead.amp"
    script.write_text('%%=Field(Row(RetrieveSalesforceObjects("Lead", "FirstName", "Region__c", "=", "WEST"), 2), "FirstName")=%%')
    monkeypatch.setenv("AMPC_SF_CLIENT_ID", fake.client_id)
    monkeypatch.setenv("AMPC_SF_CLIENT_SECRET", fake.client_secret)
    monkeypatch.setenv("AMPC_SF_LOGIN_URL", fake.url)
    assert cli.main(["run", str(script), "--salesforce", "rest"]) == 0
    assert capsys.readouterr().out == "Bo"
    monkeypatch.delenv("AMPC_SF_CLIENT_SECRET")
    assert cli.main(["run", str(script), "--salesforce", "rest"]) == 1
    assert "--salesforce rest: a Salesforce connection needs a client secret" in capsys.readouterr().err
