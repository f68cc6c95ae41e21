"""Content blocks and TreatAsContent: scope sharing, the depth limit, error locations,
caching, an ampscript-core-style workspace, and a runtime that stays compiler-free."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ampc
import ampc.compiler
from ampscript import AMPscriptError, Context
from ampscript.functions import content as content_functions
from ampscript.limits import Limits

ROOT = Path(__file__).parents[1]
CORE_STYLE = Path(__file__).parent / "workspaces" / "ampscript_core_style"


@pytest.fixture
def workspace(tmp_path):
    """A workspace with a Content/ folder; write(name, text) adds a content file."""
    (tmp_path / "Content").mkdir()

    def write(name: str, text: str) -> Path:
        path = tmp_path / "Content" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    write.root = tmp_path
    return write


@pytest.fixture
def compile_calls(monkeypatch):
    """Counts the run-time compiles (the compiler is looked up through the entry point)."""
    content_functions._fragments.clear()
    calls: list[str] = []
    real = ampc.compiler.compile_module

    def counting(source, filename="<ampscript>", **options):
        calls.append(filename)
        return real(source, filename, **options)

    monkeypatch.setattr("ampc.fragments.compile_module", counting)
    yield calls
    content_functions._fragments.clear()


def render(source: str, root: Path, **options) -> str:
    return ampc.render(source, filename="email.amp", context=Context(workspace=root, **options))


# ---- variables ------------------------------------------------------------------------


def test_content_sees_and_sets_the_including_scripts_variables(workspace):
    workspace("Offer.amp", '%%[ set @seen = Concat(@seen, @name, ";") set @fromBlock = "set inside" ]%%')
    source = (
        '%%[ set @name = "Ana" ]%%%%=ContentBlockByName("Offer")=%%'
        '%%[ set @name = "Ben" ]%%%%=ContentBlockByKey("offer")=%%'
        "%%=v(@seen)=%% %%=v(@fromBlock)=%%"
    )
    assert render(source, workspace.root) == "Ana;Ben; set inside"


def test_treat_as_content_shares_variables_both_ways(workspace):
    source = '%%[ set @a = 2 set @code = "%%[ set @b = Multiply(@a, 10) ]%%" ]%%%%=TreatAsContent(@code)=%%%%=v(@b)=%%'
    assert render(source, workspace.root) == "20"


def test_each_top_level_render_starts_with_fresh_variables(workspace):
    workspace("Count.amp", "%%[ if Empty(@n) then set @n = 0 endif set @n = Add(@n, 1) ]%%%%=v(@n)=%%")
    module = ampc.compiler.load_module(
        ampc.compile_source('%%=ContentBlockByName("Count")=%%', "e.amp"), "e.amp"
    )
    context = Context(workspace=workspace.root)
    assert module.render(context) == "1"
    assert module.render(context) == "1"


# ---- depth limit ----------------------------------------------------------------------


def test_mutual_recursion_stops_with_a_clear_error(workspace):
    workspace("Ping.amp", '%%=ContentBlockByName("Pong")=%%')
    workspace("Pong.amp", '%%=ContentBlockByName("Ping")=%%')
    with pytest.raises(AMPscriptError) as raised:
        render('%%=ContentBlockByName("Ping")=%%', workspace.root)
    message = str(raised.value)
    assert f"content is nested more than {Limits().include_depth} levels deep" in message
    assert (
        "Content/Ping.amp <- Content/Pong.amp" in message or "Content/Pong.amp <- Content/Ping.amp" in message
    )
    assert "includes itself" in message


def test_nesting_up_to_the_limit_works(workspace):
    depth = Limits().include_depth
    for level in range(1, depth):
        workspace(f"L{level}.amp", f'{level}>%%=ContentBlockByName("L{level + 1}")=%%')
    workspace(f"L{depth}.amp", "bottom")
    expected = "".join(f"{level}>" for level in range(1, depth)) + "bottom"
    assert render('%%=ContentBlockByName("L1")=%%', workspace.root) == expected


# ---- error locations -------------------------------------------------------------------


def test_syntax_error_in_content_points_into_the_content_file(workspace):
    workspace("Emails/Footer.amp", 'line one\nline two\n%%[ set @x = Concatt("a") ]%%\n')
    with pytest.raises(AMPscriptError) as raised:
        render('Hi\n%%=ContentBlockByName("Emails\\Footer")=%%', workspace.root)
    assert str(raised.value).splitlines()[:3] == [
        "Content/Emails/Footer.amp:3:14: error: unknown function 'Concatt'",
        ' 3 | %%[ set @x = Concatt("a") ]%%',
        "   |              ^",
    ]


def test_runtime_error_in_content_points_into_the_content_file(workspace):
    workspace("Totals.amp", "Total:\n  %%=Divide(10, @count)=%%")
    with pytest.raises(AMPscriptError) as raised:
        render('%%[ set @count = "none" ]%%\n%%=ContentBlockByKey("Totals")=%%', workspace.root)
    error = raised.value
    assert (error.filename, error.line, error.column) == ("Content/Totals.amp", 2, 3)
    assert str(error).splitlines()[1:] == [
        " 2 |   %%=Divide(10, @count)=%%",
        "   |   ^",
        "hint: ContentBlockByKey() included it at email.amp:2:1",
    ]


def test_error_in_nested_content_names_the_innermost_file(workspace):
    workspace("Outer.amp", 'outer\n%%=ContentBlockByName("Inner")=%%')
    workspace("Inner.amp", "%%[\n\n  RaiseError('inner failed')\n]%%")
    with pytest.raises(AMPscriptError) as raised:
        render('%%=ContentBlockByName("Outer")=%%', workspace.root)
    assert str(raised.value).splitlines()[0] == "Content/Inner.amp:3:3: error: inner failed"
    assert "hint: ContentBlockByName() included it at Content/Outer.amp:2:1" in str(raised.value)


def test_missing_block_error_points_at_the_call(workspace):
    with pytest.raises(AMPscriptError) as raised:
        render("x\n  %%=ContentBlockByID(404)=%%", workspace.root)
    assert (
        str(raised.value).splitlines()[0]
        == "email.amp:2:3: error: ContentBlockByID(): no content block has the ID '404'"
    )


def test_ampc_run_reports_an_error_in_content_with_its_file(workspace):
    workspace("Broken.amp", "ok\n%%=Add(1)=%%")
    (workspace.root / "email.amp").write_text('%%=ContentBlockByName("Broken")=%%', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ampc", "run", "email.amp"],
        capture_output=True,
        text=True,
        cwd=workspace.root,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Content/Broken.amp:2:4: error: Add() takes 2 arguments, but 1 was given")


# ---- caching --------------------------------------------------------------------------


def test_repeated_content_is_compiled_once(workspace, compile_calls):
    workspace("Row.amp", "<li>%%=v(@i)=%%</li>")
    source = '%%[ for @i = 1 to 5 do ]%%%%=ContentBlockByName("Row")=%%%%=TreatAsContent("[%%=v(@i)=%%]")=%%%%[ next @i ]%%'
    assert render(source, workspace.root) == "".join(f"<li>{i}</li>[{i}]" for i in range(1, 6))
    render(source, workspace.root)  # a second render, with a new context, reuses them too
    assert sorted(compile_calls) == ["<TreatAsContent>", "Content/Row.amp"]


def test_an_edited_content_file_is_read_again(workspace, compile_calls):
    path = workspace("Note.amp", "%%=Concat('v', 1)=%%")
    assert render('%%=ContentBlockByName("Note")=%%', workspace.root) == "v1"
    path.write_text("%%=Concat('v', 22)=%%", encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert render('%%=ContentBlockByName("Note")=%%', workspace.root) == "v22"
    assert len(compile_calls) == 2


def test_plain_text_content_needs_no_compiler(workspace, compile_calls):
    workspace("Legal.html", "<p>Plain legal text, 100% static.</p>")
    assert (
        render('%%=ContentBlockByName("Legal")=%%', workspace.root) == "<p>Plain legal text, 100% static.</p>"
    )
    assert compile_calls == []


def test_no_installed_compiler_is_a_clear_error(workspace, monkeypatch):
    content_functions._fragments.clear()
    content_functions._compiler.cache_clear()
    monkeypatch.setattr(content_functions, "entry_points", lambda group: [])
    try:
        with pytest.raises(AMPscriptError) as raised:
            render('%%=TreatAsContent("%%=Add(1, 1)=%%")=%%', workspace.root)
        assert "rendering content needs an AMPscript compiler, and none is installed" in str(raised.value)
    finally:
        content_functions._compiler.cache_clear()


# ---- workspace ------------------------------------------------------------------------


def test_index_json_names_keys_and_ids(workspace):
    workspace("blocks/a.html", "A")
    (workspace.root / "Content" / "index.json").write_text(
        json.dumps(
            {
                "blocks": [
                    {"file": "blocks/a.html", "name": "Content Builder/Shared/Alpha", "key": "k-a", "id": 7}
                ]
            }
        )
    )
    source = (
        '%%=ContentBlockByName("Content Builder\\Shared\\Alpha")=%%%%=ContentBlockByKey("K-A")=%%'
        '%%=ContentBlockByID(7)=%%%%=ContentBlockByName("blocks/a", "", false, "-")=%%'
    )
    assert render(source, workspace.root) == "AAA-"


def test_a_bad_index_is_an_error_naming_the_file(workspace):
    (workspace.root / "Content" / "index.json").write_text(json.dumps({"blocks": [{"file": "missing.amp"}]}))
    with pytest.raises(AMPscriptError) as raised:
        render('%%=ContentBlockByKey("x")=%%', workspace.root)
    assert "Content/index.json: no file 'Content/missing.amp'" in str(raised.value)


def test_content_paths_stay_inside_the_workspace(workspace):
    (workspace.root / "Content" / "index.json").write_text(
        json.dumps({"blocks": [{"file": "../../etc/passwd"}]})
    )
    with pytest.raises(AMPscriptError, match="outside the workspace"):
        render('%%=ContentBlockByKey("x")=%%', workspace.root)


def test_ampscript_core_style_workspace_runs_with_ampc_run():
    result = subprocess.run(
        [sys.executable, "-m", "ampc", "run", "Newsletter.ampscript"],
        capture_output=True,
        text=True,
        cwd=CORE_STYLE,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (CORE_STYLE / "Newsletter.expected").read_text(encoding="utf-8")


# ---- the runtime stays compiler-free -------------------------------------------------------


def test_a_module_without_content_imports_no_compiler_module(tmp_path):
    (tmp_path / "plain_email.py").write_text(ampc.compile_source("%%=Concat('a', 'b')=%%", "plain.amp"))
    (tmp_path / "content_email.py").write_text(
        ampc.compile_source('%%=TreatAsContent("%%=Add(1, 2)=%%")=%%', "content.amp")
    )
    program = textwrap.dedent("""
        import sys
        import plain_email
        compiler_modules = {"ampc", "lark", "libcst", "black"}
        def loaded():
            return sorted({name.split(".")[0] for name in sys.modules} & compiler_modules)
        print(plain_email.render(), loaded())
        import content_email
        print(content_email.render(), loaded())
        """)
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == "ab []"
    assert second.startswith("3 [") and "'ampc'" in second  # found through the entry point when needed
