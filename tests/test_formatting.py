"""`ampc compile`'s formatting (ampc.formatting): black's layout, with black run over the render function only.

And `ampc.collecting`: the collector runs less often while compiling, and
is put back as it was.
"""

from __future__ import annotations

import ast
import gc
import py_compile
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ampc import formatting
from ampc.codegen import _Generator
from ampc.collecting import COMPILE_THRESHOLD, collecting_less
from ampc.compiler import checked_template, compile_source
from ampc.emitters.readable import ReadableEmitter
from ampc.errors import CompileError
from corpus_format import load_cases

SAMPLES = Path(__file__).parents[1] / "samples"
CORPUS = Path(__file__).parent / "corpus"

# Calls enough functions that the imports and FUNCTION_CALLS no longer fit on one line.
MANY_FUNCTIONS = """%%[
set @a = Concat(Uppercase("a"), Lowercase("B"), ProperCase("c d"), Trim(" e "), Length("f"))
set @b = Replace(Substring("abcdef", 2, 3), "b", "x") set @c = IndexOf("abc", "c")
set @d = FormatNumber(Add(1, 2), "N2") set @e = Iif(Empty(@a), "x", "y")
set @f = Format(Now(), "yyyy") set @g = DateAdd(Now(), 1, "D") set @h = StringToDate("2024-01-01")
]%%%%=v(@a)=%%"""

SCRIPTS = {
    "one call": '%%=Uppercase("a")=%%',
    "no calls": "<p>text</p>",
    "many functions": MANY_FUNCTIONS,
    **{f"sample {path.stem}": path.read_text(encoding="utf-8") for path in sorted(SAMPLES.rglob("*.amp"))},
}
# A sample of the golden corpus (all of it takes a minute through black twice; it matched in full
# when ampc.formatting last changed).
CORPUS_SAMPLE = [case for path in sorted(CORPUS.rglob("*.txt")) for case in load_cases(path)][::8]

FILE_NAMES = [
    "email.amp",
    "café/übersicht.amp",  # printable non-ASCII: black keeps it as it is
    'say "hi".amp',  # quotes: black chooses the quotes, so it formats the header itself
    "it's.amp",
    "back\\slash.amp",
    "tab\there.amp",
    "deep/" * 20 + "long.amp",  # lines past 88 columns
]


def _module(source: str, filename: str):
    template = checked_template(source, filename, None, None)
    return _Generator(template, ReadableEmitter(filename), standalone=True).module()


def _black_whole(module) -> str:
    return formatting.format_python(module.code)


@pytest.mark.parametrize("filename", FILE_NAMES)
@pytest.mark.parametrize("name", list(SCRIPTS))
def test_formatting_equals_black_formatting_the_whole_module(name, filename):
    module = _module(SCRIPTS[name], filename)
    assert formatting.format_module(module) == _black_whole(module)


@pytest.mark.parametrize("case", CORPUS_SAMPLE, ids=lambda case: case.id)
def test_formatting_of_corpus_cases_equals_black(case):
    try:
        module = _module(case.source, "case.amp")
    except CompileError:
        pytest.skip("a case of a compile error")
    assert formatting.format_module(module) == _black_whole(module)


def test_the_header_is_laid_out_without_black_for_plain_names():
    # The point of ampc.formatting: the statements around render() skip black.
    for source in (MANY_FUNCTIONS, '%%=Uppercase("a")=%%', "<p>text</p>"):
        module = _module(source, "email.amp")
        at = next(i for i, statement in enumerate(module.body) if type(statement).__name__ == "FunctionDef")
        lines = formatting._laid_out_block(module.body[:at])
        assert lines is not None and lines[0].startswith('"""Compiled by ampc from email.amp')


def test_long_imports_and_tables_are_exploded_as_black_explodes_them():
    text = compile_source(MANY_FUNCTIONS, "email.amp")
    assert "from ampscript.functions import (\n    Concat,\n    DateAdd,\n" in text
    assert 'FUNCTION_CALLS = {\n    "Add": (4, 23),\n    "Concat": (2, 10),\n' in text


def test_a_header_it_does_not_know_goes_to_black():
    module = _module("<p>x</p>", 'say "hi".amp')
    at = next(i for i, statement in enumerate(module.body) if type(statement).__name__ == "FunctionDef")
    assert formatting._laid_out_block(module.body[:at]) is None
    assert "AMPSCRIPT_FILE = 'say \"hi\".amp'" in formatting.format_module(module)


# ---- collecting less while compiling ------------------------------------------------------


@pytest.fixture
def default_thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_compiling_raises_the_collection_threshold_and_puts_it_back(default_thresholds):
    with collecting_less():
        assert gc.get_threshold() == (COMPILE_THRESHOLD, 10, 10)
        with collecting_less():  # nested compiles (a content block compiled while compiling)
            assert gc.get_threshold()[0] == COMPILE_THRESHOLD
        assert gc.get_threshold()[0] == COMPILE_THRESHOLD
    assert gc.get_threshold() == (700, 10, 10)


