"""Start-up: what importing a compiled module, and the command line, load (issue 11; no timings here).

A compiled module loads only the function categories it calls, and the
heavy libraries are imported by the functions that use them;
``ampc --help`` and ``ampc functions`` run without the compiler's
libraries.  The figures are in benchmarks/bench_startup.py.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import ampc
import ampscript
import ampscript.functions
import pytest
from ampscript.functions import CATEGORIES, category_module
from ampscript.registry import all_functions

ROOT = Path(__file__).parents[1]
# Imported on first use only: by the functions that need them, or by the compiler.
HEAVY = {"httpx", "lxml", "cryptography", "sqlglot", "jsonpath_ng", "jwt", "babel", "dateutil", "regex"}
COMPILER = {"ampc", "lark", "libcst", "black"}

STRING_SCRIPT = '%%=Concat(Uppercase("a"), Substring("hello", 2, 3), Length("abc"), Trim("  x "))=%%'


# What a program run by _loaded_after reports: top-level packages, and categories of functions.
MODULES = """
def modules():
    import sys
    return {
        "top": sorted({name.split(".")[0] for name in sys.modules}),
        "categories": sorted(
            name.rpartition(".")[2] for name in sys.modules if name.startswith("ampscript.functions.")
        ),
    }
"""


def _loaded_after(program: str, cwd: Path) -> dict:
    """Run `program` in a fresh interpreter, `modules()` defined; it prints a JSON object, returned here."""
    path = os.pathsep.join([str(ROOT / "runtime"), str(ROOT / "transpiler")])  # this checkout's packages
    environment = {**os.environ, "PYTHONPATH": path}
    result = subprocess.run(
        [sys.executable, "-c", MODULES + textwrap.dedent(program)],
        capture_output=True, text=True, cwd=cwd, env=environment, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_a_compiled_module_loads_only_the_categories_it_calls(tmp_path):
    module = ampc.compile_source(STRING_SCRIPT, "string_email.amp")
    (tmp_path / "string_email.py").write_text(module, encoding="utf-8")
    found = _loaded_after(
        """
        import json
        import string_email
        imported = modules()
        from ampscript import Context
        output = string_email.render(Context(workspace="."))
        print(json.dumps({"imported": imported, "rendered": modules(), "output": output}))
        """,
        tmp_path,
    )
    assert found["output"] == "Aell3x"
    assert found["imported"]["categories"] == ["string"]
    assert not set(found["imported"]["top"]) & (HEAVY | COMPILER)
    assert not set(found["rendered"]["top"]) & (HEAVY | COMPILER)


def test_a_function_loads_its_library_when_it_runs(tmp_path):
    found = _loaded_after(
        """
        import json
        from ampscript.functions import RegExMatch
        before = modules()
        RegExMatch("abc", "b", 0)
        print(json.dumps({"before": before, "after": modules()}))
        """,
        tmp_path,
    )
    assert "regex" not in found["before"]["top"]
    assert "regex" in found["after"]["top"]


def test_looking_a_function_up_loads_only_its_category(tmp_path):
    found = _loaded_after(
        """
        import json
        from ampscript.registry import lookup
        assert lookup("uppercase").name == "Uppercase" and lookup("NoSuchFunction") is None
        print(json.dumps(modules()))
        """,
        tmp_path,
    )
    assert found["categories"] == ["string"]


@pytest.mark.parametrize("arguments", [["--help"], ["functions"]])
def test_the_command_line_answers_without_the_compiler(tmp_path, arguments):
    found = _loaded_after(
        f"""
        import contextlib, io, json
        from ampc.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                main({arguments!r})
            except SystemExit:  # --help
                pass
        print(json.dumps(modules()))
        """,
        tmp_path,
    )
    assert not set(found["top"]) & {"lark", "libcst", "black"}
    assert not set(found["top"]) & HEAVY


def test_ampc_check_runs_without_the_code_generator(tmp_path):
    """Issue 11: `ampc check` parses and checks, and never imports libcst or black (it generates no code)."""
    script = tmp_path / "c.amp"
    script.write_text('%%[ set @a = Concat("a", Nope()) @b = 1 ]%%%%=v(@a)=%%', encoding="utf-8")
    found = _loaded_after(
        f"""
        import contextlib, io, json
        from ampc.cli import main
        with contextlib.redirect_stderr(io.StringIO()) as err:
            code = main(["check", {str(script)!r}])
        assert code == 1 and "unknown function 'Nope'" in err.getvalue(), err.getvalue()
        print(json.dumps(modules()))
        """,
        tmp_path,
    )
    assert not set(found["top"]) & {"libcst", "black"}


def test_the_category_table_matches_the_category_modules():
    on_disk = {module.name for module in pkgutil.iter_modules(ampscript.functions.__path__)}
    assert set(CATEGORIES) == on_disk
    for category, names in CATEGORIES.items():
        assert sorted(names) == sorted(category_module(category).__all__), (
            f"ampscript.functions.CATEGORIES[{category!r}] must list the names of {category}.__all__"
        )


def test_the_category_table_places_every_registered_function():
    where = {name: category for category, names in CATEGORIES.items() for name in names}
    specs = all_functions()
    assert sorted(where) == sorted(spec.name for spec in specs)
    for spec in specs:
        assert spec.module == f"ampscript.functions.{where[spec.name]}", spec.name


def test_the_lazy_packages_still_list_and_give_every_name():
    functions = ampscript.functions
    assert functions.__all__ == sorted(name for names in CATEGORIES.values() for name in names)
    assert set(functions.__all__) <= set(dir(functions))
    assert all(callable(getattr(functions, name)) for name in functions.__all__)
    assert functions.content is category_module("content")
    for package in (ampscript, ampc):
        assert set(package.__all__) <= set(dir(package))
        assert all(getattr(package, name) is not None for name in package.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchFunction'"):
        functions.NoSuchFunction


def test_ampc_run_and_render_compile_without_libcst_or_black(tmp_path):
    """Issue 11: what is compiled only to be run goes through the fast emitter (Python's ast), not libcst."""
    script = tmp_path / "r.amp"
    script.write_text('%%[ set @a = Concat("a", 1) ]%%%%=v(@a)=%%', encoding="utf-8")
    found = _loaded_after(
        f"""
        import contextlib, io, json
        import ampc
        from ampc.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = main(["run", {str(script)!r}])
        assert code == 0 and out.getvalue() == "a1", out.getvalue()
        assert ampc.render('%%=Uppercase(@x)=%%x') == "x"
        print(json.dumps(modules()))
        """,
        tmp_path,
    )
    assert "lark" in found["top"]
    assert not set(found["top"]) & {"libcst", "black"}


def test_ampc_has_a_version(capsys):
    """Issue 12: `ampc --version` and `ampc.__version__` give the installed version (pyproject.toml's)."""
    from importlib.metadata import version

    from ampc.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"ampc {version('ampc')}" == f"ampc {ampc.__version__}"


def test_the_command_line_reads_the_version_only_when_asked(tmp_path):
    found = _loaded_after(
        """
        import contextlib, io, json
        from ampc.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                main(["--help"])
            except SystemExit:
                pass
        print(json.dumps({"top": sorted(__import__("sys").modules)}))
        """,
        tmp_path,
    )
    assert "importlib.metadata" not in found["top"]
