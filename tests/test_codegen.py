"""The generated Python: valid, black-stable, tied to AMPscript lines, importable, stateless, thread-safe."""

from __future__ import annotations

import ast
import importlib
import json
import re
import sys
import threading
import uuid
from pathlib import Path

import black
import pytest

import ampc
from ampc import cli
from ampc.formatting import format_python
from ampscript import Context, Ref, ScriptError
from ampscript.functions import AddObjectArrayItem, CreateObject, InvokeRetrieve, SetObjectProperty

SAMPLES = Path(__file__).parents[1] / "samples"
MARKER = re.compile(r"^(\s*)# (.+):(\d+):(\d+)$")
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

EVERYTHING = """%%[
/* every construct */
var @a, @b
set @a = Concat("x", 'y', 1, -2, 3.25, true, [First Name], emailaddr)
if not Empty(@a) and (@b == "" or @b != 1) then
  for @i = 1 to 2 do
    if @i < 2 then
      set @b = @i
    elseif @i >= 2 then
      set @b = V(@i)
    else
      Output(Concat("never"))
    endif
  next @i
endif
for @j = 2 downto 1 do next
]%%<p>%%=v(@a)=%%|%%FirstName%%|%%=v(@b)=%%</p>
"""

SOURCES = {
    "everything": EVERYTHING,
    "text only": "just <b>text</b>\n",
    "empty": "",
    "long line": "%%[ set @x = Concat(" + ", ".join(f'"part number {i}"' for i in range(40)) + ") ]%%",
    "deep nesting": "%%[ " + "if true then " * 12 + "set @x = 1 " + "endif " * 12 + "]%%",
    **{f"sample {p.stem}": p.read_text(encoding="utf-8") for p in sorted(SAMPLES.rglob("*.amp"))},
}

SUBSCRIBER = {"FirstName": "Ana", "First Name": "Ana", "EmailAddress": "ana@example.com"}


def with_body(python_source: str) -> list[ast.stmt]:
    tree = ast.parse(python_source)
    [render] = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert render.name == "render"
    with_page = render.body[1]
    assert isinstance(with_page, ast.With)
    return with_page.body


def markers(python_source: str) -> list[tuple[str, int, int]]:
    return [
        (m.group(2), int(m.group(3)), int(m.group(4)))
        for m in map(MARKER.match, python_source.splitlines())
        if m
    ]


# ---- valid and black-stable ---------------------------------------------------------------


@pytest.mark.parametrize("name", list(SOURCES))
def test_generated_code_compiles_and_is_black_stable(name):
    python_source = ampc.compile_source(SOURCES[name], f"{name.replace(' ', '_')}.amp")
    compile(python_source, "generated.py", "exec")
    assert format_python(python_source) == python_source
    assert black.format_str(python_source, mode=black.Mode()) == python_source


def test_generated_code_of_everything_renders():
    output = ampc.render(EVERYTHING, subscriber=SUBSCRIBER)
    # The literal `true` given straight to Concat prints nothing (sfmc.guide #concat-booleans-swallowed).
    assert output == "<p>xy1-23.25Anaana@example.com|Ana|2</p>\n"


# ---- markers ------------------------------------------------------------------------------------


def test_markers_precede_statements_with_the_right_lines():
    python_source = ampc.compile_source(EVERYTHING, "dir/every.amp")
    assert [(line, column) for _, line, column in markers(python_source)] == [
        (3, 1),  # var
        (4, 1),  # set
        (5, 1),  # if
        (6, 3),  # for
        (7, 5),  # if
        (8, 7),  # set
        (9, 5),  # elseif
        (10, 7),  # set
        (12, 7),  # Output (else branch)
        (16, 1),  # for downto
        # Adjacent output is one write, of texts and one value, under the value's marker:
        (17, 7),  # "<p>" %%=v(@a)=%% "|"
        (17, 19),  # %%FirstName%% "|"
        (17, 33),  # %%=v(@b)=%% "</p>\n"
    ]
    assert {name for name, _, _ in markers(python_source)} == {"every.amp"}


def test_every_statement_has_its_marker_on_the_line_above():
    python_source = ampc.compile_source(EVERYTHING, "every.amp")
    lines = python_source.splitlines()
    statements = [
        node
        for top in with_body(python_source)[1:]  # [0] is `var = page.var`
        for node in ast.walk(top)
        if isinstance(node, ast.stmt) and not isinstance(node, ast.Pass)
    ]
    assert len(statements) >= 13  # the output of line 17 is three writes (texts merge with a value)
    for statement in statements:
        above = lines[statement.lineno - 2]
        assert MARKER.match(above), (statement.lineno, lines[statement.lineno - 1], above)


