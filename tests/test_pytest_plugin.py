"""The pytest plugin (ampc.pytest_plugin): golden files, --ampc-update, the fixtures, its import cost.

Golden-file behaviour is checked in inner pytest runs (pytester) over files
written byte for byte; the fixtures are used by these tests themselves, as
the installed entry point enables them here as anywhere.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest
from ampc import pytest_plugin

pytest_plugins = ["pytester"]

SAMPLES = Path(__file__).parents[1] / "samples"
A_GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SIGNUPS_SCHEMA = {
    "fields": [
        {"name": "Email", "type": "EmailAddress", "length": 254, "primaryKey": True},
        {"name": "FirstName", "type": "Text", "length": 50},
    ]
}


def write(folder: Path, name: str, text: str) -> Path:
    """Write `text` exactly (no newline translation, no dedent), making folders as needed."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def golden(pytester: pytest.Pytester, name: str, script: str, expected: str, **side_files: str) -> Path:
    """A golden script `name` with its expected output and side files (suffix without the dot -> text)."""
    path = write(pytester.path, name, script)
    write(pytester.path, path.with_suffix(".expected").name, expected)
    for suffix, text in side_files.items():
        write(pytester.path, path.with_suffix("." + suffix.replace("_", ".")).name, text)
    return path


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """``run(*args, autoload=False)``: an inner pytest run over `pytester`'s folder, in a subprocess.

    Not in process: pytester restores sys.modules after an in-process run,
    dropping the modules the runtime imported lazily during it, which the
    runtime's registries still refer to.  Without `autoload` only the ampc
    plugin loads (by its entry point's name), which spares each run the
    second Hypothesis's plugin takes to import.
    """

    def run_pytest(*args: str, autoload: bool = False) -> pytest.RunResult:
        if autoload:
            monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
            return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
        monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        return pytester.runpytest_subprocess("-p", "ampc", "-p", "no:cacheprovider", *args)

    return run_pytest


# Golden files


def test_matching_output_passes(pytester, run):
    golden(pytester, "welcome.amp", '%%[ set @name = "Ana" ]%%Hello, %%=v(@name)=%%!\n', "Hello, Ana!\n")
    result = run("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*welcome.amp::welcome.expected PASSED*"])


def test_ampscript_suffix_is_collected_too(pytester, run):
    golden(pytester, "page.ampscript", "plain", "plain")
    run().assert_outcomes(passed=1)


def test_mismatch_shows_the_file_the_position_and_a_unified_diff(pytester, run):
    golden(pytester, "welcome.amp", '%%[ set @name = "Bob" ]%%Hello, %%=v(@name)=%%!\n', "Hello, Rob!\n")
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*welcome.amp: the output differs from welcome.expected",
            "first difference at output line 1, column 8: written by the AMPscript at *welcome.amp:1:33",
            "  expected: 'Rob!\\n'",
            "  actual:   'Bob!\\n'",
            "--- welcome.expected (expected)",
            "+++ actual output",
            "-Hello, Rob!",
            "+Hello, Bob!",
        ]
    )


def test_mismatch_in_literal_text_gives_the_text_position(pytester, run):
    golden(pytester, "a.amp", "Dear %%=v(@x)=%%\nfriend\n", "Dear \nfiend\n")
    result = run()
    result.stdout.fnmatch_lines(
        ["first difference at output line 2, column 2: from the literal text at *a.amp:2:2"]
    )


def test_output_that_ends_early_is_said(pytester, run):
    golden(pytester, "a.amp", "one\n", "one\ntwo\n")
    result = run()
    result.stdout.fnmatch_lines(
        [
            "first difference at output line 2, column 1: the output ends early;*a.amp:1:1",
            "  actual:   (end of output)",
        ]
    )


def test_comparison_is_byte_exact_and_the_diff_shows_carriage_returns(pytester, run):
    # OutputLine() ends its line with CRLF; an expected file with LF does not match it.
    script = '%%[ OutputLine(Concat("a")) ]%%'
    golden(pytester, "crlf.amp", script, "a\n")
    golden(pytester, "kept.amp", script, "a\r\n")
    result = run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["-a", "+a\\r"])


def test_guid_placeholder_matches_any_guid_and_only_a_guid(pytester, run):
    golden(pytester, "fresh.amp", "id=%%=GUID()=%%;", "id=<GUID>;")
    golden(pytester, "upper.amp", f"id={A_GUID.upper()};", "id=<GUID>;")
    golden(pytester, "not_a_guid.amp", "id=0f8fad5b;", "id=<GUID>;")
    result = run("-rA")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED not_a_guid.amp::not_a_guid.expected*"])


