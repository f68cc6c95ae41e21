"""Every function of the shared catalog's core categories is registered, with the catalog's arity.

The catalog (``../shared/reference/ampscript-functions.json``, from the
ampscript-data package) is a checklist, not the spec: where Salesforce's
reference says otherwise, the reference wins and the difference is listed in
DELIBERATE_DIFFERENCES below, with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ampc
from ampscript import Context
from ampscript.errors import RaisedError
from ampscript.registry import lookup

CATALOG = Path(__file__).resolve().parents[2] / "shared" / "reference" / "ampscript-functions.json"

CATEGORIES = ("String", "Math", "Date and Time", "Utility", "Encryption and Encoding")

# name -> (min, max) that the runtime deliberately registers (max None: variadic),
# or a string: the reason the function is deliberately not registered.
DELIBERATE_DIFFERENCES: dict[str, tuple[int, int | None] | str] = {
    # Salesforce's InvokeExecute example calls Concat with a single argument.
    "Concat": (1, None),
    # FormatDate(dateString, dateFormat, timeFormat, localeCode): the reference marks
    # only dateString as required (without a format it prints like .NET's "G").
    "FormatDate": (1, 4),
    # StringToDate's reference page documents one argument; it has no format argument.
    "StringToDate": (1, 1),
    # IndexOf's undocumented third argument picks the occurrence; a fourth aborts
    # (https://sfmc.guide/engagement/differs-from-docs/#indexof-third-occurrence-argument).
    "IndexOf": (2, 3),
    # Replace's replacement is optional: left out, the matches are deleted
    # (https://sfmc.guide/engagement/differs-from-docs/#replace-case-insensitive-single-pass).
    "Replace": (2, 3),
    # Server-side JavaScript's Platform.Variable functions, not AMPscript ones:
    # the AMPscript reference has no GetValue or SetValue.
    "GetValue": "SSJS Platform.Variable.GetValue, not an AMPscript function",
    "SetValue": "SSJS Platform.Variable.SetValue, not an AMPscript function",
    # WAT(parameterSetKey, parameterValue1, ...): the reference marks the first value
    # as required (https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmatic-content/wat.htm).
    "WAT": (2, None),
    # Marketing Cloud writes no argument (OutputLine: just the line break) and several
    # arguments in turn (https://sfmc.guide/engagement/differs-from-docs/#outputline-arity-and-empty-argument).
    "Output": (0, None),
    "OutputLine": (0, None),
}


def _catalog_functions() -> list[dict]:
    if not CATALOG.exists():
        return []
    functions = json.loads(CATALOG.read_text(encoding="utf-8"))["functions"]
    return [entry for entry in functions if entry["category"] in CATEGORIES]


FUNCTIONS = _catalog_functions()


@pytest.mark.skipif(not CATALOG.exists(), reason=f"the shared reference catalog is absent ({CATALOG})")
@pytest.mark.parametrize("entry", FUNCTIONS, ids=[entry["name"] for entry in FUNCTIONS])
def test_catalog_function_is_registered_with_its_arity(entry):
    name = entry["name"]
    expected = DELIBERATE_DIFFERENCES.get(name, (entry["minArgs"], entry["maxArgs"]))
    spec = lookup(name)
    if isinstance(expected, str):
        assert spec is None, f"{name} is registered, but is listed as deliberately absent: {expected}"
        return
    assert spec is not None, f"{name} ({entry['category']}) is not registered"
    assert (spec.min_args, spec.max_args) == tuple(
        expected
    ), f"{name}: registered {spec.arity_text()} arguments"


def test_raise_error_keeps_all_its_arguments():
    # RaiseError's optional arguments have no visible effect in a local render,
    # so they are checked here, on the error the render raises.
    source = '%%[ RaiseError("Order missing", true, "ORDER_MISSING", 404, true) ]%%'
    with pytest.raises(RaisedError) as raised:
        ampc.render(source, context=Context(subscriber={}))
    error = raised.value
    assert error.message == "Order missing"
    assert error.skip_send is True
    assert error.error_code == "ORDER_MISSING"
    assert error.api_error_number == 404
    assert error.preserve_data_extension_changes is True


def test_raise_error_defaults_stop_the_whole_send():
    with pytest.raises(RaisedError) as raised:
        ampc.render("%%[ RaiseError('An Error Occurred') ]%%", context=Context(subscriber={}))
    assert raised.value.skip_send is False
    assert raised.value.error_code is None
    assert raised.value.api_error_number is None
