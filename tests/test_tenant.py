"""The tenant backend: data extensions over SOAP's DataExtensionObject, content over the asset REST API.

Against the fake tenant on 127.0.0.1 (tests/fake_marketing_cloud.py), which
checks every SOAP envelope against the WSDL when ../shared has it, keys
row writes by the primary key only, and reads OData filters only when their
values are quoted.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("lxml", reason="the fake Marketing Cloud needs lxml (pip install -e '.[test]')")

import ampc
from ampscript import AMPscriptError, Context
from ampscript.backends.soap import SoapConfig
from ampscript.backends.tenant import TenantBackend
from ampscript.capabilities import Content, DataExtensions

from fake_marketing_cloud import FakeMarketingCloud


MEMBERS = [
    ("MemberKey", "Text", True),
    ("FirstName", "Text", False),
    ("Points", "Number", False),
    ("Active", "Boolean", False),
]


@pytest.fixture
def fake(cloud):
    cloud.reset()
    cloud.add_data_extension(
        "Members", "members-key", MEMBERS,
        [
            {"MemberKey": "m1", "FirstName": "Ana", "Points": "120", "Active": "True"},
            {"MemberKey": "m2", "FirstName": "bo", "Points": "80", "Active": "False"},
            {"MemberKey": "m3", "FirstName": "Bo", "Points": "300", "Active": "True"},
        ],
    )
    cloud.assets = [
        {"id": 52413, "customerKey": "footer-key", "name": "Footer", "assetType": {"name": "htmlblock"},
         "content": "<p>%%=Uppercase(\"see you\")=%%</p>"},
        {"id": 777, "customerKey": "O'Brien block", "name": "Quoted", "content": "quoted"},
        {"id": 9001, "customerKey": "logo", "name": "Logo", "assetType": {"name": "png"},
         "fileProperties": {"publishedURL": "https://image.s10.sfmc-content.com/lib/logo.png"}},
    ]
    yield cloud
    assert cloud.failures == []


def _config(fake: FakeMarketingCloud) -> SoapConfig:
    return SoapConfig(auth_url=fake.url, client_id=fake.client_id, client_secret=fake.client_secret, timeout=5.0)


@pytest.fixture
def tenant(fake):
    backend = TenantBackend(_config(fake))
    yield backend
    backend.close()


def _render(tenant: TenantBackend, source: str) -> str:
    return ampc.render(source, context=Context(workspace=".", subscriber={}, backend=tenant))


def test_the_tenant_provides_data_extensions_content_and_api_objects(tenant):
    context = Context(workspace=".", subscriber={}, backend=tenant)
    assert context.capability(DataExtensions, "t") is tenant.data_extensions
    assert context.capability(Content, "t") is tenant.content
    assert "Marketing Cloud tenant" in tenant.name


def test_lookup_reads_the_row_through_data_extension_object(tenant, fake):
    assert _render(tenant, '%%=Lookup("Members", "FirstName", "MemberKey", "m1")=%%') == "Ana"
    retrieves = [request for action, request in fake.soap_requests if action == "Retrieve"]
    object_types = [r.findtext(".//{http://exacttarget.com/wsdl/partnerAPI}ObjectType") for r in retrieves]
    assert object_types == ["DataExtension", "DataExtensionField", "DataExtensionObject[members-key]"]


def test_lookup_rows_types_values_sorts_and_limits_here(tenant):
    script = (
        '%%[ set @rows = LookupOrderedRows("Members", 2, "Points DESC", "Active", "true") ]%%'
        '%%=RowCount(@rows)=%% %%=Field(Row(@rows, 1), "MemberKey")=%% %%=Add(Field(Row(@rows, 1), "Points"), 1)=%%'
    )
    assert _render(tenant, script) == "2 m3 301"


def test_the_cs_lookups_keep_only_the_rows_that_match_case_for_case(tenant):
    assert _render(tenant, '%%=RowCount(LookupRows("Members", "FirstName", "Bo"))=%%') == "2"
    assert _render(tenant, '%%=RowCount(LookupRowsCS("Members", "FirstName", "Bo"))=%%') == "1"


def test_row_count_asks_the_rest_route(tenant, fake):
    assert _render(tenant, '%%=DataExtensionRowCount("Members")=%%') == "3"
    assert any("/data/v1/customobjectdata/key/members-key/rowset" in path for _, path in fake.rest_requests)


def test_insert_update_upsert_delete_reach_the_tenant_keyed_by_the_primary_key(tenant, fake):
    script = (
        '%%=InsertData("Members", "MemberKey", "m4", "FirstName", "Cy", "Points", 10)=%%'
        '%%=UpdateData("Members", 1, "FirstName", "bo", "Points", 5)=%%'
        '%%=UpsertData("Members", 1, "MemberKey", "m5", "FirstName", "Di")=%%'
        '%%=DeleteData("Members", "MemberKey", "m1")=%%'
    )
    assert _render(tenant, script) == "1211"
    rows = {row["MemberKey"]: row for row in fake.rows["members-key"]}
    assert set(rows) == {"m2", "m3", "m4", "m5"}
    assert rows["m2"]["Points"] == rows["m3"]["Points"] == "5"  # "bo" matches Bo and bo, as SQL Server's collation
    assert rows["m4"] == {"MemberKey": "m4", "FirstName": "Cy", "Points": "10"}


def test_a_tenant_error_is_the_scripts_error(tenant):
    with pytest.raises(AMPscriptError, match="does not exist in the Marketing Cloud tenant"):
        _render(tenant, '%%=Lookup("Nope", "A", "B", "c")=%%')
    with pytest.raises(AMPscriptError, match="Violation of PRIMARY KEY constraint"):
        _render(tenant, '%%=InsertData("Members", "MemberKey", "m1", "FirstName", "Again")=%%')
    with pytest.raises(AMPscriptError, match="has no field 'Nope'"):
        _render(tenant, '%%=Lookup("Members", "Nope", "MemberKey", "m1")=%%')


def test_a_data_extension_without_a_primary_key_cannot_be_updated_row_by_row(tenant, fake):
    fake.add_data_extension("Log", "log-key", [("Message", "Text", False)], [{"Message": "hi"}])
    with pytest.raises(AMPscriptError, match="has no primary key"):
        _render(tenant, '%%=UpdateData("Log", 1, "Message", "hi", "Message", "bye")=%%')
    assert _render(tenant, '%%=InsertData("Log", "Message", "second")=%%') == "1"


def test_claim_row_claims_through_the_tenant(tenant, fake):
    fake.add_data_extension(
        "Coupons", "coupons-key", [("Code", "Text", True), ("IsClaimed", "Boolean", False), ("Email", "Text", False)],
        [{"Code": "A1", "IsClaimed": "False", "Email": ""}, {"Code": "B2", "IsClaimed": "False", "Email": ""}],
    )
    script = '%%=Field(ClaimRow("Coupons", "IsClaimed", "Email", "ana@example.com"), "Code")=%%'
    assert _render(tenant, script) == "A1"
    assert _render(tenant, script) == "A1"  # the claimant's row again
    assert fake.rows["coupons-key"][0] == {"Code": "A1", "IsClaimed": "True", "Email": "ana@example.com"}


def test_content_blocks_by_key_name_and_id_come_from_the_asset_api(tenant, fake):
    assert _render(tenant, '%%=ContentBlockByKey("footer-key")=%%') == "<p>SEE YOU</p>"
    assert _render(tenant, '%%=ContentBlockByName("Content Builder\\Emails\\Footer")=%%') == "<p>SEE YOU</p>"
    assert _render(tenant, '%%=ContentBlockByID(52413)=%%') == "<p>SEE YOU</p>"
    assert _render(tenant, '%%=ContentBlockByKey("O\'Brien block")=%%') == "quoted"  # quoted as OData quotes
    assert any("%27O%27%27Brien" in path or "'O''Brien" in path for _, path in fake.rest_requests)


def test_missing_content_is_the_usual_error_naming_the_tenant(tenant):
    with pytest.raises(AMPscriptError, match="no content block has the key 'nope'") as raised:
        _render(tenant, '%%=ContentBlockByKey("nope")=%%')
    assert "Content Builder" in str(raised.value)
    assert _render(tenant, '%%=ContentBlockByID(1, "", false, "fallback")=%%') == "fallback"


def test_images_come_from_the_asset_api(tenant):
    output = _render(tenant, '%%=ContentImageByKey("logo")=%%')
    assert 'src="https://image.s10.sfmc-content.com/lib/logo.png"' in output


def test_ampc_run_backend_tenant(fake, tmp_path):
    script = tmp_path / "email.amp"
    script.write_text('Hi %%=Lookup("Members", "FirstName", "MemberKey", "m3")=%%! %%=ContentBlockByKey("footer-key")=%%')
    environment = {
        "AMPC_MC_AUTH_URL": fake.url, "AMPC_MC_CLIENT_ID": fake.client_id, "AMPC_MC_CLIENT_SECRET": fake.client_secret,
        "PATH": "", "HOME": str(tmp_path), "PYTHONPATH": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "ampc", "run", str(script), "--backend", "tenant"],
        capture_output=True, text=True, env=environment, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hi Bo! <p>SEE YOU</p>"


def test_backend_soap_reaches_api_objects_only_and_says_so_for_data_extensions(fake, tmp_path):
    script = tmp_path / "email.amp"
    script.write_text('%%=Lookup("Members", "FirstName", "MemberKey", "m3")=%%')
    environment = {
        "AMPC_MC_AUTH_URL": fake.url, "AMPC_MC_CLIENT_ID": fake.client_id, "AMPC_MC_CLIENT_SECRET": fake.client_secret,
        "PATH": "", "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ampc", "run", str(script), "--backend", "soap"],
        capture_output=True, text=True, env=environment, timeout=60,
    )
    assert done.returncode == 1
    assert "Lookup() needs data extensions, which the Marketing Cloud SOAP backend does not provide" in done.stderr


def test_a_config_file_inside_the_workspace_is_refused(tmp_path, capsys):
    from ampc import cli

    script = tmp_path / "email.amp"
    script.write_text("hi")
    config = tmp_path / "mc.json"  # beside the script: inside its workspace, which may be tracked
    config.write_text('{"subdomain": "x", "client_id": "a", "client_secret": "b"}')
    assert cli.main(["run", str(script), "--backend", "tenant", "--config", str(config)]) == 1
    assert "is inside the workspace" in capsys.readouterr().err