def test_diff_shows_matched_guids_as_the_placeholder(pytester, run):
    golden(pytester, "a.amp", 'id=%%=GUID()=%%\n%%=v("Bob")=%%\n', "id=<GUID>\nRob\n")
    result = run()
    result.stdout.fnmatch_lines([" id=<GUID>", "-Rob", "+Bob"])


def test_a_bad_side_file_is_reported_as_such(pytester, run):
    golden(pytester, "a.amp", "x", "x", subscriber_json="[1, 2]")
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*a.subscriber.json: must hold a JSON object ({...}), not list"])


def test_subscriber_file_beside_the_script_wins_over_the_workspace(pytester, run):
    write(pytester.path, "subscriber.json", json.dumps({"FirstName": "Workspace"}))
    golden(pytester, "own.amp", "%%FirstName%%", "Ana", subscriber_json=json.dumps({"FirstName": "Ana"}))
    golden(pytester, "shared.amp", "%%FirstName%%", "Workspace")
    run().assert_outcomes(passed=2)


def test_params_file_makes_a_cloudpage_request(pytester, run):
    params = {"method": "POST", "url": "http://127.0.0.1:8000/p?q=hi", "form": {"email": "a@example.com"}}
    golden(
        pytester,
        "page.amp",
        '%%=RequestParameter("q")=%% %%=RequestParameter("email")=%%',
        "hi a@example.com",
        params_json=json.dumps(params),
    )
    run().assert_outcomes(passed=1)


def test_params_file_with_an_unknown_key_is_reported(pytester, run):
    golden(pytester, "page.amp", "x", "x", params_json=json.dumps({"quary": {"q": "1"}}))
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unknown key(s) 'quary'; the keys are method, url, query*"])


def test_now_file_fixes_the_system_time(pytester, run):
    script = '%%=Format(Now(), "yyyy-MM-dd HH:mm")=%%'
    golden(pytester, "naive.amp", script, "2024-05-01 09:30", now="2024-05-01T09:30:00\n")
    # A time with an offset becomes Marketing Cloud system time (UTC-6).
    golden(pytester, "utc.amp", script, "2024-05-01 09:30", now="2024-05-01T15:30:00Z")
    golden(pytester, "bad.amp", script, "", now="yesterday")
    result = run()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*bad.now: not an ISO 8601 date and time: 'yesterday'"])


def test_bare_scripts_and_content_blocks_are_not_collected(pytester, run):
    write(pytester.path, "bare.amp", "no expected file")
    write(pytester.path, "Content/block.amp", "a content block")
    result = run("--collect-only", "-q")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    write(pytester.path, "Content/block.expected", "a content block")
    result = run("--collect-only", "-q")
    result.stdout.fnmatch_lines(["Content/block.amp::block.expected"])


def test_runtime_error_is_the_ampscript_message_not_a_traceback(pytester, run):
    golden(pytester, "err.amp", 'x\n%%=Add(1, "x")=%%\n', "x\n")
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*err.amp: the render raised an AMPscript error",
            "*err.amp:2:1: error: invalid number 'x' for argument 'number2' of Add()",
            ' 2 | %%=Add(1, "x")=%%',
            "   | ^",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "ampscript/functions" not in result.stdout.str()


def test_compile_error_is_the_compiler_message_not_a_traceback(pytester, run):
    golden(pytester, "comp.amp", "x\n%%= Add(1, =%%\n", "x\n")
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*comp.amp: the script does not compile", "*comp.amp:2:12: error: expected a value before '=%%'"]
    )
    assert "ampc/parser" not in result.stdout.str()
    assert "Traceback" not in result.stdout.str()


# --ampc-update


def test_update_rewrites_a_differing_expected_file_and_passes(pytester, run):
    script = golden(pytester, "a.amp", 'Hi %%=v("Bob")=%%\r\nid=%%=GUID()=%%', "stale")
    result = run("--ampc-update")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*ampc: updated 1 expected file*", f"ampc: updated {script.with_suffix('.expected')}"]
    )
    # Bytes as rendered (the script's CRLF read as a newline, as `ampc run` reads it); the fresh GUID as <GUID>.
    assert script.with_suffix(".expected").read_bytes() == b"Hi Bob\nid=<GUID>"
    run().assert_outcomes(passed=1)


def test_update_keeps_a_guid_the_expected_file_spelled_out(pytester, run):
    script = golden(pytester, "a.amp", f"{A_GUID} %%=v(@x)=%%", f"{A_GUID} old")
    run("--ampc-update").assert_outcomes(passed=1)
    assert script.with_suffix(".expected").read_text() == f"{A_GUID} "


