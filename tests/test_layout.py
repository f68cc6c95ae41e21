"""Project layout: the runtime stands alone, the command is declared, the parser is built once."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import ampc
import ampc.parser

ROOT = Path(__file__).parents[1]
RUNTIME = ROOT / "runtime" / "ampscript"
COMPILER_ONLY = {"ampc", "lark", "libcst", "black"}

SCRIPT = """%%[
set @rr = CreateObject("RetrieveRequest")
SetObjectProperty(@rr, "ObjectType", "QueryDefinition")
AddObjectArrayItem(@rr, "Properties", "Name")
set @rows = InvokeRetrieve(@rr, @status)
set @half = 0.5
if RowCount(@rows) > 0 and not Empty(@status) then
  for @i = 1 to RowCount(@rows) do ]%%%%=Field(Row(@rows, @i), "Name")=%%;%%[ next
endif
]%%%%=v(@status)=%% %%=v([FirstName])=%% %%=v(@half)=%%"""


def test_runtime_runs_a_compiled_module_without_the_compiler(tmp_path):
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "QueryDefinition.json").write_text(json.dumps([{"Name": "Q1"}, {"Name": "Q2"}]))
    (tmp_path / "subscriber.json").write_text(json.dumps({"FirstName": "Ana"}))
    (tmp_path / "precompiled_email.py").write_text(ampc.compile_source(SCRIPT, "email.amp"), encoding="utf-8")
    program = textwrap.dedent(
        """
        import sys
        import ampscript, ampscript.functions, ampscript.runtime
        import precompiled_email
        print(precompiled_email.render(), end="")
        try:
            precompiled_email.render(ampscript.Context(subscriber={}))
        except ampscript.AMPscriptError as error:
            print("|" + error.format().splitlines()[0], end="")
        loaded = sorted({name.split(".")[0] for name in sys.modules} & {"ampc", "lark", "libcst", "black"})
        print("|loaded:" + ",".join(loaded), end="")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Q1;Q2;OK Ana 0.5"
        "|email.amp:10:21: error: the subscriber has no attribute 'FirstName'"
        "|loaded:"
    )


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
            "import_module",
            "__import__",
        ):
            names |= {arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}
    return names


def test_runtime_sources_import_nothing_from_the_compiler():
    files = sorted(RUNTIME.rglob("*.py"))
    assert len(files) >= 10 and RUNTIME / "functions" / "__init__.py" in files
    for path in files:
        forbidden = {name for name in _imported_modules(path) if name.split(".")[0] in COMPILER_ONLY}
        assert not forbidden, f"{path.relative_to(ROOT)} imports {sorted(forbidden)}"


def test_import_scanner_finds_forbidden_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\ndef f():\n    from lark import Lark\n    import black.nodes\n__import__('libcst')\n")
    assert _imported_modules(sample) == {"os", "lark", "black.nodes", "libcst"}


def test_pyproject_declares_the_ampc_command():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"] == {"ampc": "ampc.cli:main"}
    from ampc.cli import main

    assert callable(main)


def test_installed_ampc_command_points_at_the_cli():
    try:
        scripts = metadata.entry_points(group="console_scripts", name="ampc")
    except Exception:  # pragma: no cover
        scripts = ()
    if not scripts:
        pytest.skip("ampc is not installed (pip install -e .)")
    assert [script.value for script in scripts] == ["ampc.cli:main"]


def test_lark_parser_is_lalr_with_the_contextual_lexer():
    parser = ampc.parser._lark()
    assert parser.options.parser == "lalr"
    assert parser.options.lexer == "contextual"
    assert type(parser.parser.lexer).__name__ == "ContextualLexer"
    assert type(parser.parser.parser).__name__ == "LALR_Parser"


def test_lark_parser_is_built_once_per_process(monkeypatch):
    first = ampc.parser._lark()
    assert ampc.parser._lark() is first

    def no_second_build(*args, **kwargs):
        raise AssertionError("the Lark parser was built again")

    monkeypatch.setattr(ampc.parser, "Lark", no_second_build)
    before = ampc.parser._lark.cache_info()
    ampc.render("%%[ set @a = 1 ]%%%%=v(@a)=%%")
    with pytest.raises(ampc.CompileError):
        ampc.compile_source("%%[ set @a = ]%%")  # error reporting reuses it too
    after = ampc.parser._lark.cache_info()
    assert after.misses == before.misses and after.hits > before.hits
