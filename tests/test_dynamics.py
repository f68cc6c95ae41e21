"""The Microsoft Dynamics CRM functions: the simulator's organization, and the Dataverse connector against a fake.

The golden cases are in tests/corpus/dynamics/ (seed: tests/corpus/DynamicsCRM/);
here are what they cannot show: seeding rules, FetchXML corners, state
files and rollback, and everything the connector sends over the wire
(tests/fake_dataverse.py validates each request).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import ampc
from ampscript import AMPscriptError, Context
from ampscript.backends.dataverse import DataverseConfig, DataverseConfigError, DataverseConnector
from ampscript.backends.dynamics_org import DynamicsOrg
from ampscript.backends.simulator import Simulator
from ampscript.capabilities import DynamicsCondition, DynamicsCRM, DynamicsError, DynamicsQuery, DynamicsUpsert
from ampscript.errors import ScriptError
from ampscript.workspace import Workspace

pytest.importorskip("lxml", reason="FetchXML and the fake Dataverse need lxml (pip install -e '.[test]')")

from fake_dataverse import FakeDataverse  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ANA = "58318475-9054-41e0-8b07-b66cedef9e72"


def render(source: str, workspace: Path = CORPUS, **options) -> str:
    return ampc.render(source, filename="dynamics.amp", context=Context(workspace=workspace, subscriber={}, **options))


def organization(workspace: Path = CORPUS) -> DynamicsOrg:
    simulator = Simulator.from_workspace(Workspace(workspace))
    found = simulator.capability(DynamicsCRM)
    assert isinstance(found, DynamicsOrg)
    return found


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / "DynamicsCRM" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


# ---- the simulator: seeding ----------------------------------------------------------------------


def test_seeded_ids_are_the_same_in_every_simulator(tmp_path):
    write(tmp_path, {"account.csv": "name,numberofemployees\nContoso,10\nFabrikam,20\n"})
    first = organization(tmp_path).retrieve(DynamicsQuery("account", ["accountid", "name"]))
    from ampscript.backends import seeding

    seeding.forget()
    second = organization(tmp_path).retrieve(DynamicsQuery("account", ["accountid", "name"]))
    assert [row["accountid"] for row in first] == [row["accountid"] for row in second]
    assert all(re.fullmatch(GUID, row["accountid"]) for row in first)
    assert first[0]["accountid"] != first[1]["accountid"]


def test_a_seed_without_schema_types_json_values_and_keeps_csv_text(tmp_path):
    write(
        tmp_path,
        {
            "product.json": json.dumps([{"name": "Pen", "price": 1.5, "stock": 3, "active": True}]),
            "account.csv": "name,numberofemployees,createdon\nContoso,10,2024-01-05T10:00:00\n",
        },
    )
    org = organization(tmp_path)
    product = org.retrieve(DynamicsQuery("product", ["price", "stock", "active"]))[0]
    assert (product["price"], product["stock"], product["active"]) == (Decimal("1.5"), 3, True)
    account = org.retrieve(DynamicsQuery("account", ["numberofemployees", "createdon", "statecode", "statuscode"]))[0]
    # CSV columns are text, but a system attribute keeps its type; new records are Active.
    assert account["numberofemployees"] == "10"
    assert account["createdon"] == dt.datetime(2024, 1, 5, 10, 0)
    assert (account["statecode"], account["statuscode"]) == (0, 1)
    types = {row["Name"]: row["Type"] for row in org.describe_attributes("product")}
    assert types == {
        "productid": "Uniqueidentifier", "name": "String", "price": "Decimal", "stock": "Integer", "active": "Boolean",
        "createdon": "DateTime", "modifiedon": "DateTime", "statecode": "State", "statuscode": "Status",
    }


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"contact.csv": "lastname\nA\n", "contact.json": "[]"}, "both DynamicsCRM/contact.csv and DynamicsCRM/contact.json"),
        (
            {"contact.schema.json": '{"Attributes": [{"Name": "age", "Type": "int"}]}', "contact.csv": "age\nold\n"},
            "DynamicsCRM/contact.csv: record 1: Cannot convert the literal 'old' to the expected type 'Edm.Int32'",
        ),
        ({"contact.schema.json": '{"Attributes": [{"Name": "age", "Type": "number"}]}'}, "attribute 'age' has the unknown type 'number'"),
        ({"contact.schema.json": '{"Attributes": [{"Name": "age"}]}', "contact.csv": "nickname\nx\n"}, "doesn't contain attribute with Name = 'nickname'"),
        ({"contact.json": '{"lastname": "A"}'}, "records are a JSON array of objects"),
        ({"contact.csv": "contactid,lastname\n" + f"{ANA},A\n{ANA},B\n"}, f"record 2: contactid {ANA} is the ID of an earlier record too"),
    ],
)
def test_seed_mistakes_name_the_file(tmp_path, files, message):
    write(tmp_path, files)
    with pytest.raises(ScriptError) as raised:
        organization(tmp_path)
    assert message in str(raised.value)


def test_seed_files_are_listed_for_the_seed_cache(tmp_path):
    write(tmp_path, {"contact.csv": "lastname\nA\n", "contact.schema.json": "[]", "notes.txt": "x"})
    assert list(DynamicsOrg.seed_files(Workspace(tmp_path))) == ["DynamicsCRM/contact.csv", "DynamicsCRM/contact.schema.json"]


def test_a_workspace_without_dynamics_files_has_no_entities(tmp_path):
    assert organization(tmp_path).describe_entities() == []
    with pytest.raises(AMPscriptError) as raised:
        render('%%[ set @r = RetrieveMscrmRecords("contact", "lastname", "lastname", "=", "x") ]%%', tmp_path)
    assert "The entity with a name = 'contact' was not found in the MetadataCache." in str(raised.value)
    assert "DynamicsCRM/contact.csv" in raised.value.hint


def test_the_simulator_module_loads_without_lxml():
    program = "import sys, ampscript.backends.dynamics_org; print('lxml' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# ---- the simulator: queries ----------------------------------------------------------------------


def fetch(xml: str, workspace: Path = CORPUS) -> list[dict]:
    return [dict(row) for row in organization(workspace).retrieve_fetch_xml(xml)]


def test_fetch_xml_paging_between_not_in_and_dates():
    names = lambda rows: [row["firstname"] for row in rows]  # noqa: E731
    base = "<fetch count='2' page='{page}'><entity name='contact'><attribute name='firstname'/><order attribute='firstname'/></entity></fetch>"
    assert names(fetch(base.format(page=1))) == ["Ana", "Bruno"]
    assert names(fetch(base.format(page=3))) == ["Sun-Hi"]
    between = "<fetch><entity name='contact'><attribute name='firstname'/><filter><condition attribute='creditlimit' operator='between'><value>1000</value><value>2500</value></condition></filter></entity></fetch>"
    assert names(fetch(between)) == ["Ana", "Bruno"]
    not_in = "<fetch><entity name='contact'><attribute name='firstname'/><filter><condition attribute='lastname' operator='not-in'><value>Santos</value><value>PARK</value></condition></filter></entity></fetch>"
    assert names(fetch(not_in)) == ["José", "Liam"]
    on_or_after = "<fetch><entity name='contact'><attribute name='firstname'/><filter><condition attribute='createdon' operator='on-or-after' value='2024-01-13'/></filter></entity></fetch>"
    assert names(fetch(on_or_after)) == ["Sun-Hi", "Liam"]
    like = "<fetch><entity name='contact'><attribute name='firstname'/><filter><condition attribute='lastname' operator='like' value='_lvar[aeiou]z'/></filter></entity></fetch>"
    assert names(fetch(like)) == ["José"]  # accents ignored: Álvarez matches _lvar[aeiou]z


def test_fetch_xml_links_name_unaliased_links_as_dynamics_does():
    xml = """<fetch><entity name='contact'><attribute name='firstname'/><order attribute='firstname'/>
      <link-entity name='account' from='accountid' to='parentcustomerid'><attribute name='name'/></link-entity>
      <link-entity name='listmember' from='entityid' to='contactid' link-type='not-any'/></entity></fetch>"""
    rows = fetch(xml)
    assert [(r["firstname"], r["account1.name"]) for r in rows] == [
        ("Ana", "Northwind Traders"), ("Bruno", "Northwind Traders"), ("José", "MarketingCloud"), ("Liam", "MarketingCloud"),
    ]
    assert list(rows[0]) == ["firstname", "account1.name"]


def test_fetch_xml_filters_on_a_linked_entity_from_the_main_filter():
    xml = """<fetch><entity name='contact'><attribute name='firstname'/>
      <link-entity name='account' from='accountid' to='parentcustomerid' alias='a' link-type='outer'/>
      <filter type='or'><condition entityname='a' attribute='address1_city' operator='eq' value='seattle'/>
        <condition attribute='parentcustomerid' operator='null'/></filter></entity></fetch>"""
    assert [row["firstname"] for row in fetch(xml)] == ["Ana", "Bruno", "Sun-Hi"]


def test_fetch_xml_all_attributes_and_an_attribute_alias():
    rows = fetch("<fetch top='1'><entity name='account'><all-attributes/><attribute name='name' alias='Company'/></entity></fetch>")
    assert list(rows[0])[:2] == ["accountid", "name"] and rows[0]["Company"] == "Northwind Traders"


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<query/>", "the root element must be <fetch>, not <query>"),
        ("<fetch><entity/></fetch>", "needs exactly one <entity name='...'>"),
        ("<fetch top='2' count='1'><entity name='contact'/></fetch>", "The top attribute can't be specified with paging"),
        ("<fetch top='x'><entity name='contact'/></fetch>", "the top attribute of <fetch> must be a whole number"),
        ("<fetch><entity name='contact'><filter type='xor'/></entity></fetch>", "a filter's type is 'and' or 'or', not 'xor'"),
        ("<fetch><entity name='contact'><filter><condition attribute='lastname' operator='under' value='x'/></filter></entity></fetch>", "The condition operator 'under' is not supported by the simulator"),
        ("<fetch><entity name='contact'><filter><condition attribute='lastname' operator='eq' valueof='firstname'/></filter></entity></fetch>", "valueof"),
        ("<fetch><entity name='contact'><filter><condition attribute='lastname' operator='in'/></filter></entity></fetch>", "needs <value> elements"),
        ("<fetch><entity name='contact'><link-entity name='account' to='parentcustomerid'/></entity></fetch>", "needs both from and to"),
        ("<fetch><entity name='contact'><link-entity name='account' from='accountid' to='parentcustomerid' link-type='matchfirstrowusingcrossapply'/></entity></fetch>", "link-type 'matchfirstrowusingcrossapply'"),
        ("<fetch><entity name='contact'><filter><condition entityname='zz' attribute='name' operator='null'/></filter></entity></fetch>", "not a link-entity alias"),
        ("<fetch><entity name='contact'><filter><condition attribute='birthdate' operator='eq' value='soon'/></filter></entity></fetch>", "Expected type of attribute value: System.DateTime"),
        ("<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><fetch><entity name='contact'><attribute name='lastname'/><filter><condition attribute='lastname' operator='eq' value='&e;'/></filter></entity></fetch>", "a DOCTYPE (DTD, entity declarations) has no place"),
    ],
)
def test_invalid_fetch_xml_is_a_clear_error(xml, message):
    org = organization()
    with pytest.raises(DynamicsError) as raised:
        org.retrieve_fetch_xml(xml)
    assert message in str(raised.value)


def test_retrieve_through_the_protocol_orders_and_limits():
    org = organization()
    rows = org.retrieve(
        DynamicsQuery("contact", ["firstname"], (DynamicsCondition("statecode", "eq", "Active"),), (("creditlimit", True),), limit=2)
    )
    assert [row["firstname"] for row in rows] == ["José", "Ana"]


# ---- the simulator: writes -------------------------------------------------------------------------


def test_created_records_get_the_renders_clock_and_keep_across_renders_in_a_state_file(tmp_path):
    state = tmp_path / "state.db"
    now = dt.datetime(2026, 3, 1, 9, 30)
    guid = render('%%=CreateMscrmRecord("contact", 1, "lastname", "Kim")=%%', state=state, now=now)
    assert re.fullmatch(GUID, guid)
    shown = render(
        f'%%[ set @r = Row(RetrieveMscrmRecords("contact", "lastname,createdon,modifiedon", "contactid", "=", "{guid}"), 1) ]%%'
        '%%=Field(@r, "lastname")=%% %%=Field(@r, "createdon")=%% %%=Field(@r, "modifiedon")=%%',
        state=state,
    )
    assert shown == "Kim 3/1/2026 9:30:00 AM 3/1/2026 9:30:00 AM"


def test_raise_error_rolls_back_the_renders_dynamics_writes(tmp_path):
    state = tmp_path / "state.db"
    with pytest.raises(AMPscriptError):
        render(
            '%%[ CreateMscrmRecord("contact", 1, "lastname", "Ghost") '
            f'UpdateMscrmRecords("contact", "{ANA}", "firstname", "Changed") RaiseError("stop") ]%%',
            state=state,
        )
    count = render('%%=RowCount(RetrieveMscrmRecords("contact", "contactid", "lastname", "=", "Ghost"))=%%', state=state)
    first = render(f'%%=Field(Row(RetrieveMscrmRecords("contact", "firstname", "contactid", "=", "{ANA}"), 1), "firstname")=%%', state=state)
    assert (count, first) == ("0", "Ana")


def test_a_failed_write_changes_nothing():
    org = organization()
    with pytest.raises(DynamicsError):
        org.update("contact", [ANA, "a1c2e3f4-0000-4000-8000-000000000002"], [("firstname", "X"), ("gendercode", "9")])
    rows = org.retrieve(DynamicsQuery("contact", ["firstname"], (DynamicsCondition("firstname", "eq", "X"),)))
    assert rows == []


def test_upsert_by_null_match_and_order_on_an_unknown_attribute():
    org = organization()
    guid = org.upsert(DynamicsUpsert("contact", [("parentcustomerid", None)], [("firstname", "Nobody's")], (("createdon", True),)))
    assert guid == "a1c2e3f4-0000-4000-8000-000000000004"  # Sun-Hi, the one contact without a company
    with pytest.raises(DynamicsError, match="doesn't contain attribute with Name = 'rank'"):
        org.upsert(DynamicsUpsert("contact", [("lastname", "Santos")], [("firstname", "X")], (("rank", False),)))


def test_update_of_a_state_without_status_takes_the_states_default_status():
    org = organization()
    assert org.update("contact", [ANA], [("statecode", "1")]) == 1
    row = org.retrieve(DynamicsQuery("contact", ["statecode", "statuscode"], (DynamicsCondition("contactid", "eq", ANA),)))[0]
    assert (row["statecode"], row["statuscode"]) == (1, 2)


def test_a_backend_without_dynamics_names_the_capability():
    class NoCrm:
        name = "a backend of the test"

        def capability(self, kind):
            return None

        def render_scope(self):
            return None

    with pytest.raises(AMPscriptError) as raised:
        ampc.render("%%[ set @e = DescribeMscrmEntities() ]%%", context=Context(backend=NoCrm()))
    assert "DescribeMscrmEntities() needs Microsoft Dynamics CRM, which a backend of the test does not provide" in str(raised.value)


def test_registered_names_and_arities_follow_the_reference():
    from ampscript.registry import lookup

    arities = {
        "AddMscrmListMember": (2, 2), "CreateMscrmRecord": (4, None), "DescribeMscrmEntities": (0, 0),
        "DescribeMscrmEntityAttributes": (1, 1), "RetrieveMscrmRecords": (5, 5), "RetrieveMscrmRecordsFetchXml": (1, 1),
        "SetStateMscrmRecord": (4, 4), "UpdateMscrmRecords": (4, None), "UpsertMscrmRecord": (9, None),
    }
    for name, arity in arities.items():
        spec = lookup(name.upper())
        assert spec is not None and spec.category == "Microsoft Dynamics CRM"
        assert (spec.name, spec.min_args, spec.max_args) == (name, *arity)


# ---- the connector against the fake Dataverse ------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server():
    fake = FakeDataverse().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(server):
    server.reset()
    yield server
    assert server.failures == []


def config_for(fake: FakeDataverse, **changes) -> DataverseConfig:
    settings = dict(url=fake.url, token_url=fake.token_url, client_id=fake.client_id, client_secret=fake.client_secret, timeout=5.0)
    settings.update(changes)
    return DataverseConfig(**settings)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def connector(fake, clock):
    with DataverseConnector(config_for(fake), clock=clock) as made:
        yield made


@pytest.fixture
def seeded(fake):
    account = fake.seed("account", name="Northwind Traders", accountnumber="NW-1", address1_city="Seattle")
    other = fake.seed("account", name="Contoso", accountnumber="CT-1", address1_city="Oslo")
    ana = fake.seed("contact", contactid=ANA, firstname="Ana", lastname="Santos", numberofchildren=2, creditlimit=2500.0,
                    parentcustomerid=account, emailaddress1="ana@example.com", createdon="2024-01-10T09:00:00Z")
    liam = fake.seed("contact", firstname="Liam", lastname="O'Brien", numberofchildren=0, parentcustomerid=other)
    newsletter = fake.seed("list", listname="Newsletter", createdfromcode=2)
    return {"account": account, "other": other, "ana": ana, "liam": liam, "list": newsletter}


def entity_set_requests(fake, entity_set):
    return [r for r in fake.api_requests() if r["path"] == f"/api/data/v9.2/{entity_set}"]


def test_the_connector_is_a_provider_of_dynamics_only(connector):
    assert connector.capability(DynamicsCRM) is connector
    assert connector.capability(ScriptError) is None
    assert connector.name.startswith("the Dynamics CRM organization at http://127.0.0.1:")


def test_sign_in_posts_the_client_credentials_form_once_and_again_before_expiry(fake, connector, clock):
    connector.describe_entities()
    connector.describe_entities()
    assert fake.token_requests == [
        {"grant_type": "client_credentials", "client_id": fake.client_id, "client_secret": fake.client_secret, "scope": f"{fake.url}/.default"}
    ]
    clock.now += fake.expires_in - 30  # within a minute of expiry: a new token first
    connector.describe_entities()
    assert len(fake.token_requests) == 2
    assert all(r["headers"]["authorization"].startswith("Bearer dv-token-") for r in fake.api_requests())


def test_a_rejected_token_is_replaced_once(fake, connector):
    connector.describe_entities()
    fake.revoke_tokens()
    assert connector.describe_entities()
    assert len(fake.token_requests) == 2


def test_refused_credentials_are_an_error_with_the_identity_platforms_message(fake):
    with DataverseConnector(config_for(fake, client_secret="wrong")) as connector:
        with pytest.raises(DynamicsError) as raised:
            connector.describe_entities()
    assert "refused the Dynamics CRM credentials" in str(raised.value) and "invalid_client: AADSTS7000215" in str(raised.value)


def test_describe_entities_and_attributes(fake, connector):
    entities = connector.describe_entities()
    assert [(row["Name"], row["DisplayName"]) for row in entities] == [
        ("account", "Account"), ("contact", "Contact"), ("lead", "Lead"), ("list", "Marketing List"),
    ]
    attributes = {row["Name"]: dict(row) for row in connector.describe_attributes("Contact")}
    assert "parentcustomeridname" not in attributes  # an AttributeOf of the lookup
    assert attributes["lastname"] == {"Name": "lastname", "DisplayName": "Last Name", "Type": "String", "Required": True, "Options": ""}
    assert attributes["gendercode"]["Options"] == "1:Male,2:Female"
    assert attributes["statecode"]["Options"] == "0:Active,1:Inactive"
    assert attributes["donotemail"]["Options"] == "0:Allow,1:Do Not Allow"
    assert attributes["parentcustomerid"]["Type"] == "Customer"
    with pytest.raises(DynamicsError, match="The entity with a name = 'invoice' was not found in the MetadataCache."):
        connector.describe_attributes("invoice")


def test_retrieve_quotes_text_and_writes_other_types_bare(fake, connector, seeded):
    def filter_for(condition: DynamicsCondition, attributes=("firstname",)) -> tuple[list, str]:
        before = len(entity_set_requests(fake, "contacts"))
        rows = connector.retrieve(DynamicsQuery("contact", list(attributes), (condition,)))
        sent = dict(entity_set_requests(fake, "contacts")[before]["query"])
        return [row["firstname"] for row in rows], sent["$filter"]

    assert filter_for(DynamicsCondition("lastname", "eq", "o'brien")) == (["Liam"], "lastname eq 'o''brien'")
    injected = "x' or lastname ne 'y"
    assert filter_for(DynamicsCondition("lastname", "eq", injected)) == ([], "lastname eq 'x'' or lastname ne ''y'")
    assert filter_for(DynamicsCondition("numberofchildren", "ge", "2")) == (["Ana"], "numberofchildren ge 2")
    assert filter_for(DynamicsCondition("parentcustomerid", "eq", seeded["account"].upper())) == (
        ["Ana"], f"_parentcustomerid_value eq {seeded['account']}"
    )
    assert filter_for(DynamicsCondition("emailaddress1", "null")) == (["Liam"], "emailaddress1 eq null")
    assert filter_for(DynamicsCondition("lastname", "like", "%bri%")) == (["Liam"], "contains(lastname,'bri')")
    assert filter_for(DynamicsCondition("lastname", "begins-with", "San")) == (["Ana"], "startswith(lastname,'San')")
    assert filter_for(DynamicsCondition("createdon", "lt", "2024-02-01")) == (["Ana"], "createdon lt 2024-02-01T06:00:00Z")
    sent = dict(entity_set_requests(fake, "contacts")[0]["query"])
    assert sent["$select"] == "firstname"


def test_retrieve_rows_hold_the_asked_attributes_typed(fake, connector, seeded):
    rows = connector.retrieve(DynamicsQuery("contact", ["firstname", "parentcustomerid", "creditlimit", "createdon"], (DynamicsCondition("lastname", "eq", "santos"),)))
    assert [dict(row) for row in rows] == [
        {"firstname": "Ana", "parentcustomerid": seeded["account"], "creditlimit": Decimal("2500.0"), "createdon": dt.datetime(2024, 1, 10, 3, 0)}  # 9:00 UTC in system time
    ]
    assert dict(entity_set_requests(fake, "contacts")[0]["query"])["$select"] == "firstname,_parentcustomerid_value,creditlimit,createdon"


def test_a_value_of_the_wrong_type_never_reaches_the_filter(fake, connector, seeded):
    with pytest.raises(DynamicsError, match="Cannot convert the literal 'two' to the expected type 'Edm.Int32'"):
        connector.retrieve(DynamicsQuery("contact", ["firstname"], (DynamicsCondition("numberofchildren", "eq", "two"),)))
    with pytest.raises(DynamicsError, match="Guid should contain 32 digits"):
        connector.retrieve(DynamicsQuery("contact", ["firstname"], (DynamicsCondition("contactid", "eq", "1 or 1 eq 1"),)))
    assert entity_set_requests(fake, "contacts") == []


def test_retrieve_follows_next_links(fake, connector):
    for number in range(5):
        fake.seed("account", name=f"Account {number}")
    fake.page_size = 2
    rows = connector.retrieve(DynamicsQuery("account", ["name"], (DynamicsCondition("name", "begins-with", "Account"),), (("name", False),)))
    assert [row["name"] for row in rows] == [f"Account {n}" for n in range(5)]
    assert len(entity_set_requests(fake, "accounts")) == 3


def test_a_like_pattern_odata_cannot_say_goes_as_fetch_xml(fake, connector, seeded):
    rows = connector.retrieve(DynamicsQuery("contact", ["firstname"], (DynamicsCondition("lastname", "like", "O_Brien"),)))
    assert [row["firstname"] for row in rows] == ["Liam"]
    sent = dict(entity_set_requests(fake, "contacts")[0]["query"])
    assert "operator=\"like\" value=\"O_Brien\"" in sent["fetchXml"]


def test_retrieve_fetch_xml_sends_the_query_and_fills_left_out_nulls(fake, connector, seeded):
    xml = """<fetch count='5'><entity name='contact'><attribute name='firstname'/><attribute name='emailaddress1'/>
      <attribute name='parentcustomerid'/><filter><condition attribute='lastname' operator='like' value='%%'/></filter>
      <link-entity name='account' from='accountid' to='parentcustomerid' link-type='outer' alias='a'><attribute name='name'/></link-entity>
      </entity></fetch>"""
    rows = [dict(row) for row in connector.retrieve_fetch_xml(xml)]
    assert rows == [
        {"firstname": "Ana", "emailaddress1": "ana@example.com", "parentcustomerid": seeded["account"], "a.name": "Northwind Traders"},
        {"firstname": "Liam", "emailaddress1": None, "parentcustomerid": seeded["other"], "a.name": "Contoso"},
    ]
    assert dict(entity_set_requests(fake, "contacts")[0]["query"]) == {"fetchXml": xml.strip()}


def test_create_sends_typed_values_and_binds_lookups(fake, connector, seeded):
    guid = connector.create(
        "contact",
        [("lastname", "Kim"), ("numberofchildren", "3"), ("creditlimit", "12.5"), ("donotemail", "true"),
         ("gendercode", 2), ("birthdate", "1/2/1990"), ("parentcustomerid", seeded["other"]), ("firstname", "")],
    )
    assert re.fullmatch(GUID, guid)
    post = [r for r in fake.api_requests() if r["method"] == "POST"][0]
    assert post["body"] == {
        "lastname": "Kim", "numberofchildren": 3, "creditlimit": 12.5, "donotemail": True, "gendercode": 2,
        "birthdate": "1990-01-02T06:00:00Z", "parentcustomerid_account@odata.bind": f"/accounts({seeded['other']})", "firstname": None,
    }
    assert fake.find("contact", guid)["parentcustomerid"] == seeded["other"]
    # A lookup with two targets: the connector asked which one the record is.
    probes = [r["path"] for r in fake.api_requests() if r["method"] == "GET" and "(" in r["path"] and "EntityDefinitions" not in r["path"]]
    assert probes == [f"/api/data/v9.2/accounts({seeded['other']})"]


def test_create_refuses_unknown_attributes_before_sending(fake, connector):
    with pytest.raises(DynamicsError, match="'contact' entity doesn't contain attribute with Name = 'nickname'."):
        connector.create("contact", [("lastname", "Kim"), ("nickname", "K")])
    assert [r for r in fake.api_requests() if r["method"] == "POST"] == []


def test_update_counts_the_records_found(fake, connector, seeded):
    missing = "00000000-0000-0000-0000-000000000099"
    assert connector.update("contact", [seeded["ana"].upper(), missing, seeded["liam"]], [("firstname", "Updated")]) == 2
    patches = [r for r in fake.api_requests() if r["method"] == "PATCH"]
    assert [r["path"] for r in patches] == [f"/api/data/v9.2/contacts({g})" for g in (seeded["ana"], missing, seeded["liam"])]
    assert all(r["headers"]["if-match"] == "*" and r["body"] == {"firstname": "Updated"} for r in patches)
    assert fake.find("contact", missing) is None  # If-Match: * never creates
    with pytest.raises(DynamicsError, match="Guid should contain 32 digits"):
        connector.update("contact", ["nope"], [("firstname", "x")])


def test_upsert_updates_the_first_match_or_creates(fake, connector, seeded):
    newer = fake.seed("account", name="Contoso", accountnumber="CT-2", createdon="2025-01-01T00:00:00Z")
    fake.find("account", seeded["other"])["createdon"] = "2024-01-01T00:00:00Z"
    found = connector.upsert(DynamicsUpsert("account", [("name", "contoso")], [("address1_city", "Indianapolis")], (("createdon", True),)))
    assert found == newer and fake.find("account", newer)["address1_city"] == "Indianapolis"
    query = dict(entity_set_requests(fake, "accounts")[0]["query"])
    assert query == {"$select": "accountid", "$filter": "name eq 'contoso'", "$orderby": "createdon desc", "$top": "1"}
    created = connector.upsert(DynamicsUpsert("account", [("name", "Tailspin")], [("address1_city", "Lisbon")], (("createdon", True),)))
    assert fake.find("account", created) | {} == {"accountid": created, "name": "Tailspin", "address1_city": "Lisbon", "statecode": 0, "statuscode": 1}
    by_id = "11111111-2222-3333-4444-555555555555"
    assert connector.upsert(DynamicsUpsert("account", [("accountid", by_id)], [("name", "By ID")])) == by_id
    last = fake.api_requests()[-1]
    assert last["method"] == "PATCH" and "if-match" not in last["headers"] and fake.find("account", by_id)["name"] == "By ID"


def test_set_state_writes_state_and_status(fake, connector, seeded):
    connector.set_state("account", seeded["account"], "inactive", -1)
    assert (fake.find("account", seeded["account"])["statecode"], fake.find("account", seeded["account"])["statuscode"]) == (1, 2)
    patch = fake.api_requests()[-1]
    assert patch["body"] == {"statecode": 1, "statuscode": 2} and patch["headers"]["if-match"] == "*"
    with pytest.raises(DynamicsError) as raised:
        connector.set_state("account", seeded["account"], "Active", 2)
    assert "2 is not a valid status code for state code AccountState.Active" in str(raised.value) and "HTTP 400" in str(raised.value)
    with pytest.raises(DynamicsError, match="account With Id = 00000000-0000-0000-0000-000000000001 Does Not Exist"):
        connector.set_state("account", "00000000-0000-0000-0000-000000000001", "Active", -1)
    with pytest.raises(DynamicsError, match="'Dormant' is not a valid state of account"):
        connector.set_state("account", seeded["account"], "Dormant", -1)


def test_add_list_member_calls_the_bound_action(fake, connector, seeded):
    connector.add_list_member(seeded["list"], seeded["ana"].upper())
    connector.add_list_member(seeded["list"], seeded["ana"])
    assert fake.list_members == [(seeded["list"], seeded["ana"])]
    post = fake.api_requests()[-1]
    assert post["path"] == f"/api/data/v9.2/lists({seeded['list']})/Microsoft.Dynamics.CRM.AddMemberList"
    assert post["body"] == {"EntityId": seeded["ana"]}
    with pytest.raises(DynamicsError, match="list With Id = 00000000-0000-0000-0000-0000000000aa Does Not Exist"):
        connector.add_list_member("00000000-0000-0000-0000-0000000000aa", seeded["ana"])
    with pytest.raises(DynamicsError, match=f"contact With Id = {seeded['account']} Does Not Exist"):
        connector.add_list_member(seeded["list"], seeded["account"])


def test_server_errors_carry_the_servers_message(fake, connector, seeded):
    fake.next_error = (500, "0x80040216", "An unexpected error occurred.")
    with pytest.raises(DynamicsError) as raised:
        connector.retrieve(DynamicsQuery("contact", ["firstname"], (DynamicsCondition("lastname", "eq", "x"),)))
    assert raised.value.message == "An unexpected error occurred. (HTTP 500, error 0x80040216)"


def test_an_unreachable_organization_is_an_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = DataverseConfig(url=f"http://127.0.0.1:{port}", token_url=f"http://127.0.0.1:{port}/t/oauth2/v2.0/token",
                             client_id="a", client_secret="b", timeout=2.0)
    with DataverseConnector(config) as connector, pytest.raises(DynamicsError, match="could not reach the Microsoft identity platform"):
        connector.describe_entities()


def test_a_script_rendered_with_the_connector_reaches_the_organization(fake, seeded):
    source = """%%[
set @id = CreateMscrmRecord("contact", 2, "firstname", "Sun-Hi", "lastname", "Kim")
set @rows = RetrieveMscrmRecords("contact", "contactid,firstname,lastname", "lastname", "=", "Kim")
set @n = UpdateMscrmRecords("contact", @id, "numberofchildren", 1)
AddMscrmListMember(@id, "LIST")
]%%%%=Field(Row(@rows, 1), "firstname")=%% %%=Field(Row(@rows, 1), "contactid") == @id=%% %%=v(@n)=%%""".replace("LIST", seeded["list"])
    with DataverseConnector(config_for(fake)) as connector:
        output = ampc.render(source, context=Context(workspace=CORPUS, subscriber={}, connections=[connector]))
        assert output == "Sun-Hi True 1"
        created = [r for r in fake.records["contact"] if r["lastname"] == "Kim"]
        assert len(created) == 1 and created[0]["numberofchildren"] == 1
        assert fake.list_members == [(seeded["list"], created[0]["contactid"])]
        fake.next_error = (403, "0x80040220", "Principal user is missing prvReadContact privilege.")
        with pytest.raises(AMPscriptError) as raised:
            ampc.render('%%[ set @r = RetrieveMscrmRecords("contact", "firstname", "lastname", "=", "Kim") ]%%',
                        context=Context(workspace=CORPUS, subscriber={}, connections=[connector]))
        assert "RetrieveMscrmRecords(): Principal user is missing prvReadContact privilege. (HTTP 403, error 0x80040220)" in str(raised.value)


def test_config_from_the_environment():
    environ = {
        "AMPC_DYNAMICS_URL": "https://contoso.crm.dynamics.com/", "AMPC_DYNAMICS_TENANT_ID": "tenant-1",
        "AMPC_DYNAMICS_CLIENT_ID": "app", "AMPC_DYNAMICS_CLIENT_SECRET": "s3cret", "AMPC_DYNAMICS_TIMEOUT": "12",
    }
    config = DataverseConfig.from_env(environ)
    assert config.token_url == "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
    assert config.api_url == "https://contoso.crm.dynamics.com/api/data/v9.2"
    assert config.token_scope == "https://contoso.crm.dynamics.com/.default"
    assert config.timeout == 12.0 and "s3cret" not in repr(config)
    with pytest.raises(DataverseConfigError) as raised:
        DataverseConfig.from_env({"AMPC_DYNAMICS_URL": "https://x.crm.dynamics.com"})
    assert "AMPC_DYNAMICS_CLIENT_ID, AMPC_DYNAMICS_CLIENT_SECRET, AMPC_DYNAMICS_TOKEN_URL (or AMPC_DYNAMICS_TENANT_ID)" in str(raised.value)
