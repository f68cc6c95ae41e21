"""Every registered function, every argument, odd values: an AMPscript result or error, quickly.

`function_sweep` takes each function's literal calls from the golden corpus
and replaces one argument at a time with each of the fuzzer's odd values
(`ampc.fuzz.ODD_VALUES`: empty, null, huge exponents, 64-bit extremes, NaN
strings, non-ASCII, deep JSON and XML, pathological regular expressions...).
Whatever they do, functions may only return a value or raise an
`AMPscriptError`, within a time bound, and never make a string past the
render's stringCharacters limit.  ``python -m ampc.fuzz`` runs the same kind
of calls at random, for longer.
"""

from __future__ import annotations

import datetime as _dt
import time

import pytest

from ampscript import Context, LimitExceeded, Limits
from ampscript.errors import AMPscriptError
from ampscript.registry import FunctionSpec, all_functions
from ampscript.rendering import Page
from function_sweep import CORPUS, bases, call_function, cases

# Generous: the bound catches hangs and super-linear work, not a slow machine.
SECONDS_PER_CALL = 10
LIMITS = Limits(render_seconds=20, regex_seconds=0.5, http_request_seconds=1, state_lock_seconds=1)


def _context(limits: Limits = LIMITS) -> Context:
    return Context(workspace=CORPUS, now=_dt.datetime(2026, 1, 5, 14, 30), limits=limits)


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@pytest.mark.parametrize("spec", all_functions(), ids=lambda spec: spec.name)
def test_odd_values_give_an_ampscript_result_or_error(spec: FunctionSpec):
    context = _context()  # one per function: seeding the corpus workspace for every call is slow
    problems = []
    for _, base, position, value in (case for case in cases() if case[0] is spec):
        arguments = list(base)
        arguments[position] = value
        start = time.perf_counter()
        try:
            with Page.start(context, "sweep.amp"):
                call_function(spec, tuple(arguments))
        except AMPscriptError:
            pass
        except Exception as error:  # noqa: BLE001 (the finding)
            problems.append(f"argument {position + 1} = {_shown(value)}: {type(error).__name__}: {error}")
        elapsed = time.perf_counter() - start
        if elapsed > SECONDS_PER_CALL:
            problems.append(f"argument {position + 1} = {_shown(value)}: took {elapsed:.1f} s")
    assert not problems, f"{spec.name}():\n" + "\n".join(problems[:20])


def _string_positions(spec: FunctionSpec, base: tuple) -> list[int]:
    return [position for position in range(len(base)) if position not in spec.out_params]


@pytest.mark.parametrize("spec", all_functions(), ids=lambda spec: spec.name)
def test_no_function_makes_a_string_past_the_limit(spec: FunctionSpec):
    limit = 3_000
    context = _context(Limits(string_characters=limit, render_seconds=20, regex_seconds=0.5))
    problems = []
    for base in bases(spec):
        for position in _string_positions(spec, base):
            for filler in ("x" * limit, "%" * limit, "é" * limit, "\U0001F600" * (limit // 2)):
                arguments = list(base)
                arguments[position] = filler
                try:
                    with Page.start(context, "sweep.amp"):
                        result = call_function(spec, tuple(arguments))
                except AMPscriptError:
                    continue
                if isinstance(result, str) and len(result) > limit:
                    problems.append(f"argument {position + 1} = {filler[:3]!r}*: {len(result):,} characters")
    assert not problems, f"{spec.name}():\n" + "\n".join(problems[:20])


def test_the_string_limit_error_names_the_function():
    with pytest.raises(LimitExceeded) as raised:
        with Page.start(_context(Limits(string_characters=10)), "sweep.amp"):
            call_function(next(s for s in all_functions() if s.name == "Char"), (65, 11))
    assert "Char() would make a string of 11 characters" in raised.value.message
