"""The render limits (`ampscript.limits`): each one stops a runaway render with an error naming it.

Each test sets the limit low (through `Context(limits=...)` or the
workspace's ampc.json) and checks the error's message, limit name and hint,
and that work within the limit is untouched.
"""

from __future__ import annotations

import json
import time

import pytest

import ampc
from ampscript import Context, LimitExceeded, Limits, ScriptError
from ampscript.functions import content as content_functions
from ampscript.functions.string import RegExMatch, ReplaceList
from ampscript.rendering import Page


def _render(source: str, **limits) -> str:
    return ampc.render(source, context=Context(limits=limits))


def _exceeded(source: str, context: Context | None = None, **limits) -> LimitExceeded:
    with pytest.raises(LimitExceeded) as raised:
        ampc.render(source, context=context or Context(limits=limits))
    return raised.value


# ---- settings -----------------------------------------------------------------------------


def test_defaults_are_documented_values():
    limits = Limits()
    assert limits.render_seconds == 60
    assert limits.output_characters == 20_000_000
    assert limits.string_characters == 10_000_000
    assert limits.loop_iterations == 10_000_000
    assert limits.include_depth == 20
    assert limits.included_blocks == 10_000
    assert limits.http_request_seconds == 30


def test_every_limit_has_an_ampc_json_name():
    assert set(Limits.setting_names()) == {
        "renderSeconds", "outputCharacters", "stringCharacters", "loopIterations", "includeDepth",
        "includedBlocks", "fragmentCompiles", "regexSeconds", "httpRequestSeconds", "httpResponseBytes",
        "requestBodyBytes", "stateLockSeconds",
    }


def test_limits_come_from_ampc_json_and_context_overrides_them(tmp_path):
    (tmp_path / "ampc.json").write_text(json.dumps({"limits": {"loopIterations": 5, "outputCharacters": 99}}))
    assert Context(workspace=tmp_path).limits.loop_iterations == 5
    context = Context(workspace=tmp_path, limits={"loopIterations": 7})
    assert (context.limits.loop_iterations, context.limits.output_characters) == (7, 99)
    assert Context(workspace=tmp_path, limits=Limits(loop_iterations=8)).limits.output_characters == 20_000_000


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"loopIteration": 5}, "'loopIteration' is not a limit"),
        ({"loopIterations": 0}, "must be a whole number above 0"),
        ({"loopIterations": 1.5}, "must be a whole number above 0"),
        ({"renderSeconds": "10"}, "must be a number of seconds above 0"),
        ({"renderSeconds": True}, "must be a number of seconds above 0"),
        ([1, 2], "must be an object"),
    ],
)
def test_bad_settings_are_clear_errors(tmp_path, setting, message):
    (tmp_path / "ampc.json").write_text(json.dumps({"limits": setting}))
    with pytest.raises(ScriptError, match=message) as raised:
        Context(workspace=tmp_path).limits
    assert "ampc.json" in str(raised.value)


def test_the_error_names_the_limit_and_how_to_raise_it():
    error = _exceeded("%%[for @i = 1 to 100 do]%%%%[next]%%", loopIterations=10)
    assert error.limit == "loop_iterations"
    assert "(limit loopIterations = 10)" in error.message
    assert '{"limits": {"loopIterations": 100}}' in error.hint
    assert "Limits(loop_iterations=...)" in error.hint
    assert error.line == 1


# ---- loops and time ----------------------------------------------------------------------


def test_loops_within_the_limit_run():
    assert _render("%%[for @i = 1 to 3 do]%%%%=v(@i)=%%%%[next]%%", loopIterations=3) == "123"


def test_loop_iterations_count_over_all_loops_of_the_render():
    source = "%%[for @i = 1 to 3 do for @j = 1 to 3 do set @x = 1 next next]%%"
    assert _render(source, loopIterations=12) == ""  # 3 + 3 * 3
    assert _exceeded(source, loopIterations=11).limit == "loop_iterations"


def test_a_huge_loop_is_refused_before_it_starts():
    start = time.perf_counter()
    error = _exceeded("%%[for @i = 1 to 9223372036854775807 do set @x = 1 next]%%")
    assert error.limit == "loop_iterations"
    assert time.perf_counter() - start < 5


def test_a_long_render_stops_at_its_time_limit():
    start = time.perf_counter()
    error = _exceeded("%%[set @x = 0 for @i = 1 to 5000000 do set @x = Add(@x, 1) next]%%", renderSeconds=0.3)
    assert error.limit == "render_seconds"
    assert "the render took too long" in error.message
    assert time.perf_counter() - start < 5


def test_many_short_loops_still_see_the_deadline():
    source = "%%[set @x = 0 for @i = 1 to 100000 do for @j = 1 to 3 do set @x = Add(@x, 1) next next]%%"
    assert _exceeded(source, renderSeconds=0.3).limit == "render_seconds"


# ---- output and strings -------------------------------------------------------------------


def test_output_is_limited():
    assert _render("%%[for @i = 1 to 5 do]%%ab%%[next]%%", outputCharacters=10) == "ababababab"
    error = _exceeded("%%[for @i = 1 to 6 do]%%ab%%[next]%%", outputCharacters=10)
    assert error.limit == "output_characters"