def test_marker_tracks_statements_on_one_line_and_crlf():
    source = "%%[ set @a = 1 set @b = 2 ]%%\r\n%%[\r\n  set @c = 3 ]%%"
    python_source = ampc.compile_source(source, "c.amp")
    assert [(line, column) for _, line, column in markers(python_source)] == [(1, 5), (1, 16), (1, 30), (3, 3)]


# ---- names ---------------------------------------------------------------------------------------


def test_function_calls_use_canonical_names():
    source = '%%[ set @rr = createobject("RetrieveRequest") set @x = cOnCaT(@a, CONCAT(@b), upperCASE(@c)) set @e = EMPTY(@x) ]%%'
    python_source = ampc.compile_source(source)
    called = {
        node.func.id for node in ast.walk(ast.parse(python_source)) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert called == {"CreateObject", "Concat", "Uppercase", "Empty", "check_compiled_from", "run_if_main"}
    imported = next(
        node for node in ast.parse(python_source).body if isinstance(node, ast.ImportFrom) and node.module == "ampscript.functions"
    )
    assert [alias.name for alias in imported.names] == ["Concat", "CreateObject", "Empty", "Uppercase"]
    code = python_source.split("\nAMPSCRIPT_SOURCE = ")[0]  # the code, without its copy of the AMPscript
    for odd in ("cOnCaT", "CONCAT", "createobject", "EMPTY", "upperCASE"):
        assert odd not in code


def test_v_is_its_argument_and_text_functions_of_literals_are_computed_at_compile_time():
    """Issue 11: no call for V(), and Uppercase("item") is "ITEM" in the module; the output is the same."""
    source = '%%[ set @x = Concat(Uppercase("item"), "-", Lowercase("B"), Length("abc")) ]%%%%=v(@x)=%%|%%=V(Trim(" a "))=%%'
    python_source = ampc.compile_source(source)
    assert "var['@x'] = 'ITEM-b3'" in ast.unparse(ast.parse(python_source))
    code = python_source.split("\nAMPSCRIPT_SOURCE = ")[0]  # the code, without its copy of the AMPscript
    assert "V(" not in code and "Uppercase(" not in code
    assert ampc.render(source) == "ITEM-b3|a"
    # Not folded: a call that fails (left to fail when it runs), and arguments that are not literals.
    assert "Length(" in ampc.compile_source('%%[ set @n = Length(@x) ]%%')
    assert ampc.render('%%=v(IIf(1 == 1, "y", "n"))=%%') == "y"


def test_variable_names_are_folded_at_compile_time():
    """One key per variable, whatever its spelling, so access is a plain dict operation (issue 11)."""
    python_source = ampc.compile_source("%%[ set @FirstName = 1 set @firstname = @FIRSTNAME ]%%%%=v(@firstNAME)=%%")
    keys = {node.slice.value for node in ast.walk(ast.parse(python_source)) if isinstance(node, ast.Subscript)}
    assert keys == {"@firstname"}


def test_decimal_import_only_when_needed():
    assert "from decimal import Decimal" not in ampc.compile_source("%%=v(1)=%%")
    python_source = ampc.compile_source("%%=v(0.10)=%%")
    assert "from decimal import Decimal" in python_source and 'Decimal("0.10")' in python_source


# ---- out-parameters -----------------------------------------------------------------------------

RETRIEVE = """%%[
set @rr = CreateObject("RetrieveRequest")
SetObjectProperty(@rr, "ObjectType", "QueryDefinition")
AddObjectArrayItem(@rr, "Properties", "Name")
set @rows = InvokeRetrieve(@rr, @Status, @requestId)
]%%%%=v(@status)=%%|%%=v(@REQUESTID)=%%|%%=RowCount(@rows)=%%|%%=Field(Row(@rows, 1), "name")=%%"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "QueryDefinition.json").write_text(
        json.dumps([{"CustomerKey": "k1", "Name": "First query"}, {"CustomerKey": "k2", "Name": "Second"}])
    )
    (tmp_path / "subscriber.json").write_text(json.dumps({"FirstName": "Workspace Ana"}))
    return tmp_path


def test_out_parameters_are_passed_as_variable_refs(workspace):
    python_source = ampc.compile_source(RETRIEVE, "r.amp")
    [call] = [
        node
        for node in ast.walk(ast.parse(python_source))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "InvokeRetrieve"
    ]
    assert ast.unparse(call) == "InvokeRetrieve(var['@rr'], var.ref('@status'), var.ref('@requestid'))"
    output = ampc.render(RETRIEVE, workspace=workspace)
    status, request_id, count, name = output.split("|")
    assert (status, count, name) == ("OK", "2", "First query")
    assert GUID.fullmatch(request_id)


def test_out_parameter_works_without_var_declaration_and_in_nested_call(workspace):
    source = RETRIEVE.replace("set @rows = InvokeRetrieve(@rr, @Status, @requestId)", "set @rows = InvokeRetrieve(@rr, @Status)")
    output = ampc.render(source, workspace=workspace)
    assert output.startswith("OK||2|")


def test_python_callers_pass_a_plain_ref(workspace, monkeypatch):
    monkeypatch.chdir(workspace)  # outside a render the workspace is the current folder
    request = CreateObject("RetrieveRequest")
    SetObjectProperty(request, "ObjectType", "QueryDefinition")
    AddObjectArrayItem(request, "Properties", "Name")
    status, request_id = Ref(), Ref("old")
    rows = InvokeRetrieve(request, status, request_id)
    assert status.value == "OK"
    assert GUID.fullmatch(request_id.value)
    assert [row["Name"] for row in rows] == ["First query", "Second"]
    assert repr(status) == "Ref('OK')"
    assert len(InvokeRetrieve(request)) == 2  # out-parameters are optional


def test_variable_ref_reads_and_writes_the_variable():
    from ampscript import Variables

    variables = Variables()
    cell = variables.ref("@Status")
    cell.value = "OK"
    assert variables["@status"] == "OK" and cell.value == "OK"
    variables.set("@STATUS", "changed")
    assert cell.value == "changed"
    assert isinstance(cell, Ref)


# ---- modules on disk -------------------------------------------------------------------------------


def compile_to_disk(source: str, folder: Path, monkeypatch) -> object:
    name = f"amp_{uuid.uuid4().hex[:10]}"
    script = folder / f"{name}.amp"
    script.write_text(source, encoding="utf-8")
    assert cli.main(["compile", str(script)]) == 0
    assert (folder / f"{name}.py").is_file()
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    module = importlib.import_module(name)
    monkeypatch.delitem(sys.modules, name)
    return module


def test_compiled_module_on_disk_is_importable_and_renders(workspace, tmp_path_factory, monkeypatch):
    source = "Hi %%FirstName%%! %%[ set @rows = 0 ]%%" + RETRIEVE
    module = compile_to_disk(source, workspace, monkeypatch)

    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    output = module.render()  # default workspace: the .amp file's folder, wherever Python runs (issue 12)
    assert output.startswith("Hi Workspace Ana! OK|") and output.endswith("|2|First query")

    other = tmp_path_factory.mktemp("other")
    (other / "objects").mkdir()
    (other / "objects" / "QueryDefinition.json").write_text(json.dumps([{"Name": "Only"}]))
    output = module.render(Context(workspace=other, subscriber={"firstname": "Bo"}))
    assert output.startswith("Hi Bo! OK|") and output.endswith("|1|Only")


def test_a_module_compiled_from_a_relative_path_finds_its_amp_beside_it(workspace, tmp_path_factory, monkeypatch):
    """Issue 12: the default workspace is the .amp's folder, also when the name it was compiled from is relative."""
    (workspace / "hi.amp").write_text("Hi %%FirstName%%!", encoding="utf-8")
    monkeypatch.chdir(workspace)
    assert cli.main(["compile", "hi.amp"]) == 0
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))  # "hi.amp" no longer resolves from here
    monkeypatch.syspath_prepend(str(workspace))
    importlib.invalidate_caches()
    module = importlib.import_module("hi")
    monkeypatch.delitem(sys.modules, "hi")
    assert module.AMPSCRIPT_FILE == "hi.amp"
    assert module.render() == "Hi Workspace Ana!"


