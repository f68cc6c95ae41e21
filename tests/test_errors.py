"""Bad input gives one clear, located error: FILE:LINE:COL, the message, the line, a caret, a hint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import ampc
from ampc import cli
from ampscript import ScriptError
from ampscript.registry import lookup

# A function Salesforce documents but the runtime does not implement (checked below).
# The catalog's one name that no AMPscript function has: server-side JavaScript's.
UNSUPPORTED = "GetValue"


def compile_error(source: str, filename: str = "bad.amp") -> ampc.CompileError:
    with pytest.raises(ampc.CompileError) as raised:
        ampc.compile_source(source, filename)
    return raised.value


def diagnostic(where: str, message: str, line_text: str, caret_column: int, hint: str | None = None) -> str:
    line_number = where.split(":")[1]
    lines = [
        f"{where}: error: {message}",
        f" {line_number} | {line_text}",
        f" {' ' * len(line_number)} | {' ' * (caret_column - 1)}^",
    ]
    if hint:
        lines.append(f"hint: {hint}")
    return "\n".join(lines)


CASES = {
    "unterminated string": (
        'Hi\n%%[ set @a = "abc ]%%',
        diagnostic(
            "bad.amp:2:14",
            "unterminated string literal",
            '%%[ set @a = "abc ]%%',
            14,
            'close the string with "; to put " inside it, double it ("")',
        ),
    ),
    "unterminated single-quoted string": (
        "%%= v('abc) =%%",
        diagnostic(
            "bad.amp:1:7",
            "unterminated string literal",
            "%%= v('abc) =%%",
            7,
            "close the string with '; to put ' inside it, double it ('')",
        ),
    ),
    "unterminated block": (
        "hello\n%%[ set @a = 1\nset @b = 2\n",
        diagnostic("bad.amp:2:1", "code block opened here is never closed", "%%[ set @a = 1", 1, "close it with ]%%"),
    ),
    "unterminated inline expression": (
        "<p>\n  Hi %%=v(@name)\n",
        diagnostic(
            "bad.amp:2:6", "inline expression opened here is never closed", "  Hi %%=v(@name)", 6, "close it with =%%"
        ),
    ),
    "unterminated server script": (
        '<script runat="server" language="ampscript">\nset @a = 1',
        diagnostic(
            "bad.amp:1:1",
            "server script opened here is never closed",
            '<script runat="server" language="ampscript">',
            1,
            "close it with </script>",
        ),
    ),
    "unterminated comment": (
        "%%[ set @a = 1 /* never closed ]%%",
        diagnostic(
            "bad.amp:1:16", "unterminated comment", "%%[ set @a = 1 /* never closed ]%%", 16, "close the comment with */"
        ),
    ),
    "unterminated if across blocks": (
        "%%[ set @a = 1 ]%%\n%%[   if @a == 1 then ]%%\nshown\n%%[ set @b = 2 ]%%\n",
        diagnostic("bad.amp:2:7", "'if' opened here is never closed", "%%[   if @a == 1 then ]%%", 7, "add 'endif'"),
    ),
    "unterminated for": (
        "%%[ for @i = 1 to 3 do ]%%x",
        diagnostic("bad.amp:1:5", "'for' loop opened here is never closed", "%%[ for @i = 1 to 3 do ]%%x", 5, "add 'next'"),
    ),
    "next without for": (
        "%%[\n  next\n]%%",
        diagnostic("bad.amp:2:3", "'next' without a matching 'for'", "  next", 3),
    ),
    "endif without if": (
        "text\n%%[ endif ]%%",
        diagnostic("bad.amp:2:5", "'endif' without a matching 'if'", "%%[ endif ]%%", 5),
    ),
    "else without if": (
        "%%[ else ]%%",
        diagnostic("bad.amp:1:5", "'else' without a matching 'if'", "%%[ else ]%%", 5),
    ),
    "elseif after else": (
        "%%[ if true then ]%%a%%[ else ]%%b\n%%[ elseif false then ]%%c%%[ endif ]%%",
        diagnostic(
            "bad.amp:2:5",
            "'elseif' after 'else'",
            "%%[ elseif false then ]%%c%%[ endif ]%%",
            5,
            "move the elseif before the else",
        ),
    ),
    "second else": (
        "%%[ if true then else else endif ]%%",
        diagnostic("bad.amp:1:23", "a second 'else' for the same 'if'", "%%[ if true then else else endif ]%%", 23),
    ),
    "mismatched next": (
        "%%[ for @i = 1 to 2 do ]%%x\n%%[ next @j ]%%",
        diagnostic(
            "bad.amp:2:5",
            "'next @j' does not match 'for @i' at line 1",
            "%%[ next @j ]%%",
            5,
            "write 'next @i' or just 'next'",
        ),
    ),
    "next inside open if": (
        "%%[ for @i = 1 to 2 do\nif true then\nnext\nendif ]%%",
        None,  # checked separately: several problems
    ),
    "unknown function": (
        '%%[ set @x = Concatt("a", "b") ]%%',
        diagnostic(
            "bad.amp:1:14",
            "unknown function 'Concatt'",
            '%%[ set @x = Concatt("a", "b") ]%%',
            14,
            "did you mean Concat()?",
        ),
    ),
    "unknown function without a close name": (
        "%%= Zzyzx(1) =%%",
        diagnostic("bad.amp:1:5", "unknown function 'Zzyzx'", "%%= Zzyzx(1) =%%", 5),
    ),
    "server-side JavaScript function": (
        f'%%[ set @x = {UNSUPPORTED.lower()}("a") ]%%',
        diagnostic(
            "bad.amp:1:14",
            "GetValue() is server-side JavaScript's Platform.Variable.GetValue, not an AMPscript function",
            f'%%[ set @x = {UNSUPPORTED.lower()}("a") ]%%',
            14,
            "in AMPscript, read the variable itself: @name",
        ),
    ),
    "literal as out-parameter": (
        '%%[ set @rr = CreateObject("RetrieveRequest")\nset @rows = InvokeRetrieve(@rr, "status") ]%%',
        diagnostic(
            "bad.amp:2:33",
            "argument 2 of InvokeRetrieve() receives a result, so it must be a variable, not a value",
            'set @rows = InvokeRetrieve(@rr, "status") ]%%',
            33,
            "pass a variable such as @result2",
        ),
    ),
    "= instead of == in if": (
        "%%[ if @a = 1 then ]%%x%%[ endif ]%%",
        diagnostic(
            "bad.amp:1:11",
            "'=' assigns; use '==' to compare",
            "%%[ if @a = 1 then ]%%x%%[ endif ]%%",
            11,
            "write: if @a == 1 then",
        ),
    ),
    "= instead of == in elseif after a literal": (
        "%%[ if 1 == 2 then elseif 1 = @a then endif ]%%",
        diagnostic(
            "bad.amp:1:29",
            "'=' assigns; use '==' to compare",
            "%%[ if 1 == 2 then elseif 1 = @a then endif ]%%",
            29,
            "write: if @a == 1 then",
        ),
    ),
    "missing then": (
        "%%[ if @a == 1 ]%%x%%[ endif ]%%",
        diagnostic(
            "bad.amp:1:16",
            "expected 'then' after the condition, found ']%%'",
            "%%[ if @a == 1 ]%%x%%[ endif ]%%",
            16,
            "write: if <condition> then",
        ),
    ),
    "missing then before a statement": (
        "%%[ if @a == 1\n  set @b = 2 endif ]%%",
        diagnostic(
            "bad.amp:2:3",
            "expected 'then' after the condition, found 'set'",
            "  set @b = 2 endif ]%%",
            3,
            "write: if <condition> then",
        ),
    ),
    "missing do": (
        "%%[ for @i = 1 to 3 ]%%x%%[ next ]%%",
        diagnostic(
            "bad.amp:1:21",
            "expected 'do' after the loop bounds, found ']%%'",
            "%%[ for @i = 1 to 3 ]%%x%%[ next ]%%",
            21,
            "write: for @i = 1 to 10 do",
        ),
    ),
    "Output inside another call": (
        '%%[ set @x = Concat(Output(Concat("a"))) ]%%',
        diagnostic(
            "bad.amp:1:21",
            "Output() cannot be used inside another function call; Marketing Cloud aborts the page",
            '%%[ set @x = Concat(Output(Concat("a"))) ]%%',
            21,
            "call Output() on its own, or pass the value: Concat(v(...))",
        ),
    ),
    "IsCHTMLBrowser of a call written straight in": (
        '%%= IsCHTMLBrowser(HTTPRequestHeader("user-agent")) =%%',
        diagnostic(
            "bad.amp:1:20",
            "IsCHTMLBrowser() cannot take a function call as its argument; Marketing Cloud aborts the page",
            '%%= IsCHTMLBrowser(HTTPRequestHeader("user-agent")) =%%',
            20,
            "set the value into a variable first: set @value = HTTPRequestHeader(...)",
        ),
    ),
    "var declared again inside an if": (
        "%%[ var @x if 1 == 1 then var @x endif ]%%",
        diagnostic(
            "bad.amp:1:31",
            "variable @x is declared again inside an 'if' (it is already declared at line 1); "
            "Marketing Cloud refuses the page",
            "%%[ var @x if 1 == 1 then var @x endif ]%%",
            31,
            "AMPscript has no block scope: declare every variable once, before the 'if'",
        ),
    ),
    "missing value": (
        "%%[ set @a = ]%%",
        diagnostic("bad.amp:1:14", "expected a value before ']%%'", "%%[ set @a = ]%%", 14),
    ),
    "lone @": (
        "%%[ set @a = @ ]%%",
        diagnostic("bad.amp:1:14", "'@' must be followed by a variable name", "%%[ set @a = @ ]%%", 14),
    ),
    "unexpected character": (
        "%%[ set @a = 1 $ ]%%",
        diagnostic("bad.amp:1:16", "unexpected character '$'", "%%[ set @a = 1 $ ]%%", 16),
    ),
    "SSJS": (
        "<p>\n<script runat=server>Platform.Load('core','1')</script>",
        diagnostic(
            "bad.amp:2:1",
            "server-side script in language 'javascript (the default)' is not supported; ampc compiles AMPscript only",
            "<script runat=server>Platform.Load('core','1')</script>",
            1,
            'for AMPscript use <script runat="server" language="ampscript">; server-side JavaScript (SSJS) cannot be compiled',
        ),
    ),
}


@pytest.mark.parametrize("name", [name for name, (_, expected) in CASES.items() if expected is not None])
def test_error_is_reported_exactly(name):
    source, expected = CASES[name]
    error = compile_error(source)
    assert str(error) == expected
    assert error.problems == [error]


def test_a_documented_function_ampc_lacks_says_so(monkeypatch):
    """Every catalog function is implemented today; one added to the catalog later gets AMP011."""
    from ampc import calls

    catalog = dict(calls._catalog())
    catalog["newfunction"] = ("NewFunction", "Utility")
    monkeypatch.setattr(calls, "_catalog", lambda: catalog)
    error = compile_error('%%[ set @x = newfunction("a") ]%%')
    assert str(error) == diagnostic(
        "bad.amp:1:14",
        "NewFunction() (Utility) is an AMPscript function that ampc does not support yet",
        '%%[ set @x = newfunction("a") ]%%',
        14,
        "run 'ampc functions' to list the supported functions",
    )


def test_unsupported_function_is_documented_but_not_registered(capsys):
    assert lookup(UNSUPPORTED) is None
    assert cli.main(["functions", "--json"]) == 0
    names = {row["name"].lower() for row in json.loads(capsys.readouterr().out)}
    assert "concat" in names and UNSUPPORTED.lower() not in names


def test_error_attributes():
    error = compile_error("a\n\n  %%= Concatt(1) =%%", "dir/page.amp")
    assert (error.filename, error.line, error.column) == ("dir/page.amp", 3, 7)
    assert error.message == "unknown function 'Concatt'"
    assert error.source_line == "  %%= Concatt(1) =%%"
    assert error.hint == "did you mean Concat()?"


def test_several_problems_in_one_file_are_all_reported_in_order():
    source = (
        '%%[ set @a = Concatt(1) ]%%\n%%[ set @c = Concat(Output(Concat("x"))) ]%%\n%%[ next ]%%\n'
        "%%[ set @b = Row(1) ]%%\n%%[ set @d = ]%%"
    )
    error = compile_error(source)
    # Row(1) is no compile error: a wrong argument count fails only when the call runs.
    assert [(p.line, p.column) for p in error.problems] == [(1, 14), (2, 21), (3, 5), (5, 14)]
    text = str(error)
    assert text.count(": error: ") == 4
    assert text.index("Concatt") < text.index("Output()") < text.index("'next'") < text.index("expected a value")


def test_next_inside_open_if_reports_the_if():
    error = compile_error(CASES["next inside open if"][0])
    messages = [p.message for p in error.problems]
    assert "'next' inside the 'if' opened at line 2, which is still open" in messages
    inside = next(p for p in error.problems if p.message.startswith("'next' inside"))
    assert (inside.line, inside.column, inside.hint) == (3, 1, "add 'endif' before 'next'")


def test_crlf_source_line_has_no_carriage_return():
    error = compile_error("a\r\n%%[ set @x = Nope(1) ]%%\r\nb")
    assert str(error).splitlines()[1] == " 2 | %%[ set @x = Nope(1) ]%%"


def test_runtime_error_is_located():
    with pytest.raises(ScriptError) as raised:
        ampc.render("ok\n%%[\n  set @r = Row(@unset, 1)\n]%%", filename="rt.amp")
    assert str(raised.value) == diagnostic(
        "rt.amp:3:3",
        "Row() needs a rowset for argument 'rowset', but the value is empty (null)",
        "  set @r = Row(@unset, 1)",
        3,
    )


def test_runtime_error_in_condition():
    with pytest.raises(ScriptError) as raised:
        ampc.render('%%[ if Add("abc", 1) == 1 then ]%%x%%[ endif ]%%', filename="c.amp")
    assert str(raised.value).startswith("c.amp:1:5: error: invalid number 'abc' for argument 'number1' of Add()")


# ---- the command line ------------------------------------------------------------------------


def ampc_cli(*arguments, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "ampc", *map(str, arguments)], capture_output=True, text=True, cwd=cwd, timeout=60
    )
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    return result


def test_cli_check_reports_every_problem_in_every_file(tmp_path):
    (tmp_path / "one.amp").write_text('%%[ set @a = Concatt(1) ]%%\n%%[ set @b = Row(@a) ]%%\n')
    (tmp_path / "good.amp").write_text("%%[ set @a = 1 ]%%fine")
    (tmp_path / "two.amp").write_text("ok\n%%[ endif ]%%\n")
    (tmp_path / "latin1.amp").write_bytes("café %%=v(1)=%%".encode("latin-1"))
    result = ampc_cli("check", "one.amp", "good.amp", "missing.amp", "two.amp", "latin1.amp", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "one.amp:1:14: error: unknown function 'Concatt'",
        " 1 | %%[ set @a = Concatt(1) ]%%",
        "   |              ^",
        "hint: did you mean Concat()?",
        "one.amp:2:14: error: Row() takes 2 arguments, but 1 was given",
        " 2 | %%[ set @b = Row(@a) ]%%",
        "   |              ^",
        "missing.amp: error: no such file",
        "two.amp:2:5: error: 'endif' without a matching 'if'",
        " 2 | %%[ endif ]%%",
        "   |     ^",
        "latin1.amp: error: not UTF-8 text (byte 3); save the file as UTF-8",
        "checked 5 files: 5 errors, 0 warnings",
    ]


def test_cli_check_of_good_files_exits_0(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.amp").write_text("%%[ set @a = 1 ]%%fine")
    assert in_process(capsys, "check", "good.amp") == (0, "", "checked 1 file: 0 errors, 0 warnings\n")


def test_cli_run_reports_a_runtime_error(tmp_path):
    (tmp_path / "rt.amp").write_text("before\n%%[\nset @r = Row(@unset, 1)\n]%%after")
    result = ampc_cli("run", "rt.amp", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "rt.amp:3:1: error: Row() needs a rowset for argument 'rowset', but the value is empty (null)",
        " 3 | set @r = Row(@unset, 1)",
        "   | ^",
    ]


def in_process(capsys, *arguments) -> tuple[int, str, str]:
    """`ampc ARGUMENTS` run in this process (faster than a subprocess): exit code, stdout, stderr."""
    code = cli.main([str(argument) for argument in arguments])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_cli_run_reports_a_compile_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ce.amp").write_text("%%= v(@a) ")
    code, out, err = in_process(capsys, "run", "ce.amp")
    assert (code, out) == (1, "")
    assert err.startswith("ce.amp:1:1: error: inline expression opened here is never closed\n")


def test_cli_non_utf8_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "latin1.amp").write_bytes("café %%=v(1)=%%".encode("latin-1"))
    expected = "latin1.amp: error: not UTF-8 text (byte 3); save the file as UTF-8\n"
    for command in ("run", "compile"):
        assert in_process(capsys, command, "latin1.amp") == (1, "", expected)
    assert in_process(capsys, "check", "latin1.amp") == (1, "", expected + "checked 1 file: 1 error, 0 warnings\n")
    assert not (tmp_path / "latin1.py").exists()


def test_cli_missing_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for command in ("run", "compile"):
        assert in_process(capsys, command, "missing.amp") == (1, "", "missing.amp: error: no such file\n")
    assert in_process(capsys, "check", "missing.amp") == (
        1, "", "missing.amp: error: no such file\nchecked 1 file: 1 error, 0 warnings\n"
    )


def test_cli_check_continues_after_a_missing_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.amp").write_text("%%[ next ]%%")
    code, _, err = in_process(capsys, "check", "missing.amp", "bad.amp")
    assert code == 1
    assert err.startswith("missing.amp: error: no such file\nbad.amp:1:5: error: 'next' without")


def test_cli_folder_instead_of_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.amp").mkdir()
    # A folder is checked as its scripts (issue 12); one without any is an error.
    assert in_process(capsys, "check", "folder.amp") == (
        1, "", "folder.amp: error: a folder without .amp or .ampscript files\nchecked 0 files: 1 error, 0 warnings\n"
    )
    assert in_process(capsys, "compile", "folder.amp") == (1, "", "folder.amp: error: a folder without .amp or .ampscript files\n")


def test_cli_compiles_and_checks_folders_recursively(tmp_path, monkeypatch, capsys):
    """Issue 12: several files and folders (.amp and .ampscript, recursively), with a summary line."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "emails" / "deep").mkdir(parents=True)
    (tmp_path / "emails" / "a.amp").write_text("%%=Concat('a', 1)=%%")
    (tmp_path / "emails" / "deep" / "b.AMPscript").write_text("b")
    (tmp_path / "emails" / "notes.txt").write_text("not a script")
    (tmp_path / "broken.amp").write_text("%%=Concatt(1)=%%")
    code, out, err = in_process(capsys, "compile", "emails", "broken.amp")
    assert code == 1 and out == ""
    assert err.endswith("compiled 2 of 3 files, 1 failed\n") and "broken.amp:1:4: error: unknown function" in err
    assert (tmp_path / "emails" / "a.py").is_file() and (tmp_path / "emails" / "deep" / "b.py").is_file()
    assert not (tmp_path / "emails" / "notes.py").exists()
    assert in_process(capsys, "check", "emails") == (0, "", "checked 2 files: 0 errors, 0 warnings\n")
    code, _, err = in_process(capsys, "compile", "emails", "-o", "x.py")
    assert code == 2 and "-o/--output takes one AMPscript file" in err


def test_cli_bad_subscriber_json(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.amp").write_text("%%FirstName%%")
    (tmp_path / "sub.json").write_text('{"FirstName": ')
    code, out, err = in_process(capsys, "run", "s.amp", "--subscriber", "sub.json")
    assert (code, out) == (1, "")
    assert err.startswith("sub.json:1:15: error: invalid JSON")
