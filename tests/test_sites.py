"""CloudPages: `ampc run` as a page request, the Request object, and the workspace settings
the Site functions read (pages, site, webAnalytics, authenticated).

The functions' behaviour is in the golden corpus (tests/corpus/sites/); the
HTTP server is in test_server.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ampc
from ampscript import Context, ScriptError
from ampscript.request import Request, decode_query_string, encode_query_string
from ampscript.workspace import Workspace

SAMPLE = Path(__file__).parents[1] / "samples" / "cloudpage-form"


def ampc_run(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ampc", "run", *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=60,
    )


@pytest.fixture
def page(tmp_path: Path) -> Path:
    script = tmp_path / "page.amp"
    script.write_text(
        "%%[ if RequestParameter('go') == 'yes' then Redirect('https://example.com/next') endif ]%%"
        "name=%%=RequestParameter('name')=%% ua=%%=HTTPRequestHeader('User-Agent')=%%"
        " cookie=%%=HTTPRequestHeader('Cookie')=%%",
        encoding="utf-8",
    )
    return script


# ---------------------------------------------------------------- ampc run as a page


def test_run_get_params_go_in_the_query_string(page):
    result = ampc_run(str(page), "--param", "name=Ana Lima", "--header", "User-Agent: pytest/1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "name=Ana Lima ua=pytest/1 cookie="
    assert result.stderr == ""


def test_run_post_params_are_form_fields(page, tmp_path):
    probe = tmp_path / "probe.amp"
    probe.write_text(
        "%%=RequestParameter('name')=%%|%%=HTTPRequestHeader('Content-Type')=%%", encoding="utf-8"
    )
    result = ampc_run(str(probe), "--method", "post", "--param", "name=Bo")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Bo|application/x-www-form-urlencoded"


def test_run_cookies_are_sent_as_a_cookie_header(page):
    result = ampc_run(str(page), "--cookie", "session=abc", "--cookie", "theme=dark")
    assert result.stdout.endswith("cookie=session=abc; theme=dark")


def test_run_redirect_prints_status_and_location_on_stderr(page):
    result = ampc_run(str(page), "--param", "go=yes", "--param", "name=x")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "HTTP 302 Found\nLocation: https://example.com/next\n"
    assert result.stdout.startswith("name=x")


def test_run_url_sets_the_query_and_the_page_origin(tmp_path):
    script = tmp_path / "links.amp"
    script.write_text("%%=RequestParameter('a')=%% %%=CloudPagesURL(5)=%%", encoding="utf-8")
    result = ampc_run(str(script), "--url", "https://cloud.example.com/links?a=1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 https://cloud.example.com/5?qs=")


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--param", "name"], "--param expects NAME=VALUE, got 'name'"),
        (["--header", "User-Agent"], "--header expects 'NAME: VALUE'"),
        (["--url", "/relative"], "a request needs an absolute URL"),
    ],
)
def test_run_rejects_malformed_request_options(page, arguments, message):
    result = ampc_run(str(page), *arguments)
    assert result.returncode == 1
    assert message in result.stderr


def test_run_without_request_options_renders_as_an_email(tmp_path):
    script = tmp_path / "email.amp"
    script.write_text("%%=Redirect('https://example.com')=%%", encoding="utf-8")
    result = ampc_run(str(script))
    assert result.returncode == 1
    assert "email.amp:1:1: error: Redirect() works on landing pages only" in result.stderr


# ---------------------------------------------------------------- the sample


def test_sample_form_validates_upserts_and_redirects(tmp_path):
    workspace = tmp_path / "form"
    shutil.copytree(SAMPLE, workspace)
    state = tmp_path / "state.db"
    invalid = ampc_run(
        "signup.amp", "--method", "POST", "--param", "submitted=1", "--param", "firstName=ana",
        "--param", "email=not-an-address", cwd=workspace,
    )  # fmt: skip
    assert invalid.returncode == 0 and invalid.stderr == ""
    assert '<p class="error">not-an-address is not a valid email address.</p>' in invalid.stdout

    valid = ampc_run(
        "signup.amp", "--method", "POST", "--param", "submitted=1", "--param", "firstName=ana",
        "--param", "email=ana@example.com", "--param", "newsletter=on", "--state", str(state), cwd=workspace,
    )  # fmt: skip
    assert valid.returncode == 0, valid.stderr
    status, location = valid.stderr.splitlines()
    assert status == "HTTP 302 Found"
    assert location.startswith("Location: http://127.0.0.1:8000/thanks?qs=")

    thanks = ampc_run(
        "thanks.amp", "--url", location.removeprefix("Location: "), "--state", str(state), cwd=workspace
    )
    assert thanks.returncode == 0, thanks.stderr
    assert "<h1>Thank you, Ana!</h1>" in thanks.stdout
    assert "<p>Sign-ups so far: 2</p>" in thanks.stdout


def test_sample_get_output_is_the_expected_file():
    result = ampc_run(str(SAMPLE / "signup.amp"), "--method", "GET")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (SAMPLE / "signup.expected").read_text(encoding="utf-8")


# ---------------------------------------------------------------- Request


def test_request_names_are_case_insensitive_and_cookies_come_from_the_header():
    request = Request(
        "post",
        "http://127.0.0.1:8000/p?A=1&a=2",
        headers=[("cookie", "session=abc; theme=dark"), ("X-One", "1")],
        form={"Email": "ana@example.com"},
    )
    assert request.method == "POST"
    assert request.query["a"] == "1,2"
    assert request.form["EMAIL"] == "ana@example.com"
    assert request.headers["x-one"] == "1"
    assert dict(request.cookies) == {"session": "abc", "theme": "dark"}
    assert request.response.status == 200 and not request.response.is_redirect


def test_request_names_match_as_dotnet_ignores_case():
    # Ordinal ignore-case (ampscript.values.case.fold): one-to-one upper-case mappings, so the
    # Kelvin sign is not "k" (Python's lower() says it is) and "ß" is not "SS".
    request = Request("GET", "http://127.0.0.1:8000/p?%E2%84%AAey=1&stra%C3%9Fe=2")
    assert request.query.get("key") is None
    assert request.query["STRAßE"] == "2"
    assert request.query.get("STRASSE") is None


def test_page_context_is_landingpage_and_missing_attributes_are_empty():
    # https://sfmc.guide/engagement/differs-from-docs/#attributevalue-cloudpage-and-empty-name
    page = Context(subscriber={}, request=Request("GET", "http://127.0.0.1:8000/p"))
    assert page.attribute("_messagecontext") == "LANDINGPAGE"
    assert page.attribute("firstname") == ""
    email = Context(subscriber={})
    assert email.attribute("_messagecontext") == "SEND"
    assert email.attribute("firstname", required=False) is None
    with pytest.raises(ScriptError, match="the subscriber has no attribute 'firstname'"):
        email.attribute("firstname")


def test_redirect_sets_the_response():
    request = Request(url="http://127.0.0.1:8000/p")
    ampc.render("%%[ Redirect('https://example.com/a') Redirect('https://example.com/b') ]%%",
                context=Context(request=request, subscriber={}))  # fmt: skip
    assert (request.response.status, request.response.location) == (302, "https://example.com/b")


# ---------------------------------------------------------------- workspace settings


def write_settings(folder: Path, settings: dict) -> Workspace:
    (folder / "ampc.json").write_text(json.dumps(settings), encoding="utf-8")
    return Workspace(folder)


def test_page_ids_map_to_files_and_the_site_url_is_configurable(tmp_path):
    workspace = write_settings(
        tmp_path, {"pages": {"1002": "forms/thanks.amp"}, "site": {"url": "https://pages.example.com/"}}
    )
    url = ampc.render(
        "%%=CloudPagesURL(1002, 'firstName', 'Ana')=%%", context=Context(workspace=workspace, subscriber={})
    )
    assert url.startswith("https://pages.example.com/forms/thanks?qs=")
    payload = decode_query_string(workspace, url.split("qs=")[1])
    assert payload["page"] == "1002" and payload["parameters"] == {"firstName": "Ana"}


def test_links_carry_the_subscriber_to_the_landing_page(tmp_path):
    workspace = Workspace(tmp_path)
    email = Context(
        workspace=workspace, subscriber={"EmailAddress": "ana@example.com", "SubscriberKey": "SK1"}
    )
    url = ampc.render("%%=CloudPagesURL(7)=%%", context=email)
    request = Request(url=url)
    landing = Context(workspace=workspace, request=request, subscriber=request.subscriber(workspace))
    assert ampc.render("%%=v(emailaddr)=%% %%=v(_subscriberkey)=%% %%=v(jobid)=%%", context=landing) == (
        "ana@example.com SK1 0"
    )


def test_a_link_made_under_another_key_does_not_decode(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir(), second.mkdir()
    token = encode_query_string(write_settings(first, {"site": {"key": "one"}}), {"parameters": {"a": "1"}})
    assert decode_query_string(Workspace(first), token) == {"parameters": {"a": "1"}}
    with pytest.raises(ScriptError, match="qs"):
        decode_query_string(write_settings(second, {"site": {"key": "two"}}), token)


def test_wat_replaces_the_watp_references_of_the_parameter_set(tmp_path):
    # The reference's examples: https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmatic-content/wat.htm
    workspace = write_settings(
        tmp_path, {"webAnalytics": {"Omniture": "s_cid=%%=WATP(1)=%%_%%= WATP(2) =%%"}}
    )
    context = Context(workspace=workspace, subscriber={})
    assert ampc.render("%%=WAT('Omniture','1234')=%%", context=context) == "s_cid=1234_"
    assert ampc.render("%%=WAT('omniture','1234','5678')=%%", context=context) == "s_cid=1234_5678"


def test_authenticated_user_comes_from_ampc_json_unless_the_request_has_one(tmp_path):
    workspace = write_settings(tmp_path, {"authenticated": {"MemberID": 1001, "MemberName": "Workspace BU"}})
    source = "%%=AuthenticatedMemberID()=%% %%=AuthenticatedMemberName()=%%"
    assert ampc.render(source, context=Context(workspace=workspace, subscriber={})) == "1001 Workspace BU"
    request = Request(url="http://127.0.0.1:8000/p", authenticated={"memberid": 2002})
    assert ampc.render(source, context=Context(workspace=workspace, request=request, subscriber={})) == (
        "2002 Workspace BU"
    )


def test_a_page_id_the_workspace_does_not_have_is_an_error(tmp_path):
    # Marketing Cloud aborts a page whose CloudPagesURL() names no page of the account
    # (https://sfmc.guide/engagement/differs-from-docs/#cloudpagesurl-unknown-page-id-aborts).
    workspace = write_settings(tmp_path, {"pages": {"314": "confirm.amp"}})
    context = Context(workspace=workspace)
    assert ampc.render("%%=CloudPagesURL(314)=%%", context=context).startswith("http://127.0.0.1:8000/confirm?qs=")
    with pytest.raises(ScriptError) as raised:
        ampc.render("%%=CloudPagesURL(987654321)=%%", context=context)
    assert "CloudPagesURL(): no page has the ID '987654321'" in str(raised.value)
    assert "314" in raised.value.hint
    with pytest.raises(ScriptError, match="MicrositeURL"):
        ampc.render("%%=MicrositeURL(5)=%%", context=context)


def test_without_mapped_pages_any_id_makes_a_link(tmp_path):
    # A workspace that maps no pages cannot know which IDs exist (ampc's choice: the link is made).
    assert ampc.render("%%=CloudPagesURL(987654321)=%%", context=Context(workspace=tmp_path)).startswith(
        "http://127.0.0.1:8000/987654321?qs="
    )
