"""`ampc check`: error recovery, warnings with stable codes, JSON, --strict, --context (issue 10)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import ampc
import pytest
from ampc import cli
from ampc.check import check_source
from ampc.diagnostics import CODES
from ampscript import Context, ScriptError

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *arguments) -> tuple[int, str, str]:
    code = cli.main([str(argument) for argument in arguments])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err
    return code, out, err


def codes(source: str, **options) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.column) for d in check_source(source, "t.amp", **options)]


# ---- error recovery --------------------------------------------------------------------


def test_three_syntax_errors_and_two_arity_errors_are_all_reported():
    source = (
        "%%[ set @a = ]%%\n"  # 1: no value
        "%%[ if @a = 1 then ]%%x%%[ endif ]%%\n"  # 2: = instead of ==
        '%%[ set @b = Concat("a" set @c = Row(@b) ]%%\n'  # 3: unclosed call, then Row() with 1 argument
        "%%= Uppercase() =%%\n"  # 4: Uppercase() with no argument
    )
    found = [d for d in check_source(source, "t.amp") if d.severity == "error"]
    assert [(d.code, d.line, d.column) for d in found] == [
        ("AMP001", 1, 14),
        ("AMP001", 2, 11),
        ("AMP001", 3, 25),
        ("AMP013", 3, 34),
        ("AMP013", 4, 5),
    ]


def test_recovery_resumes_at_the_next_statement_in_the_same_block():
    source = "%%[\nset @a = Concat(1,\nset @b = Nope(1)\nfor @i = 1 tu 3 do\nset @c = Nope2()\nnext\n]%%"
    found = check_source(source, "t.amp")
    assert [(d.code, d.line) for d in found if d.severity == "error"] == [
        # `set` where a value belongs is read as a name, so the error is at @b; the parser resumes at that set.
        ("AMP001", 3), ("AMP010", 3), ("AMP001", 4), ("AMP010", 5),
    ]


def test_a_broken_if_keeps_its_endif_matched():
    found = check_source("%%[ if @a = 1 then ]%%x%%[ else ]%%y%%[ endif ]%%", "t.amp")
    assert [d.code for d in found if d.severity == "error"] == ["AMP001"]


def test_an_unclosed_block_at_the_end_stops_recovery_with_one_error():
    found = check_source("ok %%[ set @a = 1", "t.amp")
    assert [(d.code, d.message) for d in found] == [("AMP001", "code block opened here is never closed")]


def test_the_error_limit_bounds_recovery():
    source = "%%[ set @a = ]%%\n" * 80
    found = check_source(source, "t.amp")
    assert len(found) == ampc.parser.MAX_SYNTAX_ERRORS


# ---- warnings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, expected",
    [
        ("%%[ var @x set @x = 1 @x = 2 ]%%%%=v(@x)=%%", [("AMP101", 1, 23)]),
        ("%%[ set @x = 1 5 < 4 ]%%%%=v(@x)=%%", [("AMP102", 1, 16)]),
        ("a ]%% b =%% c", [("AMP103", 1, 3), ("AMP103", 1, 9)]),
        ('%%[ Output("x") ]%%', [("AMP105", 1, 12)]),
        ("%%[ set @v = 1 OutputLine(@v) ]%%", [("AMP105", 1, 27)]),
        ("%%[ Output() ]%%", [("AMP105", 1, 5)]),
        ("%%[ var @never ]%%", [("AMP106", 1, 9)]),
        ("%%=v(@late)=%%%%[ set @late = 1 ]%%", [("AMP107", 1, 6)]),
        ("%%=v(@unset)=%%", [("AMP107", 1, 6)]),
        ("%%[ set @a = 1 if @a == @A then endif ]%%", [("AMP108", 1, 19)]),
        ('%%[ if "x" == "x" then endif ]%%', [("AMP108", 1, 8)]),
        ("%%[ for @i = 10 to 1 do next ]%%", [("AMP109", 1, 5)]),
        ("%%[ for @i = 1 downto 10 do next ]%%", [("AMP109", 1, 5)]),
    ],
)
def test_each_warning(source, expected):
    assert codes(source) == expected
    assert all(d.severity == "warning" for d in check_source(source, "t.amp"))


@pytest.mark.parametrize(
    "source",
    [
        "%%[ var @x set @x = 1 ]%%%%=v(@x)=%%",
        "%%[ for @i = 1 to 3 do ]%%%%=v(@i)=%%%%[ next ]%%",
        "%%[ for @i = 3 downto 1 do next ]%%",
        '%%[ set @rows = LookupRows("DE", "a", 1) set @n = RowCount(@rows) ]%%%%=v(@n)=%%',
        "%%[ set @a = 1 if @a == 2 then endif ]%%",
        '%%[ OutputLine(Concat("a")) Output(v("b")) ]%%',
        "a %% b ]% c",
    ],
)
def test_clean_scripts_have_no_warnings(source):
    assert codes(source) == []


def test_out_parameters_count_as_writes():
    source = '%%[ set @r = CreateObject("RetrieveRequest") set @rows = InvokeRetrieve(@r, @status) ]%%%%=v(@status)=%%'
    assert codes(source) == []


def test_personalization_strings_are_checked_against_subscriber_json():
    source = "Hi %%FirstName%% %%firstname%% %%Last Name%% %%emailaddr%%"
    assert codes(source, subscriber_names={"FirstName"}) == [("AMP104", 1, 32)]
    assert codes(source, subscriber_names=None) == []  # no subscriber.json: nothing to check against


def test_warnings_carry_a_hint_and_the_source_line():
    (warning,) = check_source("%%[\n  @total = 1\n]%%", "t.amp")
    assert warning.format() == (
        "t.amp:2:3: warning: assignment without 'set' is never evaluated: @total keeps its value\n"
        " 2 |   @total = 1\n"
        "   |   ^\n"
        "hint: did you mean `set @total = ...`?"
    )


# ---- the command -----------------------------------------------------------------------


def test_cli_summary_and_exit_codes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("warn.amp").write_text("%%[ @x = 1 ]%%")
    Path("good.amp").write_text("fine")
    code, out, err = run_cli(capsys, "check", "warn.amp", "good.amp")
    assert (code, out) == (0, "")
    assert err.splitlines()[0] == "warn.amp:1:5: warning: assignment without 'set' is never evaluated: @x keeps its value"
    assert err.splitlines()[-1] == "checked 2 files: 0 errors, 1 warning"
    assert run_cli(capsys, "check", "--strict", "warn.amp")[0] == 1
    assert run_cli(capsys, "check", "--strict", "good.amp")[0] == 0


def test_cli_json(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("a.amp").write_text("%%[ @x = 1 ]%%\n%%= Nope() =%%")
    code, out, err = run_cli(capsys, "check", "--format", "json", "a.amp", "missing.amp")
    assert (code, err) == (1, "")
    rows = json.loads(out)
    assert rows == [
        {
            "file": "a.amp", "line": 1, "column": 5, "end": {"line": 1, "column": 11},
            "severity": "warning", "code": "AMP101",
            "message": "assignment without 'set' is never evaluated: @x keeps its value",
            "hint": "did you mean `set @x = ...`?",
        },
        {
            "file": "a.amp", "line": 2, "column": 5, "end": None, "severity": "error", "code": "AMP010",
            "message": "unknown function 'Nope'", "hint": None,
        },
        {
            "file": "missing.amp", "line": None, "column": None, "end": None, "severity": "error",
            "code": "AMP000", "message": "no such file", "hint": None,
        },
    ]


def test_cli_workspace_subscriber_json(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "subscriber.json").write_text('{"FirstName": "Ana"}')
    (tmp_path / "ws" / "e.amp").write_text("%%FirstName%% %%Nickname%%")
    code, _, err = run_cli(capsys, "check", "ws/e.amp")
    assert code == 0 and "ws/e.amp:1:15: warning: %%Nickname%% is not an attribute" in err
    other = tmp_path / "other"
    other.mkdir()
    (other / "subscriber.json").write_text('{"Nickname": "A"}')
    code, _, err = run_cli(capsys, "check", "--workspace", "other", "ws/e.amp")
    assert "%%FirstName%% is not an attribute" in err and "%%Nickname%% is not" not in err


def test_cli_check_context(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("e.amp").write_text('%%[ IF 1 == 2 THEN\n  InsertData("DE", "k", 1)\nENDIF ]%%ok')
    assert run_cli(capsys, "check", "e.amp")[0] == 0
    code, _, err = run_cli(capsys, "check", "--context", "email", "e.amp")
    assert code == 1
    assert err.startswith(
        "e.amp:2:3: error: InsertData() is not valid in email content "
        "(errorcode 10005: only allowed in a non batch context); Marketing Cloud rejects it\n"
    )
    assert "hint: in an email, use InsertDE()" in err
    assert run_cli(capsys, "check", "--context", "page", "e.amp")[0] == 0


def test_cli_run_and_compile_warn_about_wrong_arity_and_render(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("a.amp").write_text("%%[ IF 1 == 2 THEN set @x = Uppercase() ENDIF ]%%ok")
    code, out, err = run_cli(capsys, "run", "a.amp")
    assert (code, out) == (0, "ok")
    assert err == (
        "a.amp:1:29: warning: Uppercase() takes 1 argument, but 0 were given\n"
        " 1 | %%[ IF 1 == 2 THEN set @x = Uppercase() ENDIF ]%%ok\n"
        "   |                             ^\n"
        "note: this call fails when it runs\n"
    )
    code, out, err = run_cli(capsys, "compile", "a.amp", "-o", "-")
    assert code == 0 and "wrong_arity(" in out and "warning: Uppercase()" in err
    code, _, err = run_cli(capsys, "check", "a.amp")
    assert code == 1 and "a.amp:1:29: error: Uppercase() takes 1 argument" in err


def test_cli_run_context(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("p.amp").write_text('%%[ IF 1 == 2 THEN Redirect("https://example.com") ENDIF ]%%ok')
    assert run_cli(capsys, "run", "p.amp") == (0, "ok", "")
    code, out, err = run_cli(capsys, "run", "--context", "email", "p.amp")
    assert (code, out) == (1, "")
    assert err.startswith("p.amp:1:20: error: Redirect() is not valid in email content")


def test_ssjs_blocks_each_one_error_in_check_and_listed_together_by_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("s.amp").write_text(
        '<p>a</p>\n<script runat="server">Platform.Load("core","1");</script>\n'
        "%%=v(1)=%%\n<script runat=server language=javascript>var x;</script>\n"
        '<script runat="server" language="ampscript">set @a = 1</script>%%=v(@a)=%%'
    )
    found = check_source(Path("s.amp").read_text(), "s.amp")
    assert [(d.code, d.line, d.column) for d in found] == [("AMP005", 2, 1), ("AMP005", 4, 1)]
    code, out, err = run_cli(capsys, "run", "s.amp")
    assert (code, out) == (1, "")
    assert err.count(": error: server-side script in language") == 2
    assert "s.amp:2:1:" in err and "s.amp:4:1:" in err
    assert err.count("hint:") == 1


def test_every_code_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `(AMP\d{3})` \| (error|warning) \|", readme, re.MULTILINE))
    assert documented == {code: severity for code, (severity, _) in CODES.items()}


# ---- at run time -------------------------------------------------------------------------


def test_context_kind_applies_to_a_precompiled_module():
    module = ampc.load_module(
        ampc.compile_source('%%[ IF 1 == 2 THEN set @r = ExecuteFilter("F") ENDIF ]%%ok', "x.amp"), "x.amp"
    )
    assert module.render(Context()) == "ok"
    assert module.render(Context(kind="page")) == "ok"
    with pytest.raises(ScriptError) as raised:
        module.render(Context(kind="Email"))
    assert (raised.value.filename, raised.value.line, raised.value.column) == ("x.amp", 1, 29)
    assert "use LookupRows() in an email" in raised.value.format()


def test_context_kind_applies_to_content_rendered_at_run_time():
    source = """%%=TreatAsContent(Concat("%%[ IF 1 == 2 THEN UpsertDE('D', 1, 'k', 1) ENDIF ]%%", "x"))=%%"""
    assert ampc.render(source, context=Context(kind="email")) == "x"
    with pytest.raises(ScriptError, match=r"UpsertDE\(\) is not valid in SMS message content"):
        ampc.render(source, context=Context(kind="sms"))


def test_unknown_context_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown context kind 'mail'; expected one of: email, page, sms"):
        Context(kind="mail")


@pytest.mark.parametrize(
    "source, message, hint",
    [
        ("a %%httpget foo%%", "malformed content syndication string: the URL must be in double quotes",
         'write %%httpget "https://..."%%'),
        ("a %%before; httpget%%", "malformed content syndication string",
         'write %%httpget "https://..."%% or %%before; httpget "https://..."%%'),
        ("a {{.data}}x", "'{{.data}}' is never closed", "close it with {{/data}}"),
        ("a {{.slot x", "malformed Content Builder layout tag",
         "write {{.slot name}}...{{/slot}} or {{.block name type}}...{{/block}}"),
    ],
)
def test_malformed_markup_is_a_located_error(source, message, hint):
    with pytest.raises(ampc.CompileError) as raised:
        ampc.compile_source(source, "m.amp")
    error = raised.value
    assert (error.line, error.column, error.message, error.hint) == (1, 3, message, hint)


@pytest.mark.parametrize("sample", sorted((ROOT / "samples").glob("*/*.amp")), ids=lambda path: path.name)
def test_the_samples_check_clean(sample):
    names = None
    if (sample.parent / "subscriber.json").is_file():
        names = set(json.loads((sample.parent / "subscriber.json").read_text(encoding="utf-8")))
    assert [d.format() for d in check_source(sample.read_text(encoding="utf-8"), sample.name, subscriber_names=names)] == []


def test_an_error_at_the_start_of_a_block_is_one_error():
    """Recovery blanks the broken statement, not one character at a time."""
    found = check_source("%%[ <!-- set @a = 1 ]%%\n%%[ set @b = 1 $ set @c = 2 ]%%", "t.amp")
    assert [(d.code, d.line, d.column, d.message) for d in found if d.severity == "error"] == [
        ("AMP001", 1, 5, "unterminated HTML comment"),
        ("AMP001", 2, 16, "unexpected character '$'"),
    ]


def test_a_line_comment_ends_at_the_closer_of_its_block():
    assert ampc.render('%%=v("a") // note =%%|%%[ set @b = "b" // note ]%%%%=v(@b)=%%') == "a|b"
