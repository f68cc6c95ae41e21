"""The value core (`ampscript.values`) is the only code that knows AMPscript's loose typing.

These tests hold the runtime to that: nothing outside ``values/`` parses
dates or folds case its own way, function bodies no longer convert their own
arguments, every function declares its parameter types, and the one case
folding gives the same answer in ``==``, Uppercase() and a Lookup.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import ampc
import pytest
from ampscript import AMPscriptError, Context
from ampscript.registry import all_functions
from ampscript.values import UNSET, case
from ampscript.values.compare import condition, eq, lt
from hypothesis import given, settings
from hypothesis import strategies as st

RUNTIME = Path(__file__).parent.parent / "runtime" / "ampscript"
CORPUS = Path(__file__).parent / "corpus"

# What only the value core may do, as it shows in source code: (pattern, where to look).
# Names and keywords of the API (object types, operators) are matched with
# .lower() against literals elsewhere; that is not the typing of AMPscript
# values, so the case rule looks where values are handled: the functions.
FORBIDDEN = {
    "parses dates with dateutil": (re.compile(r"\bdateutil\b"), ""),
    "parses dates with strptime/isoparse": (re.compile(r"\b(strptime|isoparse)\("), ""),
    "parses ISO dates": (re.compile(r"\bfromisoformat\("), ""),
    "folds case with casefold()": (re.compile(r"\.casefold\("), ""),
    "reads numbers from text with Decimal()/int()/float()": (
        re.compile(r"\b(Decimal|int|float)\((text|string|raw|source)\)"),
        "",
    ),
    "compares values after changing their case": (
        re.compile(r"\.(upper|lower)\(\)\s*(==|!=|<|>|in\b)"),
        "functions",
    ),
}
# Places that do one of these for a reason that is not AMPscript's typing.
ALLOWED = {
    # The store reads back the ISO text it wrote itself (serialization).
    ("data_extensions.py", "parses ISO dates"),
}


def _runtime_sources(under: str = "") -> list[Path]:
    root = RUNTIME / under if under else RUNTIME
    return sorted(path for path in root.rglob("*.py") if "values" not in path.relative_to(RUNTIME).parts)


@pytest.mark.parametrize("rule", list(FORBIDDEN))
def test_no_module_outside_the_value_core_does_its_work(rule):
    pattern, under = FORBIDDEN[rule]
    offenders = []
    for path in _runtime_sources(under):
        if (path.name, rule) in ALLOWED:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if pattern.search(code):
                offenders.append(f"{path.relative_to(RUNTIME)}:{number}: {line.strip()}")
    assert not offenders, f"{rule} outside ampscript/values:\n" + "\n".join(offenders)


def test_the_scan_would_find_an_offender(tmp_path):
    assert FORBIDDEN["folds case with casefold()"][0].search("key = name.casefold()")
    assert FORBIDDEN["parses dates with dateutil"][0].search("from dateutil import parser")
    assert FORBIDDEN["reads numbers from text with Decimal()/int()/float()"][0].search("n = int(text)")
    assert FORBIDDEN["compares values after changing their case"][0].search('if unit.upper() == "Y":')


# Conversions a function body still makes by hand, with the function's name: none but these,
# which convert a value the function found rather than an argument it was given.
HAND_CONVERSIONS = re.compile(r"\bto_(text|int|number|boolean|double)\([^()]*,\s*\"[A-Za-z]+\"")
KNOWN_HAND_CONVERSIONS = {
    ("math.py", "Random"),  # a bound already read as a number, narrowed to a whole one
    ("sites.py", "WAT"),  # an ordinal found in the parameter set's template
}


def test_function_bodies_do_not_convert_their_own_arguments():
    found = set()
    for path in sorted((RUNTIME / "functions").glob("*.py")):
        for match in HAND_CONVERSIONS.finditer(path.read_text(encoding="utf-8")):
            name = re.search(r'"([A-Za-z]+)"', match.group()).group(1)
            found.add((path.name, name))
    assert found <= KNOWN_HAND_CONVERSIONS, sorted(found - KNOWN_HAND_CONVERSIONS)


def test_every_function_declares_its_parameter_types():
    untyped = [
        f"{spec.name}({parameter.name})"
        for spec in all_functions()
        for parameter in spec.parameters
        if parameter.kind == "value" and parameter.name.lower() in {"number", "count", "index"}
    ]
    assert not untyped
    assert all(spec.parameters or spec.max_args == 0 for spec in all_functions())
    kinds = {parameter.kind for spec in all_functions() for parameter in spec.parameters}
    assert {"text", "number", "integer", "boolean", "date", "rowset", "API object", "out"} <= kinds


def test_ampc_functions_json_lists_the_parameter_types():
    result = subprocess.run(
        [sys.executable, "-m", "ampc", "functions", "--json"], capture_output=True, text=True, timeout=120
    )
    functions = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert functions["Substring"]["parameters"] == [
        {"name": "sourceString", "type": "text", "optional": False, "variadic": False},
        {"name": "startPosition", "type": "integer", "optional": False, "variadic": False},
        {"name": "substringLength", "type": "integer", "optional": True, "variadic": False},
    ]
    assert functions["Lookup"]["parameters"][-1] == {
        "name": "more", "type": "name/value pairs", "optional": True, "variadic": True,
    }
    assert functions["InvokeRetrieve"]["parameters"][1]["type"] == "out"


def test_conversion_errors_name_the_function_and_the_parameter():
    with pytest.raises(AMPscriptError) as raised:
        ampc.render('%%=Substring("abc", "one")=%%')
    assert "invalid number 'one' for argument 'startPosition' of Substring()" in str(raised.value)


# ---- one case folding --------------------------------------------------------------


def test_straße_is_folded_the_same_way_everywhere():
    # ==, Uppercase() and a data extension Lookup agree: ß has no one-character upper case.
    assert case.upper("straße") == "STRAßE"
    assert eq("straße", "STRAßE") and not eq("straße", "STRASSE")
    output = ampc.render(
        '%%[ if "straße" == "STRASSE" then ]%%equal%%[ else ]%%different%%[ endif ]%%'
        '|%%=Uppercase("straße")=%%'
        '|%%=Lookup("Cities", "Name", "Key", "STRAßE")=%%'
        '|%%=Lookup("Cities", "Name", "Key", "STRASSE")=%%',
        context=Context(workspace=CORPUS),
    )
    assert output == "different|STRAßE|Straße|"


def test_case_mapping_is_one_to_one():
    assert case.upper("ıi") == "II" and case.lower("İ") == "i" and len(case.lower("İ")) == 1
    assert case.fold("Andreas Graßl") != case.fold("Andreas Grassl")


# ---- the rules, as the issue states them -------------------------------------------------


@pytest.mark.parametrize(
    "left, right, expected",
    [
        (0, UNSET, True),  # one null side: < is true
        (True, False, True),  # booleans have no order
        ("a", 1, True),  # "a" counts as 0
        ("4", "50", True),  # numeric strings compare as numbers
        ("apple", "Banana", True),  # text by collation, ignoring case
    ],
)
def test_less_than_follows_the_rules(left, right, expected):
    assert lt(left, right) is expected


@pytest.mark.parametrize("value", [None, UNSET, "", "   ", 0, "0", 2, "false", "hello", 1.5])
def test_conditions_that_are_not_true_are_false_not_errors(value):
    assert condition(value) is False


@pytest.mark.parametrize("value", [True, 1, "1", "true", "TRUE"])
def test_conditions_that_are_true(value):
    assert condition(value) is True


# ---- the comparison fast paths agree with the rules --------------------------------------------

_TEXTS = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["gold", "Gold", "GOLD", "silver", "ß", "SS", " 5", "5", "-1", ".5", "a", "ä", "Ä", "\u00a0x", "x "]),
)


@settings(max_examples=400, deadline=None)
@given(_TEXTS, _TEXTS, st.integers(min_value=0, max_value=5))
def test_the_text_fast_path_gives_what_the_rules_give(left, right, operator):
    """Issue 11: two texts that cannot be numbers skip the earlier rules; the answer must not change."""
    from ampscript.values import compare

    assert compare._compare(left, right, operator) == compare._by_rules(left, right, operator)
