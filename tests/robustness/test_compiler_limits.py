"""Deep nesting, long chains and long inputs: compile errors or compiled code, never a crash or a hang.

The limits are `ampc.nesting`'s (64 nested if/for blocks, expressions 100
deep); flat sequences (elseif branches, and/or operands) have none.  The time
bounds here are generous on purpose: they catch quadratic behaviour (which
took tens of seconds at these sizes), not slow machines.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import ampc
from ampc.errors import CompileError
from ampc.nesting import MAX_BLOCK_DEPTH, MAX_EXPRESSION_DEPTH
from ampc.shape import check_module_shape
from ampscript import Context, RaisedError


def _compile(source: str) -> str:
    return ampc.compile_source(source, "deep.amp", readable=False)


def _error(source: str) -> CompileError:
    with pytest.raises(CompileError) as raised:
        _compile(source)
    return raised.value


# ---- nesting limits -------------------------------------------------------------------


def test_ifs_nested_up_to_the_limit_compile_and_run():
    depth = MAX_BLOCK_DEPTH
    source = "%%[" + "if 1 == 1 then " * depth + "]%%deep%%[" + "endif " * depth + "]%%"
    assert ampc.render(source) == "deep"


def test_one_if_past_the_limit_is_an_error_at_that_if():
    depth = MAX_BLOCK_DEPTH + 1
    opener = "if 1 == 1 then\n"
    source = "%%[\n" + opener * depth + "set @a = 1\n" + "endif\n" * depth + "]%%"
    error = _error(source)
    assert f"'if' blocks are nested more than {MAX_BLOCK_DEPTH} deep" in error.message
    assert (error.filename, error.line, error.column) == ("deep.amp", depth + 1, 1)
    assert len(error.problems) == 1  # one error for the whole too-deep part


@pytest.mark.parametrize("depth", [243, 2000])
def test_deeply_nested_fors_are_an_error(depth):
    source = "%%[" + "for @i = 1 to 2 do " * depth + "set @a = 1 " + "next " * depth + "]%%"
    error = _error(source)
    assert f"'for' blocks are nested more than {MAX_BLOCK_DEPTH} deep" in error.message


def test_ifs_and_fors_count_together():
    half = MAX_BLOCK_DEPTH // 2 + 1
    source = "%%[" + "if 1 == 1 then for @i = 1 to 1 do " * half + "next endif " * half + "]%%"
    assert "nested more than" in _error(source).message


def test_calls_nested_up_to_the_limit_compile_and_run():
    depth = MAX_EXPRESSION_DEPTH
    source = "%%=" + "Add(1," * (depth - 1) + "Add(1, 1" + ")" * depth + "=%%"
    assert ampc.render(source) == str(depth + 1)


@pytest.mark.parametrize("depth", [MAX_EXPRESSION_DEPTH + 1, 242, 10_000])
def test_calls_nested_past_the_limit_are_an_error_at_the_first_call_too_deep(depth):
    source = "%%=" + "Add(1," * depth + "1" + ")" * depth + "=%%"
    error = _error(source)
    assert f"expressions are nested more than {MAX_EXPRESSION_DEPTH} deep" in error.message
    assert error.column == 4 + len("Add(1,") * MAX_EXPRESSION_DEPTH


@pytest.mark.parametrize("count", [484, 5000])
def test_chains_of_not_are_an_error(count):
    source = "%%[if " + "not " * count + "@a == 1 then set @b = 1 endif]%%"
    assert "expressions are nested more than" in _error(source).message


def test_many_parentheses_are_not_nesting():
    assert ampc.render("%%=v(" + "(" * 3000 + "7" + ")" * 3000 + ")=%%") == "7"


@pytest.mark.parametrize("count", [328, 3000])
def test_many_unclosed_ifs_are_reported_not_crashed_on(count):
    error = _error("%%[" + "if 1 == 1 then " * count + "]%%")
    messages = {problem.message for problem in error.problems}
    assert "'if' opened here is never closed" in messages


def test_ampc_check_reports_deep_nesting_as_the_users_error(tmp_path):
    script = tmp_path / "deep.amp"
    script.write_text("%%=" + "Add(1," * 500 + "1" + ")" * 500 + "=%%", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ampc", "check", str(script)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "expressions are nested more than" in result.stderr
    assert "internal error" not in result.stderr
    assert "Traceback" not in result.stderr


def test_an_error_in_a_long_line_shows_a_window_around_the_column():
    error = _error("%%=" + "Add(1," * 300 + "1" + ")" * 300 + "=%%")
    shown = str(error).splitlines()
    excerpt, caret = shown[1], shown[2]
    assert len(excerpt) < 200 and excerpt.endswith("...")
    assert excerpt[caret.index("^")] == "A"  # the caret still points at the call


# ---- long flat chains compile, and keep AMPscript's evaluation order -----------------------


def test_ten_thousand_elseif_branches_pick_the_right_one():
    count = 10_000
    branches = "".join(f"elseif @n == {i} then set @b = 'branch {i}'\n" for i in range(1, count))
    source = (
        "%%[set @n = AttributeValue('n')\n"
        "if @n == 0 then set @b = 'branch 0'\n"
        + branches
        # never evaluated when an earlier branch was taken:
        + "elseif RaiseError('evaluated too far') then set @b = 'raised'\n"
        + "else set @b = 'none' endif]%%%%=v(@b)=%%"
    )
    module = ampc.load_module(_compile(source), "deep.amp")
    for n in (0, 1, 49, 50, 51, 5000, count - 1):
        assert module.render(Context(subscriber={"n": n})) == f"branch {n}"
    with pytest.raises(RaisedError, match="evaluated too far"):
        module.render(Context(subscriber={"n": -1}))


def test_ten_thousand_and_or_operands_compile_and_short_circuit():
    count = 10_000
    ands = " and ".join("@a == 1" if i != 5_000 else "@a == 2" for i in range(count))
    ors = " or ".join("@a == 2" if i != 7_000 else "@a == 1" for i in range(count))
    source = (
        "%%[set @a = 1\n"
        f"if {ands} and RaiseError('and did not stop') then set @x = 'and' else set @x = 'not and' endif\n"
        f"if {ors} or RaiseError('or did not stop') then set @y = 'or' endif\n"
        "]%%%%=v(@x)=%%,%%=v(@y)=%%"
    )
    assert ampc.render(source) == "not and,or"


def test_a_short_elseif_chain_stays_a_plain_elif_chain():
    python = ampc.compile_source("%%[if @a == 1 then set @b = 1 elseif @a == 2 then set @b = 2 endif]%%")
    assert "elif eq(" in python
    assert "elseif_pending" not in python


# ---- long inputs: linear time ------------------------------------------------------------


def _seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def test_many_unfinished_script_tags_lex_in_linear_time():
    # 128 KB: took 37 s when every '<script' scanned to the end of the file.
    assert _seconds(lambda: _compile("<script " * 16_000)) < 10


def test_many_personalization_strings_compile_quickly():
    # 8,000 of them took 26 s when run-time compiles were formatted with black.
    assert _seconds(lambda: _compile("%%FirstName%%" * 8_000)) < 20


def test_a_quarter_megabyte_of_mixed_template_compiles():
    chunk = (
        "<tr><td>%%FirstName%%</td><td>%%=Format(Now(), 'yyyy')=%%</td></tr>\n"
        "%%[ set @total = Add(@total, 1) if @total > 10 then set @big = 'yes' else set @big = 'no' endif ]%%\n"
    )
    source = chunk * (256_000 // len(chunk))
    assert _seconds(lambda: _compile(source)) < 60


def test_long_chains_keep_the_one_module_shape():
    branches = "".join(f"elseif @n == {i} then set @b = {i}\n" for i in range(1, 120))
    ands = " and ".join(f"@n != {i}" for i in range(40))
    source = f"%%[if @n == 0 then set @b = 0\n{branches}else set @b = -1 endif if {ands} then set @c = 1 endif]%%"
    check_module_shape(ampc.compile_source(source, "deep.amp"), "deep.amp")
