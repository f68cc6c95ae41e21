"""Hostile input reaches the generated module only as data, never as code.

Whatever a template contains (quotes, backslashes, triple quotes, NUL, line
separators, braces, surrogates) and whatever its file is called, the
generated module has exactly one shape, and rendering gives back the text.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ampc
from ampc.parser import parse
from ampc.shape import check_module_shape
from ampscript import Context
from ampscript.errors import ScriptError
from ampscript.values import clean_text

HOSTILE = [
    '"',
    "'",
    '"""',
    "'''",
    '""""""',
    "\\",
    "\\\\",
    '\\"',
    "\\'",
    "\\x00",
    "\\N{BULLET}",
    "\x00",
    "\r",
    "\n",
    "\r\n",
    "{}",
    "{0}{name}{{",
    "%s%(x)s",
    "\u2028",
    "\u2029",
    "\x0b\x0c\x1c\x1d\x1e\x85",
    "\ud800",
    "\udfff",
    "\t",
    "\ufeff",
    "é☃𝄞",
    '"); import os; os.system("x"); ("',
    "'''); import os #",
    '""" + __import__("os").system("x") + """',
    "\n    return 'pwned'\n",
    "# comment",
    "\\\n",
]
HOSTILE_IDS = [ascii(h) for h in HOSTILE]


def assert_module_shape(python_source: str, filename: str) -> None:
    """The one shape every generated module has, whatever the input (`ampc.shape`)."""
    check_module_shape(python_source, filename)


def compile_and_render(source: str, filename: str = "<ampscript>", **context) -> str:
    python_source = ampc.compile_source(source, filename)
    compile(python_source, "<check>", "exec")
    assert_module_shape(python_source, filename)
    module = ampc.load_module(python_source, filename)
    return module.render(Context(**context))


def literal(text: str, quote: str = '"') -> str:
    return quote + text.replace(quote, quote * 2) + quote


# ---- the hostile corpus ----------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_string_literal(hostile):
    double, single = literal(hostile, '"'), literal(hostile, "'")
    source = f"%%[ set @x = {double} set @y = {single} ]%%[%%=v(@x)=%%|%%=v(@y)=%%]%%=Concat({double}, 'z')=%%"
    shown = clean_text(hostile)  # a lone surrogate comes back as U+FFFD (ampscript.values.clean_text)
    assert compile_and_render(source) == f"[{shown}|{shown}]{shown}z"


@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_html_text(hostile):
    if "%%" in hostile:
        pytest.skip("not text")
    source = f"<p title=\"{hostile}\">{hostile}</p>%%[ set @a = 1 ]%%{hostile}%%=v(@a)=%%{hostile}"
    shown = clean_text(hostile)
    assert compile_and_render(source) == f"<p title=\"{shown}\">{shown}</p>{shown}1{shown}"


@pytest.mark.parametrize("hostile", [h for h in HOSTILE if "\r" not in h and "\n" not in h], ids=ascii)
def test_hostile_bracketed_attribute_name(hostile):
    name = f"x{hostile}y"
    source = f"%%[ set @a = [{name}] ]%%%%=v(@a)=%%|%%=v([{name}])=%%"
    assert compile_and_render(source, subscriber={name: "value"}) == "value|value"


@pytest.mark.parametrize("name", ['x"y', "x'y", 'x"""y', "a\\b", "{x}", "a\x00b", "\u2028"])
def test_hostile_attribute_name_in_missing_attribute_error(name):
    with pytest.raises(ScriptError) as raised:
        compile_and_render(f"%%=v([{name}])=%%", "attr.amp")
    assert raised.value.message == f"the subscriber has no attribute {name!r}"
    assert raised.value.line == 1


@pytest.mark.parametrize(
    "text",
    ['%%a"b%%', "%%a'b%%", "%%a\\b%%", "%%a{b}%%", "%%a\nb%%", '%%"""%%', "%%%%", "%%a\x00b%%", "%% a%%"],
    ids=ascii,
)
def test_personalization_lookalikes_stay_text(text):
    # Only [A-Za-z_][A-Za-z0-9_-]* words (and spaces) make a personalization string.
    assert compile_and_render(text) == text


@pytest.mark.parametrize("name", ["First-Name", "first_name", "A b c", "__class__", "import", "render"])
def test_personalization_strings_with_odd_names(name):
    assert compile_and_render(f"<%%{name}%%>", subscriber={name: '"\'\\'}) == "<\"'\\>"


@pytest.mark.parametrize(
    "variable",
    [
        "@class", "@import", "@render", "@__builtins__", "@ctx", "@var", "@page", "@None", "@True",
        "@context", "@AMPSCRIPT_FILE", "@Page", "@Context", "@__import__", "@_", "@1", "@self", "@def",
        "@return", "@lambda", "@str",
    ],
)
def test_variable_names_that_are_python_names(variable):
    source = (
        f"%%[ var {variable} set {variable} = '\"' for {variable}2 = 1 to 2 do next "
        f"if {variable} == '\"' then ]%%%%=v({variable})=%%%%=v({variable}2)=%%%%[ endif ]%%"
    )
    assert compile_and_render(source) == '"2'


