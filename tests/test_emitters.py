"""The two emitters (`ampc.emitters`): the fast one's code objects speak AMPscript positions.

The golden corpus renders through both (tests/test_corpus.py); here, what
only the fast emitter promises: its code objects have the `.amp` file's
name and lines, so tracebacks and debuggers show the AMPscript itself.
"""

from __future__ import annotations

import linecache
import traceback

import ampc
import pytest
from ampc.compiler import compile_module
from ampc.shape import check_module_shape
from ampscript import AMPscriptError, Context

SCRIPT = """%%[
set @a = 1
if @a == 1 then
  set @b = Add(@a, "x")
endif
]%%"""


def test_a_script_from_a_file_compiles_to_code_of_that_file_and_its_lines(tmp_path):
    path = tmp_path / "promo.amp"
    path.write_text(SCRIPT, encoding="utf-8")
    module = compile_module(SCRIPT, str(path))
    lines = {line for _, _, line in module.render.__code__.co_lines() if line is not None}
    assert module.render.__code__.co_filename == str(path)
    assert {2, 3, 4} <= lines and max(lines) <= SCRIPT.count("\n") + 1
    with pytest.raises(AMPscriptError) as raised:
        module.render(Context())
    frames = [frame for frame in traceback.extract_tb(raised.value.__traceback__) if frame.filename == str(path)]
    assert frames[-1].lineno == 4
    assert frames[-1].line == 'set @b = Add(@a, "x")'
    assert (raised.value.line, raised.value.column) == (4, 3)


def test_a_script_without_a_file_gets_a_pseudo_file_holding_its_source():
    module = compile_module(SCRIPT, "<ampscript>")
    pseudo = module.render.__code__.co_filename
    assert pseudo.startswith("<ampc:<ampscript>:")
    assert linecache.getline(pseudo, 4).strip() == 'set @b = Add(@a, "x")'
    other = compile_module(SCRIPT.replace("1", "2"), "<ampscript>")
    assert other.render.__code__.co_filename != pseudo  # two sources never share a linecache entry


def test_the_fast_tree_keeps_the_one_shape():
    from ampc import codegen
    from ampc.compiler import checked_template

    template = checked_template('%%[ var @x set @x = RowCount(LookupRows("D", "k", 1)) ]%%%%=v(@x)=%%', "s.amp",
                                None, None)
    check_module_shape(codegen.generate_tree(template), "s.amp")


def test_content_and_calling_locations_read_code_positions(tmp_path):
    """An error inside TreatAsContent is located in the fragment, through the code objects' positions."""
    with pytest.raises(AMPscriptError) as raised:
        ampc.render('x\n  %%=TreatAsContent("a%%=Add(1, \'q\')=%%")=%%', filename="outer.amp")
    error = raised.value
    assert (error.filename, error.line, error.column) == ("<TreatAsContent>", 1, 2)
    assert str(error).endswith("TreatAsContent() included it at outer.amp:2:3")  # calling_location()


@pytest.mark.parametrize("emitter", ["fast", "readable"])
def test_render_presets_variables(emitter):
    """Issue 12: ``render(context, variables={"@name": "Ana"})`` presets AMPscript variables by name (any case)."""
    source = "%%[ if not Empty(@n) then set @n = Add(@n, 1) endif ]%%%%=v(@Name)=%%/%%=v(@n)=%%"
    if emitter == "fast":
        module = compile_module(source, "v.amp")
    else:
        module = ampc.load_module(ampc.compile_source(source, "v.amp"), "v.amp")
    assert module.render(Context(), variables={"@NAME": "Ana", "@n": 1}) == "Ana/2"
    assert module.render(Context()) == "/"  # each render starts clean
    with pytest.raises(ValueError, match="'name' is not an AMPscript variable name; write it as '@name'"):
        module.render(Context(), variables={"name": "Ana"})


def test_ampc_render_passes_variables_on():
    assert ampc.render("Hi %%=v(@who)=%%", variables={"@who": "Ana"}) == "Hi Ana"
