"""MobileConnect: the inbound message's syntax, the conversation and contact store, and ampc run --sms."""

from __future__ import annotations

import pytest

import ampc
from ampc import cli
from ampc.parser import parse
from ampscript import AMPscriptError, Context
from ampscript.backends.mobile_connect import MobileConnectStore, phone_key
from ampscript.capabilities import MobileConnect
from ampscript.sms import InboundSms, parts


def _calls(source: str):
    from ampc import nodes as n

    (chunk,) = [c for c in parse(source, "t.amp").body if isinstance(c, n.InlineExpression)]
    return chunk.expression


@pytest.mark.parametrize(
    "source, member, args",
    [
        ("%%=Msg(0).Verb=%%", "verb", 2),
        ("%%=MSG(0).NOUNS=%%", "nouns", 2),
        ("%%=msg(0).noun(1)=%%", "noun()", 3),
        ("%%=[MSG(0).NOUN(0)]=%%", "noun()", 3),
        ("%%=[ msg( 0 ).verb ]=%%", "verb", 2),
        ("%%=Msg(0)=%%", None, 1),
    ],
)
def test_the_message_parts_parse_as_msg_calls(source, member, args):
    call = _calls(source)
    assert call.name.lower() == "msg" and call.member == member and len(call.args) == args


def test_a_bracketed_name_that_is_not_a_message_part_stays_an_attribute():
    from ampc import nodes as n

    assert isinstance(_calls("%%=[MSG(0) Nouns]=%%"), n.Attribute)
    assert isinstance(_calls("%%=[First Name]=%%"), n.Attribute)


def test_message_parts_split_at_the_first_word():
    message = InboundSms("  join   gold plan ")  # the keyword and the rest, around the first run of spaces
    assert parts(message) == parts(InboundSms("JOIN gold plan"))
    split = parts(message)
    assert (split.verb, split.nouns, split.noun(0), split.noun(1), split.noun(2)) == ("JOIN", "gold plan", "gold", "plan", "")
    assert parts(message, next_keyword="size").verb == "SIZE" and parts(message, "size").nouns == "join   gold plan"


def test_inbound_sms_from_a_mapping_checks_its_fields():
    assert InboundSms.of({"text": "HI", "media_urls": ["u"]}) == InboundSms("HI", media_urls=("u",))
    with pytest.raises(ValueError, match="unknown: sender"):
        InboundSms.of({"text": "HI", "sender": "x"})
    with pytest.raises(ValueError, match='"text" is missing'):
        InboundSms.of({"short_code": "1"})


def test_phone_numbers_compare_by_their_digits():
    assert phone_key("+55 (11) 99999-8888") == phone_key("5511999998888") == "5511999998888"
    assert phone_key("MYCODE") == "MYCODE"


def test_contacts_are_upserted_and_seeded(tmp_path):
    (tmp_path / "MobileConnect").mkdir()
    (tmp_path / "MobileConnect/contacts.csv").write_text("MobileNumber,_FirstName,_ZipCode\n5511999998888,Ana,01000\n")
    context = Context(workspace=tmp_path, subscriber={})
    store = context.capability(MobileConnect, "test")
    assert isinstance(store, MobileConnectStore)
    assert dict(store.contact("+55 11 99999-8888")) == {"MobileNumber": "5511999998888", "_FirstName": "Ana", "_ZipCode": "01000"}
    script = '%%=UpsertContact("mobile", "phone", MOBILE_NUMBER, "_zipcode", [MSG(0).NOUN(0)], "_City", "Sao Paulo")=%%'
    context = Context(workspace=tmp_path, subscriber={}, sms=InboundSms("ZIP 04538", "28455", "5511999998888"))
    assert ampc.render(script, context=context) == "0"
    contact = context.capability(MobileConnect, "test").contact("5511999998888")
    assert contact["_ZipCode"] == "04538" and contact["_City"] == "Sao Paulo" and contact["_FirstName"] == "Ana"
    assert store.contact("5511999998888")["_ZipCode"] == "01000"  # another context: its own copy of the seed


def test_a_seeded_contact_without_a_number_names_the_file(tmp_path):
    (tmp_path / "MobileConnect").mkdir()
    (tmp_path / "MobileConnect/contacts.json").write_text('[{"_FirstName": "Ana"}]')
    with pytest.raises(AMPscriptError, match=r"contacts.json \(contact 1\): every contact needs a MobileNumber"):
        Context(workspace=tmp_path, subscriber={}).capability(MobileConnect, "test")


def test_a_conversation_lasts_from_one_run_to_the_next_with_state(tmp_path, capsys):
    script = tmp_path / "reply.amp"
    script.write_text(
        '%%=Msg(0).Verb=%%%%[ if Msg(0).Verb == "JOIN" then CreateSmsConversation(SHORT_CODE, MOBILE_NUMBER, "PLAN", '
        '"MOBILECONNECT") else EndSmsConversation(SHORT_CODE, MOBILE_NUMBER) endif ]%%'
    )
    state = tmp_path / "state.db"
    common = ["--short-code", "28455", "--mobile", "5511999998888", "--state", str(state)]
    outputs = []
    for text in ("JOIN gold plan", "gold", "JOIN again"):
        assert cli.main(["run", str(script), "--sms", text, *common]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs == ["JOIN", "PLAN", "JOIN"]


def test_ampc_run_mms_urls_and_the_options_that_need_sms(tmp_path, capsys):
    script = tmp_path / "mms.amp"
    script.write_text("%%=MMS_Content_URL(1)=%%")
    assert cli.main(["run", str(script), "--sms", "PHOTO", "--mms-url", "https://a/1.jpg", "--mms-url", "https://a/2.jpg"]) == 0
    assert capsys.readouterr().out == "https://a/2.jpg"
    assert cli.main(["run", str(script), "--mobile", "1"]) == 1
    assert "give --sms too" in capsys.readouterr().err


def test_ampc_check_reports_a_bad_message_part(tmp_path, capsys):
    script = tmp_path / "bad.amp"
    script.write_text("%%[ set @a = Msg(0).Verbs ]%%")
    assert cli.main(["check", str(script)]) == 1
    assert "Msg(0) has no part Verbs" in capsys.readouterr().err