def test_compile_with_output_option(tmp_path, monkeypatch):
    (tmp_path / "page.amp").write_text("%%=Concat('a', 'b')=%%")
    target = tmp_path / "out" / "page_module.py"
    target.parent.mkdir()
    assert cli.main(["compile", str(tmp_path / "page.amp"), "-o", str(target)]) == 0
    monkeypatch.syspath_prepend(str(target.parent))
    module = importlib.import_module("page_module")
    monkeypatch.delitem(sys.modules, "page_module")
    assert module.render(Context(workspace=tmp_path)) == "ab"
    assert module.AMPSCRIPT_FILE == str(tmp_path / "page.amp")


def test_compile_to_stdout(tmp_path, capsys):
    (tmp_path / "p.amp").write_text("x")
    assert cli.main(["compile", str(tmp_path / "p.amp"), "-o", "-"]) == 0
    out = capsys.readouterr().out
    assert out == ampc.compile_source("x", str(tmp_path / "p.amp"))
    assert not (tmp_path / "p.py").exists()


def test_runtime_error_from_module_on_disk_names_the_amp_line(tmp_path, monkeypatch):
    module = compile_to_disk("line 1\n%%[ if true then\n  set @r = Row(@none, 1)\nendif ]%%", tmp_path, monkeypatch)
    with pytest.raises(ScriptError) as raised:
        module.render(Context(workspace=tmp_path))
    assert (raised.value.line, raised.value.column) == (3, 3)
    assert raised.value.filename == module.AMPSCRIPT_FILE