def test_update_leaves_matching_files_alone(pytester, run):
    script = golden(pytester, "a.amp", "id=%%=GUID()=%%", "id=<GUID>")
    result = run("--ampc-update")
    result.assert_outcomes(passed=1)
    assert script.with_suffix(".expected").read_text() == "id=<GUID>"
    assert "ampc: updated" not in result.stdout.str()


def test_update_never_rewrites_after_an_error(pytester, run):
    runtime = golden(pytester, "err.amp", '%%=Add(1, "x")=%%', "kept")
    compile_error = golden(pytester, "comp.amp", "%%= Add(1, =%%", "kept too")
    result = run("--ampc-update")
    result.assert_outcomes(failed=2)
    assert runtime.with_suffix(".expected").read_text() == "kept"
    assert compile_error.with_suffix(".expected").read_text() == "kept too"
    assert "ampc: updated" not in result.stdout.str()


# Registration and start-up cost


def test_the_entry_point_names_the_plugin():
    (entry_point,) = importlib.metadata.entry_points(group="pytest11", name="ampc")
    assert entry_point.value == "ampc.pytest_plugin"


def test_the_option_is_in_pytest_help(pytester, run):
    result = run("--help", autoload=True)
    result.stdout.fnmatch_lines(["AMPscript golden files (ampc):", "*--ampc-update*"])


def test_naming_the_plugin_with_p_works_beside_the_entry_point(pytester, run):
    golden(pytester, "a.amp", "x", "x")
    run("-p", "ampc.pytest_plugin", autoload=True).assert_outcomes(passed=1)


def test_the_entry_point_loads_the_plugin_by_itself(pytester, run):
    golden(pytester, "a.amp", "x", "x")
    run(autoload=True).assert_outcomes(passed=1)


