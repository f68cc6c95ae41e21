"""Text that enters the runtime from outside: lone surrogates and JSON nested too deeply.

A Python string can hold half of a UTF-16 surrogate pair (JSON's "\\ud83d"
escape makes one); it cannot be encoded, stored in SQLite or printed.  Where
text enters (AMPscript source, the subscriber, JSON documents) such halves
become U+FFFD, as .NET's encoders write them (`ampscript.values.clean_text`);
U+FFFD is one UTF-16 unit too, so Length() is unchanged.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import ampc
from ampscript import Context, ScriptError
from ampscript.values import clean_text, parse_json

LONE = "\ud83d"


def test_clean_text_replaces_only_lone_surrogates():
    assert clean_text(f"a{LONE}b\U0001F600") == "a\ufffdb\U0001F600"
    assert clean_text("plain") == "plain"


def test_a_lone_surrogate_in_source_prints_as_the_replacement_character():
    assert ampc.render(f'%%=Concat("x", "{LONE}")=%%|%%=Length("{LONE}")=%%') == "x\ufffd|1"


def test_subscriber_attributes_are_cleaned_names_and_values():
    context = Context(subscriber={f"First{LONE}": f"An{LONE}a"})
    assert context.subscriber["First\ufffd"] == "An\ufffda"


def test_json_documents_are_cleaned_at_any_depth():
    document = parse_json('{"a\\ud83d": [{"b": ["\\ud83d\\ude00", "\\udc00x"]}]}')
    assert document == {"a\ufffd": [{"b": ["\U0001F600", "\ufffdx"]}]}


def test_build_rowset_from_json_with_a_lone_surrogate_escape():
    source = '%%[ set @rows = BuildRowsetFromJSON(\'[{"name": "\\ud83d!"}]\', "$[*]") ]%%' \
        '%%=Field(Row(@rows, 1), "name")=%%'
    assert ampc.render(source) == "\ufffd!"


@pytest.mark.parametrize("nested", ["[" * 5000, '{"a":' * 5000])
def test_json_nested_too_deeply_is_invalid_json(nested):
    with pytest.raises(json.JSONDecodeError, match="nested too deeply"):
        parse_json(nested)
    with pytest.raises(ScriptError, match="invalid JSON: nested too deeply"):
        ampc.render(f"%%[ set @r = BuildRowsetFromJSON('{nested}', '$') ]%%")


def test_ampc_run_prints_a_subscriber_with_lone_surrogate_escapes(tmp_path):
    (tmp_path / "page.amp").write_text("Hi %%FirstName%%!", encoding="utf-8")
    (tmp_path / "subscriber.json").write_text('{"FirstName": "Ana\\ud83d"}', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ampc", "run", str(tmp_path / "page.amp")],
        capture_output=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8") == "Hi Ana\ufffd!"


def test_ampc_run_reports_a_deeply_nested_subscriber_file(tmp_path):
    (tmp_path / "page.amp").write_text("x", encoding="utf-8")
    (tmp_path / "sub.json").write_text("[" * 5000, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ampc", "run", str(tmp_path / "page.amp"), "--subscriber", str(tmp_path / "sub.json")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "invalid JSON: nested too deeply" in result.stderr
    assert "internal error" not in result.stderr