def test_the_threshold_is_put_back_after_an_error(default_thresholds):
    with pytest.raises(CompileError):
        compile_source("%%[ set @a = ]%%", "broken.amp")
    assert gc.get_threshold() == (700, 10, 10)


def test_compiles_in_threads_put_the_threshold_back_once_all_end(default_thresholds):
    inside, release = threading.Barrier(3), threading.Event()

    def compile_in_thread():
        with collecting_less():
            inside.wait()
            release.wait()

    threads = [threading.Thread(target=compile_in_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait()
    assert gc.get_threshold()[0] == COMPILE_THRESHOLD
    release.set()
    for thread in threads:
        thread.join()
    assert gc.get_threshold() == (700, 10, 10)


def test_a_collector_switched_off_or_tuned_higher_is_left_alone():
    saved = gc.get_threshold()
    try:
        gc.set_threshold(0)
        with collecting_less():
            assert gc.get_threshold()[0] == 0
        gc.set_threshold(COMPILE_THRESHOLD * 2, 5, 5)
        with collecting_less():
            assert gc.get_threshold() == (COMPILE_THRESHOLD * 2, 5, 5)
        assert gc.get_threshold() == (COMPILE_THRESHOLD * 2, 5, 5)
    finally:
        gc.set_threshold(*saved)


# ---- the source map ---------------------------------------------------------------------------


def test_the_source_map_gives_each_statement_its_comment_position():
    text = compile_source(SCRIPTS["sample welcome"], "welcome.amp")
    tree = ast.parse(text)
    values = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
              if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    lines = text.splitlines()
    expected = [
        (number + 1, int(match.group(1)), int(match.group(2)))
        for number, line in enumerate(lines, start=1)
        if (match := re.match(r"^\s*# welcome\.amp:(\d+):(\d+)$", line))
    ]
    assert values["AMPSCRIPT_POSITIONS"] == tuple(expected) and expected
    assert values["AMPSCRIPT_SOURCE"] == SCRIPTS["sample welcome"]
    assert formatting.format_python(text) == text


@pytest.mark.parametrize("source", ["", "x", "<p>" + "a" * 60 + "</p>", 'say "hi" ' * 3, "tab\there\u2028é日本"])
def test_short_and_odd_sources_keep_the_module_black_stable(source):
    text = compile_source(source, "odd.amp")
    assert formatting.format_python(text) == text
    assert ast.literal_eval(text.split("AMPSCRIPT_SOURCE = ")[1].split("\n\nrun_if_main")[0]) == source


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_black_string_is_the_literal_black_writes(text):
    literal = formatting.black_string(text)
    assert ast.literal_eval(literal) == text
    line = f"X = {literal}\n"
    assert formatting.format_python(line) == line


def test_a_pyc_alone_locates_errors_and_shows_the_line(tmp_path):
    script = tmp_path / "broken.amp"
    script.write_text('%%[\nset @b = Lookup("Missing", "Name", "Id", 1)\n]%%', encoding="utf-8")
    python = tmp_path / "broken.py"
    python.write_text(compile_source(script.read_text(), "broken.amp"), encoding="utf-8")
    deployed = tmp_path / "deployed"
    deployed.mkdir()
    py_compile.compile(str(python), cfile=str(deployed / "broken.pyc"), doraise=True)
    result = subprocess.run(
        [sys.executable, "-c", "import broken\ntry:\n    broken.render()\nexcept Exception as e:\n    print(e)"],
        cwd=deployed, capture_output=True, text=True, timeout=60, check=False,
    )
    assert "broken.amp:2:1: error: data extension 'Missing' does not exist" in result.stdout
    assert ' 2 | set @b = Lookup("Missing", "Name", "Id", 1)' in result.stdout


def test_the_shape_check_refuses_a_source_map_that_is_not_data():
    from ampc.shape import ShapeError, check_module_shape

    text = compile_source("<p>x</p>", "email.amp")
    check_module_shape(text, "email.amp")
    with pytest.raises(ShapeError):
        check_module_shape(text.replace("AMPSCRIPT_POSITIONS = (", "AMPSCRIPT_POSITIONS = (print(),"), "email.amp")


def test_a_reformatted_module_still_locates_errors(tmp_path):
    # The source map's lines are stale once the module is reformatted; its comments are not.
    source = '%%[\nset @a = "x"\nset @b = Lookup("Missing", "Name", "Id", 1)\n]%%'
    python = tmp_path / "reformatted.py"
    text = compile_source(source, "reformatted.amp").replace("    with Page.start(", "\n\n    with Page.start(")
    python.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", "import reformatted\ntry:\n    reformatted.render()\nexcept Exception as e:\n    print(e)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )
    assert "reformatted.amp:3:1: error: data extension 'Missing' does not exist" in result.stdout