def test_no_ampc_turns_the_plugin_off(pytester, run):
    golden(pytester, "a.amp", "x", "x")
    result = run("-p", "no:ampc", autoload=True)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_importing_the_plugin_loads_neither_the_compiler_nor_the_runtime():
    probe = (
        "import sys, ampc.pytest_plugin\n"
        "print('\\n'.join(sorted(name for name in sys.modules"
        " if name.split('.')[0] in {'lark', 'libcst', 'black', 'ampc', 'ampscript'})))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert set(result.stdout.split()) <= {"ampc", "ampc.pytest_plugin", "ampscript", "ampscript.lazy"}
    assert "ampc.pytest_plugin" in result.stdout.split()


def test_script_suffixes_agree_with_the_runtime():
    from ampscript.rendering import SCRIPT_SUFFIXES

    assert pytest_plugin.SCRIPT_SUFFIXES == SCRIPT_SUFFIXES


# Comparing


@pytest.mark.parametrize(
    ("expected", "actual", "difference"),
    [
        ("abc", "abc", None),
        ("abc", "abd", (2, 2)),
        ("abc", "ab", (2, 2)),
        ("ab", "abc", (2, 2)),
        ("<GUID>!", A_GUID + "!", None),
        ("<GUID>!", A_GUID + "?", (36, 6)),
        ("x<GUID>", "x" + A_GUID[:-1], (1, 1)),
        ("a\r\n", "a\n", (1, 1)),
    ],
)
def test_first_difference(expected, actual, difference):
    assert pytest_plugin.first_difference(expected, actual) == difference


def test_position_is_unknown_when_the_traced_render_differs(tmp_path):
    import ampc
    from ampscript import Context

    source = "Hi %%FirstName%%!"
    module = ampc.compile_module(source, str(write(tmp_path, "a.amp", source)))
    actual = "Hi Ana!"

    def other_subscriber():
        return Context(workspace=tmp_path, subscriber={"FirstName": "Bo"})

    def too_small_for_the_output():
        return Context(workspace=tmp_path, subscriber={"FirstName": "Ana"}, limits={"outputCharacters": 2})

    found = pytest_plugin.locate_writer(module, other_subscriber, source, actual, 4)
    assert found == "its AMPscript position is unknown (a second render, to trace it, wrote different output)"
    found = pytest_plugin.locate_writer(module, too_small_for_the_output, source, actual, 4)
    assert found == "its AMPscript position is unknown (a second render, to trace it, raised an error)"
    same = pytest_plugin.locate_writer(
        module, lambda: Context(workspace=tmp_path, subscriber={"FirstName": "Ana"}), source, actual, 4
    )
    assert same == f"written by the AMPscript at {tmp_path / 'a.amp'}:1:4"


# Fixtures


def test_render_source(ampscript_render):
    assert ampscript_render("%%[ set @x = Add(1, 2) ]%%%%=v(@x)=%%") == "3"


def test_render_source_with_variables_subscriber_now_and_params(ampscript_render):
    script = '%%=v(@name)=%% %%FirstName%% %%=Format(Now(), "yyyy-MM-dd")=%% %%=RequestParameter("q")=%%'
    output = ampscript_render(
        script,
        variables={"@name": "Ana"},
        subscriber={"FirstName": "Bo"},
        now="2024-05-01T09:30:00",
        params={"query": {"q": "hi"}},
    )
    assert output == "Ana Bo 2024-05-01 hi"


def test_render_now_as_a_datetime(ampscript_render):
    assert ampscript_render('%%=Format(Now(), "yyyy")=%%', now=dt.datetime(1999, 1, 2)) == "1999"


def test_render_a_path_in_its_own_workspace(ampscript_render):
    script = SAMPLES / "welcome-email" / "welcome.amp"
    assert ampscript_render(script) == script.with_suffix(".expected").read_bytes().decode("utf-8")


def test_render_a_path_given_as_text(ampscript_render, tmp_path):
    write(tmp_path, "subscriber.json", json.dumps({"FirstName": "Cy"}))
    script = write(tmp_path, "hello.amp", "Hi %%FirstName%%")
    assert ampscript_render(str(script)) == "Hi Cy"
    assert ampscript_render("hello.amp") == "hello.amp"  # no such file here: source


def test_render_source_uses_the_tests_tmp_path_as_workspace(ampscript_render, tmp_path):
    write(tmp_path, "subscriber.json", json.dumps({"FirstName": "Temp"}))
    assert ampscript_render("%%FirstName%%") == "Temp"


def test_render_raises_the_located_ampscript_error(ampscript_render):
    from ampscript import AMPscriptError

    with pytest.raises(AMPscriptError) as raised:
        ampscript_render('x\n%%=Add(1, "x")=%%')
    assert (raised.value.line, raised.value.column) == (2, 1)
    assert '%%=Add(1, "x")=%%' in str(raised.value)


def test_each_render_gets_a_fresh_context(ampscript_render, tmp_path):
    write(tmp_path, "DataExtensions/Signups.schema.json", json.dumps(SIGNUPS_SCHEMA))
    write(tmp_path, "DataExtensions/Signups.csv", "Email,FirstName\n")
    insert = '%%[ InsertData("Signups", "Email", "a@example.com", "FirstName", "Ana") ]%%'
    lookup = '[%%=Lookup("Signups", "FirstName", "Email", "a@example.com")=%%]'
    assert ampscript_render(insert + lookup) == "[Ana]"
    assert ampscript_render(lookup) == "[]"


def test_render_refuses_a_context_and_its_setup_together(ampscript_render, ampscript_context):
    with pytest.raises(TypeError, match="not both"):
        ampscript_render("x", context=ampscript_context(), subscriber={})


def test_context_state_is_shared_within_a_test_not_between_tests(pytester, run):
    # Two tests in one inner run: the second must not see the first one's insert.
    pytester.makepyfile(test_state=f"""
        import json

        SCHEMA = {json.dumps(SIGNUPS_SCHEMA)!r}
        INSERT = '%%[ InsertData("Signups", "Email", "a@example.com", "FirstName", "Ana") ]%%'
        LOOKUP = '[%%=Lookup("Signups", "FirstName", "Email", "a@example.com")=%%]'
        WORKSPACE = None

        def workspace(tmp_path_factory):
            global WORKSPACE
            if WORKSPACE is None:
                WORKSPACE = tmp_path_factory.mktemp("ws")
                (WORKSPACE / "DataExtensions").mkdir()
                (WORKSPACE / "DataExtensions" / "Signups.schema.json").write_text(SCHEMA)
                (WORKSPACE / "DataExtensions" / "Signups.csv").write_text("Email,FirstName\\n")
            return WORKSPACE

        def test_first(ampscript_render, ampscript_context, tmp_path_factory):
            context = ampscript_context(workspace(tmp_path_factory), subscriber={{}})
            ampscript_render(INSERT, context=context)
            assert ampscript_render(LOOKUP, context=context) == "[Ana]"
            assert ampscript_render(LOOKUP, context=ampscript_context(workspace(tmp_path_factory))) == "[]"

        def test_second(ampscript_render, ampscript_context, tmp_path_factory):
            context = ampscript_context(workspace(tmp_path_factory), now="2024-05-01T00:00:00")
            assert ampscript_render(LOOKUP, context=context) == "[]"
            assert context.now().year == 2024
        """)
    run().assert_outcomes(passed=2)