# ---- no state between renders, threads ---------------------------------------------------------------


def test_render_keeps_no_state_between_calls():
    module = ampc.load_module(
        ampc.compile_source("[%%=v(@x)=%%]%%[ if empty(@x) then set @x = 'set' endif ]%%[%%=v(@x)=%%]%%[ var @y ]%%")
    )
    context = Context(subscriber={})
    first = module.render(context)
    assert first == "[][set]"
    assert module.render(context) == first
    assert module.render(Context(subscriber={})) == first
    assert module.render() == first


def test_renders_of_different_modules_do_not_share_variables():
    setter = ampc.load_module(ampc.compile_source("%%[ set @shared = 'leak' ]%%"))
    reader = ampc.load_module(ampc.compile_source("[%%=v(@shared)=%%]"))
    setter.render(Context(subscriber={}))
    assert reader.render(Context(subscriber={})) == "[]"


def test_two_threads_do_not_mix_outputs():
    source = (
        "%%[ set @name = [FirstName] for @i = 1 to 300 do ]%%"
        "%%=v(@name)=%%%%=v(@i)=%%,%%[ next ]%%"
    )
    module = ampc.load_module(ampc.compile_source(source, "threads.amp"))
    names = ["Ana", "Bo"]
    outputs: dict[str, list[str]] = {name: [] for name in names}
    barrier = threading.Barrier(len(names))
    errors = []

    def work(name: str) -> None:
        try:
            barrier.wait()
            for _ in range(10):
                outputs[name].append(module.render(Context(subscriber={"FirstName": name})))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    for name in names:
        expected = "".join(f"{name}{i}," for i in range(1, 301))
        assert outputs[name] == [expected] * 10


# ---- runtime errors report the AMPscript line --------------------------------------------------------

NESTED = """%%[
set @a = 1
if @a == 1 then
  for @i = 1 to 3 do
    if @i == 1 then
      set @x = "first"
    elseif @i == 2 then
      set @x = "second"
    else
      set @bad = Row(@nothing, @i)
    endif
  next
endif
]%%"""


def test_runtime_error_in_nested_if_and_for_reports_the_failing_statement():
    with pytest.raises(ScriptError) as raised:
        ampc.render(NESTED, filename="nested.amp")
    error = raised.value
    assert (error.filename, error.line, error.column) == ("nested.amp", 10, 7)
    assert error.source_line == "      set @bad = Row(@nothing, @i)"


@pytest.mark.parametrize(
    "source, line, column",
    [
        ("%%[ if 1 == 2 then\nelseif Add('x', 1) then\nendif ]%%", 2, 1),  # elseif condition
        ("%%[\nfor @i = 1 to 'many' do\nnext ]%%", 2, 1),  # loop bound
        ("%%[ for @i = 1 to 2 do ]%%\n\n  %%=Row(@i, 1)=%%%%[ next ]%%", 3, 3),  # inline in a loop
        ("a\n%%[ if true then ]%%\n%%[ if true then ]%%\n%%= Field('x', 'y') =%%\n%%[ endif endif ]%%", 4, 1),
    ],
)
def test_runtime_error_location(source, line, column):
    with pytest.raises(ScriptError) as raised:
        ampc.render(source, filename="loc.amp")
    assert (raised.value.line, raised.value.column) == (line, column)
    assert raised.value.source_line == source.split("\n")[line - 1]