@pytest.mark.parametrize(
    "source",
    [
        "%%=Char(65, 1000000000)=%%",
        '%%[set @s = "ab" for @i = 1 to 40 do set @s = Concat(@s, @s) next]%%',
        '%%=Replace(Char(65, 10000), "A", Char(66, 2000))=%%',
        '%%=ReplaceList(Char(65, 10000), Char(66, 2000), "A", "C")=%%',
    ],
)
def test_strings_that_grow_without_bound_are_stopped_before_they_are_built(source):
    start = time.perf_counter()
    error = _exceeded(source, context=Context(limits={"stringCharacters": 1_000_000}))
    assert error.limit == "string_characters"
    assert time.perf_counter() - start < 10


def test_a_string_at_the_limit_is_fine():
    assert len(_render("%%=Char(65, 1000)=%%", stringCharacters=1000)) == 1000


# ---- regular expressions ----------------------------------------------------------------


def test_catastrophic_backtracking_stops_at_the_regex_limit():
    start = time.perf_counter()
    error = _exceeded('%%=RegExMatch(Concat(Char(97, 36), "!"), "(a|aa)+$", 0)=%%', regexSeconds=0.2)
    assert error.limit == "regex_seconds"
    assert "RegExMatch() took too long" in error.message
    assert time.perf_counter() - start < 5


def test_ordinary_regular_expressions_are_untouched():
    assert _render('%%=RegExMatch("abc123", "[0-9]+", 0)=%%', regexSeconds=0.2) == "123"


# ---- included content ----------------------------------------------------------------


@pytest.fixture
def content(tmp_path):
    folder = tmp_path / "Content"
    folder.mkdir()

    def write(name: str, text: str) -> None:
        (folder / name).write_text(text, encoding="utf-8")

    write.root = tmp_path
    content_functions._fragments.clear()
    yield write
    content_functions._fragments.clear()


def test_fan_out_is_bounded_by_the_number_of_included_blocks(content):
    # Each level includes the next one twice: 2**19 blocks without a total limit.
    content(
        "Fan.amp",
        '%%[set @d = Add(@d, 1) if @d < 19 then]%%%%=ContentBlockByName("Fan")=%%'
        '%%=ContentBlockByName("Fan")=%%%%[endif set @d = Subtract(@d, 1)]%%',
    )
    start = time.perf_counter()
    with pytest.raises(LimitExceeded) as raised:
        ampc.render(
            '%%[set @d = 0]%%%%=ContentBlockByName("Fan")=%%',
            context=Context(workspace=content.root, limits={"includedBlocks": 500}),
        )
    assert raised.value.limit == "included_blocks"
    assert time.perf_counter() - start < 20


def test_include_depth_is_a_limit_too(content):
    content("Loop.amp", '%%=ContentBlockByName("Loop")=%%')
    with pytest.raises(LimitExceeded) as raised:
        ampc.render(
            '%%=ContentBlockByName("Loop")=%%', context=Context(workspace=content.root, limits={"includeDepth": 5})
        )
    assert raised.value.limit == "include_depth"
    assert "nested more than 5 levels deep" in raised.value.message


def test_run_time_compiles_are_limited_and_the_cache_is_bounded(content):
    source = '%%[for @i = 1 to 40 do set @x = TreatAsContent(Concat("%%=v(", @i, ")=%%")) next]%%'
    with pytest.raises(LimitExceeded) as raised:
        ampc.render(source, context=Context(workspace=content.root, limits={"fragmentCompiles": 30}))
    assert raised.value.limit == "fragment_compiles"
    assert len(content_functions._fragments._fragments) <= content_functions.FRAGMENT_CACHE_SIZE
    # Compiled fragments are cached, so the same 30 fragments twice compile 30 times.
    twice = '%%[for @i = 1 to 60 do set @x = TreatAsContent(Concat("%%=v(", Mod(@i, 30), ")=%%")) next]%%'
    ampc.render(twice, context=Context(workspace=content.root, limits={"fragmentCompiles": 30}))


def test_content_counts_against_the_render_time(content):
    content("Slow.amp", "%%[set @x = 0 for @i = 1 to 200000 do set @x = Add(@x, 1) next]%%")
    source = '%%[for @n = 1 to 100 do set @y = ContentBlockByName("Slow") next]%%'
    with pytest.raises(LimitExceeded) as raised:
        ampc.render(source, context=Context(workspace=content.root, limits={"renderSeconds": 0.5}))
    assert raised.value.limit == "render_seconds"


def test_a_long_literal_pattern_stays_within_the_regex_limit():
    # The regex module searched for 5,000 literal characters in 15 KB for 50 s,
    # without checking its timeout (found by python -m ampc.fuzz).
    text, pattern = '{"a":' * 3000, "\\[" * 5000
    start = time.perf_counter()
    with Page.start(Context(limits={"regexSeconds": 1}), "x.amp"):
        assert RegExMatch(text, pattern, 0) == ""
        assert RegExMatch("[" * 4999 + "x" + "[" * 5000, pattern, 0) == "[" * 5000
        assert ReplaceList(text, "True", "[" * 5000) == text
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    "pattern, text, expected",
    [
        ("abcd*" + "d" * 70 + "e", "xxabc" + "d" * 100 + "e", "abc" + "d" * 100 + "e"),
        ("(ab){3}" + "ab" * 70, "ab" * 100, "ab" * 73),
        ("x" * 200 + "[0-9]+", "x" * 200 + "123", "x" * 200 + "123"),
        ("\\." * 130 + "a?", "." * 130, "." * 130),
    ],
)
def test_long_literal_runs_still_match_as_written(pattern, text, expected):
    with Page.start(Context(), "x.amp"):
        assert RegExMatch(text, pattern, 0) == expected
