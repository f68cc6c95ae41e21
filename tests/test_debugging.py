"""Debugging in .amp lines: the import hook (ampc.importer), pdb and ``ampc debug``, and tracebacks without runtime frames."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import ampc
import pytest
from ampc import importer
from ampc.script_lines import executable_lines
from ampc.errors import CompileError

GREETING = textwrap.dedent("""\
    %%[
    set @name = [FirstName]
    if Empty(@name) then
      set @name = "there"
    endif
    ]%%
    <p>Hello, %%=v(@name)=%%!</p>
""")

BROKEN = textwrap.dedent("""\
    %%[
    set @a = "x"
    set @b = Concat(@a, Lookup("Missing", "Name", "Id", 1))
    ]%%
    Hello %%=v(@b)=%%
""")


@pytest.fixture
def scripts(tmp_path, monkeypatch):
    """A folder on sys.path with the hook installed; modules imported from it are forgotten afterwards."""
    (tmp_path / "greeting.amp").write_text(GREETING, encoding="utf-8")
    (tmp_path / "subscriber.json").write_text('{"FirstName": "Ana"}', encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    ampc.install()
    yield tmp_path
    importer.uninstall()
    for name in ("greeting", "other", "bad"):  # only the scripts: the runtime's lazily loaded modules stay
        sys.modules.pop(name, None)


def _import_fresh(name: str):
    sys.modules.pop(name, None)
    return __import__(name)


# ---- the import hook -----------------------------------------------------------------------


def test_import_loads_the_amp_file_with_its_own_lines(scripts):
    greeting = _import_fresh("greeting")
    assert greeting.__file__ == str(scripts / "greeting.amp")
    assert greeting.render.__code__.co_filename == str(scripts / "greeting.amp")
    # Its folder is the workspace: subscriber.json beside it gives FirstName.
    assert greeting.render() == "\n<p>Hello, Ana!</p>\n"
    assert executable_lines(GREETING, greeting.__file__) == {2, 3, 4, 7}


def test_the_compiled_code_is_cached_and_reused(scripts, monkeypatch):
    _import_fresh("greeting")
    cache = importer.cache_path(str(scripts / "greeting.amp"))
    assert cache.is_file() and cache.name == f"greeting.amp.{sys.implementation.cache_tag}.ampc.pyc"

    def no_compiling(*arguments, **options):
        raise AssertionError("compiled again although the cache is valid")

    monkeypatch.setattr("ampc.compiler.compile_code", no_compiling)
    assert _import_fresh("greeting").render() == "\n<p>Hello, Ana!</p>\n"


def test_a_changed_script_is_compiled_again(scripts):
    _import_fresh("greeting")
    (scripts / "greeting.amp").write_text(GREETING.replace("Hello", "Hi"), encoding="utf-8")
    assert _import_fresh("greeting").render() == "\n<p>Hi, Ana!</p>\n"


def test_a_damaged_cache_is_replaced(scripts):
    _import_fresh("greeting")
    cache = importer.cache_path(str(scripts / "greeting.amp"))
    data = cache.read_bytes()
    cache.write_bytes(data[: len(data) // 2])
    assert _import_fresh("greeting").render() == "\n<p>Hello, Ana!</p>\n"
    assert cache.read_bytes() == data


def test_no_cache_is_written_under_dont_write_bytecode(scripts, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert _import_fresh("greeting").render() == "\n<p>Hello, Ana!</p>\n"
    assert not importer.cache_path(str(scripts / "greeting.amp")).exists()


def test_a_python_module_of_the_same_name_wins(scripts):
    (scripts / "greeting.py").write_text("render = lambda: 'the Python module'\n", encoding="utf-8")
    assert _import_fresh("greeting").render() == "the Python module"


def test_an_ampscript_suffix_is_found_too(scripts):
    (scripts / "other.ampscript").write_text("<b>%%=Uppercase('x')=%%</b>", encoding="utf-8")
    assert _import_fresh("other").render() == "<b>X</b>"


def test_a_script_that_does_not_compile_raises_its_compile_error(scripts):
    (scripts / "bad.amp").write_text("%%[ set @a = ]%%", encoding="utf-8")
    with pytest.raises(CompileError) as raised:
        _import_fresh("bad")
    assert f"{scripts / 'bad.amp'}:1:" in str(raised.value)
    # The script's mistake, not ampc's: no frames of the compiler under the import.
    files = [entry.filename for entry in traceback.extract_tb(raised.value.__traceback__)]
    assert not any(file.endswith(("compiler.py", "parser.py", "codegen.py")) for file in files)


def test_install_is_idempotent_and_uninstall_removes_the_finder(scripts):
    finder = ampc.install()
    assert ampc.install() is finder
    assert sum(isinstance(f, importer.AmpscriptFinder) for f in sys.meta_path) == 1
    importer.uninstall()
    assert not any(isinstance(f, importer.AmpscriptFinder) for f in sys.meta_path)
    with pytest.raises(ModuleNotFoundError):
        _import_fresh("greeting")


# ---- pdb and ampc debug --------------------------------------------------------------------


def _python(arguments: list[str], cwd: Path, stdin: str = "", **environment: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **environment}
    env.pop("AMPC_DEBUG", None) if "AMPC_DEBUG" not in environment else None
    return subprocess.run(
        [sys.executable, *arguments], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120, env=env
    )


def test_pdb_stops_at_a_breakpoint_on_an_amp_line(tmp_path):
    (tmp_path / "greeting.amp").write_text(GREETING, encoding="utf-8")
    (tmp_path / "subscriber.json").write_text('{"FirstName": "Ana"}', encoding="utf-8")
    (tmp_path / "drive.py").write_text("import ampc.importer\nimport greeting\nprint(greeting.render())\n")
    result = _python(["-m", "pdb", "drive.py"], tmp_path, "break greeting.amp:3\ncontinue\np var\ncontinue\n")
    assert f"Breakpoint 1 at {tmp_path / 'greeting.amp'}:3" in result.stdout
    assert f"{tmp_path / 'greeting.amp'}(3)render()\n-> if Empty(@name) then" in result.stdout
    assert "'@name': 'Ana'" in result.stdout
    assert "<p>Hello, Ana!</p>" in result.stdout


def test_ampc_debug_stops_at_the_first_line_and_steps_through_statements(tmp_path):
    (tmp_path / "greeting.amp").write_text(GREETING, encoding="utf-8")
    (tmp_path / "subscriber.json").write_text('{"FirstName": "Ana"}', encoding="utf-8")
    result = _python(["-m", "ampc.cli", "debug", "greeting.amp"], tmp_path, "next\nnext\np var\ncontinue\n")
    assert result.returncode == 0, result.stderr
    assert "ampc debug: stopped at the start of greeting.amp" in result.stderr
    assert "greeting.amp(2)render()\n-> set @name = [FirstName]" in result.stdout
    assert "greeting.amp(3)render()\n-> if Empty(@name) then" in result.stdout
    assert "ampscript/" not in result.stdout  # never stops in the runtime
    assert result.stdout.rstrip().endswith("<p>Hello, Ana!</p>")


def test_ampc_debug_breakpoints_move_to_the_next_statement(tmp_path):
    (tmp_path / "greeting.amp").write_text(GREETING, encoding="utf-8")
    (tmp_path / "subscriber.json").write_text('{"FirstName": ""}', encoding="utf-8")
    result = _python(["-m", "ampc.cli", "debug", "greeting.amp", "-b", "1", "-b", "5"], tmp_path, "p var\nc\np var\nc\n")
    # Line 1 holds only ampc's set-up: the breakpoint goes to the first statement.
    assert "line 1 has no AMPscript statement of its own; the breakpoint is on line 2" in result.stdout + result.stderr
    # Line 5 is `endif`: the next statement is the output on line 7.
    assert "line 5 has no AMPscript statement of its own; the breakpoint is on line 7" in result.stdout + result.stderr
    assert "greeting.amp(7)render()" in result.stdout
    assert "'@name': 'there'" in result.stdout
    assert "<p>Hello, there!</p>" in result.stdout


def test_quitting_ampc_debug_exits_1_without_output(tmp_path):
    (tmp_path / "greeting.amp").write_text(GREETING, encoding="utf-8")
    result = _python(["-m", "ampc.cli", "debug", "greeting.amp"], tmp_path, "quit\n")
    assert result.returncode == 1
    assert "Hello" not in result.stdout
    assert "Traceback" not in result.stderr


# ---- tracebacks ----------------------------------------------------------------------------


def _traceback_of(tmp_path: Path, script: str, **environment: str) -> str:
    (tmp_path / "broken.amp").write_text(script, encoding="utf-8")
    (tmp_path / "drive.py").write_text("import ampc.importer\nimport broken\nbroken.render()\n")
    result = _python(["drive.py"], tmp_path, **environment)
    assert result.returncode == 1
    return result.stderr


def test_a_traceback_shows_the_amp_line_and_no_runtime_frames(tmp_path):
    shown = _traceback_of(tmp_path, BROKEN)
    assert f'File "{tmp_path / "broken.amp"}", line 3, in render' in shown
    assert 'set @b = Concat(@a, Lookup("Missing", "Name", "Id", 1))' in shown
    assert "ampscript/" not in shown and "wrapper of" not in shown
    assert shown.count("data extension 'Missing' does not exist") == 1


def test_the_caret_points_at_the_failing_call_on_non_ascii_lines_too(tmp_path):
    script = '%%[\nset @b = Concat("héllo wörld", Lookup("Missing", "Name", "Id", 1))\n]%%'
    shown = _traceback_of(tmp_path, script)
    line = '    set @b = Concat("héllo wörld", Lookup("Missing", "Name", "Id", 1))'
    carets = " " * line.index("Lookup") + "^" * len('Lookup("Missing", "Name", "Id", 1)')
    assert f"{line}\n{carets}\n" in shown
    # The error itself names the statement, whichever emitter compiled the script.
    assert "broken.amp:2:1: error: data extension 'Missing' does not exist" in shown


def test_ampc_debug_environment_shows_the_runtime_frames(tmp_path):
    shown = _traceback_of(tmp_path, BROKEN, AMPC_DEBUG="1")
    assert "data_extensions.py" in shown


def test_an_included_content_block_appears_in_the_traceback(tmp_path):
    (tmp_path / "Content").mkdir()
    (tmp_path / "Content" / "Footer.amp").write_text('%%[\nset @x = Lookup("Missing", "A", "B", 1)\n]%%')
    shown = _traceback_of(tmp_path, 'before\n%%=ContentBlockByName("Footer")=%%\nafter')
    assert f'File "{tmp_path / "broken.amp"}", line 2, in render' in shown
    # The block's frame names its file in full (as the debugger and coverage need it), from any folder.
    assert f'File "{tmp_path / "Content" / "Footer.amp"}", line 2, in render' in shown
    assert 'set @x = Lookup("Missing", "A", "B", 1)' in shown
    assert "ampscript/" not in shown and "fragments.py" not in shown


def test_a_bug_in_the_runtime_is_noted_as_hidden(tmp_path, monkeypatch):
    from ampscript.values import to_text

    class Exploding:
        def __str__(self):
            raise ZeroDivisionError("a bug")

    script = tmp_path / "upper.amp"
    script.write_text('%%[ set @v = "x" ]%%%%=Uppercase(@v)=%%', encoding="utf-8")
    module = ampc.compile_module(script.read_text(), str(script))
    # A stand-in for a runtime function with a bug: the error comes from inside the runtime (to_text).
    monkeypatch.setitem(module.__dict__, "Uppercase", lambda value: to_text(Exploding()))
    monkeypatch.delenv("AMPC_DEBUG", raising=False)
    with pytest.raises(ZeroDivisionError) as raised:
        module.render()
    assert any("AMPC_DEBUG=1" in note for note in raised.value.__notes__)
    files = [entry.filename for entry in traceback.extract_tb(raised.value.__traceback__)]
    assert str(script) in files
    assert not any(file.endswith("text.py") for file in files)


def test_profilers_name_the_amp_file(scripts):
    import cProfile
    import pstats

    greeting = _import_fresh("greeting")
    profiler = cProfile.Profile()
    profiler.runcall(greeting.render)
    functions = pstats.Stats(profiler).stats  # {(file, first line, name): ...}
    assert (str(scripts / "greeting.amp"), 1, "render") in functions