def test_loop_counters_take_the_integer_arithmetic_and_other_values_the_function():
    """Issue 11: a counter the body cannot change is an int where it is read: Add(@i, 1) skips the conversions."""
    python_source = ampc.compile_source(
        "%%[ for @i = 1 to @n do set @a = Add(@i, 1) set @b = Multiply(@i, @x) next @i ]%%", "l.amp"
    )
    assert 'var["@a"] = add_ints(var["@i"], 1)' in python_source
    assert 'var["@b"] = Multiply(var["@i"], var["@x"])' in python_source
    # Literal bounds: the values are known to stay exact, so Python's operators do it.
    literal = ampc.compile_source("%%[ for @i = 1 to 3 do set @a = Multiply(Add(@i, 5), Subtract(@i, -2)) next ]%%")
    assert 'var["@a"] = (var["@i"] + 5) * (var["@i"] - (-2))' in literal
    past_exact = ampc.compile_source("%%[ for @i = 1 to 3 do set @a = Multiply(@i, 999999999999999) next ]%%")
    assert "multiply_ints(" in past_exact
    changed = ampc.compile_source("%%[ for @i = 1 to 3 do set @a = Add(@i, 1) set @i = 2 next @i ]%%", "l.amp")
    assert "add_ints" not in changed and 'Add(var["@i"], 1)' in changed
    included = ampc.compile_source('%%[ for @i = 1 to 3 do set @a = Add(@i, 1) ]%%%%=ContentBlockByKey("k")=%%%%[ next ]%%')
    assert "add_ints" not in included


def test_var_declarations_are_one_assignment_and_concat_literals_join():
    python_source = ampc.compile_source('%%[ var @a, @B ]%%%%=Concat("x", "y", @a, "z")=%%', "d.amp")
    assert 'var["@a"] = var["@b"] = UNSET' in python_source
    assert 'Concat("xy", var["@a"], "z")' in python_source


def test_concat_of_literals_and_counter_arithmetic_is_a_join():
    """Issue 11: Concat of known texts and numbers becomes ``+``; anything else stays a call."""
    python_source = ampc.compile_source('%%[ for @i = 1 to 2 do set @a = Concat("n", "=", Add(@i, 1)) next ]%%')
    assert 'var["@a"] = "n=" + str(var["@i"] + 1)' in python_source
    unknown_bounds = ampc.compile_source('%%[ for @i = 1 to @n do set @a = Concat(@i, 7, Add(@i, 1)) next ]%%')
    assert 'var["@a"] = str(var["@i"]) + "7" + to_text(add_ints(var["@i"], 1))' in unknown_bounds
    assert 'Concat("n=", var["@x"])' in ampc.compile_source('%%[ set @a = Concat("n", "=", @x) ]%%')


def test_a_compiled_module_runs_as_a_script_and_warns_when_its_amp_changed(workspace, tmp_path, monkeypatch):
    """Issue 12: ``python hi.py [--workspace DIR] [--subscriber FILE]`` renders; a changed .amp warns on import."""
    import subprocess
    import warnings

    from ampscript.scripts import StaleModuleWarning

    script = workspace / "hi.amp"
    script.write_text("Hi %%FirstName%%!", encoding="utf-8")
    assert cli.main(["compile", str(script)]) == 0
    run = [sys.executable, str(workspace / "hi.py")]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert subprocess.run(run, capture_output=True, text=True, cwd=elsewhere, check=True).stdout == "Hi Workspace Ana!"
    (elsewhere / "bo.json").write_text('{"FirstName": "Bo"}', encoding="utf-8")
    given = subprocess.run([*run, "--subscriber", "bo.json", "--workspace", "."], capture_output=True, text=True,
                           cwd=elsewhere, check=True)
    assert given.stdout == "Hi Bo!"
    failing = subprocess.run([*run, "--subscriber", "missing.json"], capture_output=True, text=True, cwd=elsewhere)
    assert failing.returncode == 1 and "missing.json: error" in failing.stderr

    monkeypatch.syspath_prepend(str(workspace))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.import_module("hi")  # unchanged: no warning
    monkeypatch.delitem(sys.modules, "hi")
    script.write_text("Hello %%FirstName%%!", encoding="utf-8")
    with pytest.warns(StaleModuleWarning, match=r"hi\.amp has changed since .*hi\.py was compiled from it"):
        importlib.import_module("hi")
    monkeypatch.delitem(sys.modules, "hi")