@pytest.mark.parametrize("variable", ['@a"b', "@a'b", "@a\\b", "@a{b}", "@a\nb", "@a.b", "@a-b", "@é"])
def test_variable_names_cannot_contain_hostile_characters(variable):
    with pytest.raises(ampc.CompileError):
        ampc.compile_source(f"%%[ set {variable} = 1 ]%%")


@pytest.mark.parametrize(
    "filename",
    [
        'a"b.amp',
        "a'b.amp",
        'x"""y.amp',
        "x'''y.amp",
        "new\nline.amp",
        "cr\rlf.amp",
        "dir\\sub\\file.amp",
        "dir/\"quoted\"/x.amp",
        "nul\x00.amp",
        "sep\u2028.amp",
        "{braces}.amp",
        "x:9:9.amp",
        "\ud800.amp",
        "",
    ],
    ids=ascii,
)
def test_hostile_file_names(filename):
    source = '%%[\nset @x = "ok"\n]%%<%%=v(@x)=%%>\n%%[ set @y = Row(@x, 1) ]%%'
    python_source = ampc.compile_source(source, filename)
    assert_module_shape(python_source, filename)
    for line in python_source.splitlines():
        if line.lstrip().startswith("#"):
            assert re.fullmatch(r"\s*# [^\n\r]*:\d+:\d+", line), line
    module = ampc.load_module(python_source, filename)
    assert module.AMPSCRIPT_FILE == filename
    with pytest.raises(ScriptError) as raised:
        module.render(Context())
    assert (raised.value.filename, raised.value.line, raised.value.column) == (filename, 4, 5)
    assert compile_and_render(source.split("\n%%[ set @y")[0], filename) == "<ok>"


def test_hostile_file_name_in_compile_errors():
    with pytest.raises(ampc.CompileError) as raised:
        ampc.compile_source("%%[ next ]%%", 'we"ird\nname.amp')
    assert str(raised.value).startswith("we\"ird\nname.amp:1:5: error: 'next' without a matching 'for'")


@pytest.mark.parametrize("separator", ["\u2028", "\x0c", "\x85", "\x1c", "\r"], ids=ascii)
def test_line_separators_do_not_shift_runtime_error_lines(separator):
    source = f"a{separator}b{separator}\n%%[ set @s = 'x{separator}y' ]%%\n%%=Row(@nothing, 1)=%%"
    with pytest.raises(ScriptError) as raised:
        ampc.render(source, filename="sep.amp")
    assert (raised.value.line, raised.value.column) == (3, 1)


# ---- properties ---------------------------------------------------------------------------
# Compiling is dominated by black (~50 ms a module), so the end-to-end properties
# put several generated values in one template; the parse-level ones run 200 examples.

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
END_TO_END = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()))  # surrogates included
QUOTE = st.sampled_from(['"', "'"])
SCRIPT_TAG = re.compile(r"<script", re.IGNORECASE)


def plain_text(text: str) -> str:
    """`text` without anything that opens AMPscript."""
    return text.replace("%", "").replace("<", "").replace("]", "")


@FAST
@given(text=ANY_TEXT, quote=QUOTE)
def test_any_string_literal_parses_to_its_value(text, quote):
    [assignment] = parse(f"%%[ set @x = {literal(text, quote)} ]%%").body
    assert assignment.value.value == text


@END_TO_END
@given(values=st.lists(st.tuples(ANY_TEXT, QUOTE), min_size=1, max_size=10))
def test_any_string_literal_round_trips(values):
    sets = " ".join(f"set @x{i} = {literal(text, quote)}" for i, (text, quote) in enumerate(values))
    outputs = "|".join(f"%%=v(@x{i})=%%" for i in range(len(values)))
    source = f"%%[ {sets} ]%%{outputs}"
    assert compile_and_render(source, "prop.amp") == "|".join(clean_text(text) for text, _ in values)


@FAST
@given(text=ANY_TEXT)
def test_any_text_without_delimiters_parses_to_one_text_node(text):
    if "%%" in text or SCRIPT_TAG.search(text):
        text = plain_text(text)
    nodes = parse(text).body
    assert "".join(node.value for node in nodes) == text
    assert all(type(node).__name__ == "Text" for node in nodes)


@END_TO_END
@given(texts=st.lists(ANY_TEXT, min_size=1, max_size=10))
def test_any_text_without_delimiters_passes_through(texts):
    texts = [plain_text(text) if "%%" in text or SCRIPT_TAG.search(text) else text for text in texts]
    source = "%%[ set @sep = '|' ]%%".join(texts)
    assert compile_and_render(source, "text.amp") == clean_text("".join(texts))


@END_TO_END
@given(
    text=ANY_TEXT.map(plain_text),
    value=ANY_TEXT,
    attribute=ANY_TEXT.map(lambda t: re.sub(r"[\]\r\n]", "", t)).filter(bool),
    filename=ANY_TEXT,
)
def test_module_shape_never_changes(text, value, attribute, filename):
    source = (
        f"{text}%%[ var @a set @a = {literal(value)} if @a == {literal(value, chr(39))} then ]%%{text}"
        f"%%[ else set @b = [{attribute}] endif ]%%%%=Concat(v(@a), {literal(value)})=%%{text}"
    )
    assert compile_and_render(source, filename) == clean_text(f"{text}{text}{value}{value}{text}")
